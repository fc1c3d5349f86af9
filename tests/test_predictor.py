"""model/predictor.py: the one inference core behind predict(), the CLI and the app."""
from __future__ import annotations

import json
import time

import pytest

from conftest import BUSINESS, ENGLISH_TEXT, HEALTH, SPORTS, SPORTS_TEXT, VOCAB
from model.predictor import NOT_VIETNAMESE_WARNING, check_text, looks_vietnamese
from model.text import normalize, split_sentences


def test_prediction_to_dict_has_the_documented_shape(predictor):
    result = predictor.predict(SPORTS_TEXT, title="Việt Nam vào chung kết")
    d = result.to_dict()
    assert set(d) == {"type", "topics", "keywords", "summary", "model", "elapsed_ms", "warnings"}

    assert set(d["type"]) == {"label", "scores"}
    assert set(d["type"]["scores"]) == {SPORTS, BUSINESS, HEALTH}
    assert d["type"]["label"] in d["type"]["scores"]
    assert sum(d["type"]["scores"].values()) == pytest.approx(1.0, abs=1e-4)
    assert all(0.0 <= p <= 1.0 for p in d["type"]["scores"].values())

    assert set(d["topics"]) == {"labels", "scores"}
    assert d["topics"]["labels"], "every article gets at least one topic"
    assert set(d["topics"]["labels"]) <= set(d["topics"]["scores"])
    assert all(0.0 <= p <= 1.0 for p in d["topics"]["scores"].values())

    assert d["keywords"] and all(set(k) == {"phrase", "score"} for k in d["keywords"])
    assert all(isinstance(k["phrase"], str) and k["phrase"] for k in d["keywords"])
    scores = [k["score"] for k in d["keywords"]]
    assert scores == sorted(scores, reverse=True) and scores[0] == 1.0

    assert set(d["summary"]) == {"text", "sentences"}
    assert d["summary"]["text"] and d["summary"]["sentences"] == sorted(d["summary"]["sentences"])

    assert d["model"]["kind"] == "baseline" and d["model"]["name"] == "tiny"
    assert isinstance(d["elapsed_ms"], float) and d["elapsed_ms"] >= 0
    assert d["warnings"] == []

    assert json.loads(json.dumps(d, ensure_ascii=False)) == d
    assert json.loads(result.to_json()) == d


def test_summary_sentences_index_the_normalised_article(predictor):
    text = "Thuỷ thủ đội tuyển bóng đá thắng trận.\nẢnh: Tuổi Trẻ\n" + " ".join(VOCAB[SPORTS])
    result = predictor.predict(text)
    sentences = split_sentences(normalize(text))
    assert result.summary.text == " ".join(sentences[i].text for i in result.summary.sentences)


def test_sports_text_is_classified_as_sports(predictor):
    result = predictor.predict(SPORTS_TEXT)
    assert result.type.label == SPORTS
    assert result.type.scores[SPORTS] == max(result.type.scores.values())
    assert "Bóng đá" in result.topics.labels


@pytest.mark.parametrize("text", ["", "   ", "\n\t \n"])
def test_empty_text_is_rejected(predictor, text):
    with pytest.raises(ValueError, match="text is empty"):
        predictor.predict(text)


@pytest.mark.parametrize("text", [None, 42, b"bytes"])
def test_non_string_text_is_rejected(predictor, text):
    with pytest.raises(TypeError, match="must be a str"):
        predictor.predict(text)


def test_headline_alone_is_enough(predictor):
    result = predictor.predict("", title="Đội tuyển bóng đá thắng trận bán kết")
    assert result.type.label in (SPORTS, BUSINESS, HEALTH)
    assert result.keywords and result.topics.labels
    assert result.summary.text == "" and result.summary.sentences == []


def test_predict_batch(predictor):
    texts = [SPORTS_TEXT, " ".join(VOCAB[BUSINESS]), " ".join(VOCAB[HEALTH])]
    results = predictor.predict_batch(texts)
    assert len(results) == 3
    assert [r.type.label for r in results] == [SPORTS, BUSINESS, HEALTH]
    # A batch answers exactly like one article at a time (apart from timing).
    for text, batched in zip(texts, results):
        single = predictor.predict(text)
        assert (single.type, single.topics, single.keywords, single.summary) == (
            batched.type,
            batched.topics,
            batched.keywords,
            batched.summary,
        )


