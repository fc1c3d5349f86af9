"""Spending int8's saved time on quality: more windows per article, or all 12 encoder layers.

    python bench/onnx_budget.py --model DIR     # a transformer bundle with ONNX copies

1. **6 layers, 2 vs 4 windows** (int8): the choice a bundle can make without retraining.
   Quality is measured on the bundle's own held-out training records (the records
   ``training.transformer.split_task_holdout`` kept out of fine-tuning, re-derived from the
   bundle's training config and seed), the transformer alone. Never on a test file. Type and
   summary "alone" are clean (the encoder never saw these records); topics and every
   "combined" score are not, since the default recipe refits the baseline and the topics head
   on all records after choosing the combination (the baseline then reads the held-out type
   records perfectly), so they are written to the JSON but not compared.
2. **12 layers, int8, 2 windows.** Without ``--twelve``: latency only. The pretrained encoder
   with all 12 layers (untrained heads: speed does not depend on the weights) is exported and
   quantised like a bundle, and timed on the same articles; its quality is reported as not
   measured, never guessed. With ``--twelve DIR`` (a 12-layer bundle fine-tuned with the same
   config and seed, so the same held-out records): that bundle, timed and scored like the
   6-layer one.

Latency: single-article p50 / p95 of the network call plus the baseline part (``predict``),
on full-text articles of recent/test. Prints a table and writes bench/results/onnx_budget.json.
"""
from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.common import RESULTS, machine, write_report  # noqa: E402
from bench.runtimes import sample  # noqa: E402
from model.bundle import read_config  # noqa: E402
from model.onnx_net import OnnxNet  # noqa: E402
from model.paths import data_dir  # noqa: E402
from model.predictor import Predictor  # noqa: E402
from training.config import TrainConfig, _build  # noqa: E402


TWELVE_UNTRAINED = "12 layers, 2 windows (untrained heads: speed only)"
TWELVE_TRAINED = "12 layers, 2 windows (fine-tuned, --twelve)"


def timed(predictor: Predictor, texts: list[str]) -> dict:
    for t in texts[:3]:
        predictor.predict(t)
    ms = []
    for t in texts:
        start = time.perf_counter()
        predictor.predict(t)
        ms.append((time.perf_counter() - start) * 1000)
    return {"single_median_ms": statistics.median(ms), "single_p95_ms": sorted(ms)[int(0.95 * len(ms))]}


def held_out(config: dict) -> dict:
    from training import transformer as tt
    from training.train import read_files

    train_config = _build(TrainConfig, config["train_config"], "train_config")
    records, _ = read_files([train_config.resolve(p) for p in train_config.train], True, train_config.type_from_source)
    _, held = tt.split_task_holdout(records, train_config.transformer)
    return held


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--articles", type=int, default=80)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--twelve", help="a fine-tuned 12-layer bundle with ONNX copies (same config and seed)")
    parser.add_argument("--out", default=str(RESULTS / "onnx_budget.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from training import transformer as tt

    config = read_config(args.model)
    texts = [f"{r.title}\n{r.text}" for r in sample(data_dir() / "recent/test.jsonl.gz", 2000, seed=2)
             if len(r.text) > 2500][: args.articles]
    variants = {}
    for w in (2, 4):
        p = Predictor.load(args.model, runtime="onnx-int8")
        p.model.windows = replace(p.model.windows, max_windows=w)
        variants[f"6 layers, {w} windows"] = p

    # 12 layers: the pretrained encoder exported and quantised like a bundle's network.
    from model.onnx_export import export
    from model.torch_net import MultiTaskNet
    from training.pretrained import load_base_model

    scratch = Path(tempfile.mkdtemp(prefix=".newslens-budget-"))
    try:
        if args.twelve:
            twelve = read_config(args.twelve)["train_config"]
            mine = config["train_config"]
            same = all(twelve.get(k) == mine.get(k) for k in ("train", "data_root")) and all(
                twelve["transformer"][k] == mine["transformer"][k] for k in ("seed", "holdout", "type_max_records"))
            if not same or twelve["transformer"]["layers"] not in (0, 12):
                raise SystemExit(f"--twelve {args.twelve}: not a 12-layer bundle trained on the same data and seed")
            variants[TWELVE_TRAINED] = Predictor.load(args.twelve, runtime="onnx-int8")
        else:
            encoder, _ = load_base_model(config["train_config"]["transformer"]["base_model"], 0, progress=True)
            net = MultiTaskNet(encoder, len(config["type_labels"]), len(config["topic_labels"]))
            export(net, scratch)
            p12 = Predictor.load(args.model, runtime="onnx-int8")
            p12.model.net = OnnxNet(scratch / "model.int8.onnx", "onnx-int8")
            variants[TWELVE_UNTRAINED] = p12

        report: dict = {"machine": machine(), "model": args.model, "articles": len(texts), "latency": {}}
        runs: dict[str, list] = {k: [] for k in variants}
        for r in range(args.rounds):
            for name, p in variants.items():
                runs[name].append(timed(p, texts))
                print(f"round {r + 1}  {name:52} p50 {runs[name][-1]['single_median_ms']:6.1f} ms", flush=True)
        for name, rs in runs.items():
            report["latency"][name] = {k: statistics.median(x[k] for x in rs) for k in rs[0]}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    if not args.skip_quality:
        held = held_out(config)
        report["held_out"] = {}
        for name, p in list(variants.items())[: 3 if args.twelve else 2]:
            started = time.perf_counter()
            combination, _, scores = tt.choose_combination(p.model, held, progress=True)
            report["held_out"][name] = {"scores": scores, "combination": combination.__dict__,
                                        "seconds": round(time.perf_counter() - started, 1)}
            print(name, scores, flush=True)
        if not args.twelve:
            report["held_out"][TWELVE_UNTRAINED] = (
                "not measured: fine-tuning 12 layers takes about two hours on this machine's 2 cores")
    print(f"\n{'variant':52} {'p50 ms':>8} {'p95 ms':>8}  held-out type alone / summary alone (R1+R2)")
    for name, lat in report["latency"].items():
        q = report.get("held_out", {}).get(name)
        tail = (f"{q['scores']['type']['alone']:.4f} / {q['scores']['summary']['alone']:.4f}"
                if isinstance(q, dict) else (q or ""))
        print(f"{name:52} {lat['single_median_ms']:8.1f} {lat['single_p95_ms']:8.1f}  {tail}")
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
