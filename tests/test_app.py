"""The gradio app, exercised the way a developer would: gradio_client against a launched app."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from serve.app import build_app, examples, highlighted_article, theme  # noqa: E402

SPORTS = "Đội tuyển bóng đá giành chiến thắng trong trận đấu. Cầu thủ ghi bàn thắng quyết định ở phút cuối."


@pytest.fixture(scope="module")
def client(predictor):
    demo = build_app(predictor)
    demo.queue(default_concurrency_limit=4)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True,
                            quiet=True, theme=theme())
    try:
        yield gradio_client.Client(url, verbose=False)
    finally:
        demo.close()


def test_every_event_has_an_api_name(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/analyse", "/analyse_submit"} <= names


def test_analyse_returns_type_topics_keywords_summary(client, predictor):
    message, type_scores, topic_scores, keywords, summary, highlighted = client.predict(SPORTS, "", api_name="/analyse")
    expected = predictor.predict(SPORTS)
    assert type_scores["label"] == expected.type.label
    assert {c["label"] for c in type_scores["confidences"]} <= set(expected.type.scores)
    assert topic_scores["confidences"]
    assert summary == expected.summary.text and summary
    assert keywords["data"] and len(keywords["data"][0]) == 2
    assert expected.type.label in message
    assert any(seg.get("class_or_confidence") == "summary" for seg in highlighted)


@pytest.mark.parametrize("text", ["", "   \n  "])
def test_empty_input_gives_a_friendly_message_not_an_error(client, text):
    message, type_scores, *_ = client.predict(text, "", api_name="/analyse")
    assert "Paste a Vietnamese news article" in message
    assert type_scores is None or not type_scores.get("confidences")


def test_non_vietnamese_text_shows_a_note(client):
    english = "The central bank cut its policy rate by half a point on Tuesday, citing slower growth and weak exports."
    message, *_ = client.predict(english, "", api_name="/analyse")
    assert "does not look like Vietnamese" in message


def test_concurrent_calls_all_succeed(client):
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda i: client.predict(f"{SPORTS} Trận {i}.", "", api_name="/analyse"), range(20)))
    assert all(r[1]["label"] for r in results)


def test_highlighting_covers_the_whole_article(predictor):
    text = "Dòng đầu tiên.\nCâu thứ hai rất dài về bóng đá. Câu thứ ba."
    result = predictor.predict(text)
    segments = highlighted_article(text, result)
    assert "".join(s for s, _ in segments) == text
    from model.text import split_sentences

    sentences = split_sentences(text)
    assert [s for s, label in segments if label == "summary"] == [sentences[i].text for i in result.summary.sentences]


def test_examples_include_our_own_articles():
    assert len(examples()) >= 3
