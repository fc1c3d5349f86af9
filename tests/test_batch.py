"""``newslens batch``: shards, resumption after kill -9, bad records, workers, the manifest."""
from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SPORTS_TEXT, VOCAB
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from training.batch import SHARDS, TMP_PREFIX, expand_inputs, finished_shards, read_results, run_batch, shards_of
from training.cli import main

ROOT = Path(__file__).resolve().parent.parent


def write_archive(path: Path, n: int, bad_every: int = 0) -> int:
    """``n`` good records (and a bad line every ``bad_every``); returns the lines written."""
    texts = [s for sentences in VOCAB.values() for s in sentences]
    lines = 0
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"r{i}", "title": f"Tin {i}", "text": texts[i % len(texts)]}, ensure_ascii=False) + "\n")
            lines += 1
            if bad_every and i % bad_every == bad_every - 1:
                f.write('{"text": 3}\n' if i % 2 else "not json at all\n")
                lines += 1
    return lines


def results(out: Path) -> list[dict]:
    return list(read_results(out))


def failures(out: Path) -> list[dict]:
    return [json.loads(line) for p in sorted((out / SHARDS).glob("*.failures.jsonl")) if not p.name.startswith(TMP_PREFIX)
            for line in p.read_text("utf-8").splitlines()]


def test_every_record_is_a_result_or_a_reported_failure(bundle_dir, tmp_path):
    archive = tmp_path / "archive.jsonl"
    lines = write_archive(archive, 30, bad_every=7)
    summary = run_batch([str(archive)], tmp_path / "out", model=str(bundle_dir), workers=1, shard_size=8, progress=False)
    rows, bad = results(tmp_path / "out"), failures(tmp_path / "out")
    assert summary.records == lines == len(rows) + len(bad) and summary.written == len(rows) == 30
    assert summary.failures_total == len(bad) == 4
    assert sorted(r["id"] for r in rows) == sorted(f"r{i}" for i in range(30))  # each exactly once
    assert {b["input"].rsplit(":", 1)[0] for b in bad} == {str(archive)}
    assert all(b["input"].rsplit(":", 1)[1].isdigit() and b["error"] for b in bad)
    row = rows[0]
    assert set(row) >= {"id", "input", "type", "type_score", "topics", "keywords", "summary", "model"}
    assert row["model"]["runtime"] == "numpy" and row["model"]["version"]
    assert summary.shards_total == 5 and not list((tmp_path / "out" / SHARDS).glob(".tmp-*"))


def test_two_workers_give_the_same_results_as_one(bundle_dir, tmp_path):
    archive = tmp_path / "a.jsonl"
    write_archive(archive, 40)
    run_batch([str(archive)], tmp_path / "one", model=str(bundle_dir), workers=1, shard_size=10, progress=False)
    run_batch([str(archive)], tmp_path / "two", model=str(bundle_dir), workers=2, shard_size=10, progress=False)
    assert results(tmp_path / "one") == results(tmp_path / "two")


def test_a_rerun_skips_finished_shards_and_redoes_missing_ones(bundle_dir, tmp_path):
    archive = tmp_path / "a.jsonl"
    write_archive(archive, 25)
    out = tmp_path / "out"
    run_batch([str(archive)], out, model=str(bundle_dir), workers=1, shard_size=10, progress=False)
    first = results(out)
    done = finished_shards(out)
    done[1].unlink()  # as if the run had been killed before this shard was renamed into place
    (out / SHARDS / ".tmp-123-0000-a-00001.jsonl.gz").write_bytes(b"half")  # its half-written file
    summary = run_batch([str(archive)], out, model=str(bundle_dir), workers=1, shard_size=10, progress=False)
    assert summary.shards_skipped == 2 and summary.records == 25 and summary.written == 25
    assert results(out) == first and not list((out / SHARDS).glob(".tmp-*"))


def test_a_rerun_with_other_inputs_or_shard_size_is_refused(bundle_dir, tmp_path, capsys):
    archive = tmp_path / "a.jsonl"
    write_archive(archive, 5)
    out = tmp_path / "out"
    assert main(["-q", "batch", str(archive), "--out", str(out), "--model", str(bundle_dir), "--workers", "1"]) == 0
    assert "results: 5" in capsys.readouterr().out
    assert main(["-q", "batch", str(archive), "--out", str(out), "--model", str(bundle_dir), "--workers", "1",
                 "--shard-size", "2"]) == 2
    assert "other shard_size" in capsys.readouterr().err
    write_archive(archive, 6)  # the input changed since the first run
    assert main(["-q", "batch", str(archive), "--out", str(out), "--model", str(bundle_dir), "--workers", "1"]) == 2
    assert "other inputs" in capsys.readouterr().err