def test_predict_batch_errors_name_the_text(predictor):
    with pytest.raises(ValueError, match=r"texts\[1\] is empty"):
        predictor.predict_batch([SPORTS_TEXT, " "])
    with pytest.raises(TypeError, match="takes a list of texts"):
        predictor.predict_batch(SPORTS_TEXT)
    with pytest.raises(ValueError, match="got 2 texts but 1 titles"):
        predictor.predict_batch([SPORTS_TEXT, SPORTS_TEXT], ["Tiêu đề"])


def test_predict_batch_of_nothing(predictor):
    assert predictor.predict_batch([]) == []


def test_one_megabyte_article(predictor):
    paragraph = SPORTS_TEXT + "\n" + " ".join(VOCAB[BUSINESS]) + "\n"
    text = paragraph * (1_000_000 // len(paragraph) + 1)
    assert len(text) >= 1_000_000
    start = time.perf_counter()
    result = predictor.predict(text)
    assert time.perf_counter() - start < 10
    assert result.type.label in (SPORTS, BUSINESS)
    assert 1 <= len(result.summary.sentences) <= 3
    assert len(result.summary.text) < 2000
    json.dumps(result.to_dict(), ensure_ascii=False)


def test_english_text_gets_a_warning(predictor):
    result = predictor.predict(ENGLISH_TEXT)
    assert result.warnings == [NOT_VIETNAMESE_WARNING]
    assert predictor.predict(SPORTS_TEXT).warnings == []


@pytest.mark.parametrize(
    "text, expected",
    [
        (SPORTS_TEXT, True),
        (ENGLISH_TEXT, False),
        ("Hello world", True),  # too short to judge: benefit of the doubt
        ("Doi tuyen bong da Viet Nam thang tran ban ket tren san Hang Day", False),  # no diacritics
    ],
)
def test_looks_vietnamese(text, expected):
    assert looks_vietnamese(text) is expected


FRENCH_TEXT = (
    "Le président de la République a reçu hier à l'Élysée les représentants des syndicats pour "
    "discuter de la réforme des retraites. Selon plusieurs participants, la réunion a été tendue "
    "mais constructive. Le gouvernement espère présenter un projet de loi avant la fin de l'été."
)


def test_french_is_not_vietnamese(predictor):
    assert looks_vietnamese(FRENCH_TEXT) is False
    assert predictor.predict(FRENCH_TEXT).warnings == [NOT_VIETNAMESE_WARNING]


@pytest.mark.parametrize(
    "value, error, match",
    [("", ValueError, "body is empty"), (" \n", ValueError, "body is empty"), (3, TypeError, "body must be a str, got int")],
)
def test_check_text(value, error, match):
    with pytest.raises(error, match=match):
        check_text(value, "body")
    assert check_text("Bài báo") == "Bài báo"


def test_metrics_property(predictor):
    assert predictor.metrics == {}


def test_explain_names_the_words_behind_the_type(predictor):
    why = predictor.explain(SPORTS_TEXT)
    assert why.label == predictor.predict(SPORTS_TEXT).type.label
    assert why.terms and all(w > 0 for _, w in why.terms)
    assert any(term in SPORTS_TEXT.lower() for term, _ in why.terms)
    weights = [w for _, w in why.terms]
    assert weights == sorted(weights, reverse=True)
    assert predictor.explain(SPORTS_TEXT, label=BUSINESS).label == BUSINESS


def test_explain_rejects_an_unknown_label_and_empty_text(predictor):
    with pytest.raises(ValueError, match="unknown type label 'Nope'"):
        predictor.explain(SPORTS_TEXT, label="Nope")
    with pytest.raises(ValueError, match="empty"):
        predictor.explain("   ")


def test_a_pasted_headline_is_read_as_the_title(predictor):
    body = SPORTS_TEXT
    with_head = "Việt Nam vào chung kết\n" + body
    pasted = predictor.predict(with_head)
    given = predictor.predict(body, title="Việt Nam vào chung kết")
    assert pasted.type == given.type and pasted.topics == given.topics
    # summary indices still point into the text as passed
    sentences = split_sentences(normalize(with_head))
    assert all(sentences[i].text in pasted.summary.text for i in pasted.summary.sentences)
    assert 0 not in pasted.summary.sentences  # the headline is not a summary sentence
