"""Draft summaries as a newsroom pastes articles: with their lead, captions and datelines.

    python bench/summaries.py [--model DIR]      # default: models/bench-baseline

ROUGE-1/2/L (with 95% bootstrap intervals) of the model's drafts on:
- ``vietnews/test`` as shipped: the body without its lead; the reference is the lead;
- the same articles with their lead put back as the first paragraph, beside two baselines
  that know where the lead is: lead-1 (the first sentence) and the whole first paragraph;
- ``vims/all`` against its summaries (a ViMs record's summary is its lead, and its text the
  body without it), as shipped and with the lead put back as the first paragraph;
and the draft of the seed article (``../shared/examples``). The test files are read once per
reported result; nothing here was tuned on them. Writes bench/results/summaries.json.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, machine, write_report  # noqa: E402
from model.paths import data_dir  # noqa: E402
from model.predictor import Predictor  # noqa: E402
from model.text import read_article, split_sentences  # noqa: E402
from training import bootstrap, metrics  # noqa: E402
from training.data import read_records  # noqa: E402
from training.evaluate import evaluate, headline  # noqa: E402

SEED = Path(__file__).resolve().parents[2] / "shared" / "examples" / "seed_article_ninhthuan.txt"


def scored(drafts: list[str], refs: list[str]) -> dict:
    rows = metrics.rouge_per_pair(drafts, refs)
    point = metrics.mean_scores(rows, metrics.ROUGE_KEYS)
    return bootstrap.with_intervals(point, bootstrap.means(rows, metrics.ROUGE_KEYS, point))


def first_sentence(r) -> str:
    sentences = split_sentences(read_article(r.text, r.title).body)
    return sentences[0].text if sentences else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/bench-baseline")
    parser.add_argument("--out", default=str(RESULTS / "summaries.json"))
    args = parser.parse_args()
    predictor = Predictor.load(args.model)
    report: dict = {"machine": machine(), "model": args.model, "results": {}}
    out = report["results"]

    vietnews = [r for r in read_records(data_dir() / "vietnews/test.jsonl.gz") if r.summary]
    out["vietnews/test (body without lead)"] = headline(evaluate(predictor, vietnews, progress=True))["summary"]
    back = [replace(r, text=f"{r.summary}\n{r.text}") for r in vietnews]
    out["vietnews/test, lead put back"] = headline(evaluate(predictor, back, progress=True))["summary"]
    refs = [r.summary for r in back]
    out["vietnews/test, lead put back: lead-1 baseline"] = scored([first_sentence(r) for r in back], refs)
    out["vietnews/test, lead put back: first paragraph"] = scored([r.text.split("\n")[0] for r in back], refs)
    vims = [r for r in read_records(data_dir() / "vims/all.jsonl.gz") if r.summary]
    out["vims/all"] = headline(evaluate(predictor, vims, progress=True))["summary"]
    vims_back = [replace(r, text=f"{r.summary}\n{r.text}") for r in vims]
    out["vims/all, lead put back"] = headline(evaluate(predictor, vims_back, progress=True))["summary"]
    if SEED.is_file():
        result = predictor.predict(SEED.read_text(encoding="utf-8"))
        report["seed_article"] = {"summary": result.summary.text, "keywords": [k.phrase for k in result.keywords]}
    for name, r in out.items():
        print(f"{name:48} R1 {r['rouge1']:.4f} {r['rouge1_ci']}  R2 {r['rouge2']:.4f}  RL {r['rougeL']:.4f}  (n {r['n']})")
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
