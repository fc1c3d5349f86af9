"""Training's parallel TF-IDF fit equals scikit-learn's, on one core or several."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

import training.parallel as parallel
from model.features import TfidfParams, make_vectorizer
from training.parallel import ParallelTfidfVectorizer

SYLLABLES = ["giá", "vàng", "tăng", "bộ", "giáo", "dục", "thí", "sinh", "hà", "nội", "ô", "tô", "12", "_", "x_y"]


def fit_both(texts: list[str], params: TfidfParams):
    plain = make_vectorizer(params)
    fast = ParallelTfidfVectorizer(**plain.get_params())
    return plain, plain.fit_transform(texts), fast, fast.fit_transform(texts)


def assert_same_fit(plain, A, fast, B) -> None:
    assert fast.vocabulary_ == plain.vocabulary_
    assert np.array_equal(fast.idf_, plain.idf_)
    assert type(A) is type(B) and A.shape == B.shape
    assert np.array_equal(A.indptr, B.indptr) and np.array_equal(A.indices, B.indices) and np.array_equal(A.data, B.data)


PARAMS = [TfidfParams(min_df=1, max_df=1.0, max_features=None),
          TfidfParams(min_df=2, max_df=0.5, max_features=20),
          TfidfParams(ngram_max=3, min_df=1, max_df=0.9, max_features=None),
          TfidfParams(analyzer="char_wb", ngram_min=2, ngram_max=4, min_df=1, max_df=1.0, max_features=None)]


@pytest.mark.parametrize("params", PARAMS, ids=["word", "word-pruned", "word-1-3", "char_wb"])
@pytest.mark.parametrize("forked", [False, True], ids=["one-process", "forked"])
def test_parallel_fit_is_scikit_learns_fit(params, forked, monkeypatch):
    if forked:  # chunks counted by forked workers and merged
        monkeypatch.setattr(parallel, "MIN_PARALLEL_ITEMS", 4)
        monkeypatch.setattr(parallel, "available_cores", lambda: 3)
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(SYLLABLES, size=rng.integers(0, 30))) for _ in range(60)]
    assert_same_fit(*fit_both(texts, params))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(SYLLABLES) | st.text(max_size=6), max_size=25).map(" ".join),
                min_size=1, max_size=12))
def test_generated_corpora_fit_as_scikit_learn_fits(texts):
    params = TfidfParams(min_df=1, max_df=1.0, max_features=None)
    try:
        expected = fit_both(texts, params)
    except ValueError as error:  # nothing to count: the same error from both
        with pytest.raises(ValueError, match="empty vocabulary"):
            ParallelTfidfVectorizer(**make_vectorizer(params).get_params()).fit_transform(texts)
        assert "empty vocabulary" in str(error)
        return
    assert_same_fit(*expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(SYLLABLES) | st.text(max_size=4), max_size=25).map(" ".join),
                min_size=1, max_size=20),
       st.sampled_from([TfidfParams(min_df=2, max_df=1.0, max_features=None),
                        TfidfParams(min_df=2, max_df=0.8, max_features=6),
                        TfidfParams(min_df=0.2, max_df=0.9, max_features=3, ngram_max=3)]))
def test_rare_terms_dropped_before_the_sort_leave_scikit_learns_vocabulary(texts, params):
    # Terms under min_df leave before scikit-learn sorts; ties of max_features fall the same way.
    try:
        expected = fit_both(texts, params)
    except ValueError as error:  # nothing counted, or nothing left after pruning: the same error
        with pytest.raises(ValueError) as raised:
            ParallelTfidfVectorizer(**make_vectorizer(params).get_params()).fit_transform(texts)
        assert str(raised.value) == str(error)
        return
    assert_same_fit(*expected)


def test_an_empty_corpus_fails_as_scikit_learn_does():
    with pytest.raises(ValueError, match="empty vocabulary"):
        TfidfVectorizer().fit(["", " "])
    with pytest.raises(ValueError, match="empty vocabulary"):
        ParallelTfidfVectorizer(**make_vectorizer(TfidfParams(min_df=1, max_df=1.0)).get_params()).fit(["", " "])


def _sigterm_handler_here(_item) -> bool:
    import signal

    return signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_workers_are_forked_with_the_default_sigterm(monkeypatch):
    """A Python SIGTERM handler of the caller (Ray installs one) is not inherited by the
    workers, which the pool ends with SIGTERM; the caller keeps its own."""
    import signal

    if "fork" not in parallel.mp.get_all_start_methods():
        pytest.skip("no fork here: nothing is forked")
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)

    def raising(signum, frame):
        raise SystemExit(signum)

    previous = signal.signal(signal.SIGTERM, raising)
    try:
        assert parallel.parallel_map(_sigterm_handler_here, [0, 1], workers=2) == [True, True]
        assert signal.getsignal(signal.SIGTERM) is raising
    finally:
        signal.signal(signal.SIGTERM, previous)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=40), st.integers(1, 5))
def test_chunks_of_equal_cost_cover_every_item_once_in_order(costs, n):
    bounds = parallel._bounds(costs, n, cost=lambda c: c)
    assert bounds[0] == 0 and bounds[-1] == len(costs) and len(bounds) == n + 1
    assert all(a <= b for a, b in zip(bounds, bounds[1:]))
    if len(costs) >= n:  # every chunk holds an item
        assert all(a < b for a, b in zip(bounds, bounds[1:]))


def test_long_texts_first_are_cut_by_cost_and_answer_as_one_process(monkeypatch):
    # A corpus as training reads it: long archive texts, then short leads.
    texts = ["dài " * 400] * 100 + ["ngắn"] * 900
    monkeypatch.setattr(parallel, "MIN_PARALLEL_ITEMS", 4)
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    bounds = parallel._bounds(texts, 2, cost=len)
    assert 40 <= bounds[1] <= 60  # by count the cut would be at 500: one chunk of all the long texts
    parts = parallel.chunked_map(lambda chunk: [len(t) for t in chunk], texts, cost=len)
    assert len(parts) == 2 and [x for part in parts for x in part] == [len(t) for t in texts]
