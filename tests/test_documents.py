"""The document reader (serve/documents.py) on hostile uploads: bombs, quadratic HTML, huge text.

Each regression test feeds the kind of input that broke it (issue 15): it asserts what the
reader does (refuses, cuts with a note, finishes), and bounds time only generously, through a
thread that must finish, never with a tight timing assert.
"""
from __future__ import annotations

import threading
import zipfile

import pytest

pytest.importorskip("lxml")

from model import limits  # noqa: E402
from serve import documents  # noqa: E402
from serve.documents import DocumentError, docx_xml_to_text, html_to_text, load_document, read_document  # noqa: E402

SPORTS = "Đội tuyển bóng đá giành chiến thắng trong trận đấu. Cầu thủ ghi bàn thắng quyết định ở phút cuối."
# The slow inputs took 44-75 s before (quadratic); linear, they take well under a second. A
# generous bound: a loaded CI machine may be many times slower, and still never near the old time.
FINISHES_WITHIN_S = 30
DOCX_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>')
DOCX_TAIL = "</w:body></w:document>"


def finishes(fn, *args, seconds: float = FINISHES_WITHIN_S, **kwargs):
    """``fn(*args, **kwargs)`` run in a thread that must end within ``seconds``; its result (or exception)."""
    out: dict = {}

    def run():
        try:
            out["result"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            out["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{getattr(fn, '__name__', fn)} still running after {seconds} s"
    if "error" in out:
        raise out["error"]
    return out["result"]


def write_docx(path, unit: str, inflated_bytes: int | None = None, repeat: int = 1):
    """A .docx whose document.xml is ``unit`` repeated (``repeat`` times, or until it inflates
    to ``inflated_bytes``), written in blocks so the test never holds it whole."""
    data = unit.encode("utf-8")
    if inflated_bytes is not None:
        repeat = inflated_bytes // len(data) + 1
    block = data * 1000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            f.write(DOCX_HEAD.encode())
            for _ in range(repeat // 1000):
                f.write(block)
            f.write(data * (repeat % 1000))
            f.write(DOCX_TAIL.encode())
    return path


def paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


# --- .docx: decompression bombs -------------------------------------------------------------------
def test_a_docx_bomb_is_refused_before_it_is_inflated(tmp_path, monkeypatch):
    # A small file whose document.xml inflates past the limit (the 5 MB upload limit counts
    # compressed bytes: a 0.56 MB .docx held 210 MB of XML and took 552 s in the app).
    bomb = write_docx(tmp_path / "bomb.docx", paragraph("Bóng đá Việt Nam " * 60),
                      inflated_bytes=limits.MAX_INFLATED_BYTES + 1024 * 1024)
    assert bomb.stat().st_size < limits.MAX_UPLOAD_BYTES  # it passes the upload limit
    assert zipfile.ZipFile(bomb).getinfo("word/document.xml").file_size > limits.MAX_INFLATED_BYTES
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: opened.append(a) or real_open(self, *a, **k))
    with pytest.raises(DocumentError, match="inflates to .* MB, over the .* MB limit.*NEWSLENS_MAX_INFLATED_BYTES"):
        finishes(load_document, bomb)
    assert not opened  # refused from the zip's directory: nothing was inflated


def test_a_docx_whose_sizes_lie_is_read_with_a_cap(tmp_path, monkeypatch):
    # The zip's directory may understate the size: the read itself stops at the limit.
    monkeypatch.setattr(limits, "MAX_INFLATED_BYTES", 10_000)
    path = write_docx(tmp_path / "liar.docx", paragraph("Bóng đá " * 50), inflated_bytes=50_000)
    real = zipfile.ZipFile.getinfo

    def small(self, name):
        info = real(self, name)
        info.file_size = 1_000  # what a forged directory would say
        return info

    monkeypatch.setattr(zipfile.ZipFile, "getinfo", small)
    with pytest.raises(DocumentError):  # "more than ... MB" or an unreadable zip: never 50 KB of text
        load_document(path)


def test_docx_text_over_the_character_limit_is_cut_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEXT_CHARS", 5_000)
    path = write_docx(tmp_path / "long.docx", paragraph(SPORTS), repeat=2_000)  # ~200,000 characters
    doc = finishes(load_document, path)
    assert len(doc.text) == 5_000 and doc.text.startswith(SPORTS)
    assert len(doc.notes) == 1 and "5,000" in doc.notes[0] and "NEWSLENS_MAX_TEXT_CHARS" in doc.notes[0]
    assert read_document(path)[1] == doc.text  # the (title, text) form is cut as well


@pytest.mark.parametrize("unit", [
    "<w:t ",  # unclosed run tags: a lazy ".*?" or "[^>]*" scan would be quadratic here
    "<w:p ",
    "<w:p>",  # paragraphs that never close
    "<w:r><w:rPr><w:b/></w:rPr></w:r>",  # nothing but tags
    paragraph("&#7879;" * 50),  # numeric references, slow to unescape
], ids=["unclosed-t", "unclosed-p", "open-p", "tags", "numeric-refs"])
def test_pathological_docx_xml_at_the_size_limit_reads_in_linear_time(tmp_path, monkeypatch, unit):
    # At a 4 MB limit (the default's fifth, to spare CI): a quadratic scan would take hours here.
    monkeypatch.setattr(limits, "MAX_INFLATED_BYTES", 4 * 1024 * 1024)
    path = write_docx(tmp_path / "x.docx", unit, inflated_bytes=limits.MAX_INFLATED_BYTES - 64 * 1024)
    doc = finishes(load_document, path)
    assert len(doc.text) <= limits.MAX_TEXT_CHARS


def test_docx_paragraphs_runs_tabs_breaks_and_entities():
    xml = (DOCX_HEAD + '<w:p w:rsidR="00AB"><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:rPr><w:b/></w:rPr>'
           '<w:t>Tiêu đề</w:t></w:r></w:p>\n<w:p><w:r><w:t xml:space="preserve">Đội tuyển </w:t></w:r>'
           '<w:r><w:t>&amp; bạn &lt;3 &quot;x&quot;</w:t><w:tab/><w:t>a</w:t><w:br/><w:t>b</w:t></w:r></w:p>'
           '<w:tbl><w:tr><w:tc><w:p><w:r><w:t>ô</w:t></w:r></w:p></w:tc></w:tr></w:tbl><w:p/>'
           '<w:p><w:r><w:instrText>HYPERLINK "x"</w:instrText></w:r><w:hyperlink><w:r><w:t>liên kết</w:t></w:r>'
           '</w:hyperlink><w:r><w:delText>đã xoá</w:delText></w:r><w:r><w:t/><w:t>&#7879;&#x1EC7;</w:t></w:r></w:p>'
           + DOCX_TAIL)
    text, cut = docx_xml_to_text(xml)
    assert text == 'Tiêu đề\nĐội tuyển & bạn <3 "x" a\nb\nô\nliên kếtệệ' and not cut


@pytest.mark.parametrize("content", [b"not a zip", b"PK\x03\x04broken"])
def test_a_damaged_docx_is_refused_with_a_message(tmp_path, content):
    (tmp_path / "bad.docx").write_bytes(content)
    with pytest.raises(DocumentError, match="not a readable .docx"):
        load_document(tmp_path / "bad.docx")
    with zipfile.ZipFile(tmp_path / "empty.docx", "w") as z:
        z.writestr("other.xml", "<x/>")
    with pytest.raises(DocumentError, match="not a readable .docx"):
        load_document(tmp_path / "empty.docx")


# --- HTML: no quadratic parser -------------------------------------------------------------------
@pytest.mark.parametrize("markup", [
    "<a " * 20000,  # 60 KB: 44 s in the standard library's html.parser
    "<!--" + "<a " * 20000,
    "<!" * 30000,
    "<div>" * 100000 + "x",  # deep nesting
], ids=["unclosed-a", "open-comment", "bang", "deep"])
def test_pathological_html_finishes(markup):
    title, text = finishes(html_to_text, markup)
    assert isinstance(title, str) and isinstance(text, str)


def test_pathological_html_upload_finishes(tmp_path):
    path = tmp_path / "attack.html"
    path.write_text("<a " * 20000, encoding="utf-8")
    doc = finishes(load_document, path)
    assert doc.title == "" and isinstance(doc.text, str)


def test_html_visible_text_title_and_paragraphs():
    page = ("<html><head><meta charset='windows-1252'><title>Tin  thể thao &amp; bóng đá</title>"
            "<script>var x = '<p>no</p>';</script><style>p{color:red}</style></head><body>"
            "<nav><ul><li>Mục 1</li><li>Mục 2</li></ul></nav><article><H1>Tiêu đề</H1>"
            f"<p class='lead'>{SPORTS} <b>đậm</b> &lt;x&gt;&nbsp;&#7879;</p><div>hai<br>ba</div>"
            "<!-- comment --><noscript>bật JS</noscript><template><p>hidden</p></template>"
            "<table><tr><td>a</td><td>b</td></tr></table><p>không đóng <i>x</body></html>")
    title, text = html_to_text(page)
    assert title == "Tin thể thao & bóng đá"
    assert text.split("\n") == ["Mục 1", "Mục 2", "Tiêu đề", f"{SPORTS} đậm <x> ệ", "hai", "ba", "ab",
                                "không đóng x"]
    assert html_to_text("") == ("", "") and html_to_text("   ") == ("", "")


# --- any upload -----------------------------------------------------------------------------------
def test_text_over_the_character_limit_is_cut_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEXT_CHARS", 1_000)
    (tmp_path / "long.txt").write_text(SPORTS * 100, encoding="utf-8")
    doc = load_document(tmp_path / "long.txt")
    assert doc.text == (SPORTS * 100)[:1_000]
    assert "NEWSLENS_MAX_TEXT_CHARS" in doc.notes[0] and f"{len(SPORTS) * 100:,} characters" in doc.notes[0]
    (tmp_path / "short.txt").write_text(SPORTS, encoding="utf-8")
    assert load_document(tmp_path / "short.txt").notes == ()


def test_an_upload_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", 10_000)
    (tmp_path / "big.txt").write_text("a" * 10_001, encoding="utf-8")
    with pytest.raises(DocumentError, match="upload limit.*NEWSLENS_MAX_UPLOAD_BYTES"):
        load_document(tmp_path / "big.txt")


def test_unsupported_and_missing_files(tmp_path):
    with pytest.raises(DocumentError, match="unsupported file type"):
        load_document(tmp_path / "x.exe")
    with pytest.raises(DocumentError, match="cannot be read"):
        load_document(tmp_path / "missing.txt")


def test_upload_limit_is_the_one_in_model_limits():
    assert documents.MAX_UPLOAD_BYTES == limits.MAX_UPLOAD_BYTES
