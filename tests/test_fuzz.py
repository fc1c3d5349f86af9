"""Property-based tests (hypothesis) of everything that reads untrusted input.

- ``Predictor.predict``: any str (random unicode, NFD, control and format characters, lone
  surrogates, 30,000-character words) gives a well-formed, UTF-8-encodable answer, or the
  "text is empty" ValueError exactly when nothing in text or title is visible;
- the data reader (JSONL, CSV, either gzipped), on files written correctly and then damaged:
  a file either reads, or its problems each name the file and a line; never another
  exception, and never fewer rows than the file holds without a problem that says so;
- the document reader ``serve.documents.read_document`` (.txt, .html, .docx, well-formed or
  not): an article within the limits, or a ``DocumentError``.

CI runs a bounded number of examples (``MAX_EXAMPLES``); ``bench/fuzz.py`` runs the same
checks (the ``check_*`` functions here) on thousands and reports counts.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.text import has_visible_text, normalize
from training.data import DataValidationError, read_records, read_records_lenient

MAX_EXAMPLES = int(os.environ.get("NEWSLENS_FUZZ_EXAMPLES", "30"))  # more for a local run
FUZZ = settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class SilentRowLoss(AssertionError):
    """A data file read without a problem, but with fewer records than rows."""


# --- text ---------------------------------------------------------------------------------------------
VI_WORDS = ["Đội", "tuyển", "bóng", "đá", "thắng", "trận", "Giá", "vàng", "tăng", "mạnh", "Bệnh", "viện",
            "hoà", "khoẻ", "thuỷ", "điện", "Nguyễn", "Thị", "Hà", "Nội", "phút", "cuối", "ở", "quý"]
INVISIBLE = "\x00\x01\x07\x0b\x0c\x1b\x7f\x85\u00ad\u200b\u200c\u200d\u200e\u2060\u202e\ufeff\U000e0041\u0301"
SPACES = " \t\n\r\u00a0\u2028\u3000\x1c"

vi_sentence = st.lists(st.sampled_from(VI_WORDS), min_size=1, max_size=25).map(lambda w: " ".join(w) + ".")
pieces = st.one_of(
    vi_sentence,
    vi_sentence.map(lambda s: unicodedata.normalize("NFD", s)),
    st.text(max_size=60),  # any unicode but surrogates
    st.text(st.sampled_from(INVISIBLE + SPACES), max_size=30),
    st.characters(categories=["Cs"]),  # a lone surrogate, as JSON "\ud800" gives
    # a long word, runs of sentence punctuation included (they were quadratic: 66 s for 30,000 ".")
    st.tuples(st.sampled_from(["x", "ă", "đ", "-", "0", "\u0301", ".", "…", "!?"]),
              st.integers(1_000, 30_000)).map(lambda t: t[0] * t[1]),
)
any_text = st.lists(pieces, max_size=6).map("".join)
any_title = st.one_of(st.just(""), st.lists(pieces, max_size=2).map("".join).map(lambda s: s[:300]))


def check_predict(predictor, text: str, title: str) -> str:
    """What ``predict`` answered ("ok", "empty"); AssertionError for a malformed answer."""
    visible = has_visible_text(text) or has_visible_text(title)
    try:
        result = predictor.predict(text, title=title)
    except ValueError as e:
        assert not visible and "is empty" in str(e), f"{e!r} for visible input"
        return "empty"
    assert visible, "invisible input got an answer"
    scores = result.type.scores
    assert result.type.label in scores and abs(sum(scores.values()) - 1) < 1e-3
    assert all(0 <= p <= 1 for p in [*scores.values(), *result.topics.scores.values()])
    assert set(result.topics.labels) <= set(result.topics.scores)
    assert result.summary.sentences == sorted(result.summary.sentences)
    assert all(isinstance(w, str) and w for w in result.warnings)
    json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")  # the API can send it
    return "ok"


@FUZZ
@given(text=any_text, title=any_title)
def test_predict_answers_any_text_or_says_it_is_empty(predictor, text, title):
    check_predict(predictor, text, title)


# --- data files ---------------------------------------------------------------------------------------
one_line = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=40)
label = (st.text(st.characters(codec="utf-8", exclude_characters="\r\n|"), min_size=1, max_size=30)
         .filter(lambda s: has_visible_text(s) and not s.strip().startswith("[")))
body = st.tuples(st.sampled_from(VI_WORDS), st.text(max_size=200)).map(lambda t: t[0] + " " + t[1])


@st.composite
def rows(draw) -> dict:
    row = {"id": draw(one_line.filter(has_visible_text)),
           "text": draw(st.one_of(vi_sentence, body, body.map(lambda s: unicodedata.normalize("NFD", s))))}
    if draw(st.booleans()):
        row["title"] = draw(one_line)
    if draw(st.booleans()):
        row["type"] = draw(label)
    if draw(st.booleans()):
        row["topics"] = draw(st.lists(label, min_size=1, max_size=4))
    return row


COLUMNS = ["id", "text", "title", "type", "topics"]


def serialise(fmt: str, records: list[dict]) -> tuple[bytes, list[tuple[int, int]]]:
    """The file's bytes (before any gzip) and each row's (start, end) byte offsets."""
    spans, out = [], io.BytesIO()
    if fmt.startswith("csv"):
        buffer = io.StringIO()
        writer = csv.writer(buffer)  # "\r\n": a "\r" in a cell is quoted too (not with "\n")
        writer.writerow(COLUMNS)
        out.write(buffer.getvalue().encode("utf-8"))
    for row in records:
        if fmt.startswith("csv"):
            buffer = io.StringIO()
            csv.writer(buffer).writerow(
                ["|".join(row[c]) if c == "topics" and c in row else row.get(c, "") for c in COLUMNS])
            data = buffer.getvalue().encode("utf-8")
        else:
            data = (json.dumps(row, ensure_ascii=bool(len(spans) % 2)) + "\n").encode("utf-8")
        spans.append((out.tell(), out.tell() + len(data)))
        out.write(data)
    return out.getvalue(), spans


DAMAGES = ["none", "truncate", "insert", "flip", "delete", "quote", "garbage-line", "deep", "big-number",
           "surrogate", "not-utf8", "crlf", "bom", "gzip-truncate", "gzip-flip"]
NASTY_BYTES = [b'"', b",", b"\n", b"\r", b"{", b"[", b"\\", b"|", b"\xff", b"\x00", b"\xc3", b'""', b'\n"', b"}\n{"]


@dataclass
class DataCase:
    fmt: str  # "jsonl", "jsonl.gz", "csv", "csv.gz"
    records: list[dict]
    damage: str
    content: bytes  # as written to disk
    expected: int  # rows that must be read when no problem is reported


@st.composite
def data_cases(draw) -> DataCase:
    fmt = draw(st.sampled_from(["jsonl", "jsonl.gz", "csv", "csv.gz"]))
    records = draw(st.lists(rows(), min_size=1, max_size=8))
    raw, spans = serialise(fmt, records)
    damage = draw(st.sampled_from([d for d in DAMAGES if fmt.endswith(".gz") or not d.startswith("gzip")]))
    expected = len(records)
    at = draw(st.integers(0, len(raw)))
    if damage == "truncate":
        raw = raw[:at]
        expected = sum(end <= at for _, end in spans)
    elif damage == "insert":
        raw = raw[:at] + draw(st.sampled_from(NASTY_BYTES)) + raw[at:]
    elif damage == "flip":
        at = min(at, len(raw) - 1)
        raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1:]
    elif damage == "delete":
        end = at + draw(st.integers(1, 12))
        raw = raw[:at] + raw[end:]
        expected -= sum(at <= start and stop <= end for start, stop in spans)  # rows deleted whole
    elif damage == "quote":  # a quote at the start of a random cell, left open
        starts = [i + 1 for i, b in enumerate(raw) if b in b",\n"][:-1] or [0]
        at = draw(st.sampled_from(starts))
        raw = raw[:at] + b'"' + raw[at:]
    elif damage == "garbage-line":
        line = draw(st.one_of(st.binary(max_size=40), st.text(max_size=40).map(lambda s: s.encode("utf-8"))))
        at = draw(st.sampled_from([0] + [end for _, end in spans]))
        raw = raw[:at] + line.replace(b"\n", b" ").replace(b"\r", b" ") + b"\n" + raw[at:]
    elif damage == "surrogate" and not fmt.startswith("csv"):  # JSON can spell one: "\ud800"
        at = draw(st.sampled_from([end for _, end in spans]))
        raw = raw[:at] + json.dumps({"text": "Bài " + draw(st.characters(categories=["Cs"]))}).encode() + b"\n" + raw[at:]
    elif damage in ("deep", "big-number"):
        depth = draw(st.integers(900, 200_000))
        value = "[" * depth + "]" * depth if damage == "deep" else "9" * draw(st.integers(4_301, 20_000))
        key = draw(st.sampled_from(COLUMNS + ["other"]))
        if fmt.startswith("csv"):
            line = ["x", "Bài.", "", "", value if damage == "deep" else ""]
            buffer = io.StringIO()
            csv.writer(buffer).writerow(line)
            extra = buffer.getvalue().encode()
        else:
            extra = f'{{"text": "Bài.", "{key}": {value}}}\n'.encode()
        at = draw(st.sampled_from([end for _, end in spans]))
        raw = raw[:at] + extra + raw[at:]
    elif damage == "not-utf8":
        raw = raw[:at] + b"\xff\xfe\xe9" + raw[at:]
    elif damage == "crlf":
        raw = raw.replace(b"\n", b"\r\n")
    elif damage == "bom":
        raw = b"\xef\xbb\xbf" + raw
    content = gzip.compress(raw, mtime=0) if fmt.endswith(".gz") else raw
    if damage == "gzip-truncate":
        content = content[: draw(st.integers(0, len(content) - 1))]
    elif damage == "gzip-flip":
        at = draw(st.integers(0, len(content) - 1))
        content = content[:at] + bytes([content[at] ^ draw(st.integers(1, 255))]) + content[at + 1:]
    return DataCase(fmt, records, damage, content, expected)


def _label_tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(dict.fromkeys(normalize(v).strip() for v in values))


def check_data_file(case: DataCase, folder: Path) -> list[str]:
    """Read ``case`` both ways; the kinds of problems found ([] when it read cleanly).

    Raises SilentRowLoss, AssertionError for a broken property, or whatever the reader raised
    that it should not have (a traceback).
    """
    path = folder / f"fuzz.{case.fmt}"
    path.write_bytes(case.content)
    records, problems = read_records_lenient(path, ignore_unknown=False)
    try:
        strict = read_records(path)
    except DataValidationError as e:
        assert e.problems == problems, "the strict and the lenient reader disagree"
    else:
        assert not problems and strict == records
    for p in problems:
        assert p.file == str(path) and isinstance(p.line, int) and p.line >= 0
        assert p.line > 0 or p.message.startswith(("cannot read file", "no records")), f"no line: {p}"
    if not problems and len(records) < case.expected:
        raise SilentRowLoss(f"{case.damage} {case.fmt}: {len(records)} records for {case.expected} rows, no problem")
    if case.damage in ("none", "crlf", "bom"):
        assert not problems, f"a correct file has problems: {problems[:3]}"
        for row, record in zip(case.records, records):
            assert record.id == normalize(row["id"]).strip() or not row["id"].strip()
            assert record.text == normalize(row["text"])
            assert record.title == normalize(row.get("title") or "").strip()
            assert record.type == (normalize(row["type"]).strip() if "type" in row else None)
            assert record.topics == _label_tuple(row.get("topics"))
    return [problem_kind(p.message) for p in problems]


def problem_kind(message: str) -> str:
    """A problem's kind for counting: its message up to the first detail, numbers as N."""
    for stop in ("(", ";", ":", ","):
        message = message.split(stop)[0]
    return re.sub(r"\d[\d,.]*", "N", message.strip())[:60]


