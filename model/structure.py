"""What each line of a pasted news page is: body text, or page furniture an editor never
quotes (photo captions, bylines, subheadings, "related articles" blocks, image file names,
match boxes and editors' notes),
and the dateline or outlet tag that opens a lead ("(NTO)", "HÀ NỘI -", "(Dân trí) -").

The rules read one line at a time, with its neighbours, the way a page is laid out; they were
written against real pages (``vims``, ``recent``, the app's HTML and DOCX paths) and are
measured on lines labelled by hand in ``data/structure_lines.tsv`` (``bench/structure.py``).
Only the summary uses them: furniture is never a draft sentence. Keywords and type read every
line as before (nothing was measured to gain from reading them differently).
"""
from __future__ import annotations

import re

import numpy as np

from .text import split_sentences

BODY, CAPTION, BYLINE, HEADING, RELATED, FILENAME = "body", "caption", "byline", "heading", "related", "filename"
BOX = "box"  # a match box ("Ghi bàn: …", "Đội hình:") or an editor's note ("*Tên nhân vật đã được thay đổi")
FURNITURE = frozenset({CAPTION, BYLINE, HEADING, RELATED, FILENAME, BOX})
MAX_CAPTION_WORDS = 45  # longer lines that end with a credit are body text quoting a source
# Subheadings run to 20 words in Dân trí ("Học bổng toàn phần Đại học Bắc Kinh với ước mơ làm
# giảng viên đại học"); a body paragraph without final punctuation is longer.
MAX_HEADING_WORDS = 20

_UPPER = "A-ZÀ-ỸĐ"
# A caption ends with its credit: "... phát biểu. Ảnh: Thanh Xuân", "(Ảnh: TTXVN)", "Nguồn: Reuters".
_CREDIT_RE = re.compile(r"(?:^|[\s.(\-–—|])\(?\s*(?:ảnh|nguồn|video|clip|đồ họa|đồ hoạ|photo|infographic)"
                        r"(?:\s+minh\s+họa)?\s*[:：]\s*[^.!?:]{1,60}\)?\s*[.]?\s*$", re.IGNORECASE)
# ... or is only the credit: "Ảnh minh họa", "(Ảnh minh họa)", "Ảnh: Internet".
_CREDIT_ONLY_RE = re.compile(r"^\(?\s*(?:ảnh|hình)\s+(?:minh\s+họa|internet|tư\s+liệu)\s*\)?\s*\.?$", re.IGNORECASE)
_RELATED_RE = re.compile(r"^\s*(?:>>+|»|xem\s+thêm|tin\s+liên\s+quan|bài\s+liên\s+quan|đọc\s+thêm|tin\s+cùng\s+chuyên\s+mục)"
                         r"\b", re.IGNORECASE)
# Sports pages end with a box of facts, often marked "*"; stories about private people carry a note.
_BOX_RE = re.compile(r"^\*?\s*(?:ghi bàn|dự đoán|đội hình(?: xuất phát| ra sân)?|thẻ đỏ|thẻ vàng|sân vận động|trọng tài)"
                     r"\s*[:：]", re.IGNORECASE)
_NOTE_RE = re.compile(r"^\*?\s*\(?\s*(?:tên|họ tên)\s+(?:các\s+|của\s+|những\s+)?"
                      r"(?:nhân vật|bị hại|người|bệnh nhân|học sinh|trẻ|em|chị|anh)[^.]{0,60}thay đổi", re.IGNORECASE)
