"""TF-IDF features: the one-lookup path for an article and its pieces equals scikit-learn's transform."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.features import TfidfFeatures, TfidfParams, analysis_text
from model.text import split_sentences

CORPUS = [
    "Bộ Giáo dục công bố phương án tuyển sinh. Thí sinh được đăng ký nguyện vọng.",
    "Giá vàng hôm nay tăng mạnh. Ngân hàng Nhà nước bán vàng miếng.",
    "Đội tuyển Việt Nam thắng 2-0. HLV Kim Sang-sik hài lòng với các cầu thủ.",
    "UBND TP. Hồ Chí Minh họp về giá vàng và tuyển sinh đầu cấp.",
    "Thí sinh Việt Nam đoạt huy chương vàng. Bộ Giáo dục khen thưởng đội tuyển.",
]
WORDS = sorted({w for doc in CORPUS for w in analysis_text(doc).split()}) + ["zzz", "_", "x_y", "ẞ", "İ"]


def fitted(**params) -> TfidfFeatures:
    p = TfidfParams(min_df=1, max_df=1.0, max_features=None, **params)
    return TfidfFeatures.fit_transform([analysis_text(d) for d in CORPUS], p)[0]


def assert_same(A, B) -> None:
    assert A.shape == B.shape
    assert np.array_equal(A.indptr, B.indptr) and np.array_equal(A.indices, B.indices)
    assert np.array_equal(A.data, B.data)  # the same floats, not just close ones


def article(title: str, body: str) -> tuple[str, list[str]]:
    """An article's analysis text and its pieces as the baseline cuts them: headline, sentences."""
    return analysis_text(body, title), [title.lower()] + [s.text.lower() for s in split_sentences(body)]


@pytest.mark.parametrize("params", [{}, {"ngram_max": 3}, {"ngram_min": 2, "ngram_max": 3}, {"ngram_max": 1}],
                         ids=["1-2", "1-3", "2-3", "1"])
def test_an_article_and_its_pieces_read_once_equal_transform(params):
    features = fitted(**params)
    docs = [article("Giá vàng tăng", CORPUS[1]), article("", CORPUS[0] + "\n\n" + CORPUS[2]), article("", ""),
            article("Tiêu đề", "")]
    texts, parts = [d[0] for d in docs], [d[1] for d in docs]
    X, P = features.transform_with_parts(texts, parts)
    assert_same(X, features.transform(texts))
    assert_same(P, features.transform([p for pieces in parts for p in pieces]))
    assert P.shape[0] == sum(map(len, parts)) and X.nnz > 0 and P.nnz > 0


def test_pieces_that_are_not_runs_of_the_article_are_counted_on_their_own():
    features = fitted()
    text = analysis_text(CORPUS[3])
    pieces = ["giá vàng và tuyển sinh", "hồ chí minh", "", "thí sinh việt nam", text]  # out of order, foreign, empty
    X, P = features.transform_with_parts([text], [pieces])
    assert_same(X, features.transform([text]))
    assert_same(P, features.transform(pieces))


def test_other_analyzers_count_pieces_on_their_own():
    features = fitted(analyzer="char_wb", ngram_min=2, ngram_max=3)
    texts, parts = [analysis_text(CORPUS[0])], [["bộ giáo dục", "thí sinh"]]
    X, P = features.transform_with_parts(texts, parts)
    assert_same(X, features.transform(texts))
    assert_same(P, features.transform(parts[0]))


ANALYZERS = [{}, {"ngram_max": 3}, {"ngram_min": 2, "ngram_max": 3}, {"analyzer": "char_wb", "ngram_min": 2, "ngram_max": 4},
             {"analyzer": "char_wb", "ngram_min": 1, "ngram_max": 2}, {"analyzer": "char", "ngram_min": 2, "ngram_max": 3}]


@pytest.mark.parametrize("params", ANALYZERS, ids=["word-1-2", "word-1-3", "word-2-3", "char_wb-2-4", "char_wb-1-2", "char"])
def test_transform_is_scikit_learns_transform(params):
    features = fitted(**params)
    texts = [analysis_text(d) for d in CORPUS] + ["", "  a \t\t b\n\nc  ", "_ x_y 12 ẞ İ", "ô " * 50]
    assert_same(features.transform(texts), features.vectorizer.transform(texts))
    with pytest.raises(TypeError, match="list of texts"):
        features.transform("one text")
    assert features.transform([]).shape == (0, len(features.vocabulary))


def test_parts_must_match_texts():
    with pytest.raises(ValueError, match="2 texts but parts for 1"):
        fitted().transform_with_parts(["a", "b"], [["a"]])


sentence = st.lists(st.sampled_from(WORDS) | st.text(max_size=6), min_size=0, max_size=12).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(title=sentence, sentences=st.lists(sentence, max_size=6),
       breaks=st.lists(st.sampled_from([". ", ".\n", "! ", "\n\n", " ", "... "]), min_size=6, max_size=6))
def test_generated_articles_read_once_equal_transform(title, sentences, breaks):
    features = fitted()
    text = "".join(s.capitalize() + b for s, b in zip(sentences, breaks))
    analysed, pieces = article(title, text)
    X, P = features.transform_with_parts([analysed], [pieces])
    assert_same(X, features.transform([analysed]))
    assert_same(P, features.transform(pieces))


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(st.lists(st.sampled_from(WORDS) | st.text(max_size=8), max_size=30).map(" ".join),
                      min_size=1, max_size=4),
       params=st.sampled_from(ANALYZERS))
def test_generated_texts_transform_as_scikit_learn_does(texts, params):
    features = fitted(**params)
    assert_same(features.transform(texts), features.vectorizer.transform(texts))


def test_the_word_cache_is_bounded_and_changes_nothing(monkeypatch):
    import model.features as features_module

    monkeypatch.setattr(features_module, "WORD_CACHE", 5)
    features = fitted(analyzer="char_wb", ngram_min=2, ngram_max=4)
    texts = [analysis_text(d) for d in CORPUS] + [" ".join(f"từ{i}" for i in range(200))]
    for _ in range(2):  # the second pass reads words from a cache that was cleared on the way
        assert_same(features.transform(texts), features.vectorizer.transform(texts))
        assert 0 < len(features._word_ids) <= 5
