"""Keywords against editorial tags: ViMs, cut in two by story cluster.

    python bench/keywords.py [--model DIR] [--fit]     # default: models/bench-baseline

ViMs (``vims/all``) is the one corpus with editorial tags. Its records come in clusters of one
story told by several outlets, so it is cut in two by cluster (``training.splits.cluster_halves``):
the keyword ranking's weights and settings were chosen on the **dev half**; the **held-out
half** was read once to report. ``vims/all`` is reported too, and half of it is the dev half.
Intervals resample whole clusters (95%).

``--fit`` fits the weights on the dev half again and prints them, to compare with (or replace)
``model.keywords.WEIGHTS``; the report then scores the refit weights.

``--cv`` only scores the dev half by 2-fold cross-validation by cluster (a cluster's fold: the
SHA-1 of "cv" + its name), the weights fit on one fold and scored on the other: how a change
of the candidate rules is judged without reading the held-out half.
``--cv-rows FILE`` keeps its per-article scores; ``--against FILE`` (scores kept from the code
before a change) adds the change's gain with a paired interval that resamples whole clusters:

    python bench/keywords.py --cv --cv-rows /tmp/before.json        # on the code before
    python bench/keywords.py --cv --against /tmp/before.json        # on the code after

Also: milliseconds per article of keyword extraction (best of 5 passes over the held-out
half), and the seed article's keywords. Writes bench/results/keywords.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, machine, write_report  # noqa: E402
from model.keywords import WEIGHTS, extract_keywords  # noqa: E402
from model.paths import data_dir  # noqa: E402
from model.predictor import Predictor  # noqa: E402
from model.text import normalize  # noqa: E402
from training import bootstrap, metrics  # noqa: E402
from training.data import read_records  # noqa: E402
from training.evaluate import predict_records  # noqa: E402
from training.keywords import fit_weights  # noqa: E402
from training.splits import cluster_halves, cluster_of  # noqa: E402

SEED = Path(__file__).resolve().parents[2] / "shared" / "examples" / "seed_article_ninhthuan.txt"
TARGETS = {"f1_at_5_exact": 0.20, "f1_at_5_partial": 0.40}


def scored(records, keywords: list[list[str]]) -> dict:
    rows = metrics.keywords_f1_per_doc(keywords, [r.tags for r in records], k=5)
    point = metrics.mean_scores(rows, metrics.KEYWORD_KEYS, n=len(rows))
    clusters = [cluster_of(r.id) for r in records]
    return bootstrap.with_intervals(point, bootstrap.clustered_means(rows, clusters, metrics.KEYWORD_KEYS, point))


def extraction_ms(model, records, rounds: int = 5) -> float:
    """Best-of-``rounds`` milliseconds per article of the keyword step alone."""
    docs = [(normalize(r.title), normalize(r.text)) for r in records]
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for title, text in docs:
            model.keywords(title, text)
        best = min(best, (time.perf_counter() - start) / len(docs) * 1000)
    return best


def cross_validated(baseline, dev) -> tuple[dict, dict[str, list[float]]]:
    """Mean F1@5 over 2 folds of the dev half's clusters, the weights fit on the other fold;
    and each article's scores (``metrics.KEYWORD_KEYS``) by record id."""
    fold = {c: int(hashlib.sha1(f"cv{c}".encode("utf-8")).hexdigest(), 16) % 2 for c in {cluster_of(r.id) for r in dev}}
    idf, n_docs = baseline.features.idf_lookup(), baseline.n_docs
    rows, ids = [], []
    for k in (0, 1):
        fit = [r for r in dev if fold[cluster_of(r.id)] != k]
        test = [r for r in dev if fold[cluster_of(r.id)] == k]
        params = replace(baseline.keyword_params, weights=fit_weights(fit, idf, n_docs, baseline.keyword_params))
        found = [[kw.phrase for kw in extract_keywords(normalize(r.title), normalize(r.text), idf, n_docs, params)]
                 for r in test]
        rows += metrics.keywords_f1_per_doc(found, [r.tags for r in test], k=5)
        ids += [r.id for r in test]
    return metrics.mean_scores(rows, metrics.KEYWORD_KEYS, n=len(rows)), dict(zip(ids, map(list, rows)))