def test_inputs_are_checked_before_any_work(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x", "utf-8")
    for args, message in (([str(tmp_path / "missing.jsonl")], "no such file"),
                          ([str(tmp_path / "*.jsonl")], "no file matches"),
                          ([str(tmp_path / "notes.txt")], "unsupported file type")):
        assert main(["-q", "batch", *args, "--out", str(tmp_path / "out")]) == 2
        assert message in capsys.readouterr().err
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n', "utf-8")
    assert main(["-q", "batch", str(tmp_path / "a.jsonl"), "--out", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
    for size in ("0", "100001"):
        assert main(["-q", "batch", str(tmp_path / "a.jsonl"), "--out", str(tmp_path / "o"), "--shard-size", size]) == 2
        assert "--shard-size must be between 1 and 100,000" in capsys.readouterr().err


def test_globs_expand_sorted_and_once(tmp_path):
    for name in ("b.jsonl", "a.jsonl", "c.csv"):
        (tmp_path / name).write_text('{"text": "x"}\n', "utf-8")
    got = expand_inputs([str(tmp_path / "*.jsonl"), str(tmp_path / "a.jsonl"), str(tmp_path / "c.csv")])
    assert [p.name for p in got] == ["a.jsonl", "b.jsonl", "c.csv"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(
    st.builds(lambda t: json.dumps({"text": t}, ensure_ascii=False), st.text(min_size=0, max_size=40)),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
            max_size=30),
), min_size=1, max_size=40), size=st.integers(1, 7))
def test_shards_cover_every_line_once_whatever_the_file(tmp_path_factory, lines, size):
    """Generated files of good and bad lines: every non-blank line lands in exactly one shard."""
    path = tmp_path_factory.mktemp("gen") / "g.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    seen: list[int] = []
    for shard in shards_of(path, 0, size):
        assert shard.items <= size
        before = shard.items
        seen += [line for line, _ in shard.parse().records] + sorted({p.line for p in shard.problems})
        assert shard.items == before  # parsing moves lines between records and problems, never loses one
    expected = [i + 1 for i, line in enumerate(lines) if line.strip()]
    assert sorted(seen) == expected


def test_kill_9_then_rerun_loses_nothing(bundle_dir, tmp_path):
    archive = tmp_path / "big.jsonl"
    write_archive(archive, 2000)  # 100 shards: time enough to kill it between the 3rd and the last
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "training.cli", "-q", "batch", str(archive), "--out", str(out), "--model",
           str(bundle_dir), "--workers", "1", "--shard-size", "20"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(finished_shards(out)) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the job and its worker, mid-run
    proc.wait()
    while True:  # until the worker is gone too: a rename it had begun completes before it dies
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    killed_at = len(finished_shards(out))
    assert 3 <= killed_at < 100, "the run was not interrupted mid-way"
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = results(out)
    assert sorted(r["id"] for r in rows) == sorted(f"r{i}" for i in range(2000))
    assert f"({killed_at} done by an earlier run)" in done.stdout


def test_ray_local_mode_gives_exactly_the_local_results(bundle_dir, tmp_path):
    pytest.importorskip("ray")
    from training.batch_ray import run_batch_ray

    archive = tmp_path / "a.jsonl"
    write_archive(archive, 30, bad_every=9)
    local = run_batch([str(archive)], tmp_path / "local", model=str(bundle_dir), workers=2, shard_size=10, progress=False)
    on_ray = run_batch_ray([str(archive)], tmp_path / "ray", model=str(bundle_dir), workers=2, shard_size=10,
                           progress=False)
    assert results(tmp_path / "ray") == results(tmp_path / "local") and len(results(tmp_path / "ray")) == 30
    assert failures(tmp_path / "ray") == failures(tmp_path / "local")
    assert (on_ray.records, on_ray.written, on_ray.failures_total) == (local.records, local.written, local.failures_total)
    again = run_batch_ray([str(archive)], tmp_path / "ray", model=str(bundle_dir), workers=2, shard_size=10, progress=False)
    assert again.shards_skipped == again.shards_total == 4  # resumable like the local path


def test_csv_and_gzip_inputs_in_one_job(bundle_dir, tmp_path):
    """CSV records may span lines; JSONL.gz is read like JSONL: every record once, ids kept."""
    import csv as csv_module

    csv_path = tmp_path / "a.csv"
    with open(csv_path, "w", encoding="utf-8", newline="") as f:
        w = csv_module.writer(f)
        w.writerow(["id", "title", "text"])
        w.writerow(["c1", "Bóng đá", SPORTS_TEXT.replace(". ", ".\n", 1)])  # a text over two lines
        w.writerow(["c2", "", ""])  # no text and no title: a reported failure
        w.writerow(["c3", "Tin", "Đội tuyển thắng trận."])
    gz_path = tmp_path / "b.jsonl.gz"
    with gzip.open(gz_path, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"text": SPORTS_TEXT}, ensure_ascii=False) + "\n")
    summary = run_batch([str(csv_path), str(gz_path)], tmp_path / "out", model=str(bundle_dir), workers=1,
                        shard_size=2, progress=False)
    rows, bad = results(tmp_path / "out"), failures(tmp_path / "out")
    assert sorted(r["id"] for r in rows) == ["b.jsonl.gz:1", "c1", "c3"]
    assert [b["input"] for b in bad] == [f"{csv_path}:4"] and summary.records == 4 == len(rows) + len(bad)