_FILENAME_RE = re.compile(r"^\S*\.(?:jpe?g|png|gif|webp|bmp|svg)(?:\?\S*)?$", re.IGNORECASE)
# Bylines: "Thanh Xuân", "NGUYỄN VĂN AN", "Theo VnExpress", "PV", "Hoàng Anh (Vietnam+)", "Nhóm PV".
_SOURCE_RE = re.compile(r"^\(?\s*(?:theo|nguồn)\s+\S.{0,50}$", re.IGNORECASE)
# Each word of the name ends at white space or at the end: with "\s*" a long run of capitals
# could be cut into five words in O(n^4) ways before failing (found by tests/test_fuzz.py).
_NAME_RE = re.compile(rf"^(?:[{_UPPER}][^\s\d]*(?:\s+|$)){{1,5}}(?:\([^)]{{1,30}}\))?\.?$")
_TERMINAL = tuple(".!?…:;\"”'’)")
_CLOSING_QUOTES = "\"”'’"
_SENTENCE_END = tuple(".!?…:;)")
_DASHES = "-–—"
MAX_QUESTION_WORDS = 60  # an interviewer's question; longer dashed lines are answers or lists
# A sentence ending inside a line: the line says more than one thing.
_INNER_END_RE = re.compile(rf"[.!?…:;][\"”'’)]?\s+[\"“'‘(]?[{_UPPER}0-9]")
# A dateline or outlet tag before the lead: "(NTO) ", "(Dân trí) - ", "HÀ NỘI - ", "TP HCM – ".
DATELINE_RE = re.compile(rf"^\s*(?:\((?=[^)]{{1,40}}\))[^)]+\)\s*(?:[-–—:]\s*)?|[{_UPPER}][{_UPPER}. ]{{1,24}}\s[-–—]\s+)")


def words(line: str) -> int:
    return len(line.split())


def line_kinds(text: str, paged: bool | None = None) -> list[str]:
    """The kind of each line of ``text`` (``text.split("\\n")``); blank lines are body.

    ``paged``: whether the text is laid out in paragraphs (``laid_out_in_paragraphs``; worked
    out from ``text`` when not given). Only on such a page is a line that only asks a
    subheading: in a text of one sentence a line (VietNews' bodies), a line is a sentence."""
    lines = text.split("\n")
    kinds = [BODY] * len(lines)
    related = False
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            related = False  # a related block ends at a blank line
            continue
        n = words(line)
        if _RELATED_RE.match(line):
            kinds[i], related = RELATED, True
            continue
        if related and n <= 25 and not line.endswith(_TERMINAL[:4]):  # the titles listed under it
            kinds[i] = RELATED
            continue
        related = False
        if _FILENAME_RE.match(line):
            kinds[i] = FILENAME
        elif _BOX_RE.match(line) or _NOTE_RE.match(line):
            kinds[i] = BOX
        elif n <= MAX_CAPTION_WORDS and (_CREDIT_RE.search(line) or _CREDIT_ONLY_RE.match(line)):
            kinds[i] = CAPTION
            # A caption broken over lines: the lines just above it that do not end a sentence.
            j = i - 1
            while j >= 0 and lines[j].strip() and kinds[j] == BODY and not lines[j].strip().endswith(_TERMINAL) \
                    and words(lines[j]) <= 40 and i - j <= 2:
                kinds[j] = CAPTION
                j -= 1
    # Bylines and subheadings: short lines without final punctuation, set apart from the body.
    body_lines = [i for i, k in enumerate(kinds) if k == BODY and lines[i].strip()]
    if len(body_lines) < 2:
        return kinds  # a one-paragraph input (a lead, a feed item) has no furniture to find
    last = body_lines[-1]
    if paged is None:
        paged = laid_out_in_paragraphs(split_sentences(text))
    for i in body_lines:
        line = lines[i].strip()
        if paged and i != body_lines[0] and asks(line):
            kinds[i] = HEADING
            continue
        if ends_sentence(line) or words(line) > MAX_HEADING_WORDS:
            continue
        if i == last and words(line) <= 8 and (_NAME_RE.match(line) or _SOURCE_RE.match(line)):
            kinds[i] = BYLINE
        elif i != last:
            kinds[i] = HEADING
        elif words(line) <= 8:
            kinds[i] = BYLINE
    return kinds


def asks(line: str) -> bool:
    """A line that only asks: a subheading put as a question ("Vì sao pin sạc dự phòng lại có
    thể phát nổ?"), or an interviewer's question ("- Cuộc sống của anh ở New Zealand thế
    nào?"). Neither says what the article reports, so neither is a draft sentence."""
    core = line.rstrip(_CLOSING_QUOTES + " ")
    if not core.endswith("?"):
        return False
    if line[:1] in _DASHES and words(line) <= MAX_QUESTION_WORDS:
        return True
    return words(line) <= MAX_HEADING_WORDS and not _INNER_END_RE.search(core[:-1])


