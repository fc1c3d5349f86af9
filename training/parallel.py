"""Pure-Python training steps on every core: contiguous chunks, forked workers.

Normalising and tokenising tens of thousands of articles is Python code that holds the GIL,
so threads do not help and processes do. Workers are forked, so they inherit the inputs
without pickling them; only their results travel back. Where ``fork`` is missing (Windows,
macOS spawn), or the input is small, everything runs in this process. Either way the results
are the same, in the same order.
"""
from __future__ import annotations

import multiprocessing as mp
import numbers
import os
import signal
import threading
from collections import defaultdict
from contextlib import contextmanager
from itertools import compress
from typing import Callable, Iterator, Sequence, TypeVar

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from model.features import count_matrix, ngram_ids, plain_analyzer

T = TypeVar("T")
R = TypeVar("R")

# Below this many items a worker costs more to start than it saves.
MIN_PARALLEL_ITEMS = 4000
_JOB: tuple[Callable, list] | None = None  # (function, chunks), inherited by forked workers


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextmanager
def _forking_pool(n: int) -> Iterator:
    """A pool of ``n`` forked workers whose SIGTERM does what it does by default: end them.

    ``Pool`` ends its workers with SIGTERM, and a worker can get it before it has entered its
    own loop, still in a copy of this process's stack. A handler installed here (Ray's raises
    SystemExit) would then unwind that copy as if it were the caller: a test runner's copy
    reports a failure of its own. So the workers are forked with the default handler."""
    previous = signal.getsignal(signal.SIGTERM)
    # signal() works only in the main thread; only a Python handler can be put back afterwards
    swap = threading.current_thread() is threading.main_thread() and callable(previous)
    if swap:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        pool = mp.get_context("fork").Pool(n)
    finally:
        if swap:
            signal.signal(signal.SIGTERM, previous)
    with pool:
        yield pool


def _run_chunk(i: int):
    fn, chunks = _JOB
    return fn(chunks[i])


