"""Benchmark of the TF-IDF baseline against the targets of the end-to-end issue.

    python bench/baseline.py                 # train the default config, then measure
    python bench/baseline.py --model DIR     # measure an existing bundle

Prints a table and writes bench/results/baseline.json. Quality targets are measured on the
shared test files (never used for training or tuning); speed on this machine's CPUs.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, check, latency, machine, print_and_write, trained_or_given  # noqa: E402
from model.predictor import Predictor  # noqa: E402
from training.config import load_config  # noqa: E402
from training.data import read_records, type_from_source  # noqa: E402
from training.evaluate import evaluate, headline  # noqa: E402

TARGETS = {
    "vntc/test": {"type.accuracy": 0.935, "type.macro_f1": 0.92},
    "recent/test": {"type.accuracy": 0.90, "type.macro_f1": 0.89},  # each part is in the report's by_source
    "danes/test": {"topics.micro_f1": 0.55},
    "vietnews/test": {"summary.rouge1": 0.30, "summary.rouge2": 0.16, "summary.rougeL": 0.21},
    "vims/all": {"type.accuracy": 0.78},
}
SPEED_TARGETS = {"train_seconds": ("<=", 360), "batch_docs_per_second": (">=", 200), "single_median_ms": ("<=", 20)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="existing bundle to measure (default: train the default config first)")
    parser.add_argument("--out", default=str(RESULTS / "baseline.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    config = load_config()
    report: dict = {"machine": machine()}
    model_dir = trained_or_given(config, args.model, "bench-baseline", report)
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
    # The targets are on the files as shipped (10 type labels). The default config also teaches
    # the labels its type_from_source rules give (education); scored here with them, no target.
    if config.type_from_source:
        records, n = type_from_source(read_records(config.resolve("recent/test.jsonl.gz")), config.type_from_source)
        result = headline(evaluate(predictor, records, progress=True))
        report["files"]["recent/test, type_from_source"] = {**result, "typed_from_source": n}
    report["speed"] = latency(predictor, texts)

    checks = check(report, TARGETS, SPEED_TARGETS)
    print_and_write(report, checks, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
