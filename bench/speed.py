"""Prediction speed of several bundles, measured alternately in one process.

    python bench/speed.py models/old models/new [--rounds 3]

This machine's speed drifts by 20% or more within an hour, so two bundles timed minutes
apart cannot be compared; timed in turns, round after round, they can. Uses the same
measurement as bench/baseline.py (bench.common.latency) on vntc/test.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, latency, machine  # noqa: E402
from model.paths import data_dir  # noqa: E402
from model.predictor import Predictor  # noqa: E402
from training.data import read_records  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="bundle folders")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", default=str(data_dir() / "vntc" / "test.jsonl.gz"))
    parser.add_argument("--out", default=str(RESULTS / "speed.json"))
    args = parser.parse_args()

    texts = [r.text for r in read_records(args.data)]
    predictors = {m: Predictor.load(m) for m in args.models}
    runs: dict[str, list[dict]] = {m: [] for m in args.models}
    for round_ in range(1, args.rounds + 1):
        for name, predictor in predictors.items():
            result = latency(predictor, texts)
            runs[name].append(result)
            print(f"round {round_}  {name}: {result['batch_docs_per_second']:.1f} articles/s in batch, "
                  f"{result['single_median_ms']:.1f} ms median single", flush=True)
    report = {"machine": machine(), "data": args.data, "runs": runs}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
