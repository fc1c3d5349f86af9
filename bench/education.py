"""What "Giáo dục" (education) as an 11th type label does, on the test files.

    python bench/education.py                               # train default + education, then measure
    python bench/education.py --model DIR --default DIR     # measure existing bundles

``recent/`` holds education articles with ``type: null`` (VNTC has no such section). This
script writes them with type "Giáo dục" into a scratch folder (never into the repository),
trains the default config plus that file, and scores:

- ``recent/test`` with its education articles labelled (all 11 labels);
- the other 10 labels alone: the typed records of ``recent/test`` and ``vntc/test`` as shipped
  (an article of theirs called education counts as an error), beside the default bundle;
- education's own recall and precision on ``recent/test``.

The decision (default or not) was taken on the dev splits (bench/type_recipes.py); this
reports it on test files. Writes bench/results/education.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, machine, trained_or_given, write_report  # noqa: E402
from model.predictor import Predictor  # noqa: E402
from training.config import load_config  # noqa: E402
from training.data import read_records  # noqa: E402
from training.evaluate import headline, predict_records, score, source_groups  # noqa: E402

EDUCATION = "Giáo dục"
SCRATCH = Path(os.environ.get("TMPDIR", tempfile.gettempdir())) / "newslens-education"


def is_education(record) -> bool:
    return record.type is None and (record.source or "").endswith("/education")


def write_education(source: Path, target: Path) -> int:
    """Copy the education articles of ``source`` with their type set; returns how many."""
    n = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        for r in read_records(source):
            if is_education(r):
                out.write(json.dumps({**dataclasses.asdict(r), "type": EDUCATION}, ensure_ascii=False) + "\n")
                n += 1
    return n


def scored(records: list, preds: list, labels: list[str], dps: float, parts: bool = False) -> dict:
    """Headline metrics with intervals (and per source group when ``parts``)."""
    result = score(records, preds, labels)
    result["docs_per_second"] = dps
    if parts:
        result["by_source"] = {name: score([records[i] for i in idx], [preds[i] for i in idx], labels)
                               for name, idx in source_groups(records).items()}
    return headline(result)


def measure(predictor: Predictor, recent: list, vntc: list) -> dict:
    labelled = [dataclasses.replace(r, type=EDUCATION) if is_education(r) else r for r in recent]
    typed = [r for r in labelled if r.type is not None]
    preds, dps = predict_records(predictor, typed, progress=True)
    labels = sorted(set(predictor.labels.types) | {r.type for r in typed})
    ten = [i for i, r in enumerate(typed) if r.type != EDUCATION]
    out = {"recent/test, 10 labels": scored([typed[i] for i in ten], [preds[i] for i in ten], labels, dps, parts=True)}
    if EDUCATION in predictor.labels.types:
        out["recent/test, 11 labels"] = scored(typed, preds, labels, dps, parts=True)
        truth = [r.type == EDUCATION for r in typed]
        called = [p.type.label == EDUCATION for p in preds]
        hits = sum(t and c for t, c in zip(truth, called))
        out["education"] = {"n": sum(truth), "recall": hits / max(sum(truth), 1), "precision": hits / max(sum(called), 1)}
    vntc_preds, dps = predict_records(predictor, vntc, progress=True)
    out["vntc/test"] = scored(vntc, vntc_preds, sorted(set(predictor.labels.types) | {r.type for r in vntc}), dps)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="an 11-label bundle to measure (default: train one first)")
    parser.add_argument("--default", help="the default (10-label) bundle to measure beside it")
    parser.add_argument("--out", default=str(RESULTS / "education.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    config = load_config(name="newslens-education")
    report: dict = {"machine": machine()}
    if not args.model:
        extra = SCRATCH / "education_train.jsonl"
        report["education_train_records"] = write_education(config.resolve("recent/train.jsonl.gz"), extra)
        config.train = [*config.train, str(extra)]
    model_dir = trained_or_given(config, args.model, "bench-education", report)
    recent = read_records(config.resolve("recent/test.jsonl.gz"))
    vntc = [r for r in read_records(config.resolve("vntc/test.jsonl.gz")) if r.type is not None]
    report["models"] = {"education": str(model_dir)}
    report["results"] = {"education": measure(Predictor.load(model_dir), recent, vntc)}
    if args.default:
        report["models"]["default"] = args.default
        report["results"]["default"] = measure(Predictor.load(args.default), recent, vntc)
    for name, result in report["results"].items():
        for part, r in result.items():
            t = r.get("type", r)
            shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in t.items() if not k.endswith("_ci")}
            cis = {k: [round(x, 4) for x in v] for k, v in t.items() if k.endswith("_ci")}
            print(f"{name:10} {part:24} {shown} {cis}")
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
