"""Evaluation: one JSON object per run, with the metrics of every task the data labels.

The contract (external checks read exactly these keys)::

    {"n": int,
     "type": {"accuracy", "macro_f1", "n"} | null,
     "topics": {"micro_f1", "macro_f1", "n"} | null,
     "keywords": {"f1_at_5_exact", "f1_at_5_partial", "n"} | null,
     "summary": {"rouge1", "rouge2", "rougeL", "n"} | null,
     "docs_per_second": float}

Per-class details (confusion matrix, per-label F1) are added under extra keys.
"""
from __future__ import annotations

import time
from typing import Any

from tqdm.auto import tqdm

from model.predictor import Predictor
from model.results import Prediction

from . import metrics
from .data import Record

BATCH_SIZE = 64


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


def evaluate(predictor: Predictor, records: list[Record], progress: bool = False) -> dict[str, Any]:
    preds, dps = predict_records(predictor, records, progress)
    result: dict[str, Any] = {"n": len(records), "type": None, "topics": None, "keywords": None, "summary": None}

    pairs = [(r, p) for r, p in zip(records, preds) if r.type is not None]
    if pairs:
        labels = sorted(set(predictor.model.type_head.labels if predictor.model.type_head else []) | {r.type for r, _ in pairs})
        result["type"] = metrics.classification([r.type for r, _ in pairs], [p.type.label for _, p in pairs], labels)
    pairs = [(r, p) for r, p in zip(records, preds) if r.topics is not None]
    if pairs:
        result["topics"] = metrics.multilabel([r.topics for r, _ in pairs], [p.topics.labels for _, p in pairs])
    pairs = [(r, p) for r, p in zip(records, preds) if r.tags]
    if pairs:
        result["keywords"] = metrics.keywords_f1_at_k([[k.phrase for k in p.keywords] for _, p in pairs], [r.tags for r, _ in pairs], k=5)
    pairs = [(r, p) for r, p in zip(records, preds) if r.summary is not None]
    if pairs:
        result["summary"] = metrics.rouge([p.summary.text for _, p in pairs], [r.summary for r, _ in pairs])
    result["docs_per_second"] = dps
    return result


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The contract keys only (no per-class details): what tables and cards show."""
    keep = {
        "type": ("accuracy", "macro_f1", "n"),
        "topics": ("micro_f1", "macro_f1", "n"),
        "keywords": ("f1_at_5_exact", "f1_at_5_partial", "n"),
        "summary": ("rouge1", "rouge2", "rougeL", "n"),
    }
    out: dict[str, Any] = {"n": result["n"]}
    for task, keys in keep.items():
        out[task] = None if result.get(task) is None else {k: result[task][k] for k in keys}
    out["docs_per_second"] = result["docs_per_second"]
    return out
