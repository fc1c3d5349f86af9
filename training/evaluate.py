"""Evaluation: one JSON object per run, with the metrics of every task the data labels.

The contract (external checks read exactly these keys)::

    {"n": int,
     "type": {"accuracy", "macro_f1", "n"} | null,
     "topics": {"micro_f1", "macro_f1", "n"} | null,
     "keywords": {"f1_at_5_exact", "f1_at_5_partial", "n"} | null,
     "summary": {"rouge1", "rouge2", "rougeL", "n"} | null,
     "docs_per_second": float}

Each metric has a 95% bootstrap confidence interval beside it, ``"<metric>_ci": [low, high]``
(``training/bootstrap.py``). ``"by_source"`` (when asked for, or when the records come from
several source groups) holds the same headline keys per group of the records' ``source``.
Per-class details (confusion matrix, per-label F1) are added under extra keys.
"""
from __future__ import annotations

import time
from typing import Any

from tqdm.auto import tqdm

from model.predictor import Predictor
from model.results import Prediction

from . import bootstrap, metrics
from .data import Record

BATCH_SIZE = 64
SOURCE_DEPTH = 2  # "recent/vnexpress-2022-23/Thời sự" -> "recent/vnexpress-2022-23": outlet and period
NO_SOURCE = "(none)"  # the group of records without a source


def predict_records(predictor: Predictor, records: list[Record], progress: bool = False) -> tuple[list[Prediction], float]:
    """Predictions for every record, and the throughput in articles per second."""
    out: list[Prediction] = []
    start = time.perf_counter()
    with tqdm(total=len(records), desc="predict", unit="doc", disable=not progress, leave=False) as bar:
        for i in range(0, len(records), BATCH_SIZE):
            chunk = records[i : i + BATCH_SIZE]
            out.extend(predictor.predict_batch([r.text for r in chunk], [r.title for r in chunk]))
            bar.update(len(chunk))
    elapsed = time.perf_counter() - start
    return out, (len(records) / elapsed if elapsed > 0 else 0.0)


def type_labels(predictor: Predictor, records: list[Record]) -> list[str]:
    """The model's type labels and every label in the data: one confusion matrix for all groups."""
    return sorted(set(predictor.labels.types) | {r.type for r in records if r.type is not None})


def score(records: list[Record], preds: list[Prediction], labels: list[str]) -> dict[str, Any]:
    """Every task's metrics (with 95% bootstrap intervals) for ``records`` and their predictions."""
    result: dict[str, Any] = {"n": len(records), "type": None, "topics": None, "keywords": None, "summary": None}

    pairs = [(r, p) for r, p in zip(records, preds) if r.type is not None]
    if pairs:
        y_true, y_pred = [r.type for r, _ in pairs], [p.type.label for _, p in pairs]
        point = metrics.classification(y_true, y_pred, labels)
        result["type"] = bootstrap.with_intervals(point, bootstrap.classification(y_true, y_pred, labels, point))
    pairs = [(r, p) for r, p in zip(records, preds) if r.topics is not None]
    if pairs:
        y_true, y_pred = [r.topics for r, _ in pairs], [p.topics.labels for _, p in pairs]
        point = metrics.multilabel(y_true, y_pred)
        result["topics"] = bootstrap.with_intervals(point, bootstrap.multilabel(y_true, y_pred, point))
    pairs = [(r, p) for r, p in zip(records, preds) if r.tags]
    if pairs:
        rows = metrics.keywords_f1_per_doc([[k.phrase for k in p.keywords] for _, p in pairs], [r.tags for r, _ in pairs], k=5)
        point = metrics.mean_scores(rows, metrics.KEYWORD_KEYS)
        result["keywords"] = bootstrap.with_intervals(point, bootstrap.means(rows, metrics.KEYWORD_KEYS, point))
    pairs = [(r, p) for r, p in zip(records, preds) if r.summary is not None]
    if pairs:
        # ROUGE-L is the slow part of scoring: compute it once per document, then mean and bootstrap.
        rows = metrics.rouge_per_pair([p.summary.text for _, p in pairs], [r.summary for r, _ in pairs])
        point = metrics.mean_scores(rows, metrics.ROUGE_KEYS)
        result["summary"] = bootstrap.with_intervals(point, bootstrap.means(rows, metrics.ROUGE_KEYS, point))
    return result


