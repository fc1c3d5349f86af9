"""The transformer bundle through torch fp32, ONNX Runtime fp32 and ONNX Runtime int8, side by side.

    python bench/runtimes.py --model DIR            # a transformer bundle (ONNX copies added if missing)
    python bench/runtimes.py --model DIR --n 0      # quality on the whole test files (slow: hours)

1. Speed, in one process, the three runtimes timed in turns round after round (this
   machine's speed drifts within an hour; timed in turns they can be compared): single
   article p50 / p95 (``predict``, the whole answer: baseline part, encoder, heads) and batch
   throughput (``predict_batch`` of 64), on full-text articles of vntc/test and recent/test.
2. Quality, on a seeded sample of each shared test file (``--n`` per file): every task's
   metric for each runtime, the difference from torch fp32 with a paired 95% bootstrap
   interval, and how often the network's own type choice (before the combination with the
   baseline) agrees with torch's. The allowed losses are those of the ONNX issue: type
   accuracy -0.003, topic micro-F1 -0.005, ROUGE-1 -0.003; int8 is the default only if every
   point estimate stays within them.

Prints tables and writes bench/results/runtimes.json.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench.common import RESULTS, latency, machine, write_report  # noqa: E402
from model.bundle import read_config  # noqa: E402
from model.paths import data_dir  # noqa: E402
from model.predictor import Predictor  # noqa: E402
from training import bootstrap, metrics  # noqa: E402
from training.data import read_records  # noqa: E402
from training.evaluate import predict_records, score, type_labels  # noqa: E402

RUNTIMES = ("torch", "onnx-fp32", "onnx-int8")
FILES = ("vntc/test", "recent/test", "danes/test", "vietnews/test", "vims/all")
ALLOWED_LOSS = {"type.accuracy": 0.003, "topics.micro_f1": 0.005, "summary.rouge1": 0.003}
SPEED_TARGETS = {"single_median_ms": ("<=", 35.0), "batch_docs_per_second": (">=", 30.0)}
RATIO_TARGET = 2.5


def sample(path: Path, n: int, seed: int = 0) -> list:
    records = read_records(path)
    if n and len(records) > n:
        keep = sorted(np.random.default_rng(seed).choice(len(records), n, replace=False))
        records = [records[i] for i in keep]
    return records


def speed_texts(n: int) -> list[str]:
    """The articles speed is timed on: ``n`` // 2 full texts of vntc/test and as many long ones
    (over 1,500 characters) of recent/test, seeded; headline on the first line."""
    root = data_dir()
    full = sample(root / "vntc/test.jsonl.gz", n // 2, seed=1) + \
        [r for r in sample(root / "recent/test.jsonl.gz", 4 * n, seed=1) if len(r.text) > 1500][: n // 2]
    return [f"{r.title}\n{r.text}" if r.title else r.text for r in full]


def recorded_types(predictor: Predictor) -> list[int]:
    """Wrap the model's encoder so each article's network type choice is appended to a list."""
    model, seen = predictor.model, []
    encode = model.encode

    def recording(*args, **kwargs):
        out = encode(*args, **kwargs)
        seen.extend(int(np.argmax(e["type"])) for e in out)
        return out

    model.encode = recording
    return seen


def speed(predictors: dict[str, Predictor], texts: list[str], rounds: int) -> dict:
    runs: dict[str, list[dict]] = {name: [] for name in predictors}
    for r in range(1, rounds + 1):
        for name, predictor in predictors.items():
            result = latency(predictor, texts, repeat=len(texts), batch_docs=len(texts), batch_size=64)
            runs[name].append(result)
            print(f"round {r}  {name:10} single p50 {result['single_median_ms']:6.1f} ms, p95 "
                  f"{result['single_p95_ms']:6.1f} ms, batch {result['batch_docs_per_second']:5.1f} articles/s",
                  flush=True)
    out = {name: {k: statistics.median(run[k] for run in rs) for k in rs[0]} for name, rs in runs.items()}
    torch_ = out.get("torch")
    for name, res in out.items():
        if torch_ and name != "torch":
            res["speedup_single"] = torch_["single_median_ms"] / res["single_median_ms"]
            res["speedup_batch"] = res["batch_docs_per_second"] / torch_["batch_docs_per_second"]
    return {"rounds": runs, "median": out}


def paired(records: list, preds: dict[str, list], labels: list[str]) -> dict:
    """Per runtime: its difference from torch on each headline metric, with a paired 95% interval."""
    out: dict[str, dict] = {}
    base = preds["torch"]
    for name, ps in preds.items():
        if name == "torch":
            continue
        diffs: dict[str, dict] = {}
        typed = [i for i, r in enumerate(records) if r.type is not None]
        if typed:
            right = np.array([[base[i].type.label == records[i].type, ps[i].type.label == records[i].type] for i in typed], float)
            diffs["type.accuracy"] = _mean_diff(right[:, 1] - right[:, 0])
            diffs["type.agreement"] = float(np.mean([base[i].type.label == ps[i].type.label for i in typed]))
        topical = [i for i, r in enumerate(records) if r.topics is not None]
        if topical:
            truth = [records[i].topics for i in topical]
            topic_labels = sorted({t for i in topical for t in [*records[i].topics, *base[i].topics.labels, *ps[i].topics.labels]})
            k = len(topic_labels)
            a = bootstrap.multilabel_stats(truth, [base[i].topics.labels for i in topical], topic_labels)
            b = bootstrap.multilabel_stats(truth, [ps[i].topics.labels for i in topical], topic_labels)

            def micro(s):
                tp, fp, fn = s[:, :k].sum(1), s[:, k:2 * k].sum(1), s[:, 2 * k:].sum(1)
                return bootstrap._f1(tp, tp + fp, tp + fn)

            point = float(micro(b.sum(0, keepdims=True))[0] - micro(a.sum(0, keepdims=True))[0])
            diff = lambda sums: micro(sums[:, 3 * k:]) - micro(sums[:, :3 * k])  # noqa: E731
            ci = bootstrap.intervals(np.hstack([a, b]), {"d": diff}, {"d": point})["d_ci"]
            diffs["topics.micro_f1"] = {"diff": point, "ci": ci}
        summarised = [i for i, r in enumerate(records) if r.summary is not None]
        if summarised:
            refs = [records[i].summary for i in summarised]
            r_a = metrics.rouge_per_pair([base[i].summary.text for i in summarised], refs)
            r_b = metrics.rouge_per_pair([ps[i].summary.text for i in summarised], refs)
            diffs["summary.rouge1"] = _mean_diff(np.array([y[0] - x[0] for x, y in zip(r_a, r_b)]))
            diffs["summary.same_draft"] = float(np.mean([base[i].summary.text == ps[i].summary.text for i in summarised]))
        tagged = [i for i, r in enumerate(records) if r.tags]
        if tagged:
            tags = [records[i].tags for i in tagged]
            k_a = metrics.keywords_f1_per_doc([[k.phrase for k in base[i].keywords] for i in tagged], tags)
            k_b = metrics.keywords_f1_per_doc([[k.phrase for k in ps[i].keywords] for i in tagged], tags)
            diffs["keywords.f1_at_5_exact"] = _mean_diff(np.array([y[0] - x[0] for x, y in zip(k_a, k_b)]))
        out[name] = diffs
    return out


def _mean_diff(d: np.ndarray) -> dict:
    point = float(d.mean()) if len(d) else 0.0
    ci = bootstrap.means(d.reshape(-1, 1), ["d"], {"d": point})["d_ci"]
    return {"diff": point, "ci": ci}


def quality(predictors: dict[str, Predictor], n: int, root: Path) -> dict:
    out: dict[str, dict] = {}
    for name in FILES:
        path = root / f"{name}.jsonl.gz"
        if not path.is_file():
            print(f"{name}: not found, skipped")
            continue
        records = sample(path, n)
        preds, results, network = {}, {}, {}
        for runtime, predictor in predictors.items():
            seen = recorded_types(predictor)
            started = time.perf_counter()
            preds[runtime], _ = predict_records(predictor, records, progress=True)
            results[runtime] = score(records, preds[runtime], type_labels(predictor, records))
            network[runtime] = seen
            print(f"{name} {runtime}: {len(records)} articles in {time.perf_counter() - started:.0f} s", flush=True)
        entry = {"n": len(records), "metrics": results, "vs_torch": paired(records, preds, type_labels(predictors["torch"], records))}
        labels = predictors["torch"].model.type_labels
        typed = [i for i, r in enumerate(records) if r.type is not None]
        for runtime in predictors:
            if runtime != "torch":
                entry["vs_torch"][runtime]["network_type_agreement"] = float(np.mean(
                    np.array(network[runtime]) == np.array(network["torch"])))
                if typed:  # the network's own type choice (the combination may give it no weight)
                    right = np.array([[labels[network[r][i]] == records[i].type for r in ("torch", runtime)]
                                      for i in typed], float)
                    entry["vs_torch"][runtime]["network_type.accuracy"] = _mean_diff(right[:, 1] - right[:, 0])
                    entry["network_type_accuracy"] = {r: float(np.mean([labels[network[r][i]] == records[i].type
                                                                         for i in typed])) for r in predictors}
        out[name] = entry
    return out


def verdict(q: dict) -> dict:
    """Per ONNX runtime: the allowed losses met on every file (point estimates), and the worst loss."""
    out = {}
    for runtime in RUNTIMES[1:]:
        worst, ok = {}, True
        for entry in q.values():
            for key, allowed in ALLOWED_LOSS.items():
                d = entry["vs_torch"].get(runtime, {}).get(key)
                if d is None:
                    continue
                worst[key] = min(worst.get(key, 0.0), d["diff"])
                ok &= d["diff"] >= -allowed
        out[runtime] = {"within_allowed_loss": ok, "worst_diff": worst}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a transformer bundle")
    parser.add_argument("--n", type=int, default=600, help="articles sampled per test file (0 = all)")
    parser.add_argument("--speed-articles", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--out", default=str(RESULTS / "runtimes.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    if "onnx" not in read_config(args.model):
        from model.onnx_export import export_bundle

        print("the bundle has no ONNX copies: exporting them", flush=True)
        export_bundle(args.model)
    config = read_config(args.model)
    predictors = {r: Predictor.load(args.model, runtime=r) for r in RUNTIMES}
    report: dict = {"machine": machine(), "model": args.model, "onnx": config["onnx"],
                    "windows": config["windows"], "layers": config["encoder"]["num_hidden_layers"],
                    "file_sizes_mb": {name: round((Path(args.model) / name).stat().st_size / 2**20, 1)
                                      for name in ["model.safetensors", *config["onnx"]["files"].values()]}}
    root = data_dir()
    if not args.skip_speed:
        texts = speed_texts(args.speed_articles)
        model = predictors["onnx-int8"].model
        windows = [len(model.encode([t], [""], [[]])[0]["encoded"].ids) for t in texts]
        report["speed_articles"] = {"n": len(texts), "tokens_median": int(np.median(windows)),
                                    "share_two_windows": float(np.mean(np.array(windows) > config["windows"]["window"] - 2))}
        report["speed"] = speed(predictors, texts, args.rounds)
        med = report["speed"]["median"]
        checks = [(f"onnx-int8 {k}", med["onnx-int8"][k], f"{op} {goal}",
                   med["onnx-int8"][k] <= goal if op == "<=" else med["onnx-int8"][k] >= goal)
                  for k, (op, goal) in SPEED_TARGETS.items()]
        checks.append(("onnx-int8 speedup_single vs torch", med["onnx-int8"]["speedup_single"], f">= {RATIO_TARGET}",
                       med["onnx-int8"]["speedup_single"] >= RATIO_TARGET))
        checks.append(("onnx-int8 speedup_batch vs torch", med["onnx-int8"]["speedup_batch"], f">= {RATIO_TARGET}",
                       med["onnx-int8"]["speedup_batch"] >= RATIO_TARGET))
        report["speed_checks"] = [{"what": w, "value": v, "target": t, "met": ok} for w, v, t, ok in checks]
        print(f"\n{'runtime':12} {'p50 ms':>8} {'p95 ms':>8} {'batch/s':>8}")
        for name, res in med.items():
            print(f"{name:12} {res['single_median_ms']:8.1f} {res['single_p95_ms']:8.1f} {res['batch_docs_per_second']:8.1f}")
        for w, v, t, ok in checks:
            print(f"{w:40} {v:8.2f} {t:>8}  {'yes' if ok else 'NO'}")
        write_report(report, args.out)
    if not args.skip_quality:
        report["quality"] = quality(predictors, args.n, root)
        report["verdict"] = verdict(report["quality"])
        print(f"\n{'file':14} {'runtime':10} {'metric':24} {'diff vs torch':>14} {'95% CI':>20}")
        for name, entry in report["quality"].items():
            for runtime, diffs in entry["vs_torch"].items():
                for key, d in diffs.items():
                    if isinstance(d, dict):
                        print(f"{name:14} {runtime:10} {key:24} {d['diff']:+14.4f} [{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}]")
                    else:
                        print(f"{name:14} {runtime:10} {key:24} {d:14.4f}")
        print(report["verdict"])
        write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
