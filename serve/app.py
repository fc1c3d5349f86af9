"""The NewsLens web page (gradio). Presentation only: every answer comes from ``Predictor``.

Tabs: Analyse (one article, with why), Batch (a CSV/JSONL file), Model (what is serving
and how good it is), Corrections (editors' fixes, appended to a JSONL file that retraining
accepts as is). ``launch`` serves it; ``build_app`` makes it (tests launch it themselves).

Everything a caller sends is bounded by ``model.limits`` (each limit named, with its
NEWSLENS_* variable, in the message that refuses or cuts), and the page never shows the
server's folders: a bundle is named by its name and version.
"""
from __future__ import annotations

import atexit
import csv
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gradio as gr

from model import bundle, limits
from model.interface import Labels
from model.paths import REPO_ROOT, bundles_in, models_home
from model.predictor import LivePredictor, Predictor
from model.results import Prediction
from model.text import has_visible_text, normalize, split_sentences

from .documents import SUFFIXES as DOCUMENT_SUFFIXES
from .documents import DocumentError, load_document

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
CORRECTIONS_FILE = "corrections.jsonl"
# Sizes of what callers send (text, title, summary, labels, articles per batch, uploads): see
# model/limits.py, read at call time so tests may change them.
# The article is sent to the page twice more as highlighted segments (summary/keywords and
# "why"); the first 20,000 characters hold any news article whole, and a 1 MB paste does not
# send megabytes of spans to the browser. The model itself always reads the whole text.
HIGHLIGHT_MAX_CHARS = 20_000
# Keywords marked in the article and written to a batch row's `keywords` column: the strongest
# few; more would mark much of a short article. (The Keywords table lists them all.)
SHOWN_KEYWORDS = 8
HIGHLIGHTED_KEYWORDS = 5  # marked in the article, at their first occurrence only
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
# Batch results kept in the app's temporary folder: older ones are deleted (gradio has copied
# them into its own cache by then; batches run one at a time). Model-tab plots are kept per
# bundle and reused, at most this many bundles' worth.
KEPT_BATCH_RESULTS = 8
KEPT_MODEL_PLOTS = 8
# gradio's own cache (uploads, downloads it serves): every hour, delete what is over a day old.
GRADIO_CACHE_CLEAN_EVERY_S = 3600
GRADIO_CACHE_MAX_AGE_S = 86400
PLOT_KEY_HEX = 16  # hex digits of the hash that names a bundle's plot folder
ERROR_ECHO_CHARS = 80  # of a caller's unknown model choice, repeated in the error message
SHA_SHOWN = 16  # hex digits of a training file's sha256 in the Model tab: enough to tell files apart
METRIC_DIGITS = 4  # decimals of the Model tab's metrics table


def api_json(result: Prediction) -> str:
    """A result as the API returns it: the bundle named by its folder's name, not by where
    it lies on the server (``Prediction.to_json`` keeps the full path for Python callers)."""
    d = result.to_dict()
    d["model"]["path"] = Path(d["model"]["path"]).name
    return json.dumps(d, ensure_ascii=False)


def examples() -> list[str]:
    found = sorted(EXAMPLES_DIR.glob("*.txt")) if EXAMPLES_DIR.is_dir() else []
    return [p.read_text(encoding="utf-8") for p in found] + OWN_EXAMPLES


# --- models ------------------------------------------------------------------------------
def bundle_label(name: str, version: str) -> str:
    """How the page names a bundle: its name and version, never its folder on the server."""
    return f"{name} · {version}"


def _folder_label(folder: Path) -> str:
    """A registry bundle's label, from its config (as ``Predictor.load`` names it); a bundle whose
    config cannot be read is named by its folder's own name."""
    try:
        config = bundle.read_config(folder, verify=False)
    except bundle.BundleError:
        return folder.name
    registry = config.get("registry")
    version = (registry.get("version") if isinstance(registry, dict) else None) or config.get("version", folder.name)
    return bundle_label(str(config.get("name", folder.name)), str(version))


