"""What "Giáo dục" (education) as an 11th type label does, on the test files.

    python bench/education.py                                # train the default config + the rule, then measure
    python bench/education.py --model DIR [--default DIR]    # measure existing bundles

``recent/`` holds education articles with ``type: null`` (VNTC has no such section). The
config option ``type_from_source`` gives them their label (``recent/*/education`` ->
"Giáo dục"): this script trains the default config with that rule (11 labels) and scores:

- ``recent/test`` with its education articles labelled by the same rule (all 11 labels);
- the other 10 labels alone: the typed records of ``recent/test`` and ``vntc/test`` as shipped
  (an article of theirs called education counts as an error), beside the default 10-label
  bundle (``--default``);
- education's own recall and precision on ``recent/test``.

The decision (default or not) was taken on the dev splits (bench/type_recipes.py); this
reports it on the test files. Writes bench/results/education.json.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, machine, trained_or_given, write_report  # noqa: E402
from model.predictor import Predictor  # noqa: E402
from training.config import load_config  # noqa: E402
from training.data import read_records, type_from_source  # noqa: E402
from training.evaluate import headline, predict_records, score, source_groups  # noqa: E402

EDUCATION = "Giáo dục"
RULE = {"recent/*/education": EDUCATION}


def scored(records: list, preds: list, labels: list[str], dps: float, parts: bool = False) -> dict:
    """Headline metrics with intervals (and per source group when ``parts``)."""
    result = score(records, preds, labels)
    result["docs_per_second"] = dps
    if parts:
        result["by_source"] = {name: score([records[i] for i in idx], [preds[i] for i in idx], labels)
                               for name, idx in source_groups(records).items()}
    return headline(result)


def measure(predictor: Predictor, recent: list, vntc: list, rules: dict[str, str]) -> dict:
    labelled, _ = type_from_source(recent, rules)
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
    parser.add_argument("--model", help="the 11-label bundle to measure (default: train the default config first)")
    parser.add_argument("--default", help="the default (10-label) bundle to measure beside it")
    parser.add_argument("--out", default=str(RESULTS / "education.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    config = load_config(name="newslens-education", type_from_source=RULE)
    rules = config.type_from_source
    report: dict = {"machine": machine(), "type_from_source": rules}
    model_dir = trained_or_given(config, args.model, "bench-education", report)
    recent = read_records(config.resolve("recent/test.jsonl.gz"))
    vntc = [r for r in read_records(config.resolve("vntc/test.jsonl.gz")) if r.type is not None]
    report["models"] = {"education": str(model_dir)}
    report["results"] = {"education": measure(Predictor.load(model_dir), recent, vntc, rules)}
    if args.default:
        report["models"]["default"] = args.default
        report["results"]["default"] = measure(Predictor.load(args.default), recent, vntc, rules)
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
