"""``newslens batch`` throughput: 1 vs 2 worker processes, and Ray local mode, on this machine.

    python bench/batch.py --baseline models/bench-baseline [--transformer DIR] [--ray]

- Baseline: every article of vntc/test and recent/test (10,890), with 1 and with 2 workers,
  then (``--ray``) on Ray Data in local mode with 2 actors, in turns for ``--repeats`` rounds
  (medians). Target: 2 workers >= 1.7x one; Ray within 25% of the local path.
- Transformer (``--transformer``): the first ``--transformer-articles`` of both files, 1 and 2
  workers (each worker answers with the bundle's default runtime, one thread each).
- Kill -9: a 2-worker run on the baseline is killed once a third of its shards are written,
  then rerun; the records written must be every record, once.

Each run writes into a fresh folder; throughput = records / wall time of the whole job (model
loading in each worker included). Prints a table and writes bench/results/batch.json.
"""
from __future__ import annotations

import argparse
import gzip
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, machine, write_report  # noqa: E402
from model.paths import data_dir  # noqa: E402
from training.batch import finished_shards, read_results, run_batch  # noqa: E402

FILES = ("vntc/test.jsonl.gz", "recent/test.jsonl.gz")


def timed(inputs: list[str], model: str, workers: int, scratch: Path, ray: bool = False) -> dict:
    out = scratch / f"out-{Path(model).name}-{workers}-{'ray' if ray else 'local'}"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    if ray:
        from training.batch_ray import run_batch_ray

        summary = run_batch_ray(inputs, out, model=model, workers=workers, progress=False)
    else:
        summary = run_batch(inputs, out, model=model, workers=workers, progress=False)
    seconds = time.perf_counter() - start
    result = {"workers": workers, "engine": "ray-local" if ray else "local", "records": summary.records,
              "written": summary.written, "failures": summary.failures_total, "seconds": round(seconds, 2),
              "articles_per_second": round(summary.records / seconds, 2)}
    print(f"{Path(model).name:24} {result['engine']:10} workers {workers}: {summary.records:,} records in "
          f"{seconds:6.1f} s = {result['articles_per_second']:7.1f} articles/s", flush=True)
    return result


def kill_and_rerun(inputs: list[str], model: str, scratch: Path) -> dict:
    out = scratch / "out-kill"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "training.cli", "-q", "batch", *inputs, "--out", str(out), "--model", model,
           "--workers", "2", "--shard-size", "500"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL)
    while len(finished_shards(out)) < 7 and proc.poll() is None:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = len(finished_shards(out))
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    got = [row["id"] for row in read_results(out)]
    expected = sum(1 for f in inputs for _ in gzip.open(f, "rt", encoding="utf-8"))
    result = {"shards_done_when_killed": killed_at, "rerun_exit": done.returncode, "records_expected": expected,
              "records_written": len(got), "distinct": len(set(got)), "lost": expected - len(set(got)),
              "duplicated": len(got) - len(set(got))}
    print(f"kill -9 after {killed_at} shards, then rerun: {result['lost']} lost, {result['duplicated']} duplicated", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--transformer")
    parser.add_argument("--transformer-articles", type=int, default=600)
    parser.add_argument("--ray", action="store_true")
    parser.add_argument("--skip-kill", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the baseline runs (median reported)")
    parser.add_argument("--out", default=str(RESULTS / "batch.json"))
    args = parser.parse_args()

    inputs = [str(data_dir() / f) for f in FILES]
    scratch = Path(tempfile.mkdtemp(prefix="newslens-batch-bench-"))
    report: dict = {"machine": machine(), "inputs": inputs, "runs": []}
    try:
        # In turns, round after round (this machine's speed drifts); the median of each.
        engines = [(1, False), (2, False)] + ([(2, True)] if args.ray else [])
        rounds = [[timed(inputs, args.baseline, w, scratch, ray=r) for w, r in engines] for _ in range(args.repeats)]
        report["runs"] += [run for round_ in rounds for run in round_]
        median = [statistics.median(round_[i]["articles_per_second"] for round_ in rounds) for i in range(len(engines))]
        report["baseline_articles_per_second"] = dict(zip(["1 worker", "2 workers", "ray 2 actors"], median))
        report["baseline_speedup_2_workers"] = round(median[1] / median[0], 3)
        if args.ray:
            report["ray_vs_local_2_workers"] = round(median[2] / median[1], 3)
        if args.transformer:
            subset = scratch / "subset.jsonl"
            with open(subset, "w", encoding="utf-8") as f:
                for name in inputs:
                    with gzip.open(name, "rt", encoding="utf-8") as g:
                        for i, line in enumerate(g):
                            if i >= args.transformer_articles // 2:
                                break
                            f.write(line)
            tr = [timed([str(subset)], args.transformer, w, scratch) for w in (1, 2)]
            report["runs"] += tr
            report["transformer_speedup_2_workers"] = round(tr[1]["articles_per_second"] / tr[0]["articles_per_second"], 3)
        if not args.skip_kill:
            report["kill_9"] = kill_and_rerun(inputs, args.baseline, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["checks"] = [
        {"what": "baseline 2 workers / 1 worker", "value": report["baseline_speedup_2_workers"], "target": ">= 1.7",
         "met": report["baseline_speedup_2_workers"] >= 1.7}]
    if "ray_vs_local_2_workers" in report:
        report["checks"].append({"what": "ray local / local path (2 workers)", "value": report["ray_vs_local_2_workers"],
                                 "target": ">= 0.75", "met": report["ray_vs_local_2_workers"] >= 0.75})
    if "kill_9" in report:
        report["checks"].append({"what": "records lost across kill -9 and a rerun", "value": report["kill_9"]["lost"],
                                 "target": "0", "met": report["kill_9"]["lost"] == 0 and report["kill_9"]["duplicated"] == 0})
    for c in report["checks"]:
        print(f"{c['what']:45} {c['value']:>8} {c['target']:>8}  {'yes' if c['met'] else 'NO'}")
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
