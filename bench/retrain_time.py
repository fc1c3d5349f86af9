"""Retrain time on the default registry: the default (which keeps what the new data cannot
change) against ``--refit-all`` (which fits every part again).

    python bench/retrain_time.py [--home DIR] [--size 200] [--rounds 2] [--out FILE]

A copy of the default registry (``--home``, default models/bench-registry-default; trained on
the default config first if it has no current model) is retrained on the first ``--size``
education articles of ``recent/train`` labelled "Giáo dục" (the articles and labels of
``bench/retrain_learning.py``), with the default new weight. They carry no summary, so by
default the candidate keeps the current summary scorer, and as they add under 5% to the
articles and no archive record, the vocabulary, the archive type head and the topic context
(``fit_baseline``'s ``warm_from``); ``refit_all`` fits them all again. The two
retrains run in turns, ``--rounds`` times each (ABBA order), on the same machine in the same
hour. Also: whether the two candidates give the same types on the 1,000 articles of
``vietnews/dev`` and ``recent/train``'s first 1,000 typed ones, and their drafts' ROUGE on
``vietnews/dev``, and each candidate's "Giáo dục" recall on the fresh dev education articles of
``bench/retrain_dev.py`` (full texts and headline + first paragraph) with its false alarms in
the fixed holdout (dev data; no test file is read). Writes bench/results/retrain_time.json.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, machine, write_report  # noqa: E402
from bench.retrain_dev import dev_recall, education_split  # noqa: E402
from bench.retrain_learning import default_registry, run_retrain, write_jsonl  # noqa: E402
from model.paths import data_dir  # noqa: E402
from model.predictor import Predictor  # noqa: E402
from training.data import read_records  # noqa: E402
from training.evaluate import evaluate, headline  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default=str(ROOT / "models" / "bench-registry-default"))
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=str(RESULTS / "retrain_time.json"))
    args = parser.parse_args()
    template, _ = default_registry(Path(args.home))
    report: dict = {"machine": machine(), "registry": args.home, "current": template.current().name,
                    "new_articles": args.size, "runs": {"refit_all": [], "default": []}}
    with tempfile.TemporaryDirectory(prefix="newslens-retrain-time-") as tmp:
        scratch = Path(tmp)
        new, dev_education, _ = education_split(args.size)
        data = write_jsonl(scratch / "education.jsonl", new)
        paths = {}
        order = [True, False, False, True] * ((args.rounds + 1) // 2)
        for k, refit in enumerate(order[: 2 * args.rounds]):
            name = "refit_all" if refit else "default"
            run, path = run_retrain(template, scratch, f"{name}-{k}", data, None, refit_all=refit)
            print(f"retrain ({name}): {run['retrain_seconds']} s, summary scorer kept from {run['summary_kept_from']}",
                  flush=True)
            report["runs"][name].append(run["retrain_seconds"])
            paths.setdefault(name, path)
            report.setdefault("summary_kept_from", {})[name] = run["summary_kept_from"]
            report.setdefault("kept_from_current", {})[name] = run["kept_from_current"]
            report.setdefault("holdout", {})[name] = {k: run["dev"][k] for k in ("holdout_accuracy", "holdout_false_alarms",
                                                                                 "holdout_typed")}
        refit, kept = Predictor.load(paths["refit_all"]), Predictor.load(paths["default"])
        dev = [r for r in read_records(data_dir() / "vietnews/dev.jsonl.gz") if r.summary]
        typed = [r for r in read_records(data_dir() / "recent/train.jsonl.gz") if r.type is not None][:1000]
        for name, records in (("vietnews/dev", dev), ("recent/train, first 1,000 typed", typed)):
            a = refit.predict_batch([r.text for r in records], [r.title for r in records])
            b = kept.predict_batch([r.text for r in records], [r.title for r in records])
            report.setdefault("same_type", {})[name] = sum(x.type.label == y.type.label for x, y in zip(a, b)) / len(records)
            report.setdefault("same_draft", {})[name] = sum(x.summary.text == y.summary.text for x, y in zip(a, b)) / len(records)
        report["education_dev"] = {n: dev_recall(p, dev_education) for n, p in (("refit_all", refit), ("default", kept))}
        report["vietnews/dev summary"] = {n: {k: round(v, 5) for k, v in headline(evaluate(p, dev))["summary"].items()
                                              if not k.endswith("_ci") and k != "n"}
                                          for n, p in (("refit_all", refit), ("default", kept))}
    print({k: v for k, v in report.items() if k != "machine"})
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