# An absolute path in a message (not a URL): only its last part is shown.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/-])(?:/[^\s/'\"`()<>,;]+)+/([^\s/'\"`()<>,;]*)")


class Models:
    """The bundles an editor can pick from, by label (name · version), loaded on first use and kept."""

    def __init__(self, source: Predictor | LivePredictor):
        self.source = source
        self._loaded: dict[str, Predictor] = {}
        self._labels: dict[str, str] = {}  # folder -> label (a bundle's name and version do not change)
        self._lock = threading.Lock()

    def folders(self) -> dict[str, Path]:
        """label -> bundle folder, newest first."""
        if isinstance(self.source, Predictor):
            info = self.source.info
            return {bundle_label(info.name, info.version): Path(info.path)}
        out: dict[str, Path] = {}
        for folder in reversed(bundles_in(models_home())):
            key = str(folder)
            if key not in self._labels:
                self._labels[key] = _folder_label(folder)
            label = self._labels[key]
            out[label if label not in out else f"{label} ({folder.name})"] = folder
        return out

    def choices(self) -> list[str]:
        labels = list(self.folders())
        return labels if isinstance(self.source, Predictor) else [FOLLOW_CURRENT] + labels

    def get(self, choice: str | None = None) -> Predictor:
        if not choice or choice == FOLLOW_CURRENT:
            return self.source.get() if isinstance(self.source, LivePredictor) else self.source
        folders = self.folders()
        if choice not in folders:
            shown = choice if len(str(choice)) <= ERROR_ECHO_CHARS else f"{str(choice)[:ERROR_ECHO_CHARS]}…"
            raise ValueError(f"unknown model {shown!r}; choose one of: {', '.join(self.choices())}.")
        if isinstance(self.source, Predictor):
            return self.source
        folder = folders[choice]
        with self._lock:
            key = str(folder.resolve())
            if key not in self._loaded:
                self._loaded[key] = Predictor.load(folder)
            return self._loaded[key]

    def public(self, message: str) -> str:
        """``message`` fit to show a caller: bundle folders named by label, other server paths cut
        to their last part."""
        try:
            folders = self.folders()
        except OSError:
            folders = {}
        if isinstance(self.source, LivePredictor):
            info = self.source.get().info
            folders.setdefault(bundle_label(info.name, info.version), Path(info.path))
        for label, folder in folders.items():
            for form in sorted({str(folder.resolve()), str(folder.absolute()), str(folder)}, key=len, reverse=True):
                message = message.replace(form, label)
        for form in {str(models_home().resolve()), str(models_home().absolute())}:
            message = message.replace(form, "$NEWSLENS_HOME")
        return _ABSOLUTE_PATH.sub(lambda m: f"…/{m.group(1)}", message)


# --- analyse -----------------------------------------------------------------------------
def _spans(text: str, phrases: list[str], first_only: bool = False) -> list[tuple[int, int, str]]:
    """Where each phrase occurs in ``text`` as whole words (only its first occurrence when ``first_only``)."""
    out = []
    for phrase in phrases:
        words = phrase.split()
        if not words:
            continue
        pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)"
        found = [(m.start(), m.end(), phrase) for m in re.finditer(pattern, text, re.IGNORECASE)]
        out += found[:1] if first_only else found
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
    # Only the top keywords, each where it first occurs: every occurrence of every keyword
    # (dozens of spans) buried the summary sentences an editor looks for first.
    marks += [(s, e, "keyword") for s, e, _ in _spans(shown, [k.phrase for k in result.keywords[:HIGHLIGHTED_KEYWORDS]],
                                                     first_only=True)]
    return _segments(shown, marks)


def explanation_article(text: str, terms: list[tuple[str, float]], max_chars: int = HIGHLIGHT_MAX_CHARS) -> list[tuple[str, str | None]]:
    """The article with the terms that pushed the type decision marked ("why")."""
    shown = normalize(text)[:max_chars]
    return _segments(shown, [(s, e, "why") for s, e, _ in _spans(shown, [t for t, _ in terms])])