def source_group(source: str | None, depth: int = SOURCE_DEPTH) -> str:
    """The group of a record's ``source``: its first ``depth`` '/'-separated parts (0 = all of it)."""
    if not source:
        return NO_SOURCE
    return source if depth == 0 else "/".join(source.split("/")[:depth])


def source_groups(records: list[Record], depth: int = SOURCE_DEPTH) -> dict[str, list[int]]:
    """Record indices per source group, groups sorted by name."""
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault(source_group(r.source, depth), []).append(i)
    return dict(sorted(groups.items()))


def evaluate(predictor: Predictor, records: list[Record], progress: bool = False,
             by_source: bool | None = None, source_depth: int = SOURCE_DEPTH) -> dict[str, Any]:
    """Predict every record once and score it; ``by_source`` adds ``result["by_source"]``.

    ``by_source=None`` (what training uses) breaks the metrics down only when the records
    come from more than one source group, so bundles store it where it says something.
    """
    if source_depth < 0:
        raise ValueError(f"source depth must be 0 (the whole source) or more, not {source_depth}")
    preds, dps = predict_records(predictor, records, progress)
    labels = type_labels(predictor, records)
    result = score(records, preds, labels)
    result["docs_per_second"] = dps
    groups = source_groups(records, source_depth)
    if by_source or (by_source is None and len(groups) > 1):
        # Groups keep only the headline keys: per-class tables for every group would bloat bundles.
        result["by_source"] = {
            name: _tasks(score([records[i] for i in idx], [preds[i] for i in idx], labels))
            for name, idx in groups.items()
        }
    return result


def _tasks(result: dict[str, Any]) -> dict[str, Any]:
    """``n`` and each task's headline metrics with their intervals (older results have none)."""
    out: dict[str, Any] = {"n": result["n"]}
    for task, names in metrics.TASK_METRICS.items():
        m = result.get(task)
        out[task] = None if m is None else {k: m[k] for name in names for k in (name, f"{name}_ci") if k in m} | {"n": m["n"]}
    return out


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The contract keys, their ``*_ci`` intervals and any ``by_source`` (no per-class details):
    what ``evaluate --json``, tables and cards show."""
    out = _tasks(result)
    out["docs_per_second"] = result["docs_per_second"]
    if "by_source" in result:
        out["by_source"] = {name: _tasks(group) for name, group in result["by_source"].items()}
    return out


ALL_RECORDS = "(all)"


def interval_text(m: dict[str, Any], name: str) -> str:
    """``0.912 [0.905, 0.919]``, or the value alone for results stored before intervals existed."""
    ci = m.get(f"{name}_ci")
    return f"{m[name]:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def by_source_table(result: dict[str, Any]) -> str:
    """A plain-text table: one line per metric of every source group (all records first)."""
    groups = {ALL_RECORDS: _tasks(result), **result.get("by_source", {})}
    rows = [("source group", "records", "metric", "value [95% CI]", "n")]
    for group, g in groups.items():
        first = True
        for task, names in metrics.TASK_METRICS.items():
            for name in names if g.get(task) else ():
                rows.append((group if first else "", str(g["n"]) if first else "", f"{task} {metrics.METRIC_NAMES[name]}",
                             interval_text(g[task], name), str(g[task]["n"])))
                first = False
        if first:  # a group without any labelled task still shows that it exists
            rows.append((group, str(g["n"]), "(no labels)", "-", "0"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) if i in (1, 4) else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
                     for r in rows)
