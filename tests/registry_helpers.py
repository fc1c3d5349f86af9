"""Helpers shared by test_registry.py and test_retrain.py: synthetic corpora big enough for the
registry's fixed holdout, and a registry trained on them in well under a second.

The holdout takes 3% of the type-labelled records (8% of topics, 2% of summaries), so the ~39
records of ``conftest.make_records`` give an empty holdout; ``corpus()`` gives ~570 records and
a holdout of 13 type / 4 topics / 1 summary articles. Every article is a distinct permutation
of its label's sentences, so no two records share a ``record_key``.
"""
from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

from conftest import TOPICS, VOCAB, small_params
from training.config import TrainConfig, load_config
from training.data import Record
from training.registry import Registry
from training.train import train

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EDUCATION = "Giáo dục"
# A fourth type whose words appear in none of the three others.
EDU_VOCAB = {
    EDUCATION: [
        "Học sinh lớp mười hai ôn thi tốt nghiệp trung học phổ thông.",
        "Giáo viên chấm bài kiểm tra môn toán và ngữ văn.",
        "Trường đại học công bố điểm chuẩn tuyển sinh năm nay.",
        "Sinh viên nhận học bổng khuyến học của nhà trường.",
        "Bộ Giáo dục điều chỉnh chương trình sách giáo khoa mới.",
        "Phụ huynh đưa con đến lớp học thêm buổi tối.",
    ]
}
EDU_TEXT = (
    "Học sinh ôn thi tốt nghiệp, giáo viên chấm bài kiểm tra môn toán. "
    "Trường đại học công bố điểm chuẩn tuyển sinh và sinh viên nhận học bổng."
)


def synth_records(vocab: dict[str, list[str]], n_type: int, n_topics: int = 0, n_summary: int = 0,
                  prefix: str = "s", topics: dict[str, tuple[str, ...]] | None = None, k: int = 4) -> list[Record]:
    """Distinct articles per label: each is ``k`` of the label's sentences in a distinct order
    (6 sentences: 360 distinct articles per label with k=4, 720 with k=5)."""
    topics = topics or TOPICS
    out: list[Record] = []
    for label, sents in vocab.items():
        perms = list(itertools.permutations(range(len(sents)), k))
        random.Random(label).shuffle(perms)
        assert n_type + n_topics + n_summary <= len(perms), "not enough distinct articles"
        it = iter(perms)

        def article() -> tuple[str, str]:
            s = [sents[j] for j in next(it)]
            return f"{s[0]} {s[1]}\n{' '.join(s[2:])}", s[0]

        for i in range(n_type):
            text, lead = article()
            out.append(Record(id=f"{prefix}-type-{label}-{i}", text=text, title=lead[:30].strip(), type=label))
        for i in range(n_topics):
            text, _ = article()
            out.append(Record(id=f"{prefix}-topics-{label}-{i}", text=text, topics=topics.get(label)))
        for i in range(n_summary):
            text, lead = article()
            out.append(Record(id=f"{prefix}-summary-{label}-{i}", text=text, summary=lead))
    return out


def corpus() -> list[Record]:
    """~570 records of the three conftest types: 450 typed, 60 with topics, 60 with summaries."""
    return synth_records(VOCAB, 150, 20, 20)


def write_jsonl(path: Path, records: list[Record] | list[dict]) -> Path:
    rows = [r.to_json_dict() if isinstance(r, Record) else r for r in records]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def make_config(data_root: Path, files: list[str]) -> TrainConfig:
    config = load_config(None, data_root=str(data_root))
    config.train = list(files)
    config.evaluate = []
    config.baseline = small_params()
    return config


def train_registry(root: Path, records: list[Record] | None = None) -> tuple[Registry, Path]:
    """Write ``records`` (default ``corpus()``) to root/data/train.jsonl and train v0001 into
    root/home. Returns (registry, data folder)."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    write_jsonl(data / "train.jsonl", corpus() if records is None else records)
    registry = Registry(root / "home")
    train(make_config(data, ["train.jsonl"]), registry=registry, progress=False)
    return registry, data


def copy_registry(template: Registry, dest: Path) -> Registry:
    """A private copy of a registry (its versions point at the template's data files, read-only)."""
    import shutil

    shutil.copytree(template.home, dest)
    return Registry(dest)


def staging_leftovers(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir() if p.name.startswith((".staging-", ".holdout-")))