def paired_gain(rows: dict[str, list[float]], before: dict[str, list[float]]) -> dict:
    """Mean gain per article over ``before`` (the same articles), with a 95% interval that
    resamples whole clusters."""
    ids = sorted(rows)
    if sorted(before) != ids:
        raise SystemExit("--against: those scores are of other articles; keep them with --cv-rows on the same data.")
    diffs = [[a - b for a, b in zip(rows[i], before[i])] for i in ids]
    point = metrics.mean_scores(diffs, metrics.KEYWORD_KEYS, n=len(diffs))
    return bootstrap.with_intervals(point, bootstrap.clustered_means(diffs, [cluster_of(i) for i in ids],
                                                                     metrics.KEYWORD_KEYS, point))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/bench-baseline", help="a baseline bundle (its corpus statistics)")
    parser.add_argument("--fit", action="store_true", help="fit the weights on the dev half again and use them")
    parser.add_argument("--cv", action="store_true", help="only the dev half, by 2-fold cross-validation by cluster")
    parser.add_argument("--cv-rows", help="with --cv: write each article's scores here (JSON)")
    parser.add_argument("--against", help="with --cv: the gain over scores written by --cv-rows, paired by article")
    parser.add_argument("--out", default=str(RESULTS / "keywords.json"))
    args = parser.parse_args()

    predictor = Predictor.load(args.model)
    baseline = getattr(predictor.model, "baseline", predictor.model)  # a transformer bundle nests one
    tagged = [r for r in read_records(data_dir() / "vims/all.jsonl.gz") if r.tags]
    dev, held = cluster_halves(tagged)
    if args.cv:
        cv, rows = cross_validated(baseline, dev)
        print(f"dev half, 2-fold cross-validation by cluster: F1@5 exact {cv['f1_at_5_exact']:.4f}"
              f"  partial {cv['f1_at_5_partial']:.4f}  ({cv['n']} articles)")
        if args.cv_rows:
            write_report(rows, args.cv_rows)
        if args.against:
            gain = paired_gain(rows, json.loads(Path(args.against).read_text(encoding="utf-8")))
            print("gain over --against: " + "  ".join(
                f"{key} {gain[key]:+.4f} [{gain[key + '_ci'][0]:+.4f}, {gain[key + '_ci'][1]:+.4f}]"
                for key in metrics.KEYWORD_KEYS))
        return 0
    report: dict = {"machine": machine(), "model": args.model, "targets": TARGETS, "results": {}}
    if args.fit:
        weights = fit_weights(dev, baseline.features.idf_lookup(), baseline.n_docs, baseline.keyword_params)
        print("weights fit on the dev half:\n" + json.dumps(weights, ensure_ascii=False))
        print("same as model.keywords.WEIGHTS" if weights == WEIGHTS else "differ from model.keywords.WEIGHTS")
        baseline.keyword_params = replace(baseline.keyword_params, weights=weights)
        report["weights"] = weights
    report["keyword_params"] = asdict(baseline.keyword_params)

    preds, _ = predict_records(predictor, tagged, progress=True)
    by_id = {r.id: [k.phrase for k in p.keywords] for r, p in zip(tagged, preds)}
    out = report["results"]
    for name, part in (("vims/all, dev half (chosen here)", dev), ("vims/all, held-out half", held), ("vims/all", tagged)):
        out[name] = scored(part, [by_id[r.id] for r in part])
        out[name]["clusters"] = len({cluster_of(r.id) for r in part})
    report["keyword_ms_per_article"] = round(extraction_ms(baseline, held), 3)
    if SEED.is_file():
        result = predictor.predict(SEED.read_text(encoding="utf-8"))
        report["seed_article"] = [(k.phrase, k.score) for k in result.keywords]

    for name, r in out.items():
        print(f"{name:36} F1@5 exact {r['f1_at_5_exact']:.4f} {[round(x, 4) for x in r['f1_at_5_exact_ci']]}"
              f"  partial {r['f1_at_5_partial']:.4f} {[round(x, 4) for x in r['f1_at_5_partial_ci']]}"
              f"  ({r['n']} articles, {r['clusters']} clusters)")
    print(f"keyword extraction: {report['keyword_ms_per_article']} ms per article")
    if "seed_article" in report:
        print("seed article:", ", ".join(p for p, _ in report["seed_article"]))
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
