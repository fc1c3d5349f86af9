"""The lead detector (``model/lead.py``): fit on vietnews/train, threshold chosen on vietnews/dev.

    python bench/lead.py [--model DIR] [--fit]     # default: models/bench-baseline

Each VietNews article is read twice: as shipped (its body, no lead) and with its lead put back
as the first paragraph. On vietnews/dev this prints, for each threshold, how many leads are
recognised, how many first body paragraphs are taken for a lead, and the drafts' ROUGE-1/2/L
on both readings. The shipped threshold is the lowest one (the most leads recognised) at
which the drafts of bodies without a lead score no lower ROUGE-1 than with the detector off.

``--fit`` fits the detector again on 3,000 articles of vietnews/train and prints it, to compare
with (or replace) ``model.lead.DETECTOR``; the scan then uses it. No test file is read here:
``bench/summaries.py`` reports vietnews/test and vims/all. Writes bench/results/lead.json.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, machine, write_report  # noqa: E402
from model.lead import DETECTOR  # noqa: E402
from model.paths import data_dir  # noqa: E402
from model.predictor import Predictor  # noqa: E402
from training import metrics  # noqa: E402
from training.data import read_records  # noqa: E402
from training.evaluate import predict_records  # noqa: E402
from training.lead import fit_lead_detector, rows_of, with_lead  # noqa: E402

THRESHOLDS = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2)
FIT_ARTICLES = 3000


def rouge_rows(predictor: Predictor, records, threshold: float) -> np.ndarray:
    """Per-article ROUGE-1/2/L of the drafts with the detector at ``threshold``."""
    baseline = getattr(predictor.model, "baseline", predictor.model)
    baseline.lead_detector = replace(baseline.lead_detector, threshold=threshold)
    preds, _ = predict_records(predictor, records, progress=True)
    return np.array(metrics.rouge_per_pair([p.summary.text for p in preds], [r.summary for r in records]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/bench-baseline")
    parser.add_argument("--fit", action="store_true", help="fit the detector on vietnews/train again and use it")
    parser.add_argument("--out", default=str(RESULTS / "lead.json"))
    args = parser.parse_args()
    predictor = Predictor.load(args.model)
    baseline = getattr(predictor.model, "baseline", predictor.model)
    detector = DETECTOR
    report: dict = {"machine": machine(), "model": args.model}
    if args.fit:
        train = [r for r in read_records(data_dir() / "vietnews/train.jsonl.gz") if r.summary][:FIT_ARTICLES]
        detector = fit_lead_detector(train, baseline.features)
        print(f"detector fit on {len(train)} vietnews/train articles:\n{detector}")
        print("same as model.lead.DETECTOR" if replace(detector, threshold=DETECTOR.threshold) == DETECTOR
              else "differs from model.lead.DETECTOR")
    baseline.lead_detector = detector
    report["detector"] = asdict(detector)

    dev = [r for r in read_records(data_dir() / "vietnews/dev.jsonl.gz") if r.summary]
    back = [with_lead(r) for r in dev]
    # Drafts with the detector off and always on; a threshold picks one per article.
    readings = {}
    for name, records in (("no lead", dev), ("lead put back", back)):
        rows, usable = rows_of(records, baseline.features)
        proba = np.where(usable, detector.probability(rows), -1.0)
        readings[name] = (proba, rouge_rows(predictor, records, 2.0), rouge_rows(predictor, records, -1.0))
    scan = []
    for threshold in (2.0, *THRESHOLDS):
        row = {"threshold": "off" if threshold > 1 else threshold}
        for name, (proba, off, on) in readings.items():
            taken = proba >= threshold
            scores = np.where(taken[:, None], on, off).mean(axis=0)
            row[name] = {"taken_as_lead": round(float(taken.mean()), 4),
                         **{k: round(float(v), 4) for k, v in zip(metrics.ROUGE_KEYS, scores)}}
        scan.append(row)
    floor = scan[0]["no lead"]["rouge1"]
    ok = [r for r in scan[1:] if r["no lead"]["rouge1"] >= floor]
    chosen = min(ok, key=lambda r: r["threshold"])["threshold"] if ok else "off"
    report.update(dev_scan=scan, chosen_threshold=chosen, shipped_threshold=DETECTOR.threshold)
    print(f"{'threshold':>9} | no lead: as lead, R1 / R2 / RL | lead put back: as lead, R1 / R2 / RL")
    for r in scan:
        a, b = r["no lead"], r["lead put back"]
        print(f"{r['threshold']!s:>9} | {a['taken_as_lead']:.3f}  {a['rouge1']:.4f} / {a['rouge2']:.4f} / {a['rougeL']:.4f}"
              f" | {b['taken_as_lead']:.3f}  {b['rouge1']:.4f} / {b['rouge2']:.4f} / {b['rougeL']:.4f}")
    print(f"chosen on vietnews/dev: {chosen} (shipped: {DETECTOR.threshold})")
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
