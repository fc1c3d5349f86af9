"""Metrics exactly as defined in ``../shared/data/README.md``.

- type: accuracy and macro-F1;
- topics: micro- and macro-F1 over label sets;
- keywords: F1@5 against editorial tags (lower-cased, NFC), exact and partial match;
- summary: ROUGE-1/2/L F1 on syllables (lower-case, NFC, ``\\w+`` tokens, diacritics kept).
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Sequence

import numpy as np

# The one task/metric schema: which metrics each task reports (in this order) and how they
# are named for people. Evaluation, cards, reports, the registry and the app all read it.
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "type": ("accuracy", "macro_f1"),
    "topics": ("micro_f1", "macro_f1"),
    "keywords": ("f1_at_5_exact", "f1_at_5_partial"),
    "summary": ("rouge1", "rouge2", "rougeL"),
}
METRIC_NAMES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "micro_f1": "micro-F1", "f1_at_5_exact": "F1@5 exact",
                "f1_at_5_partial": "F1@5 partial", "rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L"}

_WORD_RE = re.compile(r"\w+", re.UNICODE)


def rouge_tokens(text: str) -> list[str]:
    return _WORD_RE.findall(unicodedata.normalize("NFC", text).lower())


def _f1(overlap: float, n_pred: float, n_ref: float) -> float:
    if overlap == 0 or n_pred == 0 or n_ref == 0:
        return 0.0
    p, r = overlap / n_pred, overlap / n_ref
    return 2 * p * r / (p + r)


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def rouge_n(pred: list[str], ref: list[str], n: int) -> float:
    a, b = _ngrams(pred, n), _ngrams(ref, n)
    return _f1(sum((a & b).values()), sum(a.values()), sum(b.values()))


def _lcs(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(pred: list[str], ref: list[str]) -> float:
    return _f1(_lcs(pred, ref), len(pred), len(ref))


ROUGE_KEYS = ("rouge1", "rouge2", "rougeL")
KEYWORD_KEYS = ("f1_at_5_exact", "f1_at_5_partial")


def rouge_per_pair(preds: Sequence[str], refs: Sequence[str]) -> list[tuple[float, float, float]]:
    """ROUGE-1/2/L F1 of each pair: the per-document values that means and bootstraps use."""
    out = []
    for p, r in zip(preds, refs):
        pt, rt = rouge_tokens(p), rouge_tokens(r)
        out.append((rouge_n(pt, rt, 1), rouge_n(pt, rt, 2), rouge_l(pt, rt)))
    return out


def mean_scores(rows: Sequence[Sequence[float]], keys: Sequence[str], n: int | None = None) -> dict:
    """Mean of each column of per-document ``rows`` under ``keys``, plus ``n``.

    Summed left to right in a plain loop, so the numbers are bit-for-bit those of the
    running sums this module always used (``sum`` and ``np.mean`` round differently).
    """
    n = len(rows) if n is None else n
    totals = [0.0] * len(keys)
    for row in rows:
        for j, x in enumerate(row):
            totals[j] += x
    return {**{k: t / max(n, 1) for k, t in zip(keys, totals)}, "n": n}


def rouge(preds: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 over pairs."""
    return mean_scores(rouge_per_pair(preds, refs), ROUGE_KEYS, n=len(refs))


def classification(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] | None = None) -> dict:
    """Accuracy, macro-F1, per-class F1 and the confusion matrix (rows = truth)."""
    labels = list(labels) if labels is not None else sorted(set(y_true) | set(y_pred))
    index = {l: i for i, l in enumerate(labels)}
    cm = np.zeros((len(labels), len(labels)), dtype=int)
    for t, p in zip(y_true, y_pred):
        if t in index and p in index:
            cm[index[t], index[p]] += 1
    tp = np.diag(cm).astype(float)
    per_class = {}
    for i, l in enumerate(labels):
        per_class[l] = _f1(tp[i], cm[:, i].sum(), cm[i, :].sum())
    present = [l for i, l in enumerate(labels) if cm[i, :].sum() > 0]
    n = len(y_true)
    return {
        "accuracy": float(sum(t == p for t, p in zip(y_true, y_pred)) / n) if n else 0.0,
        "macro_f1": float(np.mean([per_class[l] for l in present])) if present else 0.0,
        "n": n,
        "per_class_f1": per_class,
        "labels": labels,
        "confusion_matrix": cm.tolist(),
    }


def multilabel(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]], labels: Sequence[str] | None = None) -> dict:
    """Micro- and macro-F1 over label sets (macro over labels present in truth or prediction)."""
    labels = list(labels) if labels is not None else sorted({l for s in [*y_true, *y_pred] for l in s})
    tp, fp, fn = Counter(), Counter(), Counter()
    for t, p in zip(y_true, y_pred):
        t, p = set(t), set(p)
        for l in t & p:
            tp[l] += 1
        for l in p - t:
            fp[l] += 1
        for l in t - p:
            fn[l] += 1
    per_label = {l: _f1(tp[l], tp[l] + fp[l], tp[l] + fn[l]) for l in labels}
    used = [l for l in labels if tp[l] + fp[l] + fn[l] > 0]
    total_tp = sum(tp.values())
    return {
        "micro_f1": _f1(total_tp, total_tp + sum(fp.values()), total_tp + sum(fn.values())),
        "macro_f1": float(np.mean([per_label[l] for l in used])) if used else 0.0,
        "n": len(y_true),
        "per_label_f1": per_label,
    }


def _norm_phrase(s: str) -> str:
    return " ".join(unicodedata.normalize("NFC", s).lower().split())


def _contains(outer: str, inner: str) -> bool:
    return f" {inner} " in f" {outer} "


def keywords_f1_per_doc(predicted: Sequence[Sequence[str]], tags: Sequence[Sequence[str]], k: int = 5) -> list[tuple[float, float]]:
    """F1@k of each article's predicted phrases against its tags: (exact, partial)."""
    out = []
    for pred, gold in zip(predicted, tags):
        p = list(dict.fromkeys(_norm_phrase(x) for x in pred))[:k]
        g = list(dict.fromkeys(_norm_phrase(x) for x in gold))
        if not p or not g:
            out.append((0.0, 0.0))
            continue
        hit_exact = sum(1 for x in p if x in g)
        exact = _f1(hit_exact, len(p), len(g)) if hit_exact else 0.0
        # partial: precision over predictions that match some tag, recall over tags matched
        # containment of whole words: "an" does not match "thanh hóa"
        p_hits = sum(1 for x in p if any(_contains(x, t) or _contains(t, x) for t in g))
        g_hits = sum(1 for t in g if any(_contains(x, t) or _contains(t, x) for x in p))
        partial = 0.0
        if p_hits and g_hits:
            pr, rc = p_hits / len(p), g_hits / len(g)
            partial = 2 * pr * rc / (pr + rc)
        out.append((exact, partial))
    return out


def keywords_f1_at_k(predicted: Sequence[Sequence[str]], tags: Sequence[Sequence[str]], k: int = 5) -> dict:
    """Mean F1@k of predicted phrases against tags: exact, and partial (containment either way)."""
    return mean_scores(keywords_f1_per_doc(predicted, tags, k), KEYWORD_KEYS, n=len(tags))
