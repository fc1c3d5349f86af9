"""Does a retrain learn a new label, and refuse noise? (``python bench/retrain.py --education``)

1. A default registry (the default config: 10 type labels) under ``home``, trained once.
2. New-data files in a scratch folder (never in the repository), from ``recent/train``'s
   education articles (``type: null`` there; their ``source`` ends in ``/education``),
   labelled "Giáo dục": seeded samples of 50, 200 and 1,000; and 400 typed articles of
   ``recent/train`` whose labels were shuffled.
3. The new-weight default is chosen on held-out training data only: each weight retrains a
   copy of the registry with the 200; Giáo dục is scored on the retrain's own held-out slice
   of the new data (recall) and on the registry's fixed holdout (false alarms among old
   labels), and the weight with the best F1 of the two is kept (ties: the smaller weight).
4. With that weight: 50 and 1,000 articles, and the shuffled 400, which must be refused.
5. The test files, read once per reported model: Giáo dục recall and precision on
   ``recent/test``'s 130 education articles among its typed ones; recall on their headline
   and first paragraph alone; the other labels' accuracy on ``vntc/test`` and ``recent/test``,
   current against candidate, with 95% intervals.
"""
from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.common import wilson
from model.paths import data_dir
from model.predictor import Predictor
from training.config import load_config
from training.data import read_records, type_from_source
from training.evaluate import predict_records, score
from training.registry import Registry
from training.retrain import retrain
from training.train import train

EDUCATION = "Giáo dục"
RULE = {"recent/*/education": EDUCATION}
SIZES = (50, 200, 1000)
SHUFFLED = 400
PARTIAL = Path(__file__).resolve().parent / "results" / "retrain-education.partial.json"  # progress, if a run dies


def checkpoint(report: dict) -> None:
    PARTIAL.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r.to_json_dict(), ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def education_articles(records: list) -> list:
    """The education articles of ``records`` (``recent/train``), labelled "Giáo dục", in the
    seeded order every sample is drawn from (the first n)."""
    education, _ = type_from_source([r for r in records if r.type is None], RULE)
    education = [r for r in education if r.type == EDUCATION]
    random.Random(0).shuffle(education)
    return education


def new_data_files(scratch: Path) -> dict[str, Path]:
    records = read_records(data_dir() / "recent/train.jsonl.gz")
    education = education_articles(records)
    files = {f"education-{n}": write_jsonl(scratch / f"education-{n}.jsonl", education[:n]) for n in SIZES}
    typed = [r for r in records if r.type is not None]
    picked = random.Random(1).sample(typed, SHUFFLED)
    labels = [r.type for r in picked]
    random.Random(2).shuffle(labels)
    files["shuffled-400"] = write_jsonl(scratch / "shuffled-400.jsonl", [replace(r, type=t) for r, t in zip(picked, labels)])
    return files


def default_registry(home: Path, config_path: Path | None = None) -> tuple[Registry, float | None]:
    """The registry at ``home``, first trained with ``config_path`` (default: the default config)
    when it has no current model."""
    registry = Registry(home)
    if registry.current() is not None:
        return registry, None
    config = load_config(config_path)
    config.evaluate = []  # the test files are read below, once per reported model
    start = time.perf_counter()
    train(config, registry=registry)
    return registry, time.perf_counter() - start


def run_retrain(template: Registry, scratch: Path, name: str, data: Path, weight: float | None,
                relabel_similar: bool = False, refit_all: bool = False) -> tuple[dict, Path]:
    """``weight``: the retrain's --new-weight; None for its default (``auto_new_weight``)."""
    home = scratch / f"registry-{name}-w{weight_name(weight)}{'-relabel' if relabel_similar else ''}"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(template.home, home)
    start = time.perf_counter()
    result = retrain([str(data)], registry=Registry(home), new_weight=weight, progress=False,
                     relabel_similar=relabel_similar, refit_all=refit_all)
    seconds = time.perf_counter() - start
    print(result.report.render())
    print(result.table())
    out = {"new_weight": result.report.new_weight, "asked_weight": weight_name(weight), "relabel_similar": relabel_similar,
           "retrain_seconds": round(seconds, 1), "summary_kept_from": result.report.summary_kept_from,
           "kept_from_current": result.report.kept_from_current,
           "promoted": result.promoted,
           "reasons": result.reasons, "new_held_out": result.new_held,
           "new_data_gains": [{"task": g.task, "metric": g.metric, "n": g.n, "current": g.current,
                               "candidate": g.candidate, "z": g.z, "beats": g.beats} for g in result.new_gains],
           "readings": [c.describe() for c in result.report.readings]}
    edu = next((row for row in result.new_labels if row.label == EDUCATION), None)
    if edu is not None:
        holdout = result.candidate.config["metrics"]["holdout"]["type"]
        labels, cm = holdout["labels"], holdout["confusion_matrix"]
        false_alarms = sum(row[labels.index(EDUCATION)] for label, row in zip(labels, cm) if label != EDUCATION) \
            if EDUCATION in labels else 0
        hits = round(edu.candidate[1] * edu.n)
        out["dev"] = {"slice_education": edu.n, "slice_recall": edu.candidate[1], "holdout_typed": holdout["n"],
                      "holdout_false_alarms": false_alarms,
                      "f1": 2 * hits / max(2 * hits + (edu.n - hits) + false_alarms, 1),
                      "holdout_accuracy": holdout["accuracy"]}
    return out, result.candidate.path