def ends_sentence(line: str) -> bool:
    """Whether a line ends with a sentence's punctuation, inside its closing quotes too.
    Subheadings end in a quoted word as often as not ('Nuôi "con thoát nghèo"', "Bà Trương Mỹ
    Lan: 'Tài sản kê biên đủ khắc phục vụ án'"): a closing quote alone does not end a sentence."""
    core = line.rstrip(_CLOSING_QUOTES + " ")
    return not core or core.endswith(_SENTENCE_END)


def strip_dateline(sentence: str) -> str:
    """A lead sentence without its dateline or outlet tag; unchanged if it has none or if
    nothing would be left."""
    m = DATELINE_RE.match(sentence)
    if not m or not sentence[m.end():].strip():
        return sentence
    rest = sentence[m.end():].lstrip()
    return rest[:1].upper() + rest[1:]


def laid_out_in_paragraphs(sentences) -> bool:
    """Whether a text is laid out in paragraphs, as a news page is, rather than one sentence
    per line (VietNews' bodies): at least three of the paragraphs after the first hold two
    sentences or more, and at least a fifth of them do. Only then is the first paragraph a lead."""
    per_paragraph: dict[int, int] = {}
    for s in sentences:
        per_paragraph[s.paragraph] = per_paragraph.get(s.paragraph, 0) + 1
    after_first = list(per_paragraph.values())[1:]
    several = sum(n >= 2 for n in after_first)
    return several >= 3 and several >= 0.2 * len(after_first)


def furniture_mask(text: str, sentences) -> np.ndarray:
    """True for each sentence of ``split_sentences(text)`` that lies on a furniture line."""
    kinds = line_kinds(text, laid_out_in_paragraphs(sentences))
    return np.array([kinds[s.paragraph] in FURNITURE for s in sentences], dtype=bool)


def quote_fragments(text: str, sentences) -> np.ndarray:
    """True for each sentence of ``split_sentences(text)`` that starts or ends inside a
    quotation: a piece of a quote of several sentences ('Họ cần gì ở mình?", Hoàng nói.'),
    whose dangling quote mark reads as broken in a draft.

    Quotes are followed within a paragraph: curly ones by depth, straight ones by parity. A
    paragraph whose marks do not balance (a typo, a quote running on into the next paragraph)
    is left alone. One pass over the text: each character is counted once.
    """
    out = np.zeros(len(sentences), dtype=bool)
    paragraphs = text.split("\n")
    starts = np.cumsum([0] + [len(p) + 1 for p in paragraphs]).tolist()
    current, balanced, pos, depth, straight = -1, False, 0, 0, 0
    for i, s in enumerate(sentences):
        if s.paragraph != current:  # sentences come in order: a new paragraph starts afresh
            current, pos, depth, straight = s.paragraph, 0, 0, 0
            paragraph = paragraphs[current]
            balanced = paragraph.count("“") == paragraph.count("”") and paragraph.count('"') % 2 == 0
        if not balanced:
            continue
        open_at = []
        for stop in (s.start - starts[current], s.end - starts[current]):
            piece = paragraph[pos:stop]
            depth += piece.count("“") - piece.count("”")
            straight += piece.count('"')
            pos = max(pos, stop)
            open_at.append(depth > 0 or straight % 2 == 1)
        out[i] = any(open_at)
    return out


def repeated_sentences(sentences) -> np.ndarray:
    """True for each sentence that says again, word for word, a sentence before it (case and
    spacing aside). Photo galleries print each caption twice (as alt text and under the image),
    and a draft that says the same sentence twice is the first thing an editor cuts."""
    seen: set[str] = set()
    out = np.zeros(len(sentences), dtype=bool)
    for i, s in enumerate(sentences):
        key = " ".join(s.text.casefold().split())
        out[i] = key in seen
        seen.add(key)
    return out


def draft_exclusions(text: str, sentences) -> np.ndarray:
    """Sentences never offered as a draft sentence: page furniture, pieces of quotes, and
    sentences said before."""
    return furniture_mask(text, sentences) | quote_fragments(text, sentences) | repeated_sentences(sentences)
