"""Replicas of the app on one shared $NEWSLENS_HOME: locked corrections, /healthz, CURRENT followed.

Two real servers (``newslens serve``) on two ports share one registry; a promotion must reach
both without a restart, and each answers the readiness check a load balancer polls.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from model.predictor import Predictor
from serve.app import health, save_correction
from training.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
WRITERS, PER_WRITER = 4, 25


def _write_corrections(path: str, writer: int) -> None:
    for i in range(PER_WRITER):
        # Long texts: a write of several pages, where an unlocked append could interleave.
        save_correction(f"Bài {writer}-{i}. " + "Đội tuyển bóng đá thắng trận. " * 400, f"Tin {writer}-{i}",
                        "Thể thao", None, None, "v0001", path=Path(path))


def test_concurrent_writers_from_several_processes_never_interleave_lines(tmp_path):
    path = tmp_path / "corrections.jsonl"
    path.write_text('{"text": "a hand-edited line without its newline", "type": null}', "utf-8")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_corrections, args=(str(path), w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    lines = path.read_text("utf-8").splitlines()
    assert len(lines) == 1 + WRITERS * PER_WRITER  # the repaired last line, then every correction
    records = [json.loads(line) for line in lines]  # each line whole: no interleaving, no half line
    titles = sorted(r["title"] for r in records[1:])
    assert titles == sorted(f"Tin {w}-{i}" for w in range(WRITERS) for i in range(PER_WRITER))


def test_health_says_what_answers_and_fails_closed(predictor, monkeypatch):
    status, body = health(predictor)
    assert status == 200 and body["status"] == "ok" and body["version"] == predictor.info.version
    assert body["runtime"] == "numpy"

    def broken(*args, **kwargs):
        raise RuntimeError("model file gone")

    monkeypatch.setattr(predictor, "predict", broken)
    status, body = health(predictor)
    assert status == 503 and "model file gone" in body["error"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, {}


def _wait_for(urls: list[str], version: str, seconds: float) -> list[dict]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answers = [_get(u) for u in urls]
        if all(code == 200 and body.get("version") == version for code, body in answers):
            return [body for _, body in answers]
        time.sleep(0.5)
    raise AssertionError(f"not every replica served {version} within {seconds} s: {answers}")


def _register(registry: Registry, bundle_dir: Path) -> str:
    staged = Path(shutil.copytree(bundle_dir, registry.staging_dir() / "bundle"))
    version = registry.add(staged, {"parent": registry.current_name(), "reason": "test", "status": "promoted",
                                    "forced": False})
    registry.set_current(version.name, "test")
    return version.name


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX servers")
def test_two_replicas_on_one_home_follow_current_and_answer_healthz(bundle_dir, tmp_path):
    home = tmp_path / "home"
    registry = Registry(home)
    first = _register(registry, bundle_dir)
    env = {**os.environ, "NEWSLENS_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("NEWSLENS_MODEL", None)
    ports = [_free_port(), _free_port()]
    servers = [subprocess.Popen([sys.executable, "-m", "training.cli", "-q", "serve", "--no-train", "--port", str(p)],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for p in ports]
    urls = [f"http://127.0.0.1:{p}/healthz" for p in ports]
    try:
        bodies = _wait_for(urls, first, 120)
        assert all(b["status"] == "ok" and b["kind"] == "baseline" for b in bodies)
        second = _register(registry, bundle_dir)  # a promotion, no restart
        _wait_for(urls, second, 60)
        # The page itself still answers on both.
        for p in ports:
            with urllib.request.urlopen(f"http://127.0.0.1:{p}/", timeout=10) as r:
                assert r.status == 200
    finally:
        for s in servers:
            s.terminate()
        for s in servers:
            try:
                s.wait(20)
            except subprocess.TimeoutExpired:
                s.kill()
    assert Predictor.load(registry.get(second).path).info.version == second
