"""model/keywords.py: candidate phrases and their ranking, with a corpus given by hand."""
from __future__ import annotations

import math

from model.keywords import KeywordParams, _neighbours, extract_keywords

N_DOCS = 10_000
# Document frequencies of a made-up corpus: "ương" occurs almost only inside "trung ương".
DF = {
    "trung": 900, "ương": 610, "trung ương": 600, "đảng": 800, "ương đảng": 400, "trung đảng": 5,
    "kiểm": 700, "tra": 900, "kiểm tra": 650, "đoàn": 1200, "đoàn kiểm": 80, "ban": 2000,
    "ban trung": 30, "nghị": 700, "quyết": 900, "nghị quyết": 500, "đảng ủy": 300, "ủy": 800,
    "tra ban": 10, "làm": 5000, "việc": 6000, "làm việc": 3000, "với": 8000,
}


def idf(term: str) -> float | None:
    df = DF.get(term)
    return None if df is None else math.log((1 + N_DOCS) / (1 + df)) + 1.0


def phrases(text: str, title: str = "", **params) -> list[str]:
    return [k.phrase.lower() for k in extract_keywords(title, text, idf, N_DOCS, KeywordParams(**params))]


TEXT = ("Đoàn kiểm tra Ban Trung ương Đảng làm việc với Đảng ủy về nghị quyết. "
        "Đoàn kiểm tra Ban Trung ương Đảng đánh giá nghị quyết Trung ương Đảng.")


def test_neighbours_are_the_words_beside_the_first_whole_word_occurrence():
    text = TEXT.lower()
    assert _neighbours("ương đảng", "", text) == ("trung", "làm")
    assert _neighbours("đoàn kiểm", "", text) == ("", "tra")  # the start of the text
    assert _neighbours("nghị quyết", "về nghị quyết. nghị quyết mới") == ("về", "")  # punctuation ends it
    assert _neighbours("tra", "kiểm tra") == ("kiểm", "")
    assert _neighbours("tra", "kiểm tra\nban") == ("kiểm", "")  # a new paragraph too
    assert _neighbours("đảng", "đảng ủy", text) == ("", "ủy")  # the title first
    assert _neighbours("tra", "(kiểm tra, ban)") == ("kiểm", "")
    assert _neighbours("ban", "(kiểm tra ban, ban)") == ("tra", "")
    assert _neighbours("kiểm", "(kiểm tra)") == ("", "tra")
    assert _neighbours("absent", "", text) == ("", "")


def test_a_piece_cut_out_of_a_tight_compound_is_not_a_keyword():
    unchecked = phrases(TEXT, fragment_cohesion=1.0)[:5]  # the check turned off
    assert "ương đảng" in unchecked and "đoàn kiểm" in unchecked
    top = phrases(TEXT)[:5]
    assert "ương đảng" not in top and "đoàn kiểm" not in top  # "trung ương", "kiểm tra" bind tightly
    assert "kiểm tra" in top and "nghị quyết" in top  # whole words beside loose neighbours stay


def test_candidates_never_start_or_end_with_a_stop_word_or_cross_punctuation():
    for phrase in phrases(TEXT, top_k=30):
        words = phrase.split()
        assert words[0] not in {"với", "về"} and words[-1] not in {"với", "về"}
    assert not any("quyết đoàn" in p for p in phrases(TEXT, top_k=30))


def test_a_text_made_only_of_fragments_still_gets_scored_keywords():
    # Single syllables only, and every term everywhere: each syllable is a piece of "trung ương".
    keywords = extract_keywords("", "trung ương", lambda t: 1.0, N_DOCS, KeywordParams(max_ngram=1))
    assert [k.phrase for k in keywords] == ["trung", "ương"] and all(k.score == 0.0 for k in keywords)
