"""Vietnamese text processing shared by every model: normalisation, sentences, tokens.

Everything here is a pure function of its input, so training and inference see text
through exactly the same lens.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# --- normalisation -----------------------------------------------------------------
# Vietnamese has two accepted placements of the tone mark in open syllables with the
# glides "oa", "oe", "uy": old style "hòa, khỏe, thủy" and new style "hoà, khoẻ, thuỷ".
# The corpora mix both, which splits one word into two TF-IDF features. We map to the
# old style because the label taxonomy itself is spelt that way ("Sức khỏe", "Văn hóa").
_TONED = {"a": "àáảãạ", "e": "èéẻẽẹ", "y": "ỳýỷỹỵ", "o": "òóỏõọ", "u": "ùúủũụ"}
_GLIDE_MAP: dict[str, str] = {}
for _first, _second in (("o", "a"), ("o", "e"), ("u", "y")):
    for _tone in range(5):
        for _up1, _up2 in ((str.lower, str.lower), (str.upper, str.upper), (str.upper, str.lower)):
            _new = _up1(_TONED[_first][_tone]) + _up2(_second)
            _GLIDE_MAP[_up1(_first) + _up2(_TONED[_second][_tone])] = _new
# Two letters, the second carrying the tone, with no letter after them (open syllable);
# "qu" is a consonant, so "quý" keeps its mark on the y (checked in ``_glide``: a pattern that
# starts with a look-behind is tried at every character, one that starts with [oOuU] is not,
# which makes normalising an article three times faster).
_GLIDE_RE = re.compile(r"[oOuU][" + "".join(sorted({k[1] for k in _GLIDE_MAP})) + r"](?!\w)")


def normalize(text: str) -> str:
    """NFC-normalise and spell the tone mark one way ("hoà" → "hòa", "khoẻ" → "khỏe").

    Also folds Windows/old-Mac line ends and non-breaking spaces, which the corpora use
    interchangeably with plain ones.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = text.replace("\u200b", "").replace("\ufeff", "")
    text = unicodedata.normalize("NFC", text)

    def _glide(m: re.Match) -> str:
        pair, start = m.group(0), m.start()
        return pair if start and text[start - 1] in "qQ" else _GLIDE_MAP.get(pair, pair)

    return _GLIDE_RE.sub(_glide, text)


# --- tokens --------------------------------------------------------------------------
_TOKEN_RE = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased syllables (runs of word characters) of already-normalised text."""
    return _TOKEN_RE.findall(text.lower())


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Vietnamese function words and phrases (lower-case, normalised), one per line."""
    raw = resources.files("model").joinpath("resources/stopwords_vi.txt").read_text("utf-8")
    words = (normalize(line.strip()).lower() for line in raw.splitlines())
    return frozenset(w for w in words if w and not w.startswith("#"))


# --- sentences -------------------------------------------------------------------------
# Abbreviations that end in a full stop inside a sentence ("TP. Hồ Chí Minh", "PGS. TS.").
ABBREVIATIONS = frozenset(
    a.lower()
    for a in (
        # Only tokens that are abbreviations; ordinary words ("ông", "sĩ") end sentences.
        "TP Tp tp Q P TS ThS Th.S PGS GS BS Bs KS CN NXB ĐH TT UBND HĐND TW Mr Mrs Ms Dr "
        "St Co Ltd Inc Jr Sr vs No Tr Ths TS.BS Nxb Tx TX Ph LS TSKH"
    ).split()
)
_CLOSERS = "\"'”’»)]}"
_OPENERS = "\"'“‘«([{"
# A candidate end: terminal punctuation, optional closing quotes, then white space. The
# lookbehind lets a match start only where a run of punctuation starts: without it, a long
# run not followed by a space ("....", 30,000 times) was retried from each of its characters
# (66 s, quadratic); the sentences found are the same (checked on 2,750 shared test texts).
_END_RE = re.compile(r"(?<![.!?…])([.!?…]+|\.\.\.)([" + re.escape(_CLOSERS) + r"]*)(\s+)")


@dataclass(frozen=True)
class Sentence:
    """One sentence and where it sits in the (normalised) text."""

    text: str
    start: int
    end: int
    paragraph: int


def _is_boundary(text: str, end: int, after: int, punct: str) -> bool:
    """Decide whether the punctuation ending at ``end`` closes a sentence.

    ``after`` is the index of the first character after the white space.
    """
    if after >= len(text):
        return True
    nxt = text[after]
    # The next sentence starts with a capital, a digit or an opening quote/dash.
    if not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS or nxt in "-–—•"):
        return False
    if punct.startswith("."):
        if punct in ("...",) or punct.startswith("…"):
            return True
        # The word before the full stop: an abbreviation or a lone initial ("N. V. An").
        start = end - len(punct)
        i = start
        while i > 0 and not text[i - 1].isspace():
            i -= 1
        word = text[i:start].lstrip(_OPENERS)
        if word.lower() in ABBREVIATIONS or word.lower().rstrip(".") in ABBREVIATIONS:
            return False
        # A chain of titles written with dots ("PGS.TS. Nguyễn Văn A", "ThS.LS. Trần B"): its
        # last title is an abbreviation. ("TP.HCM." ends a sentence: "hcm" is no title.)
        if "." in word and word.lower().rsplit(".", 1)[-1] in ABBREVIATIONS:
            return False
        if len(word) == 1 and word.isalpha() and word.isupper():
            return False
        if nxt.isdigit() and word.lower() in {"q", "p", "số", "no"}:
            return False
    return True


