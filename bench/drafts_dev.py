"""Draft faults an editor sees, counted on dev data only (never a test file).

    python bench/drafts_dev.py [--model DIR] [--n 1000] [--out FILE] [--complete-announcements]

Where draft rules are chosen. Reads:
- ``vietnews/dev`` (1,000 articles, body without lead): ROUGE-1/2/L of the drafts, the score
  the test-file floor is kept on; and the same with the lead put back as the first line;
- the ViMs dev half (``training.splits.cluster_halves``; the held-out half is never read), as
  shipped (a body without its lead, laid out in paragraphs) and with the lead put back as the
  first paragraph, as a pasted page has it;
- ``--n`` long full texts of ``recent/train`` (the Dân trí and VnExpress 2024 part, seeded
  draw), pasted as an editor pastes them (headline on the first line, then the body), and
  counts the drafts that hold:
  - a sentence twice,
  - the headline,
  - a question,
  - a sentence that ends in a colon (it introduces a list or a quote that is not there);
  and how many drafts are taken from the lead (the first paragraph) alone;
- the same articles' first lines: how often a pasted headline is recognised as the headline,
  and how often a body's first line is taken for one when no headline was pasted.

``--complete-announcements`` answers with ``SummaryParams.complete_announcements`` on.
Writes ``bench/results/drafts_dev.json`` unless ``--out`` says otherwise.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict, replace
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, machine, wilson, write_report  # noqa: E402
from model.paths import data_dir  # noqa: E402
from model.predictor import Predictor  # noqa: E402
from model.text import normalize, split_headline, split_sentences  # noqa: E402
from training.data import read_records  # noqa: E402
from training.evaluate import evaluate, headline  # noqa: E402
from training.splits import cluster_halves  # noqa: E402

FULL_TEXTS = "recent/dantri-vnexpress-2024/"
MIN_WORDS = 200  # a long article: one whose draft has sentences to choose from


def faults(draft_sentences: list[str], title: str, lead: str) -> dict[str, bool]:
    keys = [" ".join(s.casefold().split()) for s in draft_sentences]
    return {
        "from_the_lead_alone": bool(draft_sentences) and all(s in lead for s in draft_sentences),
        "repeated_sentence": len(set(keys)) < len(keys),
        "headline_in_draft": " ".join(title.casefold().split()) in keys,
        "question": any(s.rstrip("\"”'’)").endswith("?") for s in draft_sentences),
        "ends_in_colon": bool(draft_sentences) and draft_sentences[-1].rstrip().endswith(":"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/bench-baseline")
    parser.add_argument("--n", type=int, default=1000, help="recent/train articles to read (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "drafts_dev.json"))
    parser.add_argument("--complete-announcements", action="store_true",
                        help="answer with SummaryParams.complete_announcements on")
    args = parser.parse_args()
    predictor = Predictor.load(args.model)
    baseline = getattr(predictor.model, "baseline", predictor.model)  # a transformer bundle nests one
    if args.complete_announcements:
        baseline.summary_params = replace(baseline.summary_params, complete_announcements=True)
    report: dict = {"machine": machine(), "model": args.model, "summary_params": asdict(baseline.summary_params),
                    "results": {}}
    out = report["results"]

    dev = [r for r in read_records(data_dir() / "vietnews/dev.jsonl.gz") if r.summary]
    vims_dev, _ = cluster_halves([r for r in read_records(data_dir() / "vims/all.jsonl.gz") if r.summary])
    for name, records in (("vietnews/dev", dev), ("vims dev half", vims_dev)):
        for shape, part in (("", records), (", lead put back", [replace(r, text=f"{r.summary}\n{r.text}") for r in records])):
            out[name + shape] = {k: round(v, 5) if isinstance(v, float) else v
                                 for k, v in headline(evaluate(predictor, part))["summary"].items()}

    long = [r for r in read_records(data_dir() / "recent/train.jsonl.gz")
            if r.title and r.source and r.source.startswith(FULL_TEXTS) and len(r.text.split()) >= MIN_WORDS]
    random.Random(args.seed).shuffle(long)
    long = long[: args.n]
    pasted = [f"{r.title}\n\n{r.text}" for r in long]
    counts = dict.fromkeys(faults([], "", ""), 0)
    examples: dict[str, list[str]] = {k: [] for k in counts}
    for r, p in zip(long, predictor.predict_batch(pasted)):
        sentences = [s.text for s in split_sentences(p.summary.text)]
        for k, v in faults(sentences, r.title, r.text.split("\n")[0]).items():
            counts[k] += v
            if v and len(examples[k]) < 5:
                examples[k].append(p.summary.text[:300])
    n = len(long)
    out["recent/train, pasted with headline"] = {
        "n": n, **{k: {"drafts": c, "share_ci": wilson(c, n)} for k, c in counts.items()}, "examples": examples}

    taken = sum(split_headline(normalize(p))[0] == normalize(r.title) for r, p in zip(long, pasted))
    false = sum(bool(split_headline(normalize(r.text))[0]) for r in long)
    out["headline recognised"] = {"pasted headlines taken": taken, "of": n, "share_ci": wilson(taken, n),
                                  "body first lines taken for a headline": false, "false_share_ci": wilson(false, n)}
    for name, r in out.items():
        print(name, {k: v for k, v in r.items() if k != "examples"})
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
