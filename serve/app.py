"""The NewsLens web page (gradio). Presentation only: every answer comes from ``Predictor``.

Tabs: Analyse (one article, with why), Batch (a CSV/JSONL file), Model (what is serving
and how good it is), Corrections (editors' fixes, appended to a JSONL file that retraining
accepts as is). ``launch`` serves it; ``build_app`` makes it (tests launch it themselves).
"""
from __future__ import annotations

import csv
import json
import logging
import re
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gradio as gr

from model import bundle
from model.paths import REPO_ROOT, bundles_in, models_home
from model.predictor import LivePredictor, Predictor
from model.results import Prediction
from model.text import normalize, split_sentences

from .documents import MAX_UPLOAD_BYTES, DocumentError, read_document
from .documents import SUFFIXES as DOCUMENT_SUFFIXES

log = logging.getLogger("newslens.serve")

EXAMPLES_DIR = REPO_ROOT.parent / "shared" / "examples"
OWN_EXAMPLES = [
    "Đội tuyển Việt Nam giành chiến thắng 2-0 trước Thái Lan trong trận chung kết. "
    "Huấn luyện viên cho biết các cầu thủ đã thi đấu kiên cường suốt 90 phút. "
    "Người hâm mộ đổ ra đường ăn mừng tại TP. Hồ Chí Minh và Hà Nội.",
    "Ngân hàng Nhà nước vừa điều chỉnh giảm lãi suất điều hành 0,5 điểm phần trăm. "
    "Theo các chuyên gia, quyết định này giúp doanh nghiệp tiếp cận vốn vay dễ hơn. "
    "Chỉ số VN-Index tăng mạnh ngay sau thông tin trên, đạt 1.250 điểm.",
    "Bộ Y tế khuyến cáo người dân tiêm vắc-xin phòng cúm trước mùa đông. "
    "PGS. TS. Nguyễn Văn A, Bệnh viện Bạch Mai, cho biết số ca mắc tăng 30% so với cùng kỳ.",
]
# System fonts that cover Vietnamese; no web fonts, the app must work offline. The default
# monospace font drew "Xã" as "Xā" in gr.Label rows, so monospace is overridden as well.
FONTS = ["Noto Sans", "DejaVu Sans", "Segoe UI", "Arial", "sans-serif"]
MONO_FONTS = ["Noto Sans Mono", "DejaVu Sans", "Noto Sans", "Arial", "sans-serif"]  # DejaVu Sans Mono lacks Vietnamese precomposed letters
EMPTY_MESSAGE = "✍️ Paste a Vietnamese news article (or upload one, or pick an example below), then press **Analyse**."
FOLLOW_CURRENT = "current model (follows the registry)"
BATCH_LIMIT = 5000  # articles per batch upload
CORRECTIONS_FILE = "corrections.jsonl"
MAX_TEXT_CHARS = 2_000_000  # ~1 MB of Vietnamese; longer pastes are cut with a note
# The article is sent to the page twice more as highlighted segments (summary/keywords and
# "why"); the first 20,000 characters hold any news article whole, and a 1 MB paste does not
# send megabytes of spans to the browser. The model itself always reads the whole text.
HIGHLIGHT_MAX_CHARS = 20_000
# Keywords marked in the article and written to a batch row's `keywords` column: the strongest
# few; more would mark much of a short article. (The Keywords table lists them all.)
SHOWN_KEYWORDS = 8
SHOWN_TYPES = 5  # rows of the "Article type" label: the few likeliest, not every type
SHOWN_TOPICS = 8  # rows of the "Topic probabilities" label: enough for multi-topic articles, short to read
# A batch upload is predicted this many articles per ``predict_batch`` call, so the progress bar
# moves and memory stays bounded however long the file is.
BATCH_CHUNK = 64
BATCH_PREVIEW_ROWS = 20  # rows of the results shown on the page; the whole result is in the downloads
BATCH_SKIPPED_LISTED = 50  # unreadable rows listed by line on the page; a broken file lists no more
ANALYSE_CONCURRENCY = 4  # Analyse requests computed at once; the rest wait in the queue
QUEUE_MAX_SIZE = 64  # requests waiting beyond that are refused ("queue full") rather than piling up
# Concurrent /predict API calls answered by one ``predict_batch`` call: one batched model call
# costs far less than as many single ones.
PREDICT_MAX_BATCH = 32
SHA_SHOWN = 16  # hex digits of a training file's sha256 in the Model tab: enough to tell files apart
METRIC_DIGITS = 4  # decimals of the Model tab's metrics table


