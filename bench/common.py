"""What the benchmark scripts share: timing a Predictor, checking targets, writing the report."""
from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

from model.predictor import Predictor

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def trained_or_given(config, model: str | None, out_name: str, report: dict) -> Path:
    """``model`` if given; else train ``config`` into models/``out_name`` on all its data (no
    registry holdout, like `newslens train --out`), timing it into ``report["train_seconds"]``."""
    if model:
        return Path(model)
    from training.train import train

    config.evaluate = []  # evaluated by the benchmark, separately from the training time
    start = time.perf_counter()
    path = train(config, out=Path("models") / out_name, progress=True)
    report["train_seconds"] = time.perf_counter() - start
    return path


def latency(predictor: Predictor, texts: list[str], repeat: int = 200, batch_docs: int = 1000,
            batch_size: int = 64) -> dict[str, float]:
    """Single-request latency (one article per call) and batch throughput."""
    for t in texts[:5]:
        predictor.predict(t)  # warm-up
    times = []
    for t in texts[:repeat]:
        start = time.perf_counter()
        predictor.predict(t)
        times.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    batch = texts[:batch_docs]
    for i in range(0, len(batch), batch_size):
        predictor.predict_batch(batch[i : i + batch_size])
    dps = len(batch) / (time.perf_counter() - start)
    return {"single_median_ms": statistics.median(times), "single_p95_ms": sorted(times)[int(0.95 * len(times))],
            "batch_docs_per_second": dps}


def get(result: dict, dotted: str) -> float | None:
    task, key = dotted.split(".")
    return None if result.get(task) is None else result[task][key]


def check(report: dict, targets: dict[str, dict[str, float]], speed_targets: dict[str, tuple[str, float]]) -> list[tuple]:
    """(what, value, target, met) for every quality and speed target."""
    checks = []
    for name, goals in targets.items():
        for dotted, goal in goals.items():
            value = get(report["files"][name], dotted)
            checks.append((f"{name} {dotted}", value, f">= {goal}", value is not None and value >= goal))
        # each part of a file that mixes sources (recent/test: full texts and headline + lead)
        for part, result in report["files"][name].get("by_source", {}).items():
            for dotted in goals:
                value = get(result, dotted)
                if value is not None:
                    checks.append((f"  {part} {dotted}", value, "report", None))
    speed = {**report["speed"], **({"train_seconds": report["train_seconds"]} if "train_seconds" in report else {})}
    for key, (op, goal) in speed_targets.items():
        if key in speed:
            ok = speed[key] <= goal if op == "<=" else speed[key] >= goal
            checks.append((key, speed[key], f"{op} {goal}", ok))
    report["checks"] = [{"what": w, "value": v, "target": t, "met": ok} for w, v, t, ok in checks]
    return checks


def interval(report: dict, what: str) -> str:
    """" [lo, hi]" for a check on a file's metric or a part's, from the *_ci beside it; "" for speed."""
    *where, dotted = what.split()
    if len(where) != 1 or "." not in dotted:
        return ""
    name = where[0]
    result = report["files"].get(name) or next(
        (f["by_source"][name] for f in report["files"].values() if name in f.get("by_source", {})), None)
    task, key = dotted.split(".")
    ci = ((result or {}).get(task) or {}).get(f"{key}_ci")
    return f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""


def print_and_write(report: dict, checks: list[tuple], out: str | os.PathLike) -> None:
    print(f"{'what':48} {'value':>10} {'95% CI':>18} {'target':>10}  met")
    for w, v, t, ok in checks:
        met = "" if ok is None else "yes" if ok else "NO"
        print(f"{w:48} {v if v is not None else float('nan'):10.4f} {interval(report, w):>18} {t:>10}  {met}")
    kw = report["files"].get("vims/all", {}).get("keywords")
    if kw:
        print(f"{'vims/all keywords F1@5 exact / partial':40} {kw['f1_at_5_exact']:.4f} / {kw['f1_at_5_partial']:.4f}")
    write_report(report, out)


def write_report(report: dict, out: str | os.PathLike) -> None:
    """Every benchmark's JSON: UTF-8, Vietnamese kept readable, the folder made if needed."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    """The 95% Wilson interval of a proportion k/n (sensible at 0 and n, and for small n)."""
    if n == 0:
        return [0.0, 1.0]
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(centre - half, 4), round(centre + half, 4)]
