"""The gradio app, exercised the way a developer would: gradio_client against a launched app."""
from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")
from gradio_client import handle_file  # noqa: E402

from model import limits  # noqa: E402
from serve import app as app_module  # noqa: E402
from serve.app import build_app, bundle_label, examples, highlighted_article, launch_options, queued  # noqa: E402
from serve.documents import DocumentError, read_document  # noqa: E402

SPORTS = "Đội tuyển bóng đá giành chiến thắng trong trận đấu. Cầu thủ ghi bàn thắng quyết định ở phút cuối."
# outputs of /analyse, in order
MESSAGE, TYPE, TOPICS, KEYWORDS, SUMMARY, HIGHLIGHTED, WHY, WHY_TERMS = range(8)


@pytest.fixture(scope="module")
def app_home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def client(predictor, app_home):
    mp = pytest.MonkeyPatch()
    mp.setenv("NEWSLENS_HOME", str(app_home))  # corrections are written here
    demo = queued(build_app(predictor))  # as `newslens serve` launches it: same queue, upload limit
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True,
                            quiet=True, **launch_options())
    try:
        yield gradio_client.Client(url, verbose=False)
    finally:
        demo.close()
        mp.undo()


def choice(predictor) -> str:
    """The model picker's entry for a bundle: its name and version (never its folder)."""
    return bundle_label(predictor.info.name, predictor.info.version)


def analyse(client, predictor, text, title=""):
    return client.predict(text, title, choice(predictor), api_name="/analyse")


def test_every_event_has_an_api_name(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/analyse", "/analyse_submit", "/load_document", "/batch", "/model_info", "/save_correction", "/predict"} <= names


def test_analyse_returns_type_topics_keywords_summary_and_why(client, predictor):
    out = analyse(client, predictor, SPORTS)
    expected = predictor.predict(SPORTS)
    assert out[TYPE]["label"] == expected.type.label
    assert {c["label"] for c in out[TYPE]["confidences"]} <= set(expected.type.scores)
    assert out[TOPICS]["confidences"]
    assert out[SUMMARY] == expected.summary.text and out[SUMMARY]
    assert out[KEYWORDS]["data"] and len(out[KEYWORDS]["data"][0]) == 2
    assert expected.type.label in out[MESSAGE] and "ms" in out[MESSAGE]
    assert any(seg.get("class_or_confidence") == "summary" for seg in out[HIGHLIGHTED])
    # why: the highest-weighted terms are sports words and are marked in the article
    terms = [t for t, _ in out[WHY_TERMS]["data"]]
    assert terms and any(t in SPORTS.lower() for t in terms)
    assert any(seg.get("class_or_confidence") == "why" for seg in out[WHY])


@pytest.mark.parametrize("text", ["", "   \n  "])
def test_empty_input_gives_a_friendly_message_not_an_error(client, predictor, text):
    out = analyse(client, predictor, text)
    assert "Paste a Vietnamese news article" in out[MESSAGE]
    assert out[TYPE] is None or not out[TYPE].get("confidences")


def test_non_vietnamese_text_shows_a_note(client, predictor):
    english = "The central bank cut its policy rate by half a point on Tuesday, citing slower growth and weak exports."
    assert "does not look like Vietnamese" in analyse(client, predictor, english)[MESSAGE]


def test_one_megabyte_of_text_does_not_crash(client, predictor):
    big = (SPORTS + "\n") * (1_000_000 // len(SPORTS))
    out = analyse(client, predictor, big)
    assert out[TYPE]["label"]


def test_concurrent_calls_all_succeed(client, predictor):
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda i: analyse(client, predictor, f"{SPORTS} Trận {i}."), range(20)))
    assert all(r[TYPE]["label"] for r in results)


def test_upload_txt_html_docx(client, tmp_path):
    (tmp_path / "a.txt").write_text(SPORTS, encoding="utf-8")
    (tmp_path / "a.html").write_text(f"<html><head><title>Tin thể thao</title><script>x=1</script></head>"
                                     f"<body><p>{SPORTS}</p></body></html>", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "a.docx", "w") as z:
        z.writestr("word/document.xml", f'<w:document><w:body><w:p><w:r><w:t>{SPORTS}</w:t></w:r></w:p></w:body></w:document>')
    for name in ("a.txt", "a.html", "a.docx"):
        text, title, message = client.predict(handle_file(str(tmp_path / name)), api_name="/load_document")
        assert SPORTS in text and "Loaded" in message
        assert "x=1" not in text
    assert read_document(tmp_path / "a.html")[0] == "Tin thể thao"


