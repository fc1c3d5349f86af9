"""``newslens train --kind transformer`` under ``torchrun --nproc_per_node 2`` (gloo, CPU, tiny model).

The same command as a single process: the bundle rank 0 writes answers, its loss curve matches
a single-process run with the same global batch, and an interrupted run resumes.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from conftest import SPORTS_TEXT, make_records, small_params
from transformer_helpers import write_e5

from model.bundle import read_config
from model.predictor import Predictor
from training.e5_weights import convert

ROOT = Path(__file__).resolve().parent.parent
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    tiny = convert(write_e5(root / "tiny-q4.bin").path, root / "tiny-e5")
    data = root / "train.jsonl"
    data.write_text("".join(json.dumps(r.to_json_dict(), ensure_ascii=False) + "\n" for r in make_records()), "utf-8")
    config = {
        "name": "ddp-test", "kind": "transformer", "train": [str(data)], "evaluate": [],
        "baseline": asdict(small_params()),
        "transformer": {"base_model": str(tiny), "layers": 0, "frozen_layers": 1, "window": 32, "overlap": 4,
                        "max_windows": 2, "train_windows": 1, "batch_size": 4, "max_steps": 8, "checkpoint_every": 2,
                        "dropout": 0.0, "lr_encoder": 1e-3, "lr_heads": 1e-2, "onnx": "none",
                        "holdout": {"type": 3, "topics": 1, "summary": 1}},
    }
    path = root / "config.json"
    path.write_text(json.dumps(config), "utf-8")
    return root, path


def _run(cmd: list[str], root: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NEWSLENS_HOME": str(root / "home"), "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, **kwargs)


def _curve(bundle: Path) -> dict:
    return read_config(bundle)["training"]["fine_tune"]["loss_curve"]


def test_torchrun_two_processes_match_one_and_the_bundle_answers(setup):
    root, config = setup
    single = _run([sys.executable, "-m", "training.cli", "-q", "train", "--config", str(config),
                   "--out", str(root / "single")], root)
    assert single.returncode == 0, single.stderr
    ddp = _run([*TORCHRUN, "-m", "training.cli", "-q", "train", "--config", str(config), "--out", str(root / "ddp")], root)
    assert ddp.returncode == 0, ddp.stderr
    assert ddp.stdout.strip().splitlines() == [str(root / "ddp")]  # rank 0 alone reports (and writes) the bundle
    one, two = _curve(root / "single"), _curve(root / "ddp")
    assert read_config(root / "ddp")["training"]["fine_tune"]["processes"] == 2
    assert one["task"] == two["task"] and len(one["loss"]) == 8
    # Each rank takes half of every global batch and DDP averages the gradients: the same steps.
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=0.05, atol=0.02)
    pred = Predictor.load(root / "ddp").predict(SPORTS_TEXT)
    assert pred.type.label and pred.summary.text
    assert not (root / ".ddp.work").exists()  # checkpoints removed once the bundle is saved


def test_torchrun_resumes_an_interrupted_run(setup):
    root, config = setup
    cfg = json.loads(config.read_text("utf-8"))
    cfg["transformer"]["max_steps"] = 60
    longer = root / "config-long.json"
    longer.write_text(json.dumps(cfg), "utf-8")
    out = root / "resumed"
    checkpoint = root / ".resumed.work" / "checkpoint.pt"
    cmd = [*TORCHRUN, "-m", "training.cli", "-q", "train", "--config", str(longer), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NEWSLENS_HOME": str(root / "home"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not checkpoint.is_file() and proc.poll() is None:
        time.sleep(0.05)
    # torchrun and both ranks (which torchrun starts in sessions of their own): all name the config.
    subprocess.run(["pkill", "-KILL", "-f", str(longer)], check=False)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while subprocess.run(["pgrep", "-f", str(longer)], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "a rank outlived kill -9"
        time.sleep(0.1)
    assert checkpoint.is_file() and not out.exists(), "the run was not interrupted between a checkpoint and the end"
    resumed = _run([*cmd, "--resume"], root)
    assert resumed.returncode == 0, resumed.stderr
    fine_tune = read_config(out)["training"]["fine_tune"]
    assert fine_tune["steps"] == 60 and fine_tune["processes"] == 2
    assert len(fine_tune["loss_curve"]["loss"]) < 60  # it went on from the checkpoint, not from step 0
    shutil.rmtree(out)


def test_torchrun_into_the_registry_registers_one_version(setup):
    """Without --out: rank 0 writes the registry's holdout and registers the bundle, once."""
    root, config = setup
    home = root / "registry-home"
    env_root = root / "reg"
    env_root.mkdir(exist_ok=True)
    done = subprocess.run([*TORCHRUN, "-m", "training.cli", "-q", "train", "--config", str(config)],
                          env={**os.environ, "PYTHONPATH": str(ROOT), "NEWSLENS_HOME": str(home), "OMP_NUM_THREADS": "1"},
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    from training.registry import Registry

    registry = Registry(home)
    assert [v.name for v in registry.versions()] == ["v0001"] and registry.current_name() == "v0001"
    assert done.stdout.strip().splitlines() == [str(registry.get("v0001").path)]
    assert Predictor.load(registry.get("v0001").path).predict(SPORTS_TEXT).type.label
    assert not [p for p in home.iterdir() if p.name.startswith(".staging-")]