def type_metrics(result: dict) -> dict:
    """Accuracy and macro-F1 with their intervals, from ``evaluate.score``."""
    return {k: result["type"][k] for k in ("accuracy", "accuracy_ci", "macro_f1", "macro_f1_ci", "n")}


def test_scores(predictor: Predictor, recent: list, vntc: list) -> dict:
    labelled, _ = type_from_source(recent, RULE)
    typed = [r for r in labelled if r.type is not None]
    preds, _ = predict_records(predictor, typed, progress=True)
    truth = [r.type == EDUCATION for r in typed]
    called = [p.type.label == EDUCATION for p in preds]
    hits = sum(t and c for t, c in zip(truth, called))
    others = [i for i, t in enumerate(truth) if not t]
    labels = sorted(set(predictor.labels.types) | {r.type for r in typed})
    out = {"education": {"n": sum(truth), "recall": hits / max(sum(truth), 1), "recall_ci": wilson(hits, sum(truth)),
                         "precision": hits / max(sum(called), 1), "precision_ci": wilson(hits, sum(called)),
                         "called": sum(called)}}
    # The same education articles in another shape: the headline and the first paragraph only.
    education = [r for r, t in zip(typed, truth) if t]
    short = predictor.predict_batch([r.text.strip().split("\n")[0] for r in education], [r.title for r in education])
    k = sum(p.type.label == EDUCATION for p in short)
    out["education_headline_lead"] = {"n": len(education), "recall": k / max(len(education), 1),
                                      "recall_ci": wilson(k, len(education))}
    out["recent/test, other labels"] = type_metrics(score([typed[i] for i in others], [preds[i] for i in others], labels))
    vntc_preds, _ = predict_records(predictor, vntc, progress=True)
    vntc_labels = sorted(set(predictor.labels.types) | {r.type for r in vntc})
    out["vntc/test"] = type_metrics(score(vntc, vntc_preds, vntc_labels))
    return out


def weight_name(weight: float | None) -> str:
    return "auto" if weight is None else f"{weight:g}"


def education_experiment(home: Path, weights: list[float | None], sizes: tuple[int, ...] = SIZES,
                         shuffled: bool = True) -> dict:
    """``weights``: the --new-weight values to choose from with 200 articles (None: the default,
    ``auto_new_weight``); a single one needs no choice, and 200 runs only if in ``sizes``."""
    scratch = Path(tempfile.mkdtemp(prefix="newslens-retrain-learning-"))
    report: dict = {"scratch": str(scratch)}
    try:
        files = new_data_files(scratch)
        template, seconds = default_registry(home)
        report["registry"] = {"home": str(home), "current": template.current_name(), "train_seconds": seconds}
        # 3. The weight, chosen on held-out training data (the retrain's slice and the fixed holdout).
        runs = {}
        for w in (weights if len(weights) > 1 or 200 in sizes else []):
            runs[w] = run_retrain(template, scratch, "education-200", files["education-200"], w)
            print(f"weight {weight_name(w)}: dev {runs[w][0].get('dev')}", flush=True)
            report["weight_choice"] = {weight_name(v): r[0] for v, r in runs.items()}
            checkpoint(report)
        if len(weights) > 1:
            best = max(weights, key=lambda w: (round(runs[w][0]["dev"]["f1"], 4), -w))
            report["weight_choice"] = {weight_name(w): runs[w][0] for w in weights}
        else:
            best = weights[0]
        report["chosen_weight"] = weight_name(best)
        # 4. The learning curve with that weight, and noise.
        models = {"education-200": runs[best]} if best in runs else {}
        for n in (s for s in sizes if s != 200):
            models[f"education-{n}"] = run_retrain(template, scratch, f"education-{n}", files[f"education-{n}"], best)
            checkpoint({**report, "retrains": {k: v[0] for k, v in models.items()}})
        if shuffled:
            report["shuffled-400"] = run_retrain(template, scratch, "shuffled-400", files["shuffled-400"], best)[0]
        report["retrains"] = {name: info for name, (info, _) in models.items()}
        # 5. The test files, once per reported model.
        recent = read_records(data_dir() / "recent/test.jsonl.gz")
        vntc = [r for r in read_records(data_dir() / "vntc/test.jsonl.gz") if r.type is not None]
        report["test"] = {"current": test_scores(Predictor.load(template.current().path), recent, vntc)}
        for name, (_, path) in models.items():
            report["test"][name] = test_scores(Predictor.load(path), recent, vntc)
            print(name, json.dumps(report["test"][name], ensure_ascii=False), flush=True)
            checkpoint(report)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return report