def split_sentences(text: str) -> list[Sentence]:
    """Split normalised text into sentences, Vietnamese-aware.

    Paragraph breaks always end a sentence, so captions and headings without final
    punctuation stand alone. Inside a paragraph we break after ``. ! ? …`` (and closing
    quotes) when the next word starts like a sentence, except after abbreviations such as
    "TP.", "TS.", "PGS." or initials; "1.000", "3,5" and "Q.1" never break because no
    space follows their punctuation.
    """
    sentences: list[Sentence] = []
    offset = 0
    for p_index, paragraph in enumerate(text.split("\n")):
        base = offset
        offset += len(paragraph) + 1
        if not paragraph.strip():
            continue
        pos = 0
        for m in _END_RE.finditer(paragraph):
            punct, closers = m.group(1), m.group(2)
            end = m.start(2) + len(closers)
            if not _is_boundary(paragraph, m.start(2), m.end(), punct):
                continue
            _append(sentences, paragraph, base, pos, end, p_index)
            pos = m.end()
        _append(sentences, paragraph, base, pos, len(paragraph), p_index)
    return sentences


def _append(out: list[Sentence], paragraph: str, base: int, start: int, end: int, p: int) -> None:
    chunk = paragraph[start:end]
    stripped = chunk.strip()
    if not stripped or not any(c.isalnum() for c in stripped):
        return
    lead = len(chunk) - len(chunk.lstrip())
    s = base + start + lead
    out.append(Sentence(stripped, s, s + len(stripped), p))


_TERMINAL = tuple(".!?…:;\"”'’)")
_BODY_END = tuple(".…:;,")  # a first line ending so is never a headline


# Unicode categories a reader can see: letters, numbers, punctuation, symbols. Not spaces,
# control or format characters (NUL, a BOM, zero-width spaces), nor combining marks alone.
_VISIBLE = frozenset("LNPS")


# A space before closing punctuation or after an opening bracket: what a crawler or a CMS leaves
# where it dropped an italic title ("gồm ba phần: Mây trôi về nam , Cơm thừa Như Lai ."). Spaces
# only, never a line break.
_LOOSE_BEFORE_RE = re.compile(r"[ \t\u00a0]+(?=[,;.!?)\]]|:(?![ \t]*\d))")
_LOOSE_AFTER_RE = re.compile(r"(?<=[(\[])[ \t\u00a0]+")


def tidy_spacing(text: str) -> str:
    """``text`` without spaces before , ; : . ! ? ) ] (a colon before a number keeps them: "10 : 30")
    or after ( [: how a draft is shown."""
    return _LOOSE_AFTER_RE.sub("", _LOOSE_BEFORE_RE.sub("", text))


def has_visible_text(text: str) -> bool:
    """True when ``text`` holds at least one character a reader can see."""
    return any(unicodedata.category(ch)[0] in _VISIBLE for ch in text.strip())


@dataclass(frozen=True)
class Article:
    """An article as every part of NewsLens reads it: normalised headline and body.

    ``offset`` is the number of sentences of ``normalize(text)`` that the headline took, so
    body sentence ``i`` is sentence ``i + offset`` of what the user gave.
    """

    title: str
    body: str
    offset: int = 0


def read_article(text: str, title: str = "") -> Article:
    """The one way to read an article, for training and answering alike.

    A given headline is kept; without one, a headline pasted as the first line is taken as
    the headline (``split_headline``).
    """
    if title and has_visible_text(title):  # an invisible title (zero-width spaces) is no title
        return Article(normalize(title), normalize(text), 0)
    head, body, offset = split_headline(normalize(text))
    return Article(head, body, offset)


def split_headline(text: str, max_words: int = 30) -> tuple[str, str, int]:
    """(headline, body, sentences in the headline part) of a pasted article.

    Editors often paste the headline as the first line. A first line that is short, has no
    final punctuation and is followed by more text is taken as the headline, so that it is
    read as one (type, topics) and not offered as a summary sentence. Otherwise
    ``("", text, 0)``. The third value lets callers map body sentence indices back to
    indices in ``split_sentences(text)``.
    """
    stripped = text.lstrip()
    first, sep, rest = stripped.partition("\n")
    first = first.strip()
    if not sep or not rest.strip() or not first or len(first.split()) > max_words:
        return "", text, 0
    # Headlines end in "?", "!" or a quote as often as one in six ("… có di truyền sang con?",
    # "Amorim: 'Man Utd sợ hãi'"); such a line is a headline when it is one sentence. A line
    # ending in ".", ":", ";", "," or "…", inside its quotes too, is body text
    # (bench/drafts_dev.py, "headline recognised").
    if first.endswith(_TERMINAL) and (first.rstrip("\"”'’)").endswith(_BODY_END) or len(split_sentences(first)) > 1):
        return "", text, 0
    lead = text[: len(text) - len(rest)]  # everything up to the body, blank lines included
    return first, rest, len(split_sentences(lead))
