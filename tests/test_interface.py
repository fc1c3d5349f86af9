"""Both model kinds answer through the one interface (model/interface.py)."""
from __future__ import annotations

import pytest

from model import Predictor
from model.interface import Analysis, Labels, NewsModel
from tests.conftest import make_records

SPORT = "Đội tuyển bóng đá Việt Nam thắng 2-0 trong trận đấu vòng loại, huấn luyện viên khen các cầu thủ."


def check_interface(predictor: Predictor) -> None:
    model = predictor.model
    assert isinstance(model, NewsModel)
    labels = predictor.labels
    assert isinstance(labels, Labels) and labels.types and labels.topics
    analyses = model.analyse([SPORT, SPORT], ["", "Bóng đá"])
    assert len(analyses) == 2 and all(isinstance(a, Analysis) for a in analyses)
    result = predictor.predict(SPORT)
    assert result.type.label in labels.types and set(result.type.scores) == set(labels.types)
    assert set(result.topics.labels) <= set(labels.topics)
    explained = predictor.explain(SPORT, label=labels.types[0])
    assert explained.label == labels.types[0] and all(isinstance(t, str) for t, _ in explained.terms)
    with pytest.raises(ValueError, match="unknown type label"):
        predictor.explain(SPORT, label="no such label")
    assert isinstance(predictor.meta, dict) and predictor.metrics == predictor.meta.get("metrics", {})


def test_baseline_implements_the_interface(predictor, records):
    check_interface(predictor)
    assert predictor.labels.types == sorted({r.type for r in records if r.type})


def test_transformer_implements_the_interface(tmp_path_factory):
    pytest.importorskip("transformers")
    from transformer_helpers import tiny_transformer_bundle

    predictor = Predictor.load(tiny_transformer_bundle(tmp_path_factory))
    check_interface(predictor)
    assert predictor.labels.types == sorted({r.type for r in make_records() if r.type})
    assert not hasattr(predictor.model, "type_head")  # no faked baseline heads to reach into