def examples() -> list[str]:
    found = sorted(EXAMPLES_DIR.glob("*.txt")) if EXAMPLES_DIR.is_dir() else []
    return [p.read_text(encoding="utf-8") for p in found] + OWN_EXAMPLES


# --- models ------------------------------------------------------------------------------
class Models:
    """The bundles an editor can pick from, loaded on first use and kept."""

    def __init__(self, source: Predictor | LivePredictor):
        self.source = source
        self._loaded: dict[str, Predictor] = {}
        self._lock = threading.Lock()

    def choices(self) -> list[str]:
        if isinstance(self.source, Predictor):
            return [self.source.info.path]
        return [FOLLOW_CURRENT] + [str(p) for p in reversed(bundles_in(models_home()))]

    def get(self, choice: str | None = None) -> Predictor:
        if not choice or choice == FOLLOW_CURRENT:
            return self.source.get() if isinstance(self.source, LivePredictor) else self.source
        if isinstance(self.source, Predictor) and choice == self.source.info.path:
            return self.source
        with self._lock:
            if choice not in self._loaded:
                if choice not in self.choices():
                    raise ValueError(f"unknown model {choice!r}")
                self._loaded[choice] = Predictor.load(choice)
            return self._loaded[choice]


# --- analyse -----------------------------------------------------------------------------
def _spans(text: str, phrases: list[str]) -> list[tuple[int, int, str]]:
    out = []
    for phrase in phrases:
        words = phrase.split()
        if not words:
            continue
        pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)"
        out += [(m.start(), m.end(), phrase) for m in re.finditer(pattern, text, re.IGNORECASE)]
    return out


def _segments(text: str, marks: list[tuple[int, int, str]]) -> list[tuple[str, str | None]]:
    """Text cut into (segment, label) pairs; earlier marks win where marks overlap."""
    labels: list[str | None] = [None] * len(text)
    for start, end, label in marks:
        for i in range(start, end):
            if labels[i] is None:
                labels[i] = label
    out: list[tuple[str, str | None]] = []
    for i, ch in enumerate(text):
        if out and out[-1][1] == labels[i]:
            out[-1] = (out[-1][0] + ch, labels[i])
        else:
            out.append((ch, labels[i]))
    return out


def highlighted_article(text: str, result: Prediction, max_chars: int = HIGHLIGHT_MAX_CHARS) -> list[tuple[str, str | None]]:
    """The article with keywords ("keyword") and summary sentences ("summary") marked."""
    norm = normalize(text)
    sentences = split_sentences(norm)
    shown = norm[:max_chars]
    # Summary sentences first (they win where a keyword falls inside one), then keywords.
    marks = [(sentences[i].start, min(sentences[i].end, len(shown)), "summary")
             for i in result.summary.sentences if sentences[i].start < len(shown)]
    marks += [(s, e, "keyword") for s, e, _ in _spans(shown, [k.phrase for k in result.keywords[:SHOWN_KEYWORDS]])]
    return _segments(shown, marks)


def explanation_article(text: str, terms: list[tuple[str, float]], max_chars: int = HIGHLIGHT_MAX_CHARS) -> list[tuple[str, str | None]]:
    """The article with the terms that pushed the type decision marked ("why")."""
    shown = normalize(text)[:max_chars]
    return _segments(shown, [(s, e, "why") for s, e, _ in _spans(shown, [t for t, _ in terms])])