def limit_note(what: str, length: int, limit_name: str, done: str = "analysed") -> str:
    """The note for a field cut to its limit: how long it was, the limit, and its variable."""
    limit = getattr(limits, limit_name)
    return (f"The {what} was {length:,} characters long; only its first {limit:,} were {done} "
            f"(limit: NEWSLENS_{limit_name} on the server).")


def over_limit(what: str, length: int, limit_name: str, unit: str = "characters") -> str:
    """The message that refuses a field over its limit: the limit, and how to change it."""
    limit = getattr(limits, limit_name)
    return (f"The {what} is {length:,} {unit} long; the limit is {limit:,} "
            f"(set NEWSLENS_{limit_name} on the server to change it).")


def cut_to_limits(text: str, title: str) -> tuple[str, str, list[str]]:
    """``text`` and ``title`` cut to ``limits.MAX_TEXT_CHARS`` / ``MAX_TITLE_CHARS``, with a note for each cut."""
    notes = []
    if len(text) > limits.MAX_TEXT_CHARS:
        notes.append(limit_note("text", len(text), "MAX_TEXT_CHARS"))
        text = text[: limits.MAX_TEXT_CHARS]
    if len(title) > limits.MAX_TITLE_CHARS:
        notes.append(limit_note("headline", len(title), "MAX_TITLE_CHARS"))
        title = title[: limits.MAX_TITLE_CHARS]
    return text, title, notes


def analyse_article(predictor: Predictor, text: str, title: str = "") -> dict[str, Any]:
    """Everything the Analyse tab shows, as plain values (also what tests check)."""
    text, title, notes = cut_to_limits(text, title)
    result = predictor.predict(text, title)
    why = predictor.explain(text, title, result.type.label)
    head = (f"**{result.type.label}** ({result.type.scores.get(result.type.label, 0):.0%}) · topics: "
            f"{', '.join(result.topics.labels) or '—'} · {result.elapsed_ms:.0f} ms · model "
            f"`{result.model.name}` {result.model.version} ({result.model.kind}, {result.model.runtime})")
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


# --- the app's temporary files --------------------------------------------------------------
class Scratch:
    """One temporary folder for the app's files (batch results, Model-tab plots), made on first
    use and removed at exit; what it holds is bounded: the last ``keep_batches`` batch results,
    and plots for at most ``keep_plots`` bundles (reused on every view)."""

    def __init__(self, keep_batches: int = KEPT_BATCH_RESULTS, keep_plots: int = KEPT_MODEL_PLOTS):
        self.keep_batches, self.keep_plots = keep_batches, keep_plots
        self._root: Path | None = None
        self._batches: deque[Path] = deque()
        self._plots: deque[Path] = deque()
        self._lock = threading.Lock()

    def root(self) -> Path:
        with self._lock:
            if self._root is None or not self._root.is_dir():
                self._root = Path(tempfile.mkdtemp(prefix="newslens-app-"))
                atexit.register(shutil.rmtree, self._root, True)
            return self._root

    def batch_folder(self) -> Path:
        """A new folder for one batch's results; the oldest beyond ``keep_batches`` are deleted."""
        folder = Path(tempfile.mkdtemp(prefix="batch-", dir=self.root()))
        with self._lock:
            self._batches.append(folder)
            while len(self._batches) > self.keep_batches:
                shutil.rmtree(self._batches.popleft(), ignore_errors=True)
        return folder

    def plots_folder(self, key: str, make) -> Path:
        """The folder of plots for ``key``, made once by ``make(folder)`` and then reused."""
        folder = self.root() / f"plots-{key}"
        if folder.is_dir():
            return folder
        staging = Path(tempfile.mkdtemp(prefix=".plots-", dir=self.root()))
        try:
            make(staging)
            with self._lock:
                if folder.is_dir():  # made meanwhile by a concurrent view
                    shutil.rmtree(staging, ignore_errors=True)
                    return folder
                os.replace(staging, folder)  # whole: a reader never sees half-written plots
                self._plots.append(folder)
                while len(self._plots) > self.keep_plots:
                    shutil.rmtree(self._plots.popleft(), ignore_errors=True)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return folder


