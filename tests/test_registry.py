"""training/registry.py and training/train.py into a registry: versions, the atomic CURRENT
pointer, the fixed holdout, default_model_dir / LivePredictor following CURRENT, and the
`newslens models` command line."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import BUSINESS, HEALTH, SPORTS, SPORTS_TEXT, make_records
from model.bundle import CARD_NAME, CONFIG_NAME, BundleError, read_config
from model.paths import default_model_dir
from model.predictor import LivePredictor, Predictor
from registry_helpers import copy_registry, corpus, make_config, staging_leftovers, train_registry, write_jsonl
from training.cli import main
from training.data import read_records
from training.registry import HOLDOUT_SHARE, Registry, RegistryError, holdout_file, record_key, split_holdout
from training.report import write_report
from training.retrain import compare, retrain
from training.train import train

# corpus(): 450 type-labelled, 60 topics-labelled and 60 summary-labelled records.
N_RECORDS = 570
HELD = {"type": int(0.03 * 450), "topics": int(0.08 * 60), "summary": int(0.02 * 60), "tags": 0}  # 13, 4, 1, 0


pytestmark = pytest.mark.usefixtures("isolated_env")


@pytest.fixture(scope="module")
def two_versions_template(tmp_path_factory) -> Registry:
    registry, data = train_registry(tmp_path_factory.mktemp("two-versions"))
    train(make_config(data, ["train.jsonl"]), registry=registry, progress=False)
    return registry


@pytest.fixture
def two_versions(two_versions_template, tmp_path, monkeypatch):
    """A private registry with v0001 and v0002 (v0002 current), and NEWSLENS_HOME pointing at it."""
    registry = copy_registry(two_versions_template, tmp_path / "home")
    monkeypatch.setenv("NEWSLENS_HOME", str(registry.home))
    return registry


# --- training into a registry -----------------------------------------------------------------
def test_train_creates_first_version_current_pointer_and_holdout(tmp_path):
    registry, _ = train_registry(tmp_path)
    home = registry.home
    assert [v.name for v in registry.versions()] == ["v0001"]
    assert (home / "CURRENT").read_text(encoding="utf-8").strip() == "v0001"
    assert registry.current_name() == "v0001"
    info = registry.get("v0001").info
    assert info["version"] == "v0001"
    assert (info["reason"], info["status"], info["parent"], info["forced"]) == ("train", "promoted", None, False)

    assert (home / "holdout" / "holdout.jsonl.gz").is_file()
    manifest = json.loads((home / "holdout" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["labelled"] == HELD
    assert manifest["records"] == sum(HELD.values()) == len(read_records(holdout_file(registry)))
    assert [s["file"] for s in manifest["carved_from"]] == ["train.jsonl"]

    # The version carries its holdout scores; nothing half-made is left behind.
    assert registry.current().config["metrics"]["holdout"]["n"] == manifest["records"]
    assert staging_leftovers(home) == []
    assert registry.check() == []
    assert [(e["event"], e["version"]) for e in registry.history()] == [("current", "v0001")]


def test_default_model_dir_follows_current(tmp_path, monkeypatch):
    registry, data = train_registry(tmp_path)
    home = registry.home
    monkeypatch.setenv("NEWSLENS_HOME", str(home))
    monkeypatch.delenv("NEWSLENS_MODEL", raising=False)
    assert default_model_dir() == home / "v0001"
    predictor = Predictor.load()
    assert predictor.info.path == str((home / "v0001").resolve())
    assert predictor.predict(SPORTS_TEXT).type.label == SPORTS

    # A second training registers v0002 and moves the pointer; the pointer, not the newest folder, decides.
    train(make_config(data, ["train.jsonl"]), registry=registry, progress=False)
    assert default_model_dir() == home / "v0002"
    assert registry.get("v0002").info["parent"] == "v0001"
    registry.set_current("v1", "test")  # short names are accepted
    assert default_model_dir() == home / "v0001"
    # NEWSLENS_MODEL still wins over the registry.
    monkeypatch.setenv("NEWSLENS_MODEL", str(home / "v0002"))
    assert default_model_dir() == home / "v0002"


def test_holdout_records_are_never_trained_on(tmp_path, fit_spy):
    records = corpus()
    assert len(records) == N_RECORDS and len({record_key(r) for r in records}) == N_RECORDS
    registry, data = train_registry(tmp_path, records)
    assert {record_key(r) for r in read_records(data / "train.jsonl")} == {record_key(r) for r in records}  # round trip
    holdout = read_records(holdout_file(registry))
    held = {record_key(r) for r in holdout}
    assert len(held) == len(holdout) == sum(HELD.values())
    assert held <= {record_key(r) for r in records}

    (trained,) = fit_spy
    assert not held & {record_key(r) for r in trained}
    assert len(trained) == N_RECORDS - len(holdout)
    config = registry.current().config
    assert config["data"]["records_used"] == N_RECORDS - len(holdout)
    # The split is split_holdout's (deterministic), and the version was scored on exactly it.
    assert {record_key(r) for r in split_holdout(records)[1]} == held
    assert config["metrics"]["holdout"]["n"] == len(holdout)


def test_second_training_reuses_the_fixed_holdout(tmp_path, fit_spy):
    registry, data = train_registry(tmp_path)
    manifest = (registry.home / "holdout" / "manifest.json").read_bytes()
    gz = holdout_file(registry).read_bytes()
    held = {record_key(r) for r in read_records(holdout_file(registry))}
    # Train again on a superset: the holdout stays as it was and is still left out.
    extra = write_jsonl(data / "extra.jsonl", make_records())
    train(make_config(data, ["train.jsonl", "extra.jsonl"]), registry=registry, progress=False)
    assert (registry.home / "holdout" / "manifest.json").read_bytes() == manifest
    assert holdout_file(registry).read_bytes() == gz
    assert len(fit_spy) == 2 and not held & {record_key(r) for r in fit_spy[1]}
    assert extra.is_file() and registry.current_name() == "v0002"


def test_split_holdout_is_deterministic_disjoint_and_capped(monkeypatch):
    records = corpus()
    train_a, held_a = split_holdout(records)
    train_b, held_b = split_holdout(list(reversed(records)))
    assert {record_key(r) for r in held_a} == {record_key(r) for r in held_b}
    assert {record_key(r) for r in train_a} == {record_key(r) for r in train_b}
    assert not {record_key(r) for r in held_a} & {record_key(r) for r in train_a}
    assert len(train_a) + len(held_a) == len(records)
    assert sum(r.type is not None for r in held_a) == HELD["type"]
    # Another seed picks other articles; the cap bounds a task's share.
    assert {record_key(r) for r in split_holdout(records, seed=1)[1]} != {record_key(r) for r in held_a}
    monkeypatch.setitem(HOLDOUT_SHARE, "type", (0.5, 5))
    assert sum(r.type is not None for r in split_holdout(records)[1]) == 5


def test_retrain_works_after_a_small_first_training(tmp_path):
    registry, _ = train_registry(tmp_path, make_records())  # conftest's 39 records
    new = write_jsonl(tmp_path / "new.jsonl", make_records()[:6])
    result = retrain([str(new)], registry=registry, force=True, progress=False)
    assert result.promoted and registry.current_name() == "v0002"


# --- Registry unit behaviour ------------------------------------------------------------------
def test_registry_names_and_unknown_versions(tmp_path):
    registry, _ = train_registry(tmp_path)
    assert [Registry.normalise_name(n) for n in ("3", "v3", "v0003", " 12 ")] == ["v0003"] * 3 + ["v0012"]
    assert registry.get("1").name == "v0001"
    with pytest.raises(RegistryError, match=r"no model version 'v0007'.*versions: v0001"):
        registry.get("v7")
    with pytest.raises(RegistryError):
        registry.get("holdout")  # the holdout folder is not a version
    assert Registry(tmp_path / "nowhere").versions() == [] and Registry(tmp_path / "nowhere").current() is None


def test_set_current_refuses_a_damaged_bundle(two_versions):
    registry = two_versions
    weights = registry.home / "v0001" / "weights.npz"
    weights.write_bytes(weights.read_bytes() + b"garbage")
    with pytest.raises(BundleError, match="weights.npz"):
        registry.set_current("v0001", "test")
    assert registry.current_name() == "v0002"


def test_rollback_goes_back_to_the_previous_current(two_versions):
    registry = two_versions
    assert registry.rollback().name == "v0001" and registry.current_name() == "v0001"
    assert registry.rollback().name == "v0002"  # rolling back a rollback returns


def test_rollback_with_a_single_version_is_an_error(tmp_path):
    registry, _ = train_registry(tmp_path)
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        registry.rollback()
    assert registry.current_name() == "v0001"


def test_clean_stale_removes_only_staging_of_dead_processes(tmp_path):
    registry, _ = train_registry(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    for name, pid in ((".staging-dead", dead.stdout.strip()), (".staging-live", str(os.getpid())),
                      (".staging-nopid", None), (".staging-nopid-young", None)):
        folder = registry.home / name
        (folder / "bundle").mkdir(parents=True)
        if pid is not None:
            (folder / ".pid").write_text(pid)
    old = time.time() - 3600
    os.utime(registry.home / ".staging-nopid", (old, old))
    registry.clean_stale()
    # A folder without a .pid may belong to a process that has just created it: only old ones go.
    assert staging_leftovers(registry.home) == [".staging-live", ".staging-nopid-young"]
    # A fresh staging folder also sweeps stale ones first, and is marked with its own pid.
    fresh = registry.staging_dir()
    assert (fresh / ".pid").read_text() == str(os.getpid())
    assert [v.name for v in registry.versions()] == ["v0001"] and registry.check() == []


class Looping(Exception):
    pass


def test_add_does_not_spin_on_a_damaged_version_folder(tmp_path, monkeypatch):
    registry, data = train_registry(tmp_path)
    damaged = registry.home / "v0002"
    damaged.mkdir()
    (damaged / "config.json").write_text("{broken", encoding="utf-8")  # e.g. a disk error or a cut copy
    assert any("v0002" in p for p in registry.check())
    tries = []
    real_rename = os.rename

    def rename(src, dst, *args, **kwargs):
        if Path(dst).name == "v0002":
            tries.append(dst)
            if len(tries) > 50:
                raise Looping(f"{len(tries)} attempts to rename a bundle onto {dst}")
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "rename", rename)
    try:
        path = train(make_config(data, ["train.jsonl"]), registry=registry, progress=False)
    except (RegistryError, BundleError):
        pass  # refusing with a clear message would be fine too
    else:
        assert path.name == "v0003" and registry.current_name() == "v0003"
    assert len(tries) <= 1


def test_history_survives_a_torn_line(two_versions):
    registry = two_versions
    with open(registry.home / "history.jsonl", "a", encoding="utf-8") as f:
        f.write('{"time": "2024-01-01T00:00:00+00:00", "event": "cur')  # a crash mid-write
    registry.set_current("v0001", "after the crash")
    assert registry.history()[-1]["version"] == "v0001"


# --- sealed bundles: registering and reporting re-seal, never leave files unchecked -------------------------
REPORT_FILES = ("confusion_matrix.png", "per_class_f1.png", "training_curve.png")


def test_a_registered_version_is_sealed_with_its_registry_block_and_card(two_versions):
    registry = two_versions
    for v in registry.versions():
        config = read_config(v.path)  # verifies every checksum, and that no file is unlisted
        assert config["registry"]["version"] == v.name and config["files_complete"] is True
        assert CARD_NAME in config["files"]
        assert set(config["files"]) == {p.relative_to(v.path).as_posix() for p in v.path.rglob("*")
                                        if p.is_file()} - {CONFIG_NAME}
    assert registry.check() == []


@pytest.mark.parametrize("damage", ["edit-card", "add-file"])
def test_tampering_with_a_registered_version_is_caught(two_versions, damage):
    registry = two_versions
    folder = registry.home / "v0001"
    if damage == "edit-card":
        (folder / CARD_NAME).write_text("# another card\n", encoding="utf-8")
        expected = f"{CARD_NAME} does not match"
    else:
        (folder / "notes.txt").write_text("added later", encoding="utf-8")
        expected = "notes.txt not listed"
    (problem,) = registry.check()
    assert "v0001" in problem and expected in problem
    with pytest.raises(BundleError, match=expected):
        registry.set_current("v0001", "test")


def test_add_refuses_a_damaged_staged_bundle_and_takes_no_version(two_versions, tmp_path):
    registry = two_versions
    staged = tmp_path / "staged"
    shutil.copytree(registry.home / "v0002", staged)
    (staged / "weights.npz").write_bytes(b"damaged")
    with pytest.raises(BundleError, match="weights.npz"):
        registry.add(staged, {"reason": "test"})
    assert [v.name for v in registry.versions()] == ["v0001", "v0002"] and staged.is_dir()


def _report_into(registry: Registry, staged: Path, reasons: list[str] | None = None) -> None:
    current = registry.get("v0001")
    current_metrics = current.config["metrics"]["holdout"]
    candidate_metrics = registry.get("v0002").config["metrics"]["holdout"]
    comparison, found = compare(current_metrics, candidate_metrics, 0.0)
    write_report(staged, current, current_metrics, candidate_metrics, comparison,
                 found if reasons is None else reasons, True, False, registry)


def test_a_retrain_report_is_sealed_with_the_bundle(two_versions, tmp_path):
    registry = two_versions
    staged = tmp_path / "staged"
    shutil.copytree(registry.home / "v0002", staged)
    _report_into(registry, staged)
    config = read_config(staged)  # sealed again right after the report
    assert {CARD_NAME, *REPORT_FILES} <= set(config["files"])
    assert "## Retraining" in (staged / CARD_NAME).read_text("utf-8")

    version = registry.add(staged, {"parent": "v0001", "reason": "retrain", "status": "rejected", "forced": False})
    assert version.name == "v0003" and version.config == read_config(version.path)
    assert version.info["status"] == "rejected" and registry.check() == []
    for name in REPORT_FILES:
        assert version.config["files"][name] == config["files"][name]  # the registry block changed only config.json

    png = version.path / "per_class_f1.png"
    png.write_bytes(png.read_bytes() + b"\0")
    (problem,) = registry.check()
    assert "v0003" in problem and "per_class_f1.png does not match" in problem


def test_a_report_cut_short_leaves_a_bundle_the_registry_refuses(two_versions, tmp_path, monkeypatch):
    import training.report as report

    registry = two_versions
    staged = tmp_path / "staged"
    shutil.copytree(registry.home / "v0002", staged)

    def crash(*args, **kwargs):
        raise RuntimeError("killed while plotting")

    monkeypatch.setattr(report, "plot_history", crash)  # after the first two plots were written
    with pytest.raises(RuntimeError):
        _report_into(registry, staged)
    with pytest.raises(BundleError, match="not listed"):
        registry.add(staged, {"reason": "retrain"})
    assert [v.name for v in registry.versions()] == ["v0001", "v0002"]


def test_versions_registered_by_older_code_still_list_show_and_roll_back(two_versions, capsys):
    """Before sealing covered everything, the card was not listed and the registry block was
    patched in after the checksums were taken; such registries keep working."""
    registry = two_versions
    for name in ("v0001", "v0002"):
        path = registry.home / name / CONFIG_NAME
        config = json.loads(path.read_text("utf-8"))
        del config["files_complete"], config["files"][CARD_NAME]
        path.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
        card = registry.home / name / CARD_NAME
        card.write_text(card.read_text("utf-8") + "\n## Retraining\n", encoding="utf-8")
    (registry.home / "v0002" / "training_curve.png").write_bytes(b"\x89PNG old report")
    assert registry.check() == []
    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("  v0001 ") and lines[1].startswith("* v0002 ") and "parent=v0001" in lines[1]
    assert main(["models", "show", "v0002"]) == 0
    assert json.loads(capsys.readouterr().out)["registry"]["status"] == "promoted"
    assert main(["models", "rollback"]) == 0 and registry.current_name() == "v0001"
    assert Predictor.load(registry.home / "v0002").predict(SPORTS_TEXT).type.label == SPORTS


# --- LivePredictor across promotions -----------------------------------------------------------
def test_predictions_keep_succeeding_during_promotions(two_versions):
    registry = two_versions
    home = registry.home
    paths = {name: str((home / name).resolve()) for name in ("v0001", "v0002")}
    registry.set_current("v0001", "test")
    live = LivePredictor(check_every_s=0)
    assert live.get().info.path == paths["v0001"]

    errors: list[str] = []
    seen_paths: set[str] = set()
    seen_names: set[str] = set()
    count = 0
    last_path = None
    stop = threading.Event()

    def loop():
        nonlocal count, last_path
        while not stop.is_set():
            try:
                result = live.predict(SPORTS_TEXT)
                assert result.type.label == SPORTS
                seen_paths.add(result.model.path)
                seen_names.add(default_model_dir().name)  # CURRENT is never seen half-written
                last_path = result.model.path
                count += 1
            except Exception as e:  # noqa: BLE001 - every failure counts
                errors.append(repr(e))

    def wait_for(condition) -> None:
        deadline = time.monotonic() + 10
        while not condition() and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.005)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        wait_for(lambda: count > 0)
        for i in range(20):
            registry.set_current("v0002" if i % 2 == 0 else "v0001", f"flip {i}")
            time.sleep(0.02)
        registry.set_current("v0002", "final")
        wait_for(lambda: last_path == paths["v0002"])
        n = count
        wait_for(lambda: count > n + 3)  # and it stays there
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert errors == []
    assert count > 20
    assert last_path == paths["v0002"] and live.predict(SPORTS_TEXT).model.path == paths["v0002"]
    assert seen_paths == set(paths.values())
    assert seen_names <= {"v0001", "v0002"}
    assert [e["version"] for e in registry.history()][-1] == "v0002"


def test_live_predictor_keeps_serving_when_current_is_damaged(two_versions):
    registry = two_versions
    live = LivePredictor(check_every_s=0)
    assert live.get().info.path == str((registry.home / "v0002").resolve())
    weights = registry.home / "v0001" / "weights.npz"
    weights.write_bytes(b"not a weights file")
    (registry.home / "CURRENT").write_text("v0001\n")  # pointed at by hand, bypassing set_current's check
    assert live.predict(SPORTS_TEXT).model.path == str((registry.home / "v0002").resolve())


# --- `newslens models` -------------------------------------------------------------------------
def test_models_list_marks_the_current_version(two_versions, capsys):
    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("  v0001 ") and "reason=train" in lines[0]
    assert lines[1].startswith("* v0002 ") and "parent=v0001" in lines[1] and "holdout type acc" in lines[1]


def test_models_list_on_an_empty_registry(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NEWSLENS_HOME", str(tmp_path / "empty"))
    assert main(["models", "list"]) == 0
    assert "no models in" in capsys.readouterr().out


def test_models_promote_and_rollback_switch_current(two_versions, capsys):
    registry = two_versions
    assert main(["models", "promote", "v0001"]) == 0
    assert "v0001 is now the current model (was v0002)" in capsys.readouterr().out
    assert registry.current_name() == "v0001" and default_model_dir().name == "v0001"
    assert main(["models", "rollback"]) == 0
    assert "v0002 is now the current model (was v0001)" in capsys.readouterr().out
    assert registry.current_name() == "v0002"
    assert main(["models", "promote", "1"]) == 0
    assert registry.current_name() == "v0001"
    reasons = [e["reason"] for e in registry.history()]
    assert reasons[-3:] == ["manual promote", "rollback from v0001", "manual promote"]


def test_models_show_prints_json(two_versions, capsys):
    assert main(["models", "show", "v0001"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["registry"]["version"] == "v0001" and out["current"] is False
    assert Path(out["path"]) == two_versions.home / "v0001"
    assert set(out["type_labels"]) == {SPORTS, BUSINESS, HEALTH}
    assert out["metrics"]["holdout"]["type"]["n"] == HELD["type"]
    assert "confusion_matrix" not in out["metrics"]["holdout"]["type"]  # lists and tables left out
    low, high = out["metrics"]["holdout"]["type"]["accuracy_ci"]  # intervals kept
    assert low <= out["metrics"]["holdout"]["type"]["accuracy"] <= high
    assert main(["models", "show", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["current"] is True


@pytest.mark.parametrize("argv, message", [
    (["models", "promote", "v0099"], "no model version 'v0099'"),
    (["models", "show", "v0099"], "no model version 'v0099'"),
    (["models", "promote"], "needs a version"),
    (["models", "promote", "holdout"], "no model version 'holdout'"),
])
def test_models_unknown_version_exits_2(two_versions, capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and message in captured.err
    assert "Traceback" not in captured.err
    if "v0099" in argv:
        assert "versions: v0001, v0002" in captured.err
    assert two_versions.current_name() == "v0002"


def test_models_rollback_with_nothing_to_roll_back_exits_2(tmp_path, monkeypatch, capsys):
    registry, _ = train_registry(tmp_path)
    monkeypatch.setenv("NEWSLENS_HOME", str(registry.home))
    assert main(["models", "rollback"]) == 2
    assert "nothing to roll back to" in capsys.readouterr().err


def test_models_check_finds_a_damaged_version(two_versions, capsys):
    assert main(["models", "check"]) == 0
    assert "registry is valid" in capsys.readouterr().out
    weights = two_versions.home / "v0001" / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-10])  # truncated
    assert main(["models", "check"]) == 1
    out = capsys.readouterr().out
    assert "v0001" in out and "weights.npz" in out and "CURRENT" not in out
    # Damage to the serving version is reported as such.
    (two_versions.home / "v0002" / "weights.npz").unlink()
    assert main(["models", "check"]) == 1
    assert "CURRENT points at v0002" in capsys.readouterr().out


def test_models_check_flags_current_pointing_nowhere(two_versions, capsys):
    (two_versions.home / "CURRENT").write_text("v0042\n")
    assert main(["models", "check"]) == 1
    assert "CURRENT points at v0042" in capsys.readouterr().out
    read_config(two_versions.home / "v0001")  # the versions themselves are fine