def analyse_article(predictor: Predictor, text: str, title: str = "") -> dict[str, Any]:
    """Everything the Analyse tab shows, as plain values (also what tests check)."""
    notes = []
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
        notes.append(f"The text was cut to its first {MAX_TEXT_CHARS:,} characters.")
    result = predictor.predict(text, title)
    why = predictor.explain(text, title, result.type.label)
    head = (f"**{result.type.label}** ({result.type.scores.get(result.type.label, 0):.0%}) · topics: "
            f"{', '.join(result.topics.labels) or '—'} · {result.elapsed_ms:.0f} ms · model "
            f"`{result.model.name}` {result.model.version} ({result.model.kind})")
    return {
        "result": result,
        "message": "\n\n".join([head] + [f"⚠️ {w}" for w in result.warnings] + [f"ℹ️ {n}" for n in notes]),
        "type_scores": result.type.scores,
        "topic_scores": dict(sorted(result.topics.scores.items(), key=lambda x: -x[1])[:SHOWN_TOPICS]),
        "keywords": [[k.phrase, round(k.score, 3)] for k in result.keywords],
        "summary": result.summary.text,
        "highlighted": highlighted_article(text, result),
        "why": explanation_article(text, why.terms),
        "why_terms": [[t, round(w, 4)] for t, w in why.terms],
    }


# --- batch -------------------------------------------------------------------------------
def run_batch(predictor: Predictor, path: str, progress=None) -> dict[str, Any]:
    """Predict every readable row of a CSV/JSONL upload; list the rows that could not be read."""
    from training.data import read_records_lenient

    records, problems = read_records_lenient(path)
    skipped = [f"line {p.line}: {p.field + ': ' if p.field else ''}{p.message}" if p.line else p.message for p in problems]
    if len(records) > BATCH_LIMIT:
        skipped.append(f"only the first {BATCH_LIMIT} articles were processed ({len(records)} in the file)")
        records = records[:BATCH_LIMIT]
    rows = []
    for start in range(0, len(records), BATCH_CHUNK):
        chunk = records[start : start + BATCH_CHUNK]
        if progress is not None:
            progress(start / max(len(records), 1), desc=f"{start}/{len(records)} articles")
        for r, p in zip(chunk, predictor.predict_batch([r.text for r in chunk], [r.title for r in chunk])):
            rows.append({
                "id": r.id, "title": r.title, "type": p.type.label,
                "type_probability": round(p.type.scores.get(p.type.label, 0.0), 4),
                "topics": "|".join(p.topics.labels), "keywords": "|".join(k.phrase for k in p.keywords[:SHOWN_KEYWORDS]),
                "summary": p.summary.text, "_full": p.to_dict(),
            })
    out_dir = Path(tempfile.mkdtemp(prefix="newslens-batch-"))
    csv_path, jsonl_path = out_dir / "newslens_results.csv", out_dir / "newslens_results.jsonl"
    columns = ["id", "title", "type", "type_probability", "topics", "keywords", "summary"]
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as f:  # BOM: Excel opens it as UTF-8
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with open(jsonl_path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps({"id": row["id"], **row["_full"]}, ensure_ascii=False) + "\n")
    return {"rows": rows, "columns": columns, "skipped": skipped, "csv": str(csv_path), "jsonl": str(jsonl_path)}


# --- model tab ---------------------------------------------------------------------------
def _ci_text(ci: list[float] | None) -> str:
    return f"{ci[0]:.4f} – {ci[1]:.4f}" if ci else ""


def metric_rows(metrics: dict[str, Any]) -> list[list[Any]]:
    """The Model tab's table: one row per (evaluation file, task, metric), in the one metric schema's order."""
    from training.metrics import METRIC_NAMES, TASK_METRICS

    rows = []
    for name, m in metrics.items():
        for task, keys in TASK_METRICS.items():
            if m.get(task):
                rows += [[name, task, METRIC_NAMES[k], round(m[task][k], METRIC_DIGITS), _ci_text(m[task].get(f"{k}_ci")),
                          m[task]["n"]] for k in keys]
    return rows