SCRATCH = Scratch()


# --- batch -------------------------------------------------------------------------------
def run_batch(predictor: Predictor, path: str, progress=None) -> dict[str, Any]:
    """Predict every readable row of a CSV/JSONL upload; list the rows that could not be read."""
    from training.data import read_records_lenient

    records, problems = read_records_lenient(path)
    skipped = [f"line {p.line}: {p.field + ': ' if p.field else ''}{p.message}" if p.line else p.message for p in problems]
    limit = limits.MAX_BATCH_ARTICLES
    if len(records) > limit:
        skipped.append(f"only the first {limit:,} articles were processed ({len(records):,} in the file; the limit "
                       f"is NEWSLENS_MAX_BATCH_ARTICLES on the server)")
        records = records[:limit]
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
    out_dir = SCRATCH.batch_folder()
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
    # The bundle's name and version, never its folder: the page must not show the server's paths.
    lines = [f"### {predictor.info.name} · version {predictor.info.version} · {predictor.info.kind}",
             f"Answering with: {predictor.info.runtime}  ",
             f"Created: {config.get('created', '?')}  ",
             f"Registry: {json.dumps(registry.get('status', 'not registered'))}, parent {registry.get('parent') or '-'}  ",
             f"Type labels: {', '.join(labels.types)}  ",
             f"Topic labels: {len(labels.topics)}", "", "#### Training data", "",
             "| file | records | sha256 |", "| --- | --- | --- |"]
    for f in predictor.meta.get("data", {}).get("train", []):
        lines.append(f"| {data_file_name(f)} | {f.get('records', '?')} | `{f['sha256'][:SHA_SHOWN]}` |")
    metrics = predictor.metrics
    lines += ["", "#### Metrics", "", metrics_table(metrics), breakdown_section(metrics, heading="####")]

    def make_plots(out: Path) -> None:
        for name, m in metrics.items():
            if m.get("type") and plot_confusion(m, out / "confusion.png", f"Type confusion matrix ({name})"):
                break
        type_m = next((m for m in metrics.values() if m.get("type")), {})
        topic_m = next((m for m in metrics.values() if m.get("topics")), {})
        plot_per_class({}, {"type": type_m.get("type"), "topics": topic_m.get("topics")}, out / "per_class.png",
                       names=("", "this model"), title="(evaluation data)")

    # Plots depend only on the bundle and its metrics: drawn once, then every view reuses them.
    key = hashlib.sha256(json.dumps([predictor.info.path, predictor.info.version, metrics], sort_keys=True,
                                    default=str).encode("utf-8")).hexdigest()[:PLOT_KEY_HEX]
    out = SCRATCH.plots_folder(key, make_plots)
    images = [str(out / name) for name in ("confusion.png", "per_class.png") if (out / name).is_file()]
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


