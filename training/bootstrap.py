"""95% percentile-bootstrap confidence intervals for the evaluation metrics, computed cheaply.

Every metric here is a function of sums over documents: correct flags, per-class counts of
truth, prediction and hits, per-label tp/fp/fn, per-document ROUGE or F1@5. Resampling the
documents with replacement only changes how many times each document is counted, so the
metric of a resample is the same function of count-weighted sums. We compute the
per-document statistics once and get all resamples from one (resamples x documents) count
matrix, instead of running the metric code a thousand times.

Intervals are reproducible: the resamples are drawn from a fixed seed.
"""
from __future__ import annotations

from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

RESAMPLES = 1000
CONFIDENCE = 0.95
SEED = 13
CHUNK = 100  # resamples drawn at once: memory stays at CHUNK x documents counts

Interval = list  # [low, high], a JSON-ready pair of floats
MetricOfSums = Callable[[np.ndarray], np.ndarray]  # (resamples, d) sums -> (resamples,) values


def resample_indices(n: int, resamples: int = RESAMPLES, seed: int = SEED) -> Iterator[np.ndarray]:
    """Chunks of resamples; each row holds the indices of ``n`` documents drawn with replacement."""
    rng = np.random.default_rng(seed)
    for start in range(0, resamples, CHUNK):
        yield rng.integers(0, n, size=(min(CHUNK, resamples - start), n))


