"""Benchmark of the TF-IDF baseline against the targets of the end-to-end issue.

    python bench/baseline.py                 # train the default config, then measure
    python bench/baseline.py --model DIR     # measure an existing bundle

Prints a table and writes bench/results/baseline.json. Quality targets are measured on the
shared test files (never used for training or tuning); speed on this machine's CPUs.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.predictor import Predictor  # noqa: E402
from training.config import load_config  # noqa: E402
from training.data import read_records  # noqa: E402
from training.evaluate import evaluate, headline  # noqa: E402

TARGETS = {
    "vntc/test": {"type.accuracy": 0.935, "type.macro_f1": 0.92},
    "danes/test": {"topics.micro_f1": 0.55},
    "vietnews/test": {"summary.rouge1": 0.30, "summary.rouge2": 0.16, "summary.rougeL": 0.21},
    "vims/all": {},
}
SPEED_TARGETS = {"train_seconds": ("<=", 300), "batch_docs_per_second": (">=", 200), "single_median_ms": ("<=", 20)}
RESULTS = Path(__file__).resolve().parent / "results"


def latency(predictor: Predictor, texts: list[str], repeat: int = 200) -> dict[str, float]:
    """Single-request latency (one article per call) and batch throughput."""
    for t in texts[:5]:
        predictor.predict(t)  # warm-up
    times = []
    for t in texts[:repeat]:
        start = time.perf_counter()
        predictor.predict(t)
        times.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    batch = texts[:1000]
    for i in range(0, len(batch), 64):
        predictor.predict_batch(batch[i : i + 64])
    dps = len(batch) / (time.perf_counter() - start)
    return {"single_median_ms": statistics.median(times), "single_p95_ms": sorted(times)[int(0.95 * len(times))],
            "batch_docs_per_second": dps}


def get(result: dict, dotted: str) -> float | None:
    task, key = dotted.split(".")
    return None if result.get(task) is None else result[task][key]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="existing bundle to measure (default: train the default config first)")
    parser.add_argument("--out", default=str(RESULTS / "baseline.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    config = load_config()
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}}
    if args.model:
        model_dir = Path(args.model)
    else:
        from training.train import train

        config.evaluate = []  # evaluated below, separately from the training time
        start = time.perf_counter()
        # Trained on all of the default data (no registry holdout), like `newslens train --out`.
        model_dir = train(config, out=Path("models") / "bench-baseline", progress=True)
        report["train_seconds"] = time.perf_counter() - start
    predictor = Predictor.load(model_dir)
    report["model"] = str(model_dir)
    report["files"] = {}
    texts: list[str] = []
    for name in TARGETS:
        records = read_records(config.resolve(f"{name}.jsonl.gz"))
        result = headline(evaluate(predictor, records, progress=True))
        report["files"][name] = result
        if name == "vntc/test":
            texts = [r.text for r in records]
    report["speed"] = latency(predictor, texts)

    checks = []
    for name, targets in TARGETS.items():
        for dotted, goal in targets.items():
            value = get(report["files"][name], dotted)
            checks.append((f"{name} {dotted}", value, f">= {goal}", value is not None and value >= goal))
    speed = {**report["speed"], **({"train_seconds": report["train_seconds"]} if "train_seconds" in report else {})}
    for key, (op, goal) in SPEED_TARGETS.items():
        if key in speed:
            ok = speed[key] <= goal if op == "<=" else speed[key] >= goal
            checks.append((key, speed[key], f"{op} {goal}", ok))
    report["checks"] = [{"what": w, "value": v, "target": t, "met": ok} for w, v, t, ok in checks]

    print(f"{'what':40} {'value':>10} {'target':>10}  met")
    for w, v, t, ok in checks:
        print(f"{w:40} {v:10.4f} {t:>10}  {'yes' if ok else 'NO'}")
    kw = report["files"]["vims/all"]["keywords"]
    print(f"{'vims/all keywords F1@5 exact / partial':40} {kw['f1_at_5_exact']:.4f} / {kw['f1_at_5_partial']:.4f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