def check_correction(text: Any, title: Any, type_label: Any, topics: Any, summary: Any,
                     labels: Labels | None = None) -> None:
    """Refuse a correction that the retraining data must not take: a field over its limit (the
    data reader's limits, so the file always reads back), or a label the model does not give."""
    if not isinstance(text, str) or not has_visible_text(text):
        raise ValueError("Analyse an article first: there is no text to correct.")
    fields = (("article text", text, "MAX_TEXT_CHARS"), ("headline", title, "MAX_TITLE_CHARS"),
              ("edited summary", summary, "MAX_SUMMARY_CHARS"), ("type label", type_label, "MAX_LABEL_CHARS"))
    for what, value, limit_name in fields:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"the {what} must be text, not {type(value).__name__}.")
        if value and len(value) > getattr(limits, limit_name):
            raise ValueError(over_limit(what, len(value), limit_name))
    if topics is not None:
        if not isinstance(topics, (list, tuple)) or not all(isinstance(t, str) for t in topics):
            raise TypeError("the topics must be a list of topic labels.")
        if len(topics) > limits.MAX_LABELS:
            raise ValueError(over_limit("list of topics", len(topics), "MAX_LABELS", unit="labels"))
        for topic in topics:
            if len(topic) > limits.MAX_LABEL_CHARS:
                raise ValueError(over_limit("topic label", len(topic), "MAX_LABEL_CHARS"))
    if labels is not None:
        if type_label and type_label not in labels.types:
            raise ValueError(f"unknown type {type_label[:ERROR_ECHO_CHARS]!r}: pick one of the model's types.")
        unknown = [t for t in topics or [] if t not in labels.topics]
        if unknown:
            raise ValueError(f"unknown topic {unknown[0][:ERROR_ECHO_CHARS]!r}: pick the model's topics.")
    for what, value in (("article text", text), ("headline", title), ("edited summary", summary)):
        try:
            (value or "").encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"the {what} holds characters that are not Unicode text (unpaired surrogates).") from None


def save_correction(text: str, title: str, type_label: str | None, topics: list[str] | None, summary: str | None,
                    model_version: str, path: Path | None = None, labels: Labels | None = None) -> dict[str, Any]:
    """Append one corrected article, in the shared data schema, to the corrections file.

    Checked first (``check_correction``; with ``labels``, only the model's own labels). The
    line is written whole or not at all, and the file stops growing at
    ``limits.MAX_CORRECTIONS_BYTES``: corrections can neither break nor fill the retraining data.
    """
    check_correction(text, title, type_label, topics, summary, labels)
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
        "topics": list(dict.fromkeys(topics)) if topics else None,
        "tags": None,
        "summary": summary.strip() if summary and summary.strip() else None,
    }
    data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _corrections_lock:  # append only, never rewrite
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # Replicas of the app share $NEWSLENS_HOME: the size check, the newline repair and the
            # append must not interleave with another process's (released when fd is closed).
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a hand-edited file without a final newline
                data = b"\n" + data
            if size + len(data) > limits.MAX_CORRECTIONS_BYTES:
                raise ValueError(
                    f"The corrections file is full ({size / 2**20:,.1f} MB; the limit is "
                    f"{limits.MAX_CORRECTIONS_BYTES / 2**20:,.0f} MB, NEWSLENS_MAX_CORRECTIONS_BYTES on the server): "
                    "retrain on it and move it away, then save again.")
            try:
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError(f"only {written} of {len(data)} bytes were written")
            except OSError:
                os.ftruncate(fd, size)  # no half line left for retraining to trip on
                raise
        finally:
            os.close(fd)
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
        if not isinstance(text, str) or not text.strip():
            return empty
        try:
            predictor = models.get(model_choice)
            a = analyse_article(predictor, text, title if isinstance(title, str) else "")
        except (ValueError, TypeError, bundle.BundleError) as e:
            return (f"⚠️ {models.public(str(e))}",) + empty[1:]
        r = a["result"]
        return (a["message"], a["type_scores"], a["topic_scores"], a["keywords"], a["summary"], a["highlighted"],
                a["why"], a["why_terms"], r.type.label, json.dumps(r.topics.labels, ensure_ascii=False))

    def load_upload(file: str | None):
        if not file:
            return gr.update(), gr.update(), ""
        try:
            doc = load_document(file)
        except DocumentError as e:
            return gr.update(), gr.update(), f"⚠️ {models.public(str(e))}"
        if not doc.text.strip():
            return gr.update(), gr.update(), "⚠️ The file has no text."
        message = f"Loaded {Path(file).name}: {len(doc.text):,} characters. Press **Analyse**."
        return doc.text, doc.title, "\n\n".join([message] + [f"ℹ️ {n}" for n in doc.notes])

    predicted_type = gr.State("")
    predicted_topics = gr.State("[]")
    with gr.Tab("Analyse"):
        with gr.Row():
            with gr.Column(scale=3):
                upload = gr.File(label="Upload an article (.txt, .html, .docx)", file_types=list(DOCUMENT_SUFFIXES),
                                 type="filepath")
                title = gr.Textbox(label="Headline (optional)", lines=1, max_length=limits.MAX_TITLE_CHARS)
                article = gr.Textbox(label="Article", lines=14, placeholder="Dán bài báo vào đây…",
                                     max_length=limits.MAX_TEXT_CHARS)
                with gr.Row():
                    analyse_btn = gr.Button("Analyse", variant="primary")
                    clear_btn = gr.ClearButton(value="Clear")
            with gr.Column(scale=2):
                message = gr.Markdown(EMPTY_MESSAGE)
                type_scores = gr.Label(label="Article type", num_top_classes=SHOWN_TYPES)
                topic_scores = gr.Label(label="Topic probabilities", num_top_classes=SHOWN_TOPICS)
        with gr.Row():
            keywords = gr.Dataframe(headers=["keyword", "tag probability"], label="Keywords", interactive=False)
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
            return f"⚠️ {models.public(str(e))}", None, None, None
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
            return f"⚠️ {models.public(str(e))}", [], []
        return text, table, images

    with gr.Tab("Model"):
        model_btn = gr.Button("Refresh")
        model_text = gr.Markdown()
        model_table = gr.Dataframe(headers=["data", "task", "metric", "value", "95% CI", "n"], label="Metrics", interactive=False)
        model_plots = gr.Gallery(label="Plots", columns=2, height="auto")
    model_btn.click(show_model, [model_choice], [model_text, model_table, model_plots], api_name="model_info")
    demo.load(show_model, [model_choice], [model_text, model_table, model_plots], api_name="model_info_on_load")


