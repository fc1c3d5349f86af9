"""The gradio app, exercised the way a developer would: gradio_client against a launched app."""
from __future__ import annotations

import csv
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")
from gradio_client import handle_file  # noqa: E402

from serve import app as app_module  # noqa: E402
from serve.app import build_app, examples, highlighted_article, theme  # noqa: E402
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
    demo = build_app(predictor)
    demo.queue(default_concurrency_limit=4)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True,
                            quiet=True, theme=theme())
    try:
        yield gradio_client.Client(url, verbose=False)
    finally:
        demo.close()
        mp.undo()


def analyse(client, predictor, text, title=""):
    return client.predict(text, title, predictor.info.path, api_name="/analyse")


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
    message, preview, csv_out, jsonl_out = client.predict(handle_file(str(path)), predictor.info.path, api_name="/batch")
    assert "Processed 2 article(s)" in message and "line 3" in message
    assert [row[0] for row in preview["data"]] == ["a", "c"]
    with open(csv_out, encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["a", "c"] and rows[0]["type"] == predictor.predict(SPORTS, "Bóng đá").type.label
    lines = [json.loads(l) for l in open(jsonl_out, encoding="utf-8")]
    assert lines[0]["id"] == "a" and lines[0]["type"]["label"] == rows[0]["type"]


def test_model_tab_shows_metrics_and_plots(client, predictor):
    text, table, images = client.predict(predictor.info.path, api_name="/model_info")
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
        message, count = client.predict(SPORTS, "Tiêu đề", label, [], "Tóm tắt đã sửa.", predictor.info.path,
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
    analysed = _event(demo, "analyse")(SPORTS, "Bóng đá", transformer_predictor.info.path)
    predicted_type, predicted_topics = analysed[-2:]
    assert predicted_type in transformer_predictor.labels.types
    fix_type, fix_topics, fix_summary = _event(demo, "prefill_correction")(
        predicted_type, predicted_topics, analysed[SUMMARY], transformer_predictor.info.path)
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
