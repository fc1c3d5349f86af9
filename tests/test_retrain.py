"""training/retrain.py and training/report.py: retraining on new data, the promotion gate on the
fixed holdout, validation before training, crash safety (kill -9) and the retrain report."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import BUSINESS, HEALTH, SPORTS, SPORTS_TEXT, VOCAB
from model.bundle import read_config
from model.paths import default_model_dir
from model.predictor import Predictor
from registry_helpers import (EDU_TEXT, EDU_VOCAB, EDUCATION, PNG_SIGNATURE, copy_registry, corpus, staging_leftovers,
                              synth_records, train_registry, write_jsonl)
from training.cli import main
from training.data import DataValidationError, read_records
from training.registry import Registry, RegistryError, holdout_file, record_key
from training.retrain import DEFAULT_NEW_WEIGHT, allowed_drop, compare, retrain

REPO_ROOT = Path(__file__).resolve().parent.parent
OLD_TYPES = {SPORTS, BUSINESS, HEALTH}
N_RECORDS, N_HELD = 570, 18  # corpus() and its holdout (13 type + 4 topics + 1 summary)
EDU_HELD = 2  # of edu_file()'s 12 new articles, the slice held out of a retrain: int(0.2 * 12)
EDU_SHORT = 12 - EDU_HELD  # the trained ones also as headline + first paragraph (two paragraphs each)


pytestmark = pytest.mark.usefixtures("isolated_env")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Registry:
    return train_registry(tmp_path_factory.mktemp("template"))[0]


@pytest.fixture
def registry(template, tmp_path, monkeypatch) -> Registry:
    """A private copy of a registry with v0001 trained on corpus() (its training data is the
    template's, shared: read-only); NEWSLENS_HOME points at it (for the CLI and default_model_dir)."""
    reg = copy_registry(template, tmp_path / "home")
    monkeypatch.setenv("NEWSLENS_HOME", str(reg.home))
    return reg


def edu_file(folder: Path, n: int = 12) -> Path:
    return write_jsonl(folder / "edu.jsonl", synth_records(EDU_VOCAB, n, prefix="edu"))


def wrong_labels_file(folder: Path, copies: int = 3) -> Path:
    """The existing typed training texts again, each `copies` times with a wrong type."""
    rotate = {SPORTS: BUSINESS, BUSINESS: HEALTH, HEALTH: SPORTS}
    typed = [r for r in corpus() if r.type is not None]
    wrong = [replace(r, id=f"wrong{k}-{r.id}", type=rotate[r.type]) for k in range(copies) for r in typed]
    return write_jsonl(folder / "wrong.jsonl", wrong)


def snapshot(home: Path) -> dict:
    return {
        "entries": sorted(p.name for p in home.iterdir()),
        "current": (home / "CURRENT").read_text(encoding="utf-8"),
        "history": (home / "history.jsonl").read_text(encoding="utf-8"),
        "holdout": (home / "holdout" / "manifest.json").read_text(encoding="utf-8"),
    }


@pytest.fixture(scope="module")
def edu_retrain(tmp_path_factory):
    """A registry retrained (forced) on 12 articles of a new type. Tests must not modify it."""
    root = tmp_path_factory.mktemp("edu")
    reg, _ = train_registry(root)
    result = retrain([str(edu_file(root))], registry=reg, force=True, progress=False)
    return reg, result


# --- new data with a new label -------------------------------------------------------------------
def test_new_type_label_is_reported_and_joins_the_forced_candidate(edu_retrain, monkeypatch):
    reg, result = edu_retrain
    report = result.report
    assert report.records == 12 and report.per_task["type"] == 12
    assert report.label_counts["type"] == {EDUCATION: 12}
    assert report.new_labels == {"type": [EDUCATION], "topics": []}
    assert report.duplicates_of_existing == 0 and report.duplicates_within == 0 and report.conflicts == []
    rendered = report.render()
    assert "NOTICE: new type label(s)" in rendered and EDUCATION in rendered

    candidate = result.candidate
    assert candidate.name == "v0002" and candidate.path == reg.home / "v0002"
    assert set(candidate.config["type_labels"]) == OLD_TYPES | {EDUCATION}
    assert set(reg.get("v0001").config["type_labels"]) == OLD_TYPES
    assert result.promoted and result.current == "v0001"
    assert result.forced == bool(result.reasons)
    assert reg.current_name() == "v0002"
    info = candidate.info
    assert (info["parent"], info["reason"], info["status"]) == ("v0001", "retrain", "promoted")
    assert info["new_data"] == ["edu.jsonl"]
    assert candidate.config["retrained_from"] == "v0001"
    # Trained on the old data plus the new, the holdout still left out.
    assert candidate.config["data"]["records_used"] == N_RECORDS - N_HELD + 12 - EDU_HELD + EDU_SHORT
    assert [f["file"] for f in candidate.config["data"]["train"]] == ["train.jsonl", "edu.jsonl"]
    assert reg.check() == [] and staging_leftovers(reg.home) == []

    monkeypatch.setenv("NEWSLENS_HOME", str(reg.home))
    predictor = Predictor.load(default_model_dir())
    assert predictor.info.path == str((reg.home / "v0002").resolve())
    assert predictor.predict(EDU_TEXT).type.label == EDUCATION
    assert predictor.predict(SPORTS_TEXT).type.label == SPORTS


def test_labels_current_keeps_the_taxonomy_fixed(registry, tmp_path):
    result = retrain([str(edu_file(tmp_path))], registry=registry, labels="current", force=True, progress=False)
    assert result.report.dropped_labels == {"type": 12}
    assert result.report.new_labels == {"type": [], "topics": []}
    assert "outside the fixed taxonomy were ignored" in result.report.render()
    assert set(result.candidate.config["type_labels"]) == OLD_TYPES
    assert result.candidate.config["topic_labels"] == registry.get("v0001").config["topic_labels"]


def test_labels_from_a_taxonomy_file(registry, tmp_path):
    taxonomy = tmp_path / "taxonomy.json"
    taxonomy.write_text(json.dumps({"type": sorted(OLD_TYPES | {EDUCATION})}, ensure_ascii=False), encoding="utf-8")
    result = retrain([str(edu_file(tmp_path))], registry=registry, labels=str(taxonomy), force=True, progress=False)
    assert result.report.dropped_labels == {}
    assert EDUCATION in result.candidate.config["type_labels"]
    with pytest.raises(ValueError, match="--labels"):
        retrain([str(edu_file(tmp_path))], registry=registry, labels=str(tmp_path / "nope.json"), progress=False)


def test_holdout_stays_fixed_and_untrained_when_new_data_contains_it(registry, tmp_path, fit_spy):
    holdout = read_records(holdout_file(registry))
    held = {record_key(r) for r in holdout}
    before = snapshot(registry.home)["holdout"], holdout_file(registry).read_bytes()
    new = write_jsonl(tmp_path / "new.jsonl", holdout + synth_records(EDU_VOCAB, 12, prefix="edu"))
    result = retrain([str(new)], registry=registry, force=True, progress=False)
    (trained,) = fit_spy
    assert not held & {record_key(r) for r in trained}
    assert len(trained) == N_RECORDS - N_HELD + 12 - EDU_HELD + EDU_SHORT
    assert result.candidate.config["data"]["records_used"] == len(trained)
    assert result.report.duplicates_of_existing == len(holdout)
    assert (snapshot(registry.home)["holdout"], holdout_file(registry).read_bytes()) == before
    assert result.candidate.config["metrics"]["holdout"]["n"] == N_HELD


def test_retrain_with_a_relative_data_path_can_be_retrained_from_elsewhere(registry, tmp_path, monkeypatch):
    edu = edu_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    first = retrain(["edu.jsonl"], registry=registry, force=True, progress=False)
    assert first.candidate.name == "v0002"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    more = write_jsonl(tmp_path / "more.jsonl", synth_records(EDU_VOCAB, 30, prefix="more")[12:])
    second = retrain([str(more)], registry=registry, force=True, progress=False)
    assert second.candidate.name == "v0003" and edu.is_file()


# --- the promotion gate --------------------------------------------------------------------------
def test_worse_candidate_is_registered_but_rejected(registry, tmp_path):
    before = snapshot(registry.home)
    result = retrain([str(wrong_labels_file(tmp_path))], registry=registry, tolerance=0.0, progress=False)
    assert result.promoted is False and result.forced is False
    assert registry.current_name() == "v0001"
    assert (registry.home / "CURRENT").read_text(encoding="utf-8") == before["current"]
    assert registry.history() == [json.loads(line) for line in before["history"].splitlines()]  # no pointer move

    candidate = registry.get("v0002")
    assert candidate.info["status"] == "rejected" and candidate.info["forced"] is False
    assert candidate.info["rejection_reasons"] == result.reasons
    assert candidate.info["tolerance"] == 0.0
    assert any(r.startswith("type accuracy would drop from 1.0000") for r in result.reasons), result.reasons
    assert any("type macro_f1" in r for r in result.reasons)
    type_acc = result.comparison["type"]["accuracy"]
    assert type_acc["candidate"] < type_acc["current"] - 0.2
    assert "type accuracy" in result.table()
    # The report saw the trouble coming: the texts are known, with other labels.
    report = result.report
    assert report.duplicates_of_existing == 3 * 450 and report.duplicates_within == 2 * 450
    assert report.conflicts and {c["task"] for c in report.conflicts} == {"type"}
    # The rejected candidate is a complete, checkable bundle; nothing else changed.
    assert registry.check() == [] and staging_leftovers(registry.home) == []
    card = (candidate.path / "README.md").read_text(encoding="utf-8")
    assert "kept the current model" in card and "type accuracy would drop" in card
    assert Predictor.load(default_model_dir()).info.path == str((registry.home / "v0001").resolve())


def test_retrain_cli_reports_rejection_and_force_overrides(registry, tmp_path, capsys):
    wrong = str(wrong_labels_file(tmp_path, copies=2))
    assert main(["-q", "retrain", "--data", wrong, "--tolerance", "0"]) == 0
    captured = capsys.readouterr()
    assert "kept v0001: candidate v0002 was not promoted because" in captured.out
    assert "type accuracy would drop" in captured.out
    assert "CONFLICTS" in captured.err
    assert registry.current_name() == "v0001"

    assert main(["-q", "retrain", "--data", wrong, "--tolerance", "0", "--force"]) == 0
    out = capsys.readouterr().out
    assert "promoted v0003 (forced: type accuracy would drop" in out
    assert registry.current_name() == "v0003"
    info = registry.get("v0003").info
    assert info["status"] == "promoted" and info["forced"] is True and info["rejection_reasons"]
    assert registry.history()[-1]["reason"] == "retrain (forced)"
    # And a rejected candidate can still be promoted by hand, then rolled back.
    assert main(["models", "promote", "v0002"]) == 0 and registry.current_name() == "v0002"
    assert main(["models", "rollback"]) == 0 and registry.current_name() == "v0003"


def test_allowed_drop_is_the_tolerance_or_the_sampling_noise():
    assert allowed_drop(1.0, 13, 0.005) == 0.005  # no noise at a perfect score
    assert allowed_drop(0.9, 100, 0.005) == pytest.approx(0.03)  # sqrt(0.9 * 0.1 / 100)
    assert allowed_drop(0.9, 1_000_000, 0.005) == 0.005
    assert allowed_drop(0.9, 100, 0.05) == 0.05
    assert allowed_drop(0.5, 0, 0.0) == pytest.approx(0.5)  # n=0 counts as 1, no division by zero


def _metrics(acc, f1, n=10_000, topics=None):
    return {"type": {"accuracy": acc, "macro_f1": f1, "n": n}, "topics": topics, "keywords": None, "summary": None}


def test_compare_rejects_only_drops_beyond_the_allowed():
    current = _metrics(0.90, 0.80)  # noise at n=10,000: 0.003, below the tolerance
    table, reasons = compare(current, _metrics(0.895, 0.80), tolerance=0.01)
    assert reasons == []
    assert set(table) == {"type"}  # tasks neither model has are left out
    assert table["type"]["accuracy"] == {"current": 0.90, "candidate": 0.895, "allowed_drop": pytest.approx(0.01)}

    _, reasons = compare(current, _metrics(0.88, 0.80), tolerance=0.01)
    assert len(reasons) == 1
    assert reasons[0].startswith("type accuracy would drop from 0.9000 to 0.8800 (allowed drop 0.0100")
    assert "10000 holdout articles" in reasons[0]

    _, reasons = compare(current, _metrics(0.95, 0.70), tolerance=0.01)  # one up, one down: still rejected
    assert [r.split(" would")[0] for r in reasons] == ["type macro_f1"]
    assert compare(current, _metrics(0.99, 0.99), tolerance=0.0)[1] == []


def test_compare_uses_noise_on_a_small_holdout_and_flags_a_lost_task():
    current = _metrics(0.90, 0.90, n=25)  # noise: sqrt(0.09 / 25) = 0.06
    assert compare(current, _metrics(0.85, 0.85, n=25), tolerance=0.005)[1] == []
    assert len(compare(current, _metrics(0.83, 0.83, n=25), tolerance=0.005)[1]) == 2
    # A task the current model answers and the candidate does not is a drop.
    with_topics = _metrics(0.9, 0.9, topics={"micro_f1": 0.7, "macro_f1": 0.6, "n": 50})
    table, reasons = compare(with_topics, _metrics(0.9, 0.9), tolerance=0.005)
    assert table["topics"]["micro_f1"]["candidate"] is None
    assert [r.split(" would")[0] for r in reasons] == ["topics micro_f1", "topics macro_f1"]
    assert "to -" in reasons[0]
    # A task only the candidate has is no reason to reject.
    assert compare(_metrics(0.9, 0.9), with_topics, tolerance=0.005)[1] == []


# --- invalid data stops everything before training -------------------------------------------------
def bad_file(folder: Path) -> Path:
    bad = folder / "bad.jsonl"
    good = {"text": SPORTS_TEXT, "type": SPORTS}
    bad.write_text(json.dumps(good, ensure_ascii=False) + "\n"
                   + json.dumps({"title": "", "type": SPORTS}, ensure_ascii=False) + "\n"
                   + '{"text": "Bóng đá", "type": \n', encoding="utf-8")
    return bad


def test_invalid_new_data_stops_before_training(registry, tmp_path, fit_spy):
    bad = bad_file(tmp_path)
    before = snapshot(registry.home)
    with pytest.raises(DataValidationError) as e:
        retrain([str(bad), str(edu_file(tmp_path))], registry=registry, progress=False)
    assert [(p.line, p.field) for p in e.value.problems] == [(2, "text"), (3, None)]
    assert "malformed JSON" in str(e.value)
    assert fit_spy == []
    assert snapshot(registry.home) == before  # no version, no staging folder, same CURRENT and history
    assert [v.name for v in registry.versions()] == ["v0001"]


def test_retrain_cli_bad_data_exits_2_with_file_and_line(registry, tmp_path, capsys, fit_spy):
    bad = bad_file(tmp_path)
    before = snapshot(registry.home)
    assert main(["retrain", "--data", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: 2 problem(s)") or "\nerror: 2 problem(s)" in captured.err
    assert f"{bad}:2: field 'text'" in captured.err
    assert f"{bad}:3: malformed JSON" in captured.err
    assert "Traceback" not in captured.err
    assert fit_spy == [] and snapshot(registry.home) == before


def test_retrain_cli_missing_file_exits_2(registry, tmp_path, capsys):
    assert main(["-q", "retrain", "--data", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl: file not found" in capsys.readouterr().err
    assert [v.name for v in registry.versions()] == ["v0001"]


def test_retrain_needs_a_current_model_and_its_training_data(tmp_path):
    with pytest.raises(RegistryError, match="no current model"):
        retrain([str(edu_file(tmp_path))], registry=Registry(tmp_path / "empty"), progress=False)
    registry, _ = train_registry(tmp_path)  # with its own training data, which this test moves away
    before = snapshot(registry.home)
    (tmp_path / "data" / "train.jsonl").rename(tmp_path / "data" / "moved.jsonl")
    with pytest.raises(RegistryError, match="training data is missing"):
        retrain([str(edu_file(tmp_path))], registry=registry, progress=False)
    assert snapshot(registry.home) == before


# --- kill -9 at any moment leaves a valid registry ---------------------------------------------------
KILL_SCRIPT = r"""
import sys, time
sys.path.insert(0, {root!r})
from training.registry import Registry
from training.retrain import retrain
import matplotlib.pyplot  # imported up front so that the kill delays cover the retraining itself
print("START", flush=True)
t = time.perf_counter()
result = retrain([{new!r}], registry=Registry({home!r}), force=True, progress=False)
print("DONE %.3f %s" % (time.perf_counter() - t, result.candidate.name), flush=True)
"""


def _start_retrain(home: Path, new: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "NEWSLENS_MODEL"}
    env["NEWSLENS_HOME"] = str(home)
    code = KILL_SCRIPT.format(root=str(REPO_ROOT), new=str(new), home=str(home))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=str(home.parent))
    line = proc.stdout.readline()
    if line.strip() != "START":
        proc.kill()
        raise AssertionError(f"retrain subprocess did not start: {line!r} {proc.stderr.read()[-3000:]}")
    return proc


def _assert_registry_serves(home: Path, monkeypatch, context: str) -> str:
    registry = Registry(home)
    assert registry.check() == [], context
    name = registry.current_name()
    assert name in {v.name for v in registry.versions()}, context
    read_config(home / name)  # complete and intact
    monkeypatch.setenv("NEWSLENS_HOME", str(home))
    assert default_model_dir() == home / name, context
    prediction = Predictor.load(default_model_dir()).predict(SPORTS_TEXT)
    assert prediction.type.label == SPORTS, context
    return name


def test_kill_9_during_retraining_leaves_a_valid_registry(tmp_path, monkeypatch):
    registry, _ = train_registry(tmp_path)
    home = registry.home
    new = write_jsonl(tmp_path / "new.jsonl", synth_records(EDU_VOCAB, 60, prefix="edu"))

    # How long does a retrain take here (after imports)? Measured on a copy, so the registry under test stays at v0001.
    calib_home = tmp_path / "calibration"
    shutil.copytree(home, calib_home)
    proc = _start_retrain(calib_home, new)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    duration = float(out.split()[1])

    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    # One random moment in each quarter of the run, and one near its end (add + set_current).
    fractions = [rng.uniform(i / 4, (i + 1) / 4) for i in range(4)] + [rng.uniform(0.9, 1.05)]
    killed, finished = [], []
    attempts = 0
    while attempts < len(fractions) or (len(killed) < 3 and attempts < len(fractions) + 4):
        # If the machine got slower than when we measured, add earlier kills until three landed mid-run.
        fraction = fractions[attempts] if attempts < len(fractions) else rng.uniform(0.0, 0.5)
        attempts += 1
        delay = fraction * duration
        context = f"seed={seed} delay={delay:.3f}s of {duration:.3f}s"
        proc = _start_retrain(home, new)
        time.sleep(delay)
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = proc.communicate(timeout=60)
        (killed if proc.returncode == -signal.SIGKILL and "DONE" not in out else finished).append(round(delay, 3))
        _assert_registry_serves(home, monkeypatch, context)
        for v in Registry(home).versions():  # every registered version is a complete, loadable bundle
            Predictor.load(v.path)
    print(f"kill -9: seed={seed}, a retrain takes {duration:.3f}s; killed at {killed}, finished first at {finished}")
    assert len(killed) >= 3, f"only {len(killed)} run(s) were killed mid-way (seed={seed}, killed at {killed}, " \
                             f"finished first at {finished}, a retrain takes {duration:.3f}s)"

    # The next retrain works and sweeps the staging folders the killed runs left behind.
    result = retrain([str(new)], registry=Registry(home), force=True, progress=False)
    assert Registry(home).current_name() == result.candidate.name
    assert staging_leftovers(home) == []
    assert _assert_registry_serves(home, monkeypatch, f"seed={seed}") == result.candidate.name


CRASH_SCRIPT = r"""
import os, signal, sys
sys.path.insert(0, {root!r})
import training.registry as registry_module
import training.retrain as retrain_module

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

point = {point!r}
if point == "report":
    retrain_module.write_report = die
elif point == "before_add":
    registry_module.Registry.add = die
elif point == "after_add":
    real_add = registry_module.Registry.add
    def add(self, *args, **kwargs):
        real_add(self, *args, **kwargs)
        die()
    registry_module.Registry.add = add
elif point == "pointer_replace":  # CURRENT's temporary file written, not yet renamed over CURRENT
    real_replace = os.replace
    def replace(src, dst, *args, **kwargs):
        if os.path.basename(str(dst)) == "CURRENT":
            die()
        return real_replace(src, dst, *args, **kwargs)
    registry_module.os.replace = replace
retrain_module.retrain([{new!r}], registry=registry_module.Registry({home!r}), force=True, progress=False)
print("NOT KILLED")
"""


@pytest.mark.parametrize("point", ["report", "before_add", "after_add", "pointer_replace"])
def test_crash_at_each_step_of_a_retrain_keeps_the_old_model_serving(registry, tmp_path, monkeypatch, point):
    """The same kill -9, at the narrow moments around registering and switching that random delays
    rarely hit (and while writing the report, the last step before the registry is touched)."""
    home = registry.home
    new = edu_file(tmp_path)
    code = CRASH_SCRIPT.format(root=str(REPO_ROOT), point=point, new=str(new), home=str(home))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert "NOT KILLED" not in proc.stdout
    assert _assert_registry_serves(home, monkeypatch, point) == "v0001"
    versions = [v.name for v in Registry(home).versions()]
    assert versions == (["v0001", "v0002"] if point in ("after_add", "pointer_replace") else ["v0001"])
    # The next retrain sweeps what the crash left and takes the next free number.
    result = retrain([str(new)], registry=Registry(home), force=True, progress=False)
    assert result.candidate.name == f"v{len(versions) + 1:04d}"
    assert Registry(home).current_name() == result.candidate.name
    assert staging_leftovers(home) == [] and Registry(home).check() == []


# --- the retrain report ------------------------------------------------------------------------------
def test_retrain_report_has_a_section_and_valid_png_plots(edu_retrain):
    reg, result = edu_retrain
    folder = result.candidate.path
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "## Retraining" in card
    section = card[card.index("## Retraining"):]
    assert "Retrained from `v0001`" in section and "Decision: **promoted" in section
    assert "| task | metric | current | candidate | change |" in section
    assert "| type | accuracy |" in section
    for name in ("confusion_matrix.png", "per_class_f1.png", "training_curve.png"):
        data = (folder / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE, name
        assert data[12:16] == b"IHDR" and len(data) > 1000, name
        assert f"![{name}]({name})" in section
    # Extra report files do not break the bundle's integrity check.
    assert reg.check() == []
    read_config(folder)


# --- the gate sees the new data ------------------------------------------------------------------
def test_a_new_label_is_learnt_from_the_new_data_and_judged_on_its_held_out_slice(edu_retrain):
    reg, result = edu_retrain
    assert result.new_held == EDU_HELD
    gain, short = result.new_gains
    assert (gain.task, gain.n, gain.current, gain.candidate) == ("type", EDU_HELD, 0.0, 1.0)
    assert gain.beats and not result.reasons  # promoted on its merits, not only because forced
    # The same held-out articles as headline + first paragraph: the short shape is judged too.
    assert (short.task, short.n, short.current) == ("type, headline + first paragraph", EDU_HELD, 0.0)
    assert result.candidate.config["new_short_views"] == EDU_SHORT
    first = result.new_labels[0]
    assert (first.label, first.new, first.n) == (EDUCATION, True, EDU_HELD)
    assert first.current == (None, 0.0) and first.candidate == (1.0, 1.0)  # (precision, recall)
    assert "On the 2 held-out new article(s)" in result.table() and "Giáo dục (new)" in result.table()
    card = (result.candidate.path / "README.md").read_text(encoding="utf-8")
    assert "held-out new records" in card and "| Giáo dục (new) | 2 |" in card
    # The slice joined the registry's holdout, apart from the fixed one.
    slice_file = reg.home / "holdout-new" / "v0002.jsonl.gz"
    assert len(read_records(slice_file)) == EDU_HELD
    assert result.candidate.info["new_held_out"] == EDU_HELD and result.candidate.info["new_weight"] == DEFAULT_NEW_WEIGHT


def test_the_current_models_reading_of_a_new_label_is_reported(edu_retrain):
    _, result = edu_retrain
    (reading,) = result.report.readings
    assert reading.label == EDUCATION and reading.new and reading.n == 12
    assert reading.read_as in OLD_TYPES and 0 < reading.share <= 1
    assert reading.lookalikes is not None and reading.threshold is not None and reading.sampled == 450 - 13
    rendered = result.report.render()
    assert f"CONFLICT WITH THE CURRENT MODEL: 12 '{EDUCATION}' article(s): the current model reads" in rendered
    assert "--new-weight" in rendered and "--labels current" in rendered


def test_later_retrains_keep_watching_the_slice_and_never_train_on_it(edu_retrain, tmp_path, fit_spy):
    template, _ = edu_retrain
    reg = copy_registry(template, tmp_path / "home")
    watched = read_records(reg.home / "holdout-new" / "v0002.jsonl.gz")
    more = write_jsonl(tmp_path / "more.jsonl", synth_records(EDU_VOCAB, 10, prefix="more", k=5))
    result = retrain([str(more)], registry=reg, force=True, progress=False)
    (trained,) = fit_spy
    assert not {record_key(r) for r in watched} & {record_key(r) for r in trained}  # edu.jsonl is re-read, its slice is not trained
    assert result.candidate.config["metrics"]["holdout"]["n"] == N_HELD + EDU_HELD


def shuffled_file(folder: Path, n: int = 120) -> Path:
    """New articles of the known types whose labels were shuffled: data that teaches nothing."""
    records = synth_records(VOCAB, n // 3, prefix="shuffled", k=5)
    labels = [r.type for r in records]
    random.Random(7).shuffle(labels)
    return write_jsonl(folder / "shuffled.jsonl", [replace(r, type=t) for r, t in zip(records, labels)])


def test_data_with_shuffled_labels_is_refused_with_the_reason(registry, tmp_path):
    result = retrain([str(shuffled_file(tmp_path))], registry=registry, progress=False)
    assert not result.promoted and registry.current_name() == "v0001"
    assert any(r.startswith("does not beat the current model on the held-out new data") for r in result.reasons), \
        result.reasons
    assert [g.n for g in result.new_gains] == [24, 24] and not any(g.beats for g in result.new_gains)
    assert not (registry.home / "holdout-new").exists()  # a refused slice is not watched


def test_new_weight_must_be_a_positive_number(registry, tmp_path):
    for bad in (0, -1, float("nan"), 1e9):
        with pytest.raises(ValueError, match="--new-weight"):
            retrain([str(edu_file(tmp_path))], registry=registry, new_weight=bad, progress=False)


def test_cli_new_weight_default_is_the_library_default():
    from training.cli import build_parser
    from training.retrain import DEFAULT_TOLERANCE

    args = build_parser().parse_args(["retrain", "--data", "x.jsonl"])
    assert args.new_weight is None and args.tolerance == DEFAULT_TOLERANCE  # None: auto_new_weight


@pytest.mark.parametrize("n, weight", [(1, 7.0), (160, 7.0), (200, 5.6), (800, 1.4), (1120, 1.0), (50_000, 1.0)])
def test_the_default_weight_keeps_a_large_batch_at_what_160_articles_weigh(n, weight):
    from training.retrain import AUTO_WEIGHT_TOTAL, DEFAULT_NEW_WEIGHT, auto_new_weight

    assert auto_new_weight(n) == pytest.approx(weight)
    assert auto_new_weight(n) <= DEFAULT_NEW_WEIGHT and (n * auto_new_weight(n) <= AUTO_WEIGHT_TOTAL or weight == 1.0)


def test_a_large_batch_is_weighted_down_by_default(registry, tmp_path):
    from training import retrain as retrain_module

    big = write_jsonl(tmp_path / "big.jsonl", synth_records(EDU_VOCAB, 60, prefix="big", k=5))
    original = retrain_module.AUTO_WEIGHT_TOTAL
    retrain_module.AUTO_WEIGHT_TOTAL = 96.0  # as if 160 were 12 articles: this batch trains on 48
    try:
        result = retrain([str(big)], registry=registry, force=True, progress=False)
    finally:
        retrain_module.AUTO_WEIGHT_TOTAL = original
    assert result.new_held == 12 and result.candidate.info["new_weight"] == pytest.approx(2.0)  # 96 / 48
    assert result.report.new_weight == pytest.approx(2.0)
    assert "each new record counts 2 times in training" in result.report.render()


# --- heads the new data cannot change ----------------------------------------------------------------
def _scorer_weights(path) -> list[float]:
    return Predictor.load(path).model.scorer.weights.tolist()


def test_a_retrain_without_new_summaries_keeps_the_summary_scorer(registry, tmp_path, monkeypatch):
    import training.baseline

    fits = []
    real = training.baseline.fit_summary
    monkeypatch.setattr(training.baseline, "fit_summary", lambda *a, **k: fits.append(1) or real(*a, **k))
    current = registry.current()
    result = retrain([str(edu_file(tmp_path))], registry=registry, force=True, progress=False)
    assert not fits and result.report.summary_kept_from == current.name
    assert _scorer_weights(result.candidate.path) == _scorer_weights(current.path)
    assert read_config(result.candidate.path)["summary"] == read_config(current.path)["summary"]
    assert result.candidate.info.get("new_data") and read_config(result.candidate.path)["summary_scorer_from"] == current.name
    assert f"summary scorer: kept from {current.name}" in result.report.render()


def test_new_summaries_or_refit_all_fit_the_summary_scorer_again(registry, tmp_path, monkeypatch):
    import training.baseline

    fits = []
    real = training.baseline.fit_summary
    monkeypatch.setattr(training.baseline, "fit_summary", lambda *a, **k: fits.append(1) or real(*a, **k))
    summaries = write_jsonl(tmp_path / "sum.jsonl", synth_records(VOCAB, 0, n_summary=15, prefix="newsum", k=5))
    result = retrain([str(summaries)], registry=registry, force=True, progress=False)
    assert len(fits) == 1 and result.report.summary_kept_from is None
    assert "summary scorer: kept" not in result.report.render()
    again = retrain([str(edu_file(tmp_path))], registry=registry, force=True, progress=False, refit_all=True)
    assert len(fits) == 2 and again.report.summary_kept_from is None


def test_a_scorer_of_other_features_is_fitted_again(registry, tmp_path):
    from model import bundle

    current = registry.current()
    assert read_config(current.path)["summary_features"][0] == "bias"  # recorded by every new bundle
    bundle.update(current.path, config={"summary_features": ["bias", "some_feature_of_another_version"]})
    result = retrain([str(edu_file(tmp_path))], registry=registry, force=True, progress=False)
    assert result.report.summary_kept_from is None


def test_a_small_retrain_keeps_the_vocabulary_unless_told_to_refit_all(registry, tmp_path):
    current = registry.current()
    # 4 new articles a label, texts the corpus does not hold (corpus() uses the first 190 of each)
    new = [r for r in synth_records(VOCAB, 194, prefix="more") if int(r.id.rsplit("-", 1)[1]) >= 190]
    assert len(new) == 12
    data = write_jsonl(tmp_path / "more.jsonl", new)
    result = retrain([str(data)], registry=registry, force=True, progress=False)
    assert result.report.kept_from_current == ["vocabulary"]  # no era routing here: no archive head to keep
    assert "kept from the current model: vocabulary" in result.report.render()
    assert read_config(result.candidate.path)["training"]["kept_from_current"] == ["vocabulary"]
    before, after = Predictor.load(current.path).model, Predictor.load(result.candidate.path).model
    assert after.features.term_list() == before.features.term_list() and after.n_docs == before.n_docs
    again = retrain([str(data)], registry=registry, force=True, progress=False, refit_all=True)
    assert again.report.kept_from_current == [] and "kept from the current model" not in again.report.render()


def test_cli_refit_all(registry, tmp_path, monkeypatch):
    import training.retrain

    seen = {}
    real = training.retrain.retrain
    monkeypatch.setattr(training.retrain, "retrain", lambda *a, **k: seen.update(k) or real(*a, **k))
    assert main(["-q", "retrain", "--data", str(edu_file(tmp_path)), "--force", "--refit-all"]) == 0
    assert seen["refit_all"] is True


# --- relabelling old articles that look like a new label's -----------------------------------------
def test_relabel_similar_changes_old_labels_as_registry_data_and_can_be_undone(tmp_path):
    # The old data files education articles under health (as VNTC files them under society).
    old_edu = [replace(r, type=HEALTH) for r in synth_records(EDU_VOCAB, 30, prefix="old-edu", k=5)]
    registry, data = train_registry(tmp_path, corpus() + old_edu)
    data_file = data / "train.jsonl"
    before = data_file.read_bytes()
    new = edu_file(tmp_path)

    result = retrain([str(new)], registry=registry, relabel_similar=True, force=True, progress=False)
    made = result.report.relabels["made"]
    assert made["to"] == EDUCATION and made["from"] == {HEALTH: made["n"]} and 10 <= made["n"] <= 30
    assert f"RELABELLED {made['n']} old training article(s) as '{EDUCATION}'" in result.report.render()
    assert data_file.read_bytes() == before  # the corpus is never edited
    (name,) = result.candidate.info["relabels"]
    assert (registry.home / "relabels" / name).is_file()

    # A later retrain keeps the changes; --undo-relabels drops them.
    more = write_jsonl(tmp_path / "more.jsonl", synth_records(EDU_VOCAB, 40, prefix="more", k=5)[30:])  # unseen texts
    kept = retrain([str(more)], registry=registry, force=True, progress=False)
    assert kept.candidate.info["relabels"] == [name] and kept.report.relabels["applied"] == made["n"]
    undone = retrain([str(more)], registry=registry, undo_relabels=True, force=True, progress=False)
    assert undone.candidate.info["relabels"] == [] and undone.report.relabels["undone"] == [name]
    assert "UNDONE" in undone.report.render()


def test_duplicates_that_bring_a_label_are_told_apart_from_repeats():
    from training.retrain import inspect_new_data

    existing = corpus()
    untyped = [r for r in existing if r.type is None][:3]  # topics or summary records, same text
    typed_now = [replace(r, type=SPORTS) for r in untyped]
    repeats = [r for r in existing if r.type is not None][:2]
    report = inspect_new_data(["new.jsonl"], typed_now + repeats, existing, {"type": OLD_TYPES}, {})
    assert report.duplicates_of_existing == 5 and report.duplicates_adding_labels == 3
    assert "duplicates of existing training data: 5 (3 of them bring a label their existing copy lacks)" in report.render()
    plain = inspect_new_data(["new.jsonl"], repeats, existing, {"type": OLD_TYPES}, {})
    assert "duplicates of existing training data: 2; " in plain.render()
