"""Turning what an editor uploads into article text: .txt, .html and .docx, safely.

Uploads are untrusted: every failure becomes a ``DocumentError`` with a message for the
page, never a traceback, and no upload may take long or much memory to read:

- the file itself is at most ``limits.MAX_UPLOAD_BYTES`` (gradio's ``max_file_size`` refuses
  larger ones before they reach us; checked here again for direct callers);
- a .docx is a zip: the inflated size of its ``word/document.xml`` is checked before it is
  read (``limits.MAX_INFLATED_BYTES``), and it is read with that cap, so a decompression
  bomb is refused at once; its paragraphs are found by one linear scan of the XML;
- HTML goes through lxml (libxml2), driven as a streaming parser that builds no tree: linear
  in the input (the standard library's ``html.parser`` is quadratic on input such as
  ``"<a " * 20000``: 44-75 s for 60 KB);
- the text is cut to ``limits.MAX_TEXT_CHARS`` characters, with a note saying so.
"""
from __future__ import annotations

import html
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from model import limits

# What gradio's ``max_file_size`` is set to; read again at call time below (tests may change limits).
MAX_UPLOAD_BYTES = limits.MAX_UPLOAD_BYTES
SUFFIXES = (".txt", ".html", ".htm", ".docx")
DOCX_TEXT_PART = "word/document.xml"
BINARY_SAMPLE_BYTES = 4096  # the start of a file that tells text from binary
BINARY_BAD_SHARE = 0.05  # more undecodable or control characters than this: binary
MB = 1024 * 1024


class DocumentError(ValueError):
    pass


@dataclass(frozen=True)
class Document:
    """An uploaded article: its title (HTML's <title>, else ""), its text, and notes for the page."""

    title: str
    text: str
    notes: tuple[str, ...] = ()