def model_overview(predictor: Predictor) -> tuple[str, list[list[Any]], list[str]]:
    """Markdown description, metrics table rows, and plot image paths of a bundle."""
    from training.card import breakdown_section, data_file_name, metrics_table
    from training.report import plot_confusion, plot_per_class

    config = bundle.read_config(predictor.info.path, verify=False)  # when and how it was registered
    registry = config.get("registry", {})
    labels = predictor.labels
    lines = [f"### {predictor.info.name} · version {predictor.info.version} · {predictor.info.kind}",
             f"Folder: `{predictor.info.path}`  ", f"Created: {config.get('created', '?')}  ",
             f"Registry: {json.dumps(registry.get('status', 'not registered'))}, parent {registry.get('parent') or '-'}  ",
             f"Type labels: {', '.join(labels.types)}  ",
             f"Topic labels: {len(labels.topics)}", "", "#### Training data", "",
             "| file | records | sha256 |", "| --- | --- | --- |"]
    for f in predictor.meta.get("data", {}).get("train", []):
        lines.append(f"| {data_file_name(f)} | {f.get('records', '?')} | `{f['sha256'][:SHA_SHOWN]}` |")
    metrics = predictor.metrics
    lines += ["", "#### Metrics", "", metrics_table(metrics), breakdown_section(metrics, heading="####")]
    images = []
    out = Path(tempfile.mkdtemp(prefix="newslens-model-"))
    for name, m in metrics.items():
        if m.get("type") and plot_confusion(m, out / "confusion.png", f"Type confusion matrix ({name})"):
            images.append(str(out / "confusion.png"))
            break
    type_m = next((m for m in metrics.values() if m.get("type")), {})
    topic_m = next((m for m in metrics.values() if m.get("topics")), {})
    if plot_per_class({}, {"type": type_m.get("type"), "topics": topic_m.get("topics")}, out / "per_class.png",
                      names=("", "this model"), title="(evaluation data)"):
        images.append(str(out / "per_class.png"))
    return "\n".join(lines), metric_rows(metrics), images


# --- corrections -------------------------------------------------------------------------
def corrections_path() -> Path:
    return models_home() / CORRECTIONS_FILE


def count_corrections(path: Path | None = None) -> int:
    path = path or corrections_path()
    if not path.is_file():
        return 0
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


_corrections_lock = threading.Lock()