def corrections_message() -> str:
    # Named from $NEWSLENS_HOME, not by the server's folder: the page does not show server paths.
    path = f"$NEWSLENS_HOME/{CORRECTIONS_FILE}"
    return (f"**{count_corrections()}** correction(s) waiting in `{path}` (`newslens retrain --data {path}`). "
            f"Limits: text {limits.MAX_TEXT_CHARS:,}, headline {limits.MAX_TITLE_CHARS:,} and summary "
            f"{limits.MAX_SUMMARY_CHARS:,} characters.")


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
            save_correction(text, title, type_label, topics, summary, predictor.info.version, labels=predictor.labels)
        except (ValueError, TypeError, OSError, bundle.BundleError) as e:
            return f"⚠️ {models.public(str(e))}", corrections_message()
        return "✅ Saved. Thank you: it will be used at the next `newslens retrain`.", corrections_message()

    def prefill_corrections(type_label: str, topics_json: str, summary: str, model_choice: str):
        return *prefill_choices(models.get(model_choice), type_label, topics_json), summary or ""

    labels = models.get().labels
    with gr.Tab("Corrections"):
        gr.Markdown("Fix what the model got wrong for the article in the Analyse tab; each correction is appended "
                    "to a JSONL file in the training data format.")
        fix_type = gr.Dropdown(label="Correct type", choices=labels.types)
        fix_topics = gr.Dropdown(label="Correct topics", multiselect=True, choices=labels.topics)
        fix_summary = gr.Textbox(label="Edited summary", lines=4, max_length=limits.MAX_SUMMARY_CHARS)
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

        Batched: concurrent API calls are answered by one ``predict_batch`` call. A text over
        ``limits.MAX_TEXT_CHARS`` is refused (its caller gets an error, the others their answers),
        so one huge call cannot hold up everyone batched with it.
        """
        texts = list(text)
        out = [""] * len(texts)
        good = []
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                out[i] = json.dumps({"error": f"text must be a string, got {type(t).__name__}."})
            elif not t.strip():
                out[i] = json.dumps({"error": "text is empty: pass the article text."})
            elif len(t) > limits.MAX_TEXT_CHARS:
                out[i] = json.dumps({"error": over_limit("text", len(t), "MAX_TEXT_CHARS")}, ensure_ascii=False)
            else:
                good.append(i)
        if good:
            try:
                predictor = models.get()
            except bundle.BundleError as e:
                for i in good:
                    out[i] = json.dumps({"error": models.public(str(e))}, ensure_ascii=False)
                return (out,)
            try:
                results = predictor.predict_batch([texts[i] for i in good])
                for i, r in zip(good, results):
                    out[i] = api_json(r)
            except (ValueError, TypeError):
                # One caller's text was refused: answer each on its own, so only that caller gets the error.
                for i in good:
                    try:
                        out[i] = api_json(predictor.predict(texts[i]))
                    except (ValueError, TypeError) as e:
                        out[i] = json.dumps({"error": models.public(str(e))}, ensure_ascii=False)
        return (out,)

    # API only: one article in, its full JSON result out; concurrent calls share a model call.
    gr.api(predict_json, api_name="predict", batch=True, max_batch_size=PREDICT_MAX_BATCH, concurrency_limit=1)


def build_app(source: Predictor | LivePredictor) -> gr.Blocks:
    """The page. ``source`` is a fixed ``Predictor`` or a ``LivePredictor`` that follows the registry."""
    models = Models(source)
    # gradio keeps uploads and the files it serves in its own cache: clean it on a schedule.
    with gr.Blocks(title="NewsLens", delete_cache=(GRADIO_CACHE_CLEAN_EVERY_S, GRADIO_CACHE_MAX_AGE_S)) as demo:
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


def queued(demo: gr.Blocks) -> gr.Blocks:
    """``demo`` with the request queue ``launch`` serves it with (tests and benchmarks too)."""
    return demo.queue(default_concurrency_limit=ANALYSE_CONCURRENCY, max_size=QUEUE_MAX_SIZE)


HEALTH_PROBE = "Đội tuyển bóng đá Việt Nam thắng trận."  # a real answer, not only a loaded file


def launch_options() -> dict[str, Any]:
    """What ``launch`` passes to gradio besides host and port: theme, CSS and the upload limit."""
    return {"theme": theme(), "css": CSS, "max_file_size": limits.MAX_UPLOAD_BYTES}


def health(source: Predictor | LivePredictor) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of the readiness check: 200 once a model answers, 503 otherwise.

    A load balancer polls it; with replicas on one $NEWSLENS_HOME, each reports the registry
    version it serves, so a promotion can be watched reaching every replica.
    """
    try:
        predictor = source.get() if isinstance(source, LivePredictor) else source
        predictor.predict(HEALTH_PROBE)
    except Exception as e:  # noqa: BLE001 - any failure means "do not send traffic here"
        return 503, {"status": "unavailable", "error": f"{type(e).__name__}: {e}"}
    info = predictor.info
    return 200, {"status": "ok", "model": info.name, "version": info.version, "kind": info.kind,
                 "runtime": info.runtime}


def add_health_route(app, source: Predictor | LivePredictor) -> None:
    from fastapi.responses import JSONResponse

    def healthz() -> JSONResponse:
        status, body = health(source)
        return JSONResponse(body, status_code=status)

    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)


def launch(model: str | None = None, host: str = "127.0.0.1", port: int = 7860, **kwargs) -> None:
    # With no model named, follow the registry: a promoted model is served without a restart.
    source = Predictor.load(model) if model else LivePredictor()
    log.info("serving %s on http://%s:%d", (source if model else source.get()).info.path, host, port)  # the operator's log
    demo = queued(build_app(source))
    app, _, _ = demo.launch(server_name=host, server_port=port, prevent_thread_lock=True,
                            **{**launch_options(), **kwargs})
    add_health_route(app, source)  # GET /healthz: readiness for a load balancer (see README, replicas)
    demo.block_thread()


if __name__ == "__main__":
    launch()
