"""Turning what an editor uploads into article text: .txt, .html and .docx, safely.

Uploads are untrusted: every failure becomes a ``DocumentError`` with a message for the
page, never a traceback. No third-party parser is needed: HTML goes through the standard
library's parser, and a .docx is a zip whose ``word/document.xml`` holds the paragraphs.
"""
from __future__ import annotations

import html
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # also enforced by gradio's max_file_size
SUFFIXES = (".txt", ".html", ".htm", ".docx")


class DocumentError(ValueError):
    pass


class _TextExtractor(HTMLParser):
    """Visible text of an HTML page, one paragraph per block element."""

    BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "figcaption"}
    SKIP = {"script", "style", "noscript", "template", "head"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        if tag == "title":
            self._in_title = True
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        if tag == "title":
            self._in_title = False
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self.skipping:
            self.parts.append(data)


def _paragraphs(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def html_to_text(markup: str) -> tuple[str, str]:
    """(title, body text) of an HTML document."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return " ".join(parser.title.split()), _paragraphs("".join(parser.parts))


def docx_to_text(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            xml = z.read("word/document.xml").decode("utf-8")
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError) as e:
        raise DocumentError(f"{path.name}: not a readable .docx file ({e}).") from None
    paragraphs = []
    for p in re.findall(r"<w:p[ >].*?</w:p>", xml, flags=re.S):
        runs = re.findall(r"<w:t(?: [^>]*)?>(.*?)</w:t>", p, flags=re.S)
        paragraphs.append(html.unescape("".join(runs)))
    return _paragraphs("\n".join(paragraphs))


def looks_binary(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return True
    text = sample.decode("utf-8", errors="replace")
    bad = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\n\r\t"))
    return bad > 0.05 * max(len(text), 1)


def read_document(path: str | Path) -> tuple[str, str]:
    """(title, text) of an uploaded article; ``DocumentError`` says what is wrong."""
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DocumentError(f"{name}: unsupported file type; upload {', '.join(SUFFIXES)}.")
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise DocumentError(f"{name}: {size / 1e6:.1f} MB is over the {MAX_UPLOAD_BYTES / 1e6:.0f} MB upload limit.")
    if suffix == ".docx":
        return "", docx_to_text(path)
    data = path.read_bytes()
    if looks_binary(data):
        raise DocumentError(f"{name}: this does not look like a text file (binary content).")
    text = data.decode("utf-8", errors="replace")
    if suffix in (".html", ".htm"):
        return html_to_text(text)
    return "", text
