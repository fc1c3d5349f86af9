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


def _reference_grams(text: str, max_ngram: int = 3) -> list[str]:
    """Candidates counted the simple way, one segment at a time (what the fast path must match)."""
    from model.keywords import _SEGMENT_RE
    from model.text import stopwords

    stop = stopwords()
    grams = []
    for seg in _SEGMENT_RE.findall(text):
        low = [w.lower() for w in seg.split()]
        ok = [not (w in stop or w.isdigit()) for w in low]
        for n in range(1, max_ngram + 1):
            grams += [" ".join(low[i:i + n]) for i in range(len(low) - n + 1) if ok[i] and ok[i + n - 1]]
    return grams


def test_candidates_of_the_whole_text_at_once_match_segment_by_segment():
    from collections import Counter

    from model.keywords import _candidates

    texts = [TEXT, "", "Một", "Ai Cập, 2024: Hà Nội\tvà   TP HCM\n\nBộ Y tế_mới (WHO) ΣΑΣ ΟΔΟΣ İstanbul",
             "a | b || c", "số 12 và 3 người ở Đà Nẵng; ba"]
    for text in texts:
        for n in (1, 2, 3):
            grams, parts = _candidates(text, n, set())
            assert Counter(grams) == Counter(_reference_grams(text, n)), (text, n)
            for trigram, (first, second) in parts.items():
                a, b, c = trigram.split(" ")
                assert (first, second) == (f"{a} {b}", f"{b} {c}")


def test_proper_names_are_whole_capitalised_runs_inside_a_segment():
    from model.keywords import _candidates

    names: set[str] = set()
    _candidates("Biển Địa Trung Hải, ở Ban Bí thư và Hà Nội.\nTrung Quốc Đại Lục", 3, names)
    # "Biển" and "Trung" start a segment: the run after them counts, but four words are too
    # many; "Ban Bí" goes on with a lower-case word.
    assert names == {"địa trung hải", "hà nội", "quốc đại lục"}


def test_the_shortlist_is_the_top_of_the_sorted_pairs_ties_included():
    import random

    from model.keywords import _best

    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(0, 40)
        scores = [float(rng.choice([1, 2, 3, 4])) for _ in range(n)]
        phrases = [f"p{i:02d}" for i in rng.sample(range(60), n)]
        for k in (0, 1, 5, n, n + 3):
            assert sorted(_best(scores, phrases, k)) == sorted(p for _, p in sorted(zip(scores, phrases))[-k:])


def test_headline_occurrences_count_title_weight_each_then_one_per_body_occurrence():
    from model.keywords import _count_candidates

    counts = _count_candidates("nghị quyết mới", "nghị quyết. Nghị quyết", KeywordParams(title_weight=1.5)).counts
    assert counts["nghị quyết"] == 1.5 + 1.0 + 1.0 and counts["mới"] == 1.5 and counts["nghị"] == 3.5
