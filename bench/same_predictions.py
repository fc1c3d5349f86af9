"""Do two bundles (or two code versions) answer the same? For refactors that must not change results.

    python bench/same_predictions.py models/old models/new [--n 1000]
    python bench/same_predictions.py models/current --write before.json   # then, on other code:
    python bench/same_predictions.py models/current --against before.json

Reads the first ``n`` articles of each shared test file in ``FILES`` (``n`` in all, split
evenly), predicts them, and compares type, topics, keywords and summary exactly, and every
probability to within ``TOLERANCE``. Exit status 1 when anything differs. Writes
bench/results/same_predictions.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, write_report  # noqa: E402
from model.paths import data_dir  # noqa: E402
from model.predictor import Predictor  # noqa: E402
from training.data import read_records  # noqa: E402

FILES = ("vntc/test", "recent/test", "danes/test", "vietnews/test", "vims/all")
TOLERANCE = 1e-6  # probabilities are rounded to 6 decimals in results


def answers(model: str, n: int) -> list[dict]:
    predictor = Predictor.load(model)
    per_file = max(1, n // len(FILES))
    out = []
    for name in FILES:
        records = read_records(data_dir() / f"{name}.jsonl.gz")[:per_file]
        for r, p in zip(records, predictor.predict_batch([r.text for r in records], [r.title for r in records])):
            d = p.to_dict()
            out.append({"id": r.id, "file": name, **{k: d[k] for k in ("type", "topics", "keywords", "summary")}})
    return out


def differences(a: list[dict], b: list[dict]) -> list[str]:
    found = []
    for x, y in zip(a, b):
        where = f"{x['file']} {x['id']}"
        for key in ("summary", "keywords"):
            if x[key] != y[key]:
                found.append(f"{where}: {key} differs")
        for key, chosen in (("type", "label"), ("topics", "labels")):
            if x[key][chosen] != y[key][chosen]:
                found.append(f"{where}: {key} {x[key][chosen]} != {y[key][chosen]}")
            gap = max((abs(v - y[key]["scores"].get(k, -1)) for k, v in x[key]["scores"].items()), default=0.0)
            if gap > TOLERANCE or set(x[key]["scores"]) != set(y[key]["scores"]):
                found.append(f"{where}: {key} scores differ by {gap:.2g}")
    if len(a) != len(b):
        found.append(f"{len(a)} vs {len(b)} articles")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="one bundle (with --write/--against) or two to compare")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--write", help="save the answers of the one bundle to this JSON file")
    parser.add_argument("--against", help="compare the one bundle's answers with this saved JSON file")
    parser.add_argument("--out", default=str(RESULTS / "same_predictions.json"))
    args = parser.parse_args()
    first = answers(args.models[0], args.n)
    if args.write:
        Path(args.write).write_text(json.dumps(first, ensure_ascii=False), encoding="utf-8")
        print(f"wrote {len(first)} answers of {args.models[0]} to {args.write}")
        return 0
    if args.against:
        second, names = json.loads(Path(args.against).read_text(encoding="utf-8")), [args.models[0], args.against]
    elif len(args.models) == 2:
        second, names = answers(args.models[1], args.n), args.models
    else:
        parser.error("give two bundles, or one with --write or --against")
    found = differences(first, second)
    report = {"compared": names, "articles": len(first), "files": list(FILES), "identical": not found,
              "differences": found[:50], "n_differences": len(found)}
    write_report(report, args.out)
    print(f"{len(first)} articles: " + ("identical" if not found else f"{len(found)} differences, e.g. {found[:5]}"))
    return 0 if not found else 1


if __name__ == "__main__":
    sys.exit(main())
