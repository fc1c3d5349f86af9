"""Benchmark of safe retraining: time to retrain the baseline with 1,000 new articles on top
of the default data, crash safety under kill -9 at random moments, and whether a retrain
learns a new label (and refuses noise).

    python bench/retrain.py                  # timing and kill -9
    python bench/retrain.py --skip-kill      # timing only
    python bench/retrain.py --kills 10
    python bench/retrain.py --skip-timing --skip-kill --education   # the learning experiment

Part 3 (``--education``, bench/retrain_learning.py) retrains a default registry with
education articles of ``recent/train`` labelled "Giáo dục": the new-weight default is chosen
on what the retrain holds out (its slice of the new data and the registry's fixed holdout),
then the chosen weight's candidates for 50, 200 and 1,000 articles are measured once on the
test files, and 400 articles with shuffled labels must be refused.

Part 1 uses a registry under models/bench-registry (trained on the default config first if
it has no current model); the new articles are vietnews/dev (1,000 labelled articles that
no default model trains on). Part 2 builds a small registry from slices of the default data
(so that ten retrains fit in minutes), times one uninterrupted retrain, then ten times copies
it, starts `newslens retrain` in a subprocess, kills it with SIGKILL after a random delay
within that time, and checks that the registry is valid and its current model answers.
Writes bench/results/retrain.json.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.paths import data_dir  # noqa: E402
from model.predictor import Predictor  # noqa: E402
from training.config import load_config  # noqa: E402
from training.registry import Registry  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
NEW_DATA = "vietnews/dev.jsonl.gz"
PROBE = "Đội tuyển Việt Nam giành chiến thắng 2-0 trước Thái Lan trong trận chung kết."


def timed_retrain(home: Path, new_file: Path) -> dict:
    from training.retrain import retrain
    from training.train import train

    registry = Registry(home)
    out: dict = {}
    if registry.current() is None:
        start = time.perf_counter()
        config = load_config()
        config.evaluate = []
        train(config, registry=registry)
        out["initial_train_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    result = retrain([str(new_file)], registry=registry)
    out["retrain_seconds"] = time.perf_counter() - start
    out["new_articles"] = result.report.records
    out["promoted"] = result.promoted
    out["reasons"] = result.reasons
    out["comparison"] = result.comparison
    print(result.table())
    return out


def small_registry(root: Path) -> tuple[Path, Path, float]:
    """A registry trained on slices of the default data; returns (home, new file, retrain seconds)."""
    import gzip

    from training.retrain import retrain
    from training.train import train

    slices = {"vntc/train.jsonl.gz": 4000, "danes/train.jsonl.gz": 700, "vietnews/train.jsonl.gz": 800}
    for src, n in slices.items():
        lines = gzip.open(data_dir() / src, "rt", encoding="utf-8").readlines()
        random.Random(0).shuffle(lines)
        (root / src.replace("/", "_").replace(".gz", "")).write_text("".join(lines[:n]), encoding="utf-8")
    new_lines = gzip.open(data_dir() / NEW_DATA, "rt", encoding="utf-8").readlines()[:300]
    new_file = root / "new.jsonl"
    new_file.write_text("".join(new_lines), encoding="utf-8")
    config = load_config(None, data_root=str(root))
    config.train = [src.replace("/", "_").replace(".gz", "") for src in slices]
    config.evaluate = []
    config.baseline.summary_max_records = 800
    registry = Registry(root / "models")
    train(config, registry=registry, progress=False)
    # one uninterrupted retrain on a copy, to know how long one takes
    probe = Path(tempfile.mkdtemp(prefix="newslens-probe-"))
    shutil.copytree(registry.home, probe / "models")
    start = time.perf_counter()
    retrain([str(new_file)], registry=Registry(probe / "models"), progress=False)
    seconds = time.perf_counter() - start
    shutil.rmtree(probe, ignore_errors=True)
    return registry.home, new_file, seconds


def kill_test(home: Path, new_file: Path, kills: int, max_delay: float, seed: int = 0) -> list[dict]:
    """Kill `newslens retrain` at ``kills`` random moments *during* the retrain.

    A run that finishes before its kill does not count: its duration becomes the new upper
    bound for the delay, so every counted kill lands mid-run.
    """
    rng = random.Random(seed)
    runs = []
    attempts = 0
    while sum(not r["finished_before_kill"] for r in runs) < kills and attempts < 3 * kills:
        attempts += 1
        work = Path(tempfile.mkdtemp(prefix="newslens-kill-"))
        try:
            shutil.copytree(home, work / "models", symlinks=True)
            env = {**os.environ, "NEWSLENS_HOME": str(work / "models")}
            env.pop("NEWSLENS_MODEL", None)
            before = Registry(work / "models").current_name()
            started = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "training.cli", "-q", "retrain", "--data", str(new_file)],
                                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            delay = rng.uniform(0.5, max_delay)
            try:
                proc.wait(timeout=delay)
                finished = True
                max_delay = min(max_delay, time.perf_counter() - started)  # it runs faster than we thought
            except subprocess.TimeoutExpired:
                finished = False
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            registry = Registry(work / "models")
            problems = registry.check()
            current = registry.current_name()
            answered = False
            try:
                Predictor.load(registry.current().path).predict(PROBE)
                answered = True
            except Exception as e:  # noqa: BLE001 - report any failure as a failed check
                problems.append(f"current model did not answer: {e}")
            leftovers = [p.name for p in registry.home.iterdir() if p.name.startswith(".")]
            run = {"delay_s": round(delay, 2), "finished_before_kill": finished, "current_before": before,
                   "current_after": current, "leftover_temp": leftovers, "problems": problems,
                   "valid": not problems and answered}
            what = "finished before the kill (not counted)" if finished else (
                "valid" if run["valid"] else "INVALID " + str(problems))
            print(f"attempt {attempts}: kill after {delay:5.1f} s: {what} (current {before} -> {current})")
            runs.append(run)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default=str(ROOT / "models" / "bench-registry"))
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--skip-kill", action="store_true")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--education", action="store_true", help="run the learning experiment (part 3)")
    parser.add_argument("--weights", type=lambda v: None if v == "auto" else float(v), nargs="+", default=[1.0, 5.0, 20.0],
                        help="new-weight values to choose from in part 3 ('auto': the retrain's default)")
    parser.add_argument("--skip-shuffled", action="store_true", help="part 3 without the shuffled-labels retrain")
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000], help="part 3: how many new articles "
                        "(200 is always run: it chooses the weight)")
    parser.add_argument("--education-key", default="education", help="part 3: where in retrain.json its report goes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    home = Path(args.home)
    new_file = data_dir() / NEW_DATA
    out_path = RESULTS / "retrain.json"
    # parts run separately (--skip-timing / --skip-kill) update one report
    report: dict = json.loads(out_path.read_text(encoding="utf-8")) if out_path.is_file() else {}
    report.update({"cpus": os.cpu_count(), "new_data": str(new_file)})
    if not args.skip_timing:
        report["timing"] = timed_retrain(home, new_file)
        print(f"retrain with {report['timing']['new_articles']} new articles: {report['timing']['retrain_seconds']:.1f} s "
              f"(target <= 300 s); promoted: {report['timing']['promoted']}")
    if not args.skip_kill:
        # The kill test needs many retrains; on slices of the default data each takes well under
        # a minute, and the code path (staging, rename, pointer switch) is the same.
        kill_home, kill_new, max_delay = small_registry(Path(tempfile.mkdtemp(prefix="newslens-kill-home-")))
        report["kill9_registry"] = {"home": str(kill_home), "retrain_seconds": max_delay}
        runs = kill_test(kill_home, kill_new, args.kills, max_delay * 1.1)
        killed = [r for r in runs if not r["finished_before_kill"]]
        report["kill9"] = {"runs": runs, "killed_mid_run": len(killed), "valid_after_kill": sum(r["valid"] for r in killed),
                           "valid_all": sum(r["valid"] for r in runs), "attempts": len(runs)}
        print(f"kill -9 mid-retrain: registry valid and current model answering after "
              f"{report['kill9']['valid_after_kill']}/{len(killed)} kills ({len(runs)} attempts)")
    if args.education:
        from bench.retrain_learning import education_experiment

        report[args.education_key] = education_experiment(ROOT / "models" / "bench-registry-default", args.weights,
                                                          tuple(args.sizes), shuffled=not args.skip_shuffled)
        out_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "retrain.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"wrote {RESULTS / 'retrain.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