def _paragraphs(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


# --- HTML -----------------------------------------------------------------------------------
_BLOCK, _SKIP, _TITLE = 1, 2, 3
# What an element means for the text: a block (a paragraph break before and after it), an
# element whose text is not shown, or the title. libxml2 gives tag names in lower case.
_TAG_KINDS = {**dict.fromkeys(("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article",
                               "figcaption"), _BLOCK),
              **dict.fromkeys(("script", "style", "noscript", "template", "head"), _SKIP), "title": _TITLE}


class _TextTarget:
    """Visible text of an HTML page, one paragraph per block element: an lxml parser target
    (start/end/data events; no tree is built, so memory stays that of the text). Called once per
    tag and text node, so each call does as little as it can."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.title: list[str] = []
        self.skipping = 0
        self.in_title = 0

    def start(self, tag, attrib):
        kind = _TAG_KINDS.get(tag)
        if kind is None:
            return
        if kind == _BLOCK:
            self.parts.append("\n")
        elif kind == _SKIP:
            self.skipping += 1
        else:
            self.in_title += 1

    def end(self, tag):
        kind = _TAG_KINDS.get(tag)
        if kind is None:
            return
        if kind == _BLOCK:
            self.parts.append("\n")
        elif kind == _SKIP:
            self.skipping -= self.skipping > 0
        else:
            self.in_title -= self.in_title > 0

    def data(self, data):
        if self.in_title:
            self.title.append(data)
        elif not self.skipping:
            self.parts.append(data)

    def close(self):
        return " ".join("".join(self.title).split()), _paragraphs("".join(self.parts))


def html_to_text(markup: str) -> tuple[str, str]:
    """(title, body text) of an HTML document, in time linear in its length."""
    target = _TextTarget()
    # huge_tree lifts libxml2's nesting limit (256) to 2048 levels: real pages never come close,
    # and a page nested deeper is read up to that depth. No network, no entities from a DTD.
    parser = etree.HTMLParser(target=target, encoding="utf-8", huge_tree=True, no_network=True,
                              remove_comments=True, remove_pis=True)
    try:
        parser.feed(markup.encode("utf-8", errors="replace"))
        return parser.close()
    except etree.LxmlError:  # e.g. a document with nothing in it
        return "", ""


# --- .docx ----------------------------------------------------------------------------------
# The WordprocessingML tags that carry text: paragraphs (w:p), text runs (w:t), tabs and line
# breaks. Every step below is one regular-expression or string pass run in C, with literal
# replacements, so a 20 MB document.xml of nothing but tags reads in about a second; each
# pattern's runs are bounded by the next "<" or ">", so none backtracks quadratically.
# (Each pattern starts with a literal "<", which the regex engine skips to: a pattern starting
# with an alternation or a lookbehind is tried at every character, several times slower.)
_DOCX_BREAK = re.compile(r"<(?:/w:p>|w:p(?:\s[^<>]*)?/>|w:[bc]r(?:\s[^<>]*)?/?>)")
_DOCX_TAB = re.compile(r"<w:tab(?:\s[^<>]*)?/?>")
_DOCX_TEXT_OPEN = re.compile(r"<w:t(?:\s[^<>]*)?(?<!/)>")
_ANY_TAG = re.compile(r"<[^<>]*>")
_RUN_OPEN, _RUN_CLOSE = "\x02", "\x03"  # control characters XML 1.0 does not allow in a document
# Text after a run's end, a break or a tab, up to the next of them or the next run: between
# the runs, not in them (one pattern per marker, each replaced by its marker alone).
_BETWEEN_RUNS = [(re.compile(f"{marker}[^\x02\x03\n\t]+"), marker) for marker in ("\x03", "\n", "\t")]
_XML_NAMED = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"))
# Escaped run text beyond this many times the character limit is not read: entities and spaces
# never shrink real text that much, and it bounds the (slower) numeric-reference unescaping.
RAW_FACTOR = 2
MAX_ENTITY_CHARS = 12  # "&#x10FFFF;" and the like


def _unescape_xml(text: str) -> str:
    if "&" not in text:
        return text
    if "&#" in text:  # numeric references: rare in Word's files; the caller bounds the text
        return html.unescape(text)
    text = text.replace("&amp;", "\x00")  # XML has no NUL, so it marks "&" until the others are done
    for entity, char in _XML_NAMED:
        text = text.replace(entity, char)
    return text.replace("\x00", "&")


def docx_xml_to_text(xml: str, max_chars: int | None = None) -> tuple[str, bool]:
    """The paragraphs of a ``word/document.xml``, one per line, and whether there was more
    text than ``max_chars`` (the text is then cut there)."""
    for c in ("\x00", _RUN_OPEN, _RUN_CLOSE):
        xml = xml.replace(c, "")
    for c in ("\r", "\n", "\t"):  # whitespace in XML; from here on "\n" and "\t" mark breaks and tabs
        xml = xml.replace(c, " ")
    xml = _DOCX_BREAK.sub("\n", xml)
    xml = _DOCX_TAB.sub("\t", xml)
    xml = _DOCX_TEXT_OPEN.sub(_RUN_OPEN, xml).replace("</w:t>", _RUN_CLOSE)
    xml = _ANY_TAG.sub("", xml)
    xml = _RUN_CLOSE + xml  # text outside runs (and between tags) is not the article's
    for pattern, marker in _BETWEEN_RUNS:
        xml = pattern.sub(marker, xml)
    raw = xml.replace(_RUN_OPEN, "").replace(_RUN_CLOSE, "")
    del xml
    cut = False
    if max_chars is not None and len(raw) > RAW_FACTOR * max_chars:
        # Far more than can be kept: unescape and tidy only the start (never splitting an entity).
        end = RAW_FACTOR * max_chars
        amp = raw.rfind("&", end - MAX_ENTITY_CHARS, end)
        raw, cut = raw[: amp if amp >= 0 and ";" not in raw[amp:end] else end], True
    text = _paragraphs(_unescape_xml(raw))
    if max_chars is not None and len(text) > max_chars:
        text, cut = text[:max_chars], True
    return text, cut


def docx_to_text(path: Path, max_chars: int | None = None) -> tuple[str, bool]:
    """The paragraphs of a .docx and whether its text was cut at ``max_chars``; a part that
    inflates past ``limits.MAX_INFLATED_BYTES`` is refused before it is read."""
    limit = limits.MAX_INFLATED_BYTES
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo(DOCX_TEXT_PART)
            # The upload limit counts compressed bytes; a zip says how big each part inflates.
            if info.file_size > limit:
                raise DocumentError(
                    f"{path.name}: its text part inflates to {info.file_size / MB:,.1f} MB, over the "
                    f"{limit / MB:,.0f} MB limit for an unpacked upload (NEWSLENS_MAX_INFLATED_BYTES); "
                    "not read.")
            with z.open(info) as f:
                data = f.read(limit + 1)  # the cap holds even if the zip's sizes lie
            if len(data) > limit:
                raise DocumentError(f"{path.name}: its text part inflates to more than {limit / MB:,.0f} MB "
                                    "(NEWSLENS_MAX_INFLATED_BYTES); not read.")
        xml = data.decode("utf-8")
    except DocumentError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, UnicodeDecodeError, EOFError, OSError,
            NotImplementedError, RuntimeError, ValueError) as e:
        # RuntimeError: an encrypted part; NotImplementedError: an unknown compression method
        raise DocumentError(f"{path.name}: not a readable .docx file ({type(e).__name__}: {e}).") from None
    del data
    return docx_xml_to_text(xml, max_chars)


# --- any upload -----------------------------------------------------------------------------
def looks_binary(data: bytes) -> bool:
    sample = data[:BINARY_SAMPLE_BYTES]
    if b"\x00" in sample:
        return True
    text = sample.decode("utf-8", errors="replace")
    bad = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\n\r\t"))
    return bad > BINARY_BAD_SHARE * max(len(text), 1)


def cut_note(limit: int, loaded: int, length: int | None = None) -> str:
    """The page's note for a text cut to its first ``loaded`` characters (``length``: how long it was, if known)."""
    how_long = f"{length:,} characters long" if length is not None else f"longer than the limit of {limit:,} characters"
    return (f"The file's text is {how_long}; only its first {loaded:,} characters were loaded "
            f"(limit: {limit:,} characters, set by NEWSLENS_MAX_TEXT_CHARS on the server).")


def load_document(path: str | Path, max_chars: int | None = None) -> Document:
    """An uploaded article, its text cut to ``max_chars`` (default ``limits.MAX_TEXT_CHARS``)
    with a note when it was longer; ``DocumentError`` says what is wrong."""
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DocumentError(f"{name}: unsupported file type; upload {', '.join(SUFFIXES)}.")
    try:
        size = path.stat().st_size
    except OSError as e:
        raise DocumentError(f"{name}: cannot be read ({e.strerror}).") from None
    if size > limits.MAX_UPLOAD_BYTES:
        raise DocumentError(f"{name}: {size / MB:.1f} MB is over the {limits.MAX_UPLOAD_BYTES / MB:.0f} MB upload "
                            "limit (NEWSLENS_MAX_UPLOAD_BYTES).")
    max_chars = limits.MAX_TEXT_CHARS if max_chars is None else max_chars
    title, notes = "", []
    if suffix == ".docx":
        text, cut = docx_to_text(path, max_chars)
        if cut:
            notes.append(cut_note(max_chars, len(text)))
    else:
        data = path.read_bytes()
        if looks_binary(data):
            raise DocumentError(f"{name}: this does not look like a text file (binary content).")
        text = data.decode("utf-8", errors="replace")
        del data
        if suffix in (".html", ".htm"):
            title, text = html_to_text(text)
    if len(text) > max_chars:
        notes.append(cut_note(max_chars, max_chars, len(text)))
        text = text[:max_chars]
    if len(title) > limits.MAX_TITLE_CHARS:
        title = title[: limits.MAX_TITLE_CHARS]
    return Document(title, text, tuple(notes))


def read_document(path: str | Path) -> tuple[str, str]:
    """(title, text) of an uploaded article, the text cut to ``limits.MAX_TEXT_CHARS``;
    ``DocumentError`` says what is wrong. ``load_document`` also gives the notes."""
    doc = load_document(path)
    return doc.title, doc.text