def chunked_map(fn: Callable[[Sequence[T]], R], items: Sequence[T], workers: int | None = None,
                min_items: int | None = None, cost: Callable[[T], float] | None = None) -> list[R]:
    """``[fn(chunk) for chunk in chunks]`` over contiguous chunks of ``items``, one chunk per core
    (this process takes the first). A single chunk (the whole input) where forking cannot help.

    ``cost``: what one item costs (a text's length): the chunks then cost the same, not hold
    as many items. Training corpora come file after file, long archive texts first and short
    leads last; cut by count, one core worked alone for half of the TF-IDF step."""
    global _JOB
    min_items = MIN_PARALLEL_ITEMS if min_items is None else min_items  # read at call time
    n = min(workers or available_cores(), max(1, len(items) // max(1, min_items // 2)))
    if n < 2 or len(items) < min_items or "fork" not in mp.get_all_start_methods():
        return [fn(items)]
    bounds = _bounds(items, n, cost)
    chunks = [items[bounds[k]:bounds[k + 1]] for k in range(n)]
    _JOB = (fn, chunks)
    try:
        with _forking_pool(n - 1) as pool:
            pending = pool.map_async(_run_chunk, range(1, n))
            first = fn(chunks[0])
            return [first, *pending.get()]
    finally:
        _JOB = None


def _bounds(items: Sequence[T], n: int, cost: Callable[[T], float] | None) -> list[int]:
    """Where ``n`` contiguous chunks of ``items`` start and end: as many items each, or the
    same cost each (every chunk holding at least one item)."""
    if cost is None or len(items) < n:
        return [len(items) * k // n for k in range(n + 1)]
    running = np.cumsum(np.fromiter((max(float(cost(x)), 0.0) for x in items), dtype=float, count=len(items)))
    cuts = np.searchsorted(running, running[-1] * np.arange(1, n) / n).tolist() if running[-1] > 0 else []
    bounds = [0]
    for k, cut in enumerate(cuts, 1):  # strictly increasing, leaving an item for each chunk after
        bounds.append(min(max(cut, bounds[-1] + 1), len(items) - (n - k)))
    if len(bounds) < n:  # nothing costs anything: as many items each
        return [len(items) * k // n for k in range(n + 1)]
    return bounds + [len(items)]


def _run_item(i: int):
    fn, items = _JOB
    return fn(items[i])


def parallel_map(fn: Callable[[T], R], items: Sequence[T], workers: int | None = None) -> list[R]:
    """``[fn(item) for item in items]``, the items handed out one at a time to forked workers
    (for a few large items of unequal cost, such as data files). In this process where
    forking cannot help."""
    global _JOB
    n = min(workers or available_cores(), len(items))
    if n < 2 or "fork" not in mp.get_all_start_methods():
        return [fn(item) for item in items]
    _JOB = (fn, list(items))
    try:
        with _forking_pool(n) as pool:
            return pool.map(_run_item, range(len(items)), chunksize=1)
    finally:
        _JOB = None


def _count_chunk(vectorizer: TfidfVectorizer, docs: Sequence[str]):
    """(terms in column order, count matrix) of ``docs``: scikit-learn's ``_count_vocab``.

    For a plain word analyzer the n-grams are made and numbered by C-level ``map`` calls
    (``model.features.ngram_ids``), as the prediction path does, and counted by ``Counter``:
    scikit-learn runs a Python statement per n-gram. Same terms, same counts."""
    if plain_analyzer(vectorizer) != "word":
        vocabulary, X = TfidfVectorizer._count_vocab(vectorizer, docs, False)
        return list(vocabulary), X  # terms in column order: the dict was filled column by column
    vocabulary: defaultdict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__  # a new term gets the next column
    tokenize, (low, high) = vectorizer.build_tokenizer(), vectorizer.ngram_range
    rows = [[i for grams in ngram_ids(tokenize(doc), vocabulary.__getitem__, low, high) for i in grams] for doc in docs]
    return list(vocabulary), count_matrix(rows, len(vocabulary), vectorizer.dtype)


class ParallelTfidfVectorizer(TfidfVectorizer):
    """A ``TfidfVectorizer`` whose fitting counts terms on every core.

    Only the counting pass is split: each worker counts its chunk (``_count_chunk``), the
    columns are merged into one vocabulary, and scikit-learn then sorts, prunes and weights
    them as always. Which column a term gets before the sort does not matter, so the fitted
    vocabulary, idf and matrix are exactly those of a plain ``TfidfVectorizer``.

    Terms in fewer documents than ``min_df`` are dropped before scikit-learn sorts the
    vocabulary: it would drop them next, and most terms of a news corpus (word pairs seen
    once) are such. The terms that remain are sorted, masked and chosen exactly as they
    would have been, in a fraction of the time.
    """

    def _count_vocab(self, raw_documents, fixed_vocab):
        if fixed_vocab:
            return super()._count_vocab(raw_documents, fixed_vocab)
        docs = raw_documents if isinstance(raw_documents, list) else list(raw_documents)
        parts = chunked_map(lambda chunk: _count_chunk(self, chunk), docs, cost=len)
        terms, X = parts[0]
        vocabulary = {t: i for i, t in enumerate(terms)}
        matrices = [X]
        for terms, X in parts[1:]:
            column = np.fromiter((vocabulary.setdefault(t, len(vocabulary)) for t in terms), dtype=np.int64,
                                 count=len(terms))
            matrices.append(type(X)((X.data, column[X.indices].astype(X.indices.dtype), X.indptr), shape=X.shape))
        width = len(vocabulary)
        if not width:  # scikit-learn's words, from its own counting
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        matrices = [type(M)((M.data, M.indices, M.indptr), shape=(M.shape[0], width)) for M in matrices]
        merged = sp.vstack(matrices, format="csr", dtype=self.dtype)
        merged = type(matrices[0])(merged)
        merged.sort_indices()
        return _without_rare_terms(vocabulary, merged, self.min_df)


def _without_rare_terms(vocabulary: dict[str, int], X, min_df: float) -> tuple[dict[str, int], object]:
    """``vocabulary`` and ``X`` without the terms (columns) in fewer than ``min_df`` documents
    (a share of them when a float, as scikit-learn reads it); the rest keep their order."""
    low = min_df if isinstance(min_df, numbers.Integral) else min_df * X.shape[0]
    df = np.bincount(X.indices, minlength=X.shape[1])
    keep = df >= low
    if keep.all():
        return vocabulary, X
    # the dict was filled column by column: its keys are the terms in column order
    kept = dict(zip(compress(vocabulary, keep.tolist()), range(int(keep.sum()))))
    return kept, type(X)(X[:, np.flatnonzero(keep)])
