"""Shared fixtures: a tiny TF-IDF baseline trained on synthetic Vietnamese records.

Everything here is built in a few seconds, offline, from text written in this file; no
test reads the real corpora.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.features import TfidfParams
from model.predictor import Predictor
from training.baseline import fit_baseline
from training.config import BaselineParams
from training.data import Record

SPORTS = "Thể thao"
BUSINESS = "Kinh doanh"
HEALTH = "Sức khỏe"

# Three types with vocabularies that do not overlap, so a tiny model separates them.
VOCAB = {
    SPORTS: [
        "Đội tuyển bóng đá Việt Nam thắng trận với tỷ số hai bàn không.",
        "Tiền đạo ghi bàn ở phút cuối trên sân vận động Mỹ Đình.",
        "Huấn luyện viên khen các cầu thủ sau trận bán kết.",
        "Thủ môn cản phá quả phạt đền và khán giả reo hò.",
        "Câu lạc bộ giành chức vô địch giải bóng đá quốc gia.",
        "Vận động viên điền kinh phá kỷ lục tại đại hội thể thao.",
    ],
    BUSINESS: [
        "Ngân hàng tăng lãi suất tiết kiệm cho khách hàng doanh nghiệp.",
        "Giá cổ phiếu trên sàn chứng khoán giảm mạnh trong phiên sáng.",
        "Doanh nghiệp xuất khẩu gạo báo lãi lớn trong quý ba.",
        "Nhà đầu tư rút vốn khỏi thị trường bất động sản.",
        "Lạm phát và tỷ giá ảnh hưởng tới lợi nhuận của công ty.",
        "Tập đoàn công bố doanh thu và kế hoạch phát hành trái phiếu.",
    ],
    HEALTH: [
        "Bệnh viện tiếp nhận bệnh nhân sốt xuất huyết trong tuần qua.",
        "Bác sĩ khuyên người dân tiêm vắc xin phòng cúm mùa.",
        "Bộ Y tế cảnh báo dịch bệnh lây lan ở trường học.",
        "Người bệnh tiểu đường cần ăn ít đường và tập luyện đều đặn.",
        "Các y tá chăm sóc trẻ sơ sinh tại khoa nhi.",
        "Thuốc kháng sinh chỉ dùng khi có chỉ định của bác sĩ.",
    ],
}
TOPICS = {SPORTS: ("Bóng đá",), BUSINESS: ("Kinh tế", "Chứng khoán"), HEALTH: ("Y tế",)}

SPORTS_TEXT = (
    "Đội tuyển bóng đá Việt Nam thắng trận bán kết trên sân vận động Mỹ Đình. "
    "Tiền đạo ghi bàn ở phút cuối, thủ môn cản phá quả phạt đền. "
    "Huấn luyện viên khen các cầu thủ và khán giả reo hò."
)
ENGLISH_TEXT = (
    "The national football team won the semi-final match last night in Hanoi, "
    "and the coach praised every player for their effort in front of a huge crowd."
)


def _article(label: str, i: int) -> str:
    sents = VOCAB[label]
    k = len(sents)
    # Rotate and vary the sentences so articles differ; paragraphs separated by \n.
    picked = [sents[(i + j) % k] for j in range(4)]
    return f"{picked[0]} {picked[1]}\n{picked[2]} {picked[3]}"


def make_records() -> list[Record]:
    records: list[Record] = []
    for label in VOCAB:
        for i in range(8):  # type-labelled
            records.append(Record(id=f"type-{label}-{i}", text=_article(label, i), title=VOCAB[label][i % 6][:30], type=label))
        for i in range(3):  # topics-labelled (a different corpus, no type)
            records.append(Record(id=f"topics-{label}-{i}", text=_article(label, i + 2), topics=TOPICS[label]))
        for i in range(2):  # summary-labelled: multi-sentence text, lead as the reference
            text = _article(label, i + 1)
            records.append(Record(id=f"summary-{label}-{i}", text=text, summary=VOCAB[label][(i + 1) % 6]))
    return records


def small_params() -> BaselineParams:
    return BaselineParams(
        tfidf=TfidfParams(min_df=1, max_df=1.0, max_features=None),
        summary_holdout=2,
        summary_budgets=(20, 40),
        calibration_folds=2,
        topics_folds=2,
    )


@pytest.fixture(scope="session")
def records() -> list[Record]:
    return make_records()


@pytest.fixture(scope="session")
def baseline_model(records):
    return fit_baseline(records, small_params(), progress=False)


@pytest.fixture(scope="session")
def bundle_dir(baseline_model, tmp_path_factory) -> Path:
    """A saved bundle; tests must not modify it (copy it first, see ``bundle_copy``)."""
    return baseline_model.save(tmp_path_factory.mktemp("models") / "tiny", card="# card")


@pytest.fixture(scope="session")
def predictor(bundle_dir) -> Predictor:
    return Predictor.load(bundle_dir)


@pytest.fixture
def bundle_copy(bundle_dir, tmp_path) -> Path:
    """A private copy of the bundle that a test may damage."""
    import shutil

    return Path(shutil.copytree(bundle_dir, tmp_path / "bundle"))


@pytest.fixture(scope="session")
def eval_file(tmp_path_factory) -> Path:
    """A small labelled JSONL file covering every task (type, topics, tags, summary)."""
    rows = [
        {"id": "e1", "title": "Bóng đá", "text": SPORTS_TEXT, "type": SPORTS, "tags": ["bóng đá", "Mỹ Đình"]},
        {"id": "e2", "text": _article(BUSINESS, 3), "type": BUSINESS, "topics": ["Kinh tế"]},
        {"id": "e3", "text": _article(HEALTH, 4), "topics": ["Y tế"], "summary": VOCAB[HEALTH][4]},
    ]
    path = tmp_path_factory.mktemp("data") / "eval.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


SOURCED_ROWS = [  # labelled records from several sources; one without a source
    {"id": "s1", "source": "recent/vnexpress-2022-23/Thể thao", "text": SPORTS_TEXT, "type": SPORTS, "tags": ["bóng đá"]},
    {"id": "s2", "source": "recent/vnexpress-2022-23/Kinh doanh", "text": _article(BUSINESS, 1), "type": BUSINESS},
    {"id": "s3", "source": "recent/dantri-vnexpress-2024/healthy", "text": _article(HEALTH, 2), "type": HEALTH},
    {"id": "s4", "source": "recent/dantri-vnexpress-2024/sports", "text": _article(SPORTS, 5), "type": SPORTS},
    {"id": "s5", "source": "danes", "text": _article(BUSINESS, 4), "topics": ["Kinh tế"]},
    {"id": "s6", "source": None, "text": _article(HEALTH, 1), "summary": VOCAB[HEALTH][1]},
]
SOURCE_GROUPS = ["(none)", "danes", "recent/dantri-vnexpress-2024", "recent/vnexpress-2022-23"]  # at depth 2


@pytest.fixture(scope="session")
def sourced_eval_file(tmp_path_factory) -> Path:
    """A small labelled JSONL file whose records come from several sources (``SOURCE_GROUPS``)."""
    path = tmp_path_factory.mktemp("data") / "sourced.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in SOURCED_ROWS) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def isolated_env(monkeypatch, tmp_path):
    """No test sees the developer's models (./models) or a NEWSLENS_MODEL override."""
    monkeypatch.setenv("NEWSLENS_HOME", str(tmp_path / "unused-home"))
    monkeypatch.delenv("NEWSLENS_MODEL", raising=False)


@pytest.fixture
def fit_spy(monkeypatch):
    """The record lists actually handed to fit_baseline (by train and retrain alike)."""
    import training.train

    calls: list[list] = []
    real = training.train.fit_baseline

    def spy(records, params, progress, **kwargs):
        calls.append(list(records))
        return real(records, params, progress, **kwargs)

    monkeypatch.setattr(training.train, "fit_baseline", spy)
    return calls
