"""End to end on the real corpora: train the baseline on slices of ../shared/data, then check
that it is far better than chance. Runs in CI (about half a minute); skipped only where the
shared data is absent."""
from __future__ import annotations

import gzip
import json
import random

import pytest

from model.paths import data_dir
from model.predictor import Predictor
from training.cli import main
from training.config import load_config
from training.train import train

DATA = data_dir()
pytestmark = pytest.mark.skipif(not (DATA / "vntc" / "train.jsonl.gz").is_file(), reason=f"shared corpora not found in {DATA}")


def _slice(src: str, n: int, dst, seed: int = 0) -> None:
    lines = gzip.open(DATA / src, "rt", encoding="utf-8").readlines()
    random.Random(seed).shuffle(lines)
    dst.write_text("".join(lines[:n]), encoding="utf-8")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("slices")
    for src, n, name in [("vntc/train.jsonl.gz", 4000, "vntc_train.jsonl"), ("recent/train.jsonl.gz", 3000, "recent_train.jsonl"),
                         ("recent/test.jsonl.gz", 600, "recent_test.jsonl"), ("danes/train.jsonl.gz", 700, "danes_train.jsonl"),
                         ("vietnews/train.jsonl.gz", 600, "vietnews_train.jsonl"), ("vntc/test.jsonl.gz", 600, "vntc_test.jsonl"),
                         ("danes/test.jsonl.gz", 200, "danes_test.jsonl"), ("vietnews/test.jsonl.gz", 200, "vietnews_test.jsonl"),
                         ("vims/all.jsonl.gz", 200, "vims.jsonl")]:
        _slice(src, n, root / name)
    config = load_config(None, data_root=str(root))
    config.train = ["vntc_train.jsonl", "recent_train.jsonl", "danes_train.jsonl", "vietnews_train.jsonl"]
    config.evaluate = []
    config.baseline.summary_max_records = 600
    path = train(config, tmp_path_factory.mktemp("models") / "bundle", progress=False)
    return root, path


def _evaluate(capsys, model, data) -> dict:
    capsys.readouterr()
    assert main(["-q", "evaluate", "--model", str(model), "--data", str(data), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_type_accuracy_far_above_chance(trained, capsys):
    root, model = trained
    result = _evaluate(capsys, model, root / "vntc_test.jsonl")
    assert result["type"]["n"] == 600
    assert result["type"]["accuracy"] > 0.85  # 10 labels: chance is about 0.16 (majority class)
    assert result["type"]["macro_f1"] > 0.8


def test_todays_news_is_read_with_the_era_router_and_reported_per_part(trained, capsys):
    root, model = trained
    assert Predictor.load(model).model.type_head.router is not None  # vntc/ and recent/ records: two eras
    capsys.readouterr()
    assert main(["-q", "evaluate", "--model", str(model), "--data", str(root / "recent_test.jsonl"), "--json",
                 "--by", "source"]) == 0
    result = json.loads(capsys.readouterr().out)
    # A model of 2005-07 articles alone reads about 0.65 of these; with 3,000 of today's, far more.
    assert result["type"]["accuracy"] > 0.75
    lo, hi = result["type"]["accuracy_ci"]
    assert lo <= result["type"]["accuracy"] <= hi
    parts = result["by_source"]
    assert {"recent/dantri-vnexpress-2024", "recent/vnexpress-2022-23"} <= set(parts)
    assert sum(p["type"]["n"] for p in parts.values() if p["type"]) == result["type"]["n"]


def test_topics_and_summary_beat_trivial_baselines(trained, capsys):
    root, model = trained
    topics = _evaluate(capsys, model, root / "danes_test.jsonl")["topics"]
    assert topics["micro_f1"] > 0.3  # always answering the most frequent topic scores about 0.2
    summary = _evaluate(capsys, model, root / "vietnews_test.jsonl")["summary"]
    assert summary["rouge1"] > 0.25 and summary["rouge2"] > 0.12


def test_keywords_overlap_editorial_tags(trained, capsys):
    root, model = trained
    keywords = _evaluate(capsys, model, root / "vims.jsonl")["keywords"]
    assert keywords["n"] > 100 and keywords["f1_at_5_partial"] > 0.15


def test_demo_article_is_filed_as_politics_and_society(trained):
    _, model = trained
    article = DATA.parent / "examples" / "seed_article_ninhthuan.txt"
    if not article.is_file():
        pytest.skip("example article not found")
    result = Predictor.load(model).predict(article.read_text(encoding="utf-8"))
    assert result.type.label == "Chính trị - Xã hội"
    assert result.summary.text and result.keywords
    # Keywords an editor would tag: no bare common syllable ("số") in the top 5, and names.
    top = [k.phrase for k in result.keywords[:5]]
    for phrase in top:
        assert " " in phrase or phrase[:1].isupper(), top
    names = ["Hà Ngọc Anh", "Ban Bí thư Trung ương Đảng", "Đảng ủy Khối các cơ quan tỉnh", "Nghị quyết Trung ương 4",
             "Chỉ thị 05-CT/TW", "Ninh Thuận"]
    found = {n for n in names for p in top if len(p.split()) >= 2 and f" {p.lower()} " in f" {n.lower()} "}
    assert len(found) >= 2, top