@FUZZ
@given(case=data_cases())
def test_data_files_read_or_name_their_problems_and_never_lose_rows(case, tmp_path_factory):
    check_data_file(case, tmp_path_factory.mktemp("fuzz-data", numbered=True))


# --- documents ----------------------------------------------------------------------------------------
HTML_BITS = ["<a ", "<p>", "</p>", "<div class='x'>", ">", "<", "<script>alert(1)</script>", "<style>p{}</style>",
             "&amp;", "&#x", "&#99999999;", "&nbsp;", "<!--", "-->", "<![CDATA[", "<title>", "</title>", "<br/>",
             "\x00", "<html><head>", "</body>", "<?xml?>", "<!DOCTYPE html>", "\ufeff", "<p"]
html_doc = st.lists(st.one_of(st.sampled_from(HTML_BITS), vi_sentence, st.text(max_size=20)), max_size=40).map("".join)
paragraphs = st.lists(st.one_of(vi_sentence, st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=40)),
                      max_size=8)


def docx_bytes(xml: bytes, part: str = "word/document.xml", method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(part, xml)
    return out.getvalue()


def docx_xml(paras: list[str]) -> bytes:
    body = "".join(f"<w:p><w:r><w:t xml:space='preserve'>{escape(p)}</w:t></w:r></w:p>" for p in paras)
    return f'<?xml version="1.0"?><w:document xmlns:w="x"><w:body>{body}</w:body></w:document>'.encode()


@st.composite
def documents(draw) -> tuple[str, bytes, list[str]]:
    """(suffix, file bytes, paragraphs the text must hold, if any)."""
    suffix = draw(st.sampled_from([".txt", ".html", ".docx"]))
    if suffix == ".txt":
        kind = draw(st.sampled_from(["utf8", "binary", "cp1258", "utf16"]))
        if kind == "binary":
            return suffix, draw(st.binary(max_size=300)), []
        text = draw(st.one_of(any_text.map(lambda s: s[:5000]), vi_sentence))
        return suffix, text.encode({"utf8": "utf-8", "cp1258": "cp1258", "utf16": "utf-16"}[kind],
                                   errors="surrogatepass" if kind != "cp1258" else "replace"), []
    if suffix == ".html":
        markup = draw(html_doc)
        repeat = draw(st.sampled_from([1, 1, 1, 2_000]))  # "<a " * 20,000: quadratic in html.parser
        return suffix, (markup * repeat).encode("utf-8", errors="surrogatepass"), []
    kind = draw(st.sampled_from(["paragraphs", "paragraphs", "random-xml", "not-zip", "no-part", "truncated", "bomb",
                                 "stored"]))
    paras = draw(paragraphs)
    if kind == "random-xml":
        return suffix, docx_bytes(draw(html_doc).replace("p>", "w:p>").encode("utf-8", "surrogatepass")), []
    if kind == "not-zip":
        return suffix, draw(st.binary(max_size=300)), []
    if kind == "no-part":
        return suffix, docx_bytes(docx_xml(paras), part="word/other.xml"), []
    if kind == "truncated":
        data = docx_bytes(docx_xml(paras))
        return suffix, data[: draw(st.integers(0, len(data) - 1))], []
    if kind == "bomb":  # inflates past the (test's small) MAX_INFLATED_BYTES
        return suffix, docx_bytes(docx_xml(["Bóng đá " + " " * 300_000])), []
    method = zipfile.ZIP_STORED if kind == "stored" else zipfile.ZIP_DEFLATED
    return suffix, docx_bytes(docx_xml(paras), method=method), [p for p in paras if has_visible_text(p)]


def check_document(suffix: str, data: bytes, expect: list[str], folder: Path) -> str:
    """"ok", or the DocumentError's first words; AssertionError for a malformed answer."""
    from model import limits
    from serve.documents import DocumentError, read_document

    path = folder / f"upload{suffix}"
    path.write_bytes(data)
    try:
        title, text = read_document(path)
    except DocumentError as e:
        return "DocumentError: " + problem_kind(str(e).removeprefix(f"{path.name}:"))
    assert isinstance(title, str) and isinstance(text, str)
    assert len(text) <= limits.MAX_TEXT_CHARS and len(title) <= limits.MAX_TITLE_CHARS
    flat = " ".join(text.split())
    for para in expect:
        words = " ".join(para.split())
        assert words in flat or len(flat) >= limits.MAX_TEXT_CHARS - len(words), f"lost paragraph {para!r}"
    return "ok"


@FUZZ
@given(doc=documents())
def test_documents_read_or_raise_document_error(doc, tmp_path_factory):
    pytest.importorskip("lxml")
    from model import limits

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(limits, "MAX_INFLATED_BYTES", 200_000)  # bombs stay small and quick
        check_document(*doc, tmp_path_factory.mktemp("fuzz-doc", numbered=True))