def test_binary_junk_upload_is_refused_with_a_message(client, tmp_path):
    (tmp_path / "junk.txt").write_bytes(bytes(range(256)) * 20)
    text, title, message = client.predict(handle_file(str(tmp_path / "junk.txt")), api_name="/load_document")
    assert "does not look like a text file" in message
    with pytest.raises(DocumentError, match="unsupported file type"):
        read_document(tmp_path / "junk.txt".replace(".txt", ".exe"))


def test_batch_processes_good_rows_and_lists_bad_ones(client, predictor, tmp_path):
    path = tmp_path / "batch.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "text"])
        w.writerow(["a", "Bóng đá", SPORTS])
        w.writerow(["b", "", ""])  # no text: listed, not fatal
        w.writerow(["c", "", "Ngân hàng giảm lãi suất cho doanh nghiệp vay vốn."])
    message, preview, csv_out, jsonl_out = client.predict(handle_file(str(path)), choice(predictor), api_name="/batch")
    assert "Processed 2 article(s)" in message and "line 3" in message
    assert [row[0] for row in preview["data"]] == ["a", "c"]
    with open(csv_out, encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["a", "c"] and rows[0]["type"] == predictor.predict(SPORTS, "Bóng đá").type.label
    lines = [json.loads(l) for l in open(jsonl_out, encoding="utf-8")]
    assert lines[0]["id"] == "a" and lines[0]["type"]["label"] == rows[0]["type"]


def test_model_tab_shows_metrics_and_plots(client, predictor):
    text, table, images = client.predict(choice(predictor), api_name="/model_info")
    assert predictor.info.name in text and "Training data" in text
    assert isinstance(images, list)


def test_model_overview_shows_the_breakdown_by_source(bundle_dir, sourced_eval_file, eval_file):
    from conftest import SOURCE_GROUPS
    from model.predictor import Predictor
    from training.data import read_records
    from training.evaluate import evaluate

    predictor = Predictor.load(bundle_dir)  # a private copy: its metrics are replaced below
    sourced = evaluate(predictor, read_records(sourced_eval_file))
    plain = evaluate(predictor, read_records(eval_file))
    assert "by_source" in sourced and "by_source" not in plain  # one source group: nothing to break down
    predictor.model.meta = {**predictor.model.meta, "metrics": {"sourced.jsonl": sourced, "eval.jsonl": plain}}
    text, table, _ = app_module.model_overview(predictor)
    breakdown = text.split("#### Results by source", 1)[1]
    rows = [line for line in breakdown.splitlines() if line.startswith("| sourced.jsonl |")]
    assert [row.split(" | ")[1] for row in rows] == ["(all)", *SOURCE_GROUPS]
    acc, (low, high) = sourced["type"]["accuracy"], sourced["type"]["accuracy_ci"]
    assert f"{acc:.3f} [{low:.3f}, {high:.3f}]" in rows[0]
    assert "| eval.jsonl | (all) | 3 |" in breakdown
    assert all(row[4] for row in table)  # the metrics table has each value's interval


def test_model_overview_of_metrics_stored_before_intervals(bundle_dir, sourced_eval_file):
    from model.predictor import Predictor
    from training.data import read_records
    from training.evaluate import evaluate

    predictor = Predictor.load(bundle_dir)
    result = evaluate(predictor, read_records(sourced_eval_file), by_source=False)
    old = {k: v if not isinstance(v, dict) else {m: x for m, x in v.items() if not m.endswith("_ci")}
           for k, v in result.items()}
    predictor.model.meta = {**predictor.model.meta, "metrics": {"old.jsonl": old}}
    text, table, _ = app_module.model_overview(predictor)
    assert "Results by source" not in text and "| old.jsonl |" in text
    assert table[0][4] == "" and table[0][3] == round(old["type"]["accuracy"], 4)


def test_corrections_are_appended_in_the_training_schema(client, predictor, app_home):
    from training.data import read_records

    for label in ("Kinh doanh", "Thể thao"):
        message, count = client.predict(SPORTS, "Tiêu đề", label, [], "Tóm tắt đã sửa.", choice(predictor),
                                        api_name="/save_correction")
        assert "Saved" in message
    path = app_home / app_module.CORRECTIONS_FILE
    records = read_records(path)  # what `newslens retrain --data` reads: valid as is
    assert [r.type for r in records][-2:] == ["Kinh doanh", "Thể thao"]
    assert records[-1].summary == "Tóm tắt đã sửa." and records[-1].topics is None
    assert f"**{len(records)}** correction(s)" in count


def test_highlighting_covers_the_whole_article(predictor):
    from model.text import split_sentences

    text = "Dòng đầu tiên.\nCâu thứ hai rất dài về bóng đá. Câu thứ ba."
    result = predictor.predict(text)
    segments = highlighted_article(text, result)
    assert "".join(s for s, _ in segments) == text
    summary_text = "".join(s for s, label in segments if label == "summary")
    sentences = split_sentences(text)
    for i in result.summary.sentences:
        assert sentences[i].text.replace(" ", "") in summary_text.replace(" ", "") or any(
            label == "keyword" for _, label in segments)


def test_examples_include_our_own_articles():
    assert len(examples()) >= 3


def test_predict_api_returns_json_and_batches_concurrent_calls(client, predictor, monkeypatch):
    sizes = []
    real = type(predictor).predict_batch

    def spy(self, texts, titles=None):
        sizes.append(len(texts))
        return real(self, texts, titles)

    monkeypatch.setattr(type(predictor), "predict_batch", spy)
    with ThreadPoolExecutor(max_workers=12) as pool:
        outs = list(pool.map(lambda i: json.loads(client.predict(f"{SPORTS} Trận {i}.", api_name="/predict")), range(12)))
    batch_sizes = list(sizes)
    assert sum(batch_sizes) == 12 and max(batch_sizes) > 1  # some calls were answered together
    assert all(o["type"]["label"] == predictor.predict(SPORTS).type.label for o in outs)
    assert all(o["model"]["path"] == Path(predictor.info.path).name for o in outs)  # not the server's folder
    assert "error" in json.loads(client.predict("   ", api_name="/predict"))


def test_training_files_are_named_with_their_folder():
    # The shared corpora are all called train.jsonl.gz: the folder tells them apart.
    from training.card import data_file_name

    assert data_file_name({"file": "train.jsonl.gz", "path": "/data/vntc/train.jsonl.gz"}) == "vntc/train.jsonl.gz"
    assert data_file_name({"file": "new.jsonl"}) == "new.jsonl"


# --- a transformer bundle: the app reads labels and metadata only through the model interface ------------
@pytest.fixture(scope="module")
def transformer_predictor(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformer_helpers import tiny_transformer_bundle

    from model.predictor import Predictor

    return Predictor.load(tiny_transformer_bundle(tmp_path_factory))


def _component(demo, kind: type, label: str):
    found = [b for b in demo.blocks.values() if isinstance(b, kind) and getattr(b, "label", None) == label]
    assert len(found) == 1, f"{len(found)} {kind.__name__} labelled {label!r}"
    return found[0]


def _event(demo, api_name: str):
    return next(f.fn for f in demo.fns.values() if f.api_name == api_name)


def test_app_builds_on_a_transformer_bundle(transformer_predictor, tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSLENS_HOME", str(tmp_path))
    assert transformer_predictor.info.kind == "transformer"
    labels = transformer_predictor.labels
    assert labels.types and labels.topics
    demo = build_app(transformer_predictor)  # read type_head/topics_head of the baseline and crashed here
    # The Corrections tab offers the transformer's own labels.
    assert [v for _, v in _component(demo, gr.Dropdown, "Correct type").choices] == labels.types
    assert [v for _, v in _component(demo, gr.Dropdown, "Correct topics").choices] == labels.topics
    # Every event the browser and the API use is there, by name.
    assert {"analyse", "analyse_submit", "load_document", "batch", "model_info", "model_info_on_load",
            "prefill_correction", "save_correction", "predict"} <= {f.api_name for f in demo.fns.values()}


def test_corrections_prefill_gives_the_transformers_labels(transformer_predictor, tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSLENS_HOME", str(tmp_path))
    demo = build_app(transformer_predictor)
    analysed = _event(demo, "analyse")(SPORTS, "Bóng đá", choice(transformer_predictor))
    predicted_type, predicted_topics = analysed[-2:]
    assert predicted_type in transformer_predictor.labels.types
    fix_type, fix_topics, fix_summary = _event(demo, "prefill_correction")(
        predicted_type, predicted_topics, analysed[SUMMARY], choice(transformer_predictor))
    assert fix_type["choices"] == transformer_predictor.labels.types and fix_type["value"] == predicted_type
    assert fix_topics["choices"] == transformer_predictor.labels.topics
    assert fix_topics["value"] == json.loads(predicted_topics) and set(fix_topics["value"]) <= set(fix_topics["choices"])
    assert fix_summary == analysed[SUMMARY] and fix_summary


def test_model_tab_of_a_transformer_bundle(transformer_predictor):
    text, table, images = app_module.model_overview(transformer_predictor)
    assert "· transformer" in text and ", ".join(transformer_predictor.labels.types) in text
    assert isinstance(table, list) and isinstance(images, list)


def test_metric_rows_follow_the_one_metric_schema():
    from training.metrics import METRIC_NAMES, TASK_METRICS

    result = {"n": 3, "docs_per_second": 1.0}
    for task, keys in TASK_METRICS.items():
        result[task] = {"n": 2, **{k: 0.5 for k in keys}, **{f"{k}_ci": [0.25, 0.75] for k in keys}}
    rows = app_module.metric_rows({"eval.jsonl": result, "none.jsonl": {"n": 0, "type": None}})
    assert [(r[1], r[2]) for r in rows] == [(t, METRIC_NAMES[k]) for t, keys in TASK_METRICS.items() for k in keys]
    assert all(r[0] == "eval.jsonl" and r[3] == 0.5 and r[4] == "0.2500 – 0.7500" and r[5] == 2 for r in rows)


# --- hardened inputs (issue 15): limits, no server paths, bounded temporary files -------------------------
def test_uploads_over_the_limit_and_path_traversal_are_refused(client, tmp_path):
    import httpx

    url = client.src.rstrip("/")
    too_big = b"a" * (limits.MAX_UPLOAD_BYTES + 1024 * 1024)  # 6 MB
    response = httpx.post(f"{url}/gradio_api/upload", files={"files": ("big.txt", too_big)}, timeout=60)
    assert response.status_code == 413
    (tmp_path / "big.txt").write_bytes(too_big)
    with pytest.raises(ValueError, match="maximum file size"):  # gradio_client refuses it before sending
        client.predict(handle_file(str(tmp_path / "big.txt")), api_name="/load_document")
    # An upload named to climb out of gradio's cache lands inside it, under its own name only.
    response = httpx.post(f"{url}/gradio_api/upload", files={"files": ("../../../evil.txt", b"x")}, timeout=60)
    assert response.status_code == 200
    stored = Path(response.json()[0])
    assert stored.name == "evil.txt" and ".." not in stored.parts
    # Files outside what the app serves are not served, the bundle's included.
    for path in ("/etc/passwd", "../../../../etc/passwd"):
        assert httpx.get(f"{url}/gradio_api/file={path}", timeout=60).status_code in (403, 404)


def test_the_server_binds_localhost_by_default():
    import inspect

    assert inspect.signature(app_module.launch).parameters["host"].default == "127.0.0.1"


def test_server_paths_are_never_shown(client, predictor, bundle_dir):
    api = json.dumps(client.view_api(print_info=False, return_format="dict"), ensure_ascii=False)
    assert predictor.info.path not in api and str(bundle_dir) not in api
    assert choice(predictor) in api  # the picker offers the bundle by name and version
    text, _, _ = client.predict(choice(predictor), api_name="/model_info")
    assert predictor.info.path not in text and str(bundle_dir) not in text
    assert f"### {predictor.info.name} · version {predictor.info.version}" in text
    # An unknown choice: refused by the picker, whose message lists names, not folders.
    with pytest.raises(Exception) as refused:
        client.predict(SPORTS, "", "/no/such/model", api_name="/analyse")
    assert choice(predictor) in str(refused.value) and predictor.info.path not in str(refused.value)
    models = app_module.Models(predictor)
    with pytest.raises(ValueError) as unknown:
        models.get("no such model")
    assert choice(predictor) in str(unknown.value) and predictor.info.path not in str(unknown.value)
    _, count = client.predict(SPORTS, "", None, [], "", choice(predictor), api_name="/save_correction")
    assert "$NEWSLENS_HOME/corrections.jsonl" in count


def test_a_damaged_registry_bundle_is_named_not_located(bundle_dir, tmp_path, monkeypatch):
    from model.predictor import LivePredictor

    home = tmp_path / "home"
    shutil.copytree(bundle_dir, home / "v0001")
    shutil.copytree(bundle_dir, home / "v0002")
    (home / "v0002" / "config.json").write_text("[]", encoding="utf-8")  # damaged
    (home / "CURRENT").write_text("v0001", encoding="utf-8")
    monkeypatch.setenv("NEWSLENS_HOME", str(home))
    demo = build_app(LivePredictor())
    models = app_module.Models(LivePredictor())
    assert "v0002" in models.choices() and not any(str(tmp_path) in c for c in models.choices())
    for api_name, args in (("analyse", (SPORTS, "", "v0002")), ("model_info", ("v0002",))):
        message = _event(demo, api_name)(*args)[0]
        assert message.startswith("⚠️") and "v0002" in message and str(tmp_path) not in message
    assert models.public(f"{home}/v0002/weights.npz: damaged; {tmp_path}/elsewhere/x.json") == \
        "v0002/weights.npz: damaged; …/x.json"
    assert models.public("see https://example.org/a/b") == "see https://example.org/a/b"


def test_predict_refuses_a_text_over_the_limit_without_holding_up_the_others(client, predictor, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEXT_CHARS", 2_000)
    texts = [SPORTS * 40] + [f"{SPORTS} Trận {i}." for i in range(6)]  # the first is 4,000+ characters
    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        outs = list(pool.map(lambda t: json.loads(client.predict(t, api_name="/predict")), texts))
    assert "2,000" in outs[0]["error"] and "NEWSLENS_MAX_TEXT_CHARS" in outs[0]["error"]
    assert all(o["type"]["label"] == predictor.predict(SPORTS).type.label for o in outs[1:])
    assert "error" in json.loads(client.predict("\u200b\u200b", api_name="/predict"))  # invisible: its own error


def test_analyse_cuts_text_and_headline_over_their_limits_with_a_note(client, predictor, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEXT_CHARS", 500)
    monkeypatch.setattr(limits, "MAX_TITLE_CHARS", 20)
    out = analyse(client, predictor, SPORTS * 20, "Bóng đá " * 10)
    assert out[TYPE]["label"]
    assert "first 500 were analysed" in out[MESSAGE] and "NEWSLENS_MAX_TEXT_CHARS" in out[MESSAGE]
    assert "first 20 were analysed" in out[MESSAGE] and "NEWSLENS_MAX_TITLE_CHARS" in out[MESSAGE]


def test_an_uploaded_text_over_the_limit_is_loaded_cut_with_a_note(client, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEXT_CHARS", 300)
    (tmp_path / "long.txt").write_text(SPORTS * 10, encoding="utf-8")
    text, _, message = client.predict(handle_file(str(tmp_path / "long.txt")), api_name="/load_document")
    assert len(text) == 300 and "NEWSLENS_MAX_TEXT_CHARS" in message


def _corrections_bytes(app_home) -> bytes:
    path = app_home / app_module.CORRECTIONS_FILE
    return path.read_bytes() if path.exists() else b""


@pytest.mark.parametrize("field, limit_name", [(0, "MAX_TEXT_CHARS"), (1, "MAX_TITLE_CHARS"),
                                               (4, "MAX_SUMMARY_CHARS")])
def test_corrections_over_a_limit_are_refused_and_nothing_is_written(client, predictor, app_home, monkeypatch,
                                                                      field, limit_name):
    monkeypatch.setattr(limits, limit_name, 100)
    args = [SPORTS, "Tiêu đề", predictor.labels.types[0], [], "Tóm tắt.", choice(predictor)]
    args[field] = "Bóng đá " * 50  # 400 characters
    before = _corrections_bytes(app_home)
    message, _ = client.predict(*args, api_name="/save_correction")
    assert message.startswith("⚠️") and f"NEWSLENS_{limit_name}" in message and "100" in message
    assert _corrections_bytes(app_home) == before


def test_corrections_take_only_the_models_labels(client, predictor, app_home, monkeypatch):
    before = _corrections_bytes(app_home)
    bad = [("Không có nhãn này", []), (None, ["no such topic"]), ("x" * 10_000, [])]
    for type_label, topics in bad:
        with pytest.raises(Exception):  # the pickers refuse values they do not offer
            client.predict(SPORTS, "", type_label, topics, "", choice(predictor), api_name="/save_correction")
    # save_correction itself (the API's last line of defence) checks them as well
    labels = predictor.labels
    for type_label, topics in bad + [(None, labels.topics[:1] * (limits.MAX_LABELS + 1))]:
        with pytest.raises(ValueError):
            app_module.save_correction(SPORTS, "", type_label, topics, None, "v", path=app_home / "x.jsonl",
                                       labels=labels)
    with pytest.raises(ValueError, match="no text"):
        app_module.save_correction("\u200b\ufeff", "", None, None, None, "v", path=app_home / "x.jsonl")
    with pytest.raises(ValueError, match="not Unicode"):
        app_module.save_correction(SPORTS + "\ud800", "", None, None, None, "v", path=app_home / "x.jsonl")
    assert _corrections_bytes(app_home) == before and not (app_home / "x.jsonl").exists()


def test_the_corrections_file_stops_at_its_limit_and_never_holds_half_a_line(predictor, tmp_path, monkeypatch):
    from training.data import read_records

    path = tmp_path / "corrections.jsonl"
    path.write_text(json.dumps({"text": SPORTS}, ensure_ascii=False), encoding="utf-8")  # no final newline
    app_module.save_correction(SPORTS, "Tiêu đề", predictor.labels.types[0], None, None, "v", path=path)
    assert [r.type for r in read_records(path)] == [None, predictor.labels.types[0]]
    monkeypatch.setattr(limits, "MAX_CORRECTIONS_BYTES", path.stat().st_size + 100)
    full = path.read_bytes()
    with pytest.raises(ValueError, match="full.*NEWSLENS_MAX_CORRECTIONS_BYTES"):
        app_module.save_correction(SPORTS, "", None, None, None, "v", path=path)
    assert path.read_bytes() == full
    monkeypatch.setattr(limits, "MAX_CORRECTIONS_BYTES", 10**9)
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, data[: len(data) // 2]))  # a full disk
    with pytest.raises(OSError):
        app_module.save_correction(SPORTS, "", None, None, None, "v", path=path)
    assert path.read_bytes() == full  # the half line was taken back


def test_batch_over_the_article_limit_processes_the_first_ones_and_says_so(client, predictor, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_BATCH_ARTICLES", 2)
    path = tmp_path / "three.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "text": f"{SPORTS} {i}"}, ensure_ascii=False) + "\n"
                            for i in range(3)), encoding="utf-8")
    message, preview, _, _ = client.predict(handle_file(str(path)), choice(predictor), api_name="/batch")
    assert "Processed 2 article(s)" in message and "NEWSLENS_MAX_BATCH_ARTICLES" in message
    assert [row[0] for row in preview["data"]] == ["0", "1"]


def test_temporary_folders_stay_bounded(predictor, tmp_path, monkeypatch):
    # Every batch download and Model-tab view left a folder in the temp directory (25 calls, 25 folders).
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    scratch = app_module.Scratch(keep_batches=3, keep_plots=2)
    monkeypatch.setattr(app_module, "SCRATCH", scratch)
    data = tmp_path / "batch.jsonl"
    data.write_text(json.dumps({"id": "a", "text": SPORTS}, ensure_ascii=False) + "\n", encoding="utf-8")
    for _ in range(25):
        out = app_module.run_batch(predictor, str(data))
        _, _, images = app_module.model_overview(predictor)
    folders = [p for p in temp.rglob("*") if p.is_dir()]
    assert len(folders) <= 1 + 3 + 1, folders  # the app's folder, the last 3 batches, one bundle's plots
    assert Path(out["csv"]).is_file() and Path(out["jsonl"]).is_file()  # the latest results are there
    assert all(Path(i).is_file() for i in images)
    again = app_module.model_overview(predictor)[2]
    assert again == images  # the same plots, reused


def test_the_app_cleans_gradios_cache_on_a_schedule(predictor, app_home):
    assert build_app(predictor).delete_cache == (app_module.GRADIO_CACHE_CLEAN_EVERY_S,
                                                 app_module.GRADIO_CACHE_MAX_AGE_S)


def test_a_docx_bomb_and_quadratic_html_uploaded_to_the_page(client, tmp_path, monkeypatch):
    from test_documents import finishes, paragraph, write_docx

    monkeypatch.setattr(limits, "MAX_INFLATED_BYTES", 1024 * 1024)  # the server runs in this process
    bomb = write_docx(tmp_path / "bomb.docx", paragraph("Bóng đá " * 100), inflated_bytes=2 * 1024 * 1024)
    text, title, message = finishes(client.predict, handle_file(str(bomb)), api_name="/load_document")
    assert "inflates to 2.0 MB" in message and "NEWSLENS_MAX_INFLATED_BYTES" in message
    assert not isinstance(text, str)  # the article box is left as it was
    (tmp_path / "attack.html").write_text("<a " * 20000, encoding="utf-8")
    text, title, message = finishes(client.predict, handle_file(str(tmp_path / "attack.html")), api_name="/load_document")
    assert message  # answered (an empty page: "no text"), where html.parser took 44 s
