"""Helpers both trainers (``baseline.py`` and ``transformer.py``) use, written once.

- ``step``: a logged, timed training step;
- ``sample_records``: a seeded sample that always keeps ``preferred`` records (the new data of
  a retrain), so a cap on training records never drops what a newsroom just added;
- ``topic_matrix``: records' topic label sets as a 0/1 matrix over a label list;
- ``tune_thresholds`` and ``kfold``: per-topic decision thresholds from out-of-fold
  probabilities.

Held-out records are carved in ``splits.py``.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Iterator, Sequence, TypeVar

import numpy as np

log = logging.getLogger("newslens.train")
T = TypeVar("T")


@contextmanager
def step(name: str, detail: str = ""):
    """Log a training step and its wall time."""
    start = time.perf_counter()
    log.info("%s: %s ...", name, detail)
    yield
    log.info("%s: done in %.1f s", name, time.perf_counter() - start)


# --- sampling --------------------------------------------------------------------------------
def sample_records(records: Sequence[T], n: int, rng: np.random.Generator,
                   preferred: Sequence[T] | None = None) -> list[T]:
    """At most ``n`` of ``records``: all of them if they fit, else the ``preferred`` ones among
    them first (up to ``n``; the same objects, matched by identity) and a seeded sample of the
    rest, in file order. Without preferred records this is ``rng``'s plain sample of ``n``.
    ``rng`` is drawn from only when something is sampled (callers share it with later steps).
    """
    if len(records) <= n:
        return list(records)
    first = {id(r) for r in preferred or ()}
    must = [r for r in records if id(r) in first][:n]
    rest = [r for r in records if id(r) not in first]
    n_rest = n - len(must)
    keep = np.sort(rng.choice(len(rest), n_rest, replace=False)) if n_rest > 0 else []
    return must + [rest[i] for i in keep]


# --- topics ----------------------------------------------------------------------------------
def topic_matrix(topics: Sequence[Sequence[str] | None], labels: Sequence[str], dtype=int) -> np.ndarray:
    """(records x labels) matrix: 1 where ``labels[j]`` is among record i's ``topics``, else 0.
    Topics outside ``labels`` are ignored; ``None`` (not labelled) gives a row of zeros."""
    column: dict[str, int] = {}
    for j, label in enumerate(labels):
        column.setdefault(label, j)
    Y = np.zeros((len(topics), len(labels)), dtype=dtype)
    for i, ts in enumerate(topics):
        for t in ts or ():
            if t in column:
                Y[i, column[t]] = 1
    return Y


# Candidate thresholds: probabilities from 0.05 to 0.9 in steps of 0.025 (rounded, so a saved
# threshold reads as the number it is).
THRESHOLD_GRID = np.round(np.arange(0.05, 0.91, 0.025), 3)
# Pseudo-count of the shared threshold in each label's: a label with this many positive
# examples gets half its own optimum and half the shared one (fewer: mostly the shared one,
# since the optimum of a rare label is mostly noise).
THRESHOLD_SHRINK = 10.0


def tune_thresholds(proba: np.ndarray, Y: np.ndarray, shrink: float = THRESHOLD_SHRINK) -> np.ndarray:
    """Per-label thresholds that maximise F1 on ``proba`` against the 0/1 truth ``Y``, shrunk
    towards the one threshold that maximises micro-F1 over all labels."""
    def f1(pred, truth):
        tp = (pred & truth).sum()
        return 2 * tp / max(pred.sum() + truth.sum(), 1)

    truth = Y.astype(bool)
    shared = THRESHOLD_GRID[int(np.argmax([f1(proba >= t, truth) for t in THRESHOLD_GRID]))]
    out = np.empty(Y.shape[1])
    for j in range(Y.shape[1]):
        best = THRESHOLD_GRID[int(np.argmax([f1(proba[:, j] >= t, truth[:, j]) for t in THRESHOLD_GRID]))]
        n_pos = truth[:, j].sum()
        out[j] = (n_pos * best + shrink * shared) / (n_pos + shrink)
    return out


def kfold(n: int, k: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(train indices, held indices) of ``k`` folds of a seeded permutation of ``range(n)``."""
    order = np.random.default_rng(seed).permutation(n)
    for fold in np.array_split(order, k):
        yield np.setdiff1d(order, fold), fold