def save_correction(text: str, title: str, type_label: str | None, topics: list[str] | None, summary: str | None,
                    model_version: str, path: Path | None = None) -> dict[str, Any]:
    """Append one corrected article, in the shared data schema, to the corrections file."""
    if not text or not text.strip():
        raise ValueError("Analyse an article first: there is no text to correct.")
    path = path or corrections_path()
    now = datetime.now(timezone.utc)
    record = {
        "id": f"correction/{now.strftime('%Y%m%dT%H%M%S%f')}",
        "source": f"newslens-corrections/{model_version}",
        "url": None,
        "date": None,
        "title": title or "",
        "text": text,
        "type": type_label or None,
        "topics": list(topics) if topics else None,
        "tags": None,
        "summary": summary.strip() if summary and summary.strip() else None,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _corrections_lock, open(path, "a", encoding="utf-8") as f:  # append only, never rewrite
        f.write(line)
        f.flush()
    return record


# --- the page ----------------------------------------------------------------------------
# One builder per tab, each making its components and wiring its events; ``build_app``
# composes them. Every handler reaches a model only through ``Models`` and ``Predictor``.
@dataclass
class AnalyseTab:
    """What the Analyse tab shares with the Corrections tab: the article and the model's answer."""

    article: gr.Textbox
    title: gr.Textbox
    summary: gr.Textbox
    predicted_type: gr.State  # the type label of the last analysis
    predicted_topics: gr.State  # its topic labels, as a JSON list


def _header(models: Models) -> gr.Dropdown:
    gr.Markdown("# NewsLens\nVietnamese news → **article type**, **key topics**, **keywords** and a **draft summary**.")
    choices = models.choices()
    return gr.Dropdown(choices, value=choices[0], label="Model", visible=len(choices) > 1)


def _analyse_tab(models: Models, model_choice: gr.Dropdown) -> AnalyseTab:
    empty = (EMPTY_MESSAGE, None, None, [], "", [], [], [], "", "")

    def analyse(text: str, title: str, model_choice: str):
        if not text or not text.strip():
            return empty
        try:
            predictor = models.get(model_choice)
            a = analyse_article(predictor, text, title or "")
        except (ValueError, TypeError, bundle.BundleError) as e:
            return (f"⚠️ {e}",) + empty[1:]
        r = a["result"]
        return (a["message"], a["type_scores"], a["topic_scores"], a["keywords"], a["summary"], a["highlighted"],
                a["why"], a["why_terms"], r.type.label, json.dumps(r.topics.labels, ensure_ascii=False))

    def load_upload(file: str | None):
        if not file:
            return gr.update(), gr.update(), ""
        try:
            title, text = read_document(file)
        except DocumentError as e:
            return gr.update(), gr.update(), f"⚠️ {e}"
        if not text.strip():
            return gr.update(), gr.update(), "⚠️ The file has no text."
        return text, title, f"Loaded {Path(file).name}: {len(text):,} characters. Press **Analyse**."

    predicted_type = gr.State("")
    predicted_topics = gr.State("[]")
    with gr.Tab("Analyse"):
        with gr.Row():
            with gr.Column(scale=3):
                upload = gr.File(label="Upload an article (.txt, .html, .docx)", file_types=list(DOCUMENT_SUFFIXES),
                                 type="filepath")
                title = gr.Textbox(label="Headline (optional)", lines=1)
                article = gr.Textbox(label="Article", lines=14, placeholder="Dán bài báo vào đây…", max_length=MAX_TEXT_CHARS)
                with gr.Row():
                    analyse_btn = gr.Button("Analyse", variant="primary")
                    clear_btn = gr.ClearButton(value="Clear")
            with gr.Column(scale=2):
                message = gr.Markdown(EMPTY_MESSAGE)
                type_scores = gr.Label(label="Article type", num_top_classes=SHOWN_TYPES)
                topic_scores = gr.Label(label="Topic probabilities", num_top_classes=SHOWN_TOPICS)
        with gr.Row():
            keywords = gr.Dataframe(headers=["keyword", "score"], label="Keywords", interactive=False)
            summary = gr.Textbox(label="Draft summary", lines=4)
        highlighted = gr.HighlightedText(label="Article: summary sentences and keywords", elem_classes=["nl-article"],
                                         color_map={"summary": "#fde68a", "keyword": "#bfdbfe"})
        with gr.Accordion("Why this type?", open=False):
            why = gr.HighlightedText(label="Words that pushed the type decision most", elem_classes=["nl-article"],
                                     color_map={"why": "#fecaca"})
            why_terms = gr.Dataframe(headers=["term", "weight"], label="Term weights", interactive=False)
        gr.Examples(examples=[[e] for e in examples()], inputs=[article], label="Examples")

    outputs = [message, type_scores, topic_scores, keywords, summary, highlighted, why, why_terms,
               predicted_type, predicted_topics]
    analyse_btn.click(analyse, [article, title, model_choice], outputs, api_name="analyse",
                      concurrency_limit=ANALYSE_CONCURRENCY)
    article.submit(analyse, [article, title, model_choice], outputs, api_name="analyse_submit",
                   concurrency_limit=ANALYSE_CONCURRENCY)
    upload.upload(load_upload, [upload], [article, title, message], api_name="load_document")
    clear_btn.add([article, title, upload, type_scores, topic_scores, keywords, summary, highlighted, why, why_terms])
    return AnalyseTab(article, title, summary, predicted_type, predicted_topics)


def _batch_tab(models: Models, model_choice: gr.Dropdown) -> None:
    def batch(file: str | None, model_choice: str, progress=gr.Progress()):
        if not file:
            return "Upload a CSV or JSONL file with a `text` column (optional `title`, `id`).", None, None, None
        try:
            out = run_batch(models.get(model_choice), file, progress)
        except (ValueError, TypeError, bundle.BundleError) as e:
            return f"⚠️ {e}", None, None, None
        msg = f"Processed {len(out['rows'])} article(s)."
        if out["skipped"]:
            msg += f"\n\n**{len(out['skipped'])} row(s) could not be read** (the others were processed):\n" + \
                   "\n".join(f"- {s}" for s in out["skipped"][:BATCH_SKIPPED_LISTED])
        preview = [[row[c] for c in out["columns"]] for row in out["rows"][:BATCH_PREVIEW_ROWS]]
        return msg, {"headers": out["columns"], "data": preview}, out["csv"], out["jsonl"]

    with gr.Tab("Batch"):
        batch_file = gr.File(label="CSV or JSONL with a text column (optional title, id)", file_types=[".csv", ".jsonl"],
                             type="filepath")
        batch_btn = gr.Button("Analyse file", variant="primary")
        batch_message = gr.Markdown()
        batch_preview = gr.Dataframe(label="First rows", interactive=False)
        with gr.Row():
            batch_csv = gr.File(label="Results (CSV)")
            batch_jsonl = gr.File(label="Results (JSONL)")
    # One batch at a time: a file of thousands of articles would otherwise starve the Analyse tab.
    batch_btn.click(batch, [batch_file, model_choice], [batch_message, batch_preview, batch_csv, batch_jsonl],
                    api_name="batch", concurrency_limit=1)


def _model_tab(demo: gr.Blocks, models: Models, model_choice: gr.Dropdown) -> None:
    def show_model(model_choice: str):
        try:
            text, table, images = model_overview(models.get(model_choice))
        except (ValueError, bundle.BundleError) as e:
            return f"⚠️ {e}", [], []
        return text, table, images

    with gr.Tab("Model"):
        model_btn = gr.Button("Refresh")
        model_text = gr.Markdown()
        model_table = gr.Dataframe(headers=["data", "task", "metric", "value", "95% CI", "n"], label="Metrics", interactive=False)
        model_plots = gr.Gallery(label="Plots", columns=2, height="auto")
    model_btn.click(show_model, [model_choice], [model_text, model_table, model_plots], api_name="model_info")
    demo.load(show_model, [model_choice], [model_text, model_table, model_plots], api_name="model_info_on_load")


def corrections_message() -> str:
    path = corrections_path()
    return f"**{count_corrections(path)}** correction(s) waiting in `{path}` (`newslens retrain --data {path}`)."


def prefill_choices(predictor: Predictor, type_label: str, topics_json: str) -> tuple[dict, dict]:
    """The Corrections dropdowns (choices: the model's own labels), set to the model's answer."""
    labels = predictor.labels
    chosen = json.loads(topics_json) if topics_json else []
    return (gr.update(choices=labels.types, value=type_label or None),
            gr.update(choices=labels.topics, value=chosen))


def _corrections_tab(models: Models, model_choice: gr.Dropdown, analysed: AnalyseTab) -> None:
    def correct(text: str, title: str, type_label: str, topics: list[str], summary: str, model_choice: str):
        try:
            predictor = models.get(model_choice)
            save_correction(text, title, type_label, topics, summary, predictor.info.version)
        except (ValueError, OSError, bundle.BundleError) as e:
            return f"⚠️ {e}", corrections_message()
        return "✅ Saved. Thank you: it will be used at the next `newslens retrain`.", corrections_message()

    def prefill_corrections(type_label: str, topics_json: str, summary: str, model_choice: str):
        return *prefill_choices(models.get(model_choice), type_label, topics_json), summary or ""

    labels = models.get().labels
    with gr.Tab("Corrections"):
        gr.Markdown("Fix what the model got wrong for the article in the Analyse tab; each correction is appended "
                    "to a JSONL file in the training data format.")
        fix_type = gr.Dropdown(label="Correct type", choices=labels.types)
        fix_topics = gr.Dropdown(label="Correct topics", multiselect=True, choices=labels.topics)
        fix_summary = gr.Textbox(label="Edited summary", lines=4)
        with gr.Row():
            prefill_btn = gr.Button("Start from the model's answer")
            save_btn = gr.Button("Save correction", variant="primary")
        correction_message = gr.Markdown()
        corrections_count = gr.Markdown(corrections_message())
    prefill_btn.click(prefill_corrections, [analysed.predicted_type, analysed.predicted_topics, analysed.summary, model_choice],
                      [fix_type, fix_topics, fix_summary], api_name="prefill_correction")
    save_btn.click(correct, [analysed.article, analysed.title, fix_type, fix_topics, fix_summary, model_choice],
                   [correction_message, corrections_count], api_name="save_correction")


def _predict_api(models: Models) -> None:
    def predict_json(text: str) -> str:
        """Analyse articles; returns each result as JSON (Prediction.to_dict()).

        Batched: concurrent API calls are answered by one ``predict_batch`` call.
        """
        texts = list(text)
        out = [""] * len(texts)
        good = [i for i, t in enumerate(texts) if isinstance(t, str) and t.strip()]
        for i in set(range(len(texts))) - set(good):
            out[i] = json.dumps({"error": "text is empty: pass the article text."})
        if good:
            try:
                results = models.get().predict_batch([texts[i] for i in good])
                for i, r in zip(good, results):
                    out[i] = r.to_json()
            except (ValueError, TypeError) as e:
                for i in good:
                    out[i] = json.dumps({"error": str(e)}, ensure_ascii=False)
        return (out,)

    # API only: one article in, its full JSON result out; concurrent calls share a model call.
    gr.api(predict_json, api_name="predict", batch=True, max_batch_size=PREDICT_MAX_BATCH, concurrency_limit=1)


def build_app(source: Predictor | LivePredictor) -> gr.Blocks:
    """The page. ``source`` is a fixed ``Predictor`` or a ``LivePredictor`` that follows the registry."""
    models = Models(source)
    with gr.Blocks(title="NewsLens") as demo:
        model_choice = _header(models)
        analysed = _analyse_tab(models, model_choice)
        _batch_tab(models, model_choice)
        _model_tab(demo, models, model_choice)
        _corrections_tab(models, model_choice, analysed)
        _predict_api(models)
    return demo


def theme() -> gr.themes.Base:
    return gr.themes.Default(font=FONTS, font_mono=MONO_FONTS)


CSS = """
/* gradio's highlighted text breaks words anywhere ("Trung ươ|ng"); break between words */
.nl-article span { word-break: normal !important; overflow-wrap: break-word; }
"""


def launch(model: str | None = None, host: str = "127.0.0.1", port: int = 7860, **kwargs) -> None:
    # With no model named, follow the registry: a promoted model is served without a restart.
    source = Predictor.load(model) if model else LivePredictor()
    log.info("serving %s on http://%s:%d", (source if model else source.get()).info.path, host, port)
    demo = build_app(source)
    demo.queue(default_concurrency_limit=ANALYSE_CONCURRENCY, max_size=QUEUE_MAX_SIZE).launch(
        server_name=host, server_port=port, theme=theme(), css=CSS,
        max_file_size=MAX_UPLOAD_BYTES, **kwargs)


if __name__ == "__main__":
    launch()