def resampled_sums(stats: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """Column sums of ``stats`` (documents x d) in every resample: (resamples x d).

    Documents with identical rows are interchangeable, so the draws are counted per distinct
    row before the product: for the type task that is at most labels^2 rows, whatever the
    number of documents.
    """
    stats = np.asarray(stats, dtype=float).reshape(len(stats), -1)
    rows, inverse = np.unique(stats, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    k = len(rows)
    out = []
    for idx in resample_indices(len(stats), resamples, seed):
        # One bincount for the whole chunk: resample b's distinct rows are offset by b * k.
        cells = inverse[idx] + k * np.arange(len(idx))[:, None]
        counts = np.bincount(cells.ravel(), minlength=k * len(idx)).reshape(len(idx), k)
        out.append(counts @ rows)
    return np.vstack(out)


def percentile_interval(samples: np.ndarray, point: float, confidence: float = CONFIDENCE) -> Interval:
    """The central ``confidence`` range of ``samples``, widened to contain ``point``.

    A percentile interval of a biased statistic (macro-F1 on few documents: resamples that
    miss a rare label score it differently) can sit beside the estimate; a table must never
    print a number outside its own interval.
    """
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return [float(min(low, point)), float(max(high, point))]


def intervals(stats: np.ndarray, metric_fns: Mapping[str, MetricOfSums], point: Mapping[str, float],
              resamples: int = RESAMPLES, confidence: float = CONFIDENCE, seed: int = SEED) -> dict[str, Interval]:
    """``{name + "_ci": [low, high]}`` for each metric computed from resampled sums of ``stats``."""
    if len(stats) == 0:  # nothing to resample: the interval is the estimate itself
        return {f"{name}_ci": [float(point[name])] * 2 for name in metric_fns}
    sums = resampled_sums(stats, resamples, seed)
    return {f"{name}_ci": percentile_interval(fn(sums), point[name], confidence) for name, fn in metric_fns.items()}


# --- metrics as functions of sums (vectorised over resamples) --------------------------------------
def _f1(tp: np.ndarray, n_pred: np.ndarray, n_true: np.ndarray) -> np.ndarray:
    """F1 = 2tp / (predicted + true); 0 where nothing was hit (as ``metrics._f1``)."""
    denom = n_pred + n_true
    return np.where(tp > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)


def _mean_over(values: np.ndarray, used: np.ndarray) -> np.ndarray:
    """Row means of ``values`` over the ``used`` columns; 0 for a row with none."""
    return (values * used).sum(axis=1) / np.maximum(used.sum(axis=1), 1)


def classification_stats(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Per document: [correct | one-hot truth | one-hot prediction | one-hot hit], each over ``labels``.

    Like ``metrics.classification``, pairs with a label outside ``labels`` count for accuracy
    but not in the confusion matrix.
    """
    index = {l: i for i, l in enumerate(labels)}
    n_labels = len(labels)
    stats = np.zeros((len(y_true), 1 + 3 * n_labels))
    for row, (t, p) in enumerate(zip(y_true, y_pred)):
        stats[row, 0] = t == p
        if t in index and p in index:
            stats[row, 1 + index[t]] = 1
            stats[row, 1 + n_labels + index[p]] = 1
            stats[row, 1 + 2 * n_labels + index[t]] = t == p
    return stats


def classification(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str], point: Mapping[str, float],
                   **options) -> dict[str, Interval]:
    """Intervals of accuracy and macro-F1 (macro over the labels present in the resample's truth)."""
    n, k = len(y_true), len(labels)

    def macro_f1(sums: np.ndarray) -> np.ndarray:
        true, pred, hit = sums[:, 1 : 1 + k], sums[:, 1 + k : 1 + 2 * k], sums[:, 1 + 2 * k :]
        return _mean_over(_f1(hit, pred, true), true > 0)

    fns = {"accuracy": lambda sums: sums[:, 0] / n, "macro_f1": macro_f1}
    return intervals(classification_stats(y_true, y_pred, labels), fns, point, **options)


def multilabel_stats(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    """Per document: [tp | fp | fn], each over ``labels``."""
    index = {l: i for i, l in enumerate(labels)}
    n_labels = len(labels)
    stats = np.zeros((len(y_true), 3 * n_labels))
    for row, (t, p) in enumerate(zip(y_true, y_pred)):
        t, p = set(t), set(p)
        for offset, found in ((0, t & p), (n_labels, p - t), (2 * n_labels, t - p)):
            for l in found:
                if l in index:
                    stats[row, offset + index[l]] = 1
    return stats


def multilabel(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]], point: Mapping[str, float],
               labels: Sequence[str] | None = None, **options) -> dict[str, Interval]:
    """Intervals of micro-F1 and macro-F1 (macro over labels with any tp, fp or fn in the resample)."""
    labels = list(labels) if labels is not None else sorted({l for s in [*y_true, *y_pred] for l in s})
    k = len(labels)

    def split(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return sums[:, :k], sums[:, k : 2 * k], sums[:, 2 * k :]

    def micro_f1(sums: np.ndarray) -> np.ndarray:
        tp, fp, fn = (x.sum(axis=1) for x in split(sums))
        return _f1(tp, tp + fp, tp + fn)

    def macro_f1(sums: np.ndarray) -> np.ndarray:
        tp, fp, fn = split(sums)
        return _mean_over(_f1(tp, tp + fp, tp + fn), (tp + fp + fn) > 0)

    return intervals(multilabel_stats(y_true, y_pred, labels), {"micro_f1": micro_f1, "macro_f1": macro_f1}, point, **options)


def means(rows: Sequence[Sequence[float]], keys: Sequence[str], point: Mapping[str, float], **options) -> dict[str, Interval]:
    """Intervals of per-document means (ROUGE, keyword F1@5): one column of ``rows`` per key."""
    n = len(rows)
    fns = {key: (lambda sums, j=j: sums[:, j] / n) for j, key in enumerate(keys)}
    return intervals(np.asarray(rows, dtype=float).reshape(n, len(keys)), fns, point, **options)


def clustered_means(rows: Sequence[Sequence[float]], clusters: Sequence[str], keys: Sequence[str],
                    point: Mapping[str, float], resamples: int = RESAMPLES, confidence: float = CONFIDENCE,
                    seed: int = SEED) -> dict[str, Interval]:
    """Intervals of per-document means when documents come in clusters of near-duplicates
    (ViMs: one story from many outlets): whole clusters are resampled, so the interval is not
    made narrower by counting one story many times."""
    rows = np.asarray(rows, dtype=float).reshape(len(rows), len(keys))
    if len(rows) == 0:
        return {f"{key}_ci": [float(point[key])] * 2 for key in keys}
    names, which = np.unique(np.asarray(clusters), return_inverse=True)
    sums = np.zeros((len(names), len(keys)))
    np.add.at(sums, which, rows)
    sizes = np.bincount(which, minlength=len(names)).astype(float)
    draws = []
    for idx in resample_indices(len(names), resamples, seed):
        counts = np.zeros((len(idx), len(names)))
        np.add.at(counts, (np.arange(len(idx))[:, None], idx), 1.0)
        draws.append((counts @ sums) / (counts @ sizes)[:, None])
    values = np.vstack(draws)
    return {f"{key}_ci": percentile_interval(values[:, j], point[key], confidence) for j, key in enumerate(keys)}


def with_intervals(point: dict, cis: Mapping[str, Interval]) -> dict:
    """``point`` with each ``name_ci`` placed right after ``name`` (readable JSON)."""
    out = {}
    for key, value in point.items():
        out[key] = value
        if f"{key}_ci" in cis:
            out[f"{key}_ci"] = cis[f"{key}_ci"]
    return out
