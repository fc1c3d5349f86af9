"""Keywords an editor would tag: the article's words and names, ranked by a fitted score.

1. **Words.** Each run of words between punctuation is cut into words: the longest entry of a
   Vietnamese lexicon (``LEXICON_FILES``: pyvi's word list and underthesea's Viet22K) that
   starts there, else one syllable. So "hãng hàng không" is "hãng" + "hàng không", never "hãng hàng", and
   "cố Thủ tướng" is "cố" + "thủ tướng", never "cố thủ". A syllable keeps an inner hyphen or
   slash ("Chin-su", "05-CT/TW").
   **Names** (``split_words``): runs of words that start with a capital ("Ban Bí thư Trung
   ương Đảng", "Đinh La Thăng"), one capitalised syllable inside a sentence ("Đức"), a word
   with two capitalised syllables ("Bộ Chính trị"), and a document with its number ("Chỉ thị
   số 05-CT/TW").
2. **Candidates.** One to ``max_words`` adjacent words that neither start nor end with a stop
   word or a number, and whose words the corpus writes together (``min_pair_cohesion``). A
   single syllable that is common in news (found in at least ``common_share`` of the corpus's
   documents: "số", "năm", "người") is never a keyword unless it is a name.
3. **Score.** A linear function of a few features of each candidate (how often and where it
   occurs, whether the headline has it, how rare it is in the corpus, whether it is a name, a
   lexicon word or several words, how tightly its words bind). The weights are a logistic
   regression fit on editorial tags (``training/keywords.py``; ``bench/keywords.py`` fits them
   on the dev half of the ViMs clusters and reports the other half). A keyword's score is that
   model's probability that an editor would tag the phrase.
4. **No repeats.** A phrase inside one already chosen, or containing it, is skipped (a slash
   or hyphen counts as a space: "thông tư 46/2024" is inside "Thông tư 46/2024/TT-BCA").
"""
from __future__ import annotations

import heapq
import math
import operator
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from importlib import resources
from typing import Any, Callable, Mapping

from .results import Keyword
from .text import normalize, stopwords

# Syllables joined by spaces only; a hyphen or slash inside keeps it whole ("Chin-su", "M-TP",
# "05-CT/TW").
_SYLLABLE = r"[^\W_]+(?:[-/][^\W_]+)*"
_SEGMENT_RE = re.compile(rf"{_SYLLABLE}(?:[ \t]+{_SYLLABLE})*", re.UNICODE)
# Keywords come from the first 50,000 characters: enough for any news article, and a 1 MB
# paste stays fast.
MAX_CHARS = 50_000
# A longer "word" (a hyphen chain, a pasted URL or hash) is no keyword: an answer stays short.
MAX_WORD_CHARS = 80
_NUMBER_RE = re.compile(r"[\d/-]+")  # "26-9", "26/9/2024": numbers, never keywords
_UNIT_RE = re.compile(r"[^\W\d_]+(?:/[^\W\d_]+)+")  # letters around slashes: "đồng/lượng", "km/h"

# The features of a candidate phrase, in the order of a feature row.
FEATURES = (
    "log_count",      # log of its occurrences, headline and body
    "in_headline",    # the headline has it
    "early",          # 1 - (position of its first body occurrence) / (body words)
    "in_lead",        # the first paragraph has it
    "not_in_body",    # only the headline has it
    "once",           # it occurs once
    "rarity",         # its idf in the corpus / the largest possible idf
    "name",           # a name (capitalised run)
    "name_syllables", # a name of two or more syllables
    "lexicon_word",   # one lexicon word of two or more syllables
    "single",         # one syllable, not a name
    "single_common",  # for a single syllable: log(1 + df) / log(n_docs)
    "two_words",
    "three_words",
    "syllables",      # min(syllables, 6) / 6
    "cohesion",       # sqrt of the weakest bond between its words (df(a b) / min(df(a), df(b)))
    "word_and_name",  # a word followed by a name: "cầu Ô Rô", "đảo Lý Sơn"
    "digits",         # it has a number inside: "Euro 2016 ở"
)
_RARITY, _COHESION = FEATURES.index("rarity"), FEATURES.index("cohesion")

# Fit by ``python bench/keywords.py --fit`` (logistic regression, C = 0.3, max_words = 2, on the
# dev half of the ViMs clusters with the default baseline's corpus statistics); "bias" is the
# intercept.
WEIGHTS: dict[str, float] = {
    "bias": -4.864, "log_count": 0.558, "in_headline": 1.792, "early": -0.085, "in_lead": 0.609,
    "not_in_body": 0.465, "once": -0.807, "rarity": 0.952, "name": -0.489, "name_syllables": 0.37,
    "lexicon_word": -1.178, "single": -1.559, "single_common": -1.245, "two_words": -0.426,
    "three_words": 0.0, "syllables": 0.708, "cohesion": 1.21, "word_and_name": -0.069,
    "digits": -0.339,
}
# Keyword settings of bundles saved before the lexicon (syllable n-grams): ignored on load.
RETIRED = frozenset({"max_ngram", "title_weight", "proper_name_boost", "unigram_quality", "cohesion_power",
                     "length_weight", "shortlist_factor", "fragment_cohesion"})


@dataclass(frozen=True)
class KeywordParams:
    top_k: int = 10
    # Words in a phrase ("chung cư" + "xuống cấp" is one tag): 2 and 3 score the same on the
    # dev half of ViMs (cross-validated), and 2 is faster.
    max_words: int = 2
    max_name_syllables: int = 6  # "Ban Bí thư Trung ương Đảng"
    # A single syllable in at least this share of the corpus's documents is common: never a
    # keyword unless it is a name. Chosen on the dev half of ViMs (bench/keywords.py).
    common_share: float = 0.03
    # Two words, one of them of one syllable, whose junction (the last syllable of one, the
    # first of the next) is rarer in the corpus than this share of its rarer syllable's
    # documents are no phrase: "trăm nụ" and "cười mới" of "hàng trăm nụ cười mới", "Áp lực
    # kiếm" of "Áp lực kiếm tiền" (pairs below the vocabulary's min_df have 0; ``_Rows.loose``).
    # 0.01 > 0, 0.02, 0.05, 0.1 in 2-fold cross-validation on the dev half of ViMs, for two
    # one-syllable words; extended to a one-syllable word beside a longer one without a change
    # outside the intervals (README, Keywords).
    min_pair_cohesion: float = 0.01
    weights: Mapping[str, float] = field(default_factory=lambda: dict(WEIGHTS))

    def __post_init__(self):
        if not isinstance(self.top_k, int) or self.top_k < 0:
            raise ValueError(f"keywords.top_k must be a whole number >= 0; got {self.top_k!r}.")
        if not isinstance(self.max_words, int) or not 1 <= self.max_words <= 4:
            raise ValueError(f"keywords.max_words must be 1 to 4; got {self.max_words!r}.")
        if not isinstance(self.max_name_syllables, int) or self.max_name_syllables < 2:
            raise ValueError(f"keywords.max_name_syllables must be >= 2; got {self.max_name_syllables!r}.")
        if not 0.0 < self.common_share <= 1.0:
            raise ValueError(f"keywords.common_share must be in (0, 1]; got {self.common_share!r}.")
        if not (isinstance(self.min_pair_cohesion, (int, float)) and 0.0 <= self.min_pair_cohesion <= 1.0):
            raise ValueError(f"keywords.min_pair_cohesion must be in [0, 1]; got {self.min_pair_cohesion!r}.")
        unknown = sorted(set(self.weights) - set(FEATURES) - {"bias"})
        if unknown:
            raise ValueError(f"keywords.weights: unknown feature(s) {', '.join(unknown)}; "
                             f"allowed: bias, {', '.join(FEATURES)}.")
        bad = [k for k, v in self.weights.items() if not (isinstance(v, (int, float)) and math.isfinite(v))]
        if bad:
            raise ValueError(f"keywords.weights: {', '.join(sorted(bad))} must be finite numbers.")

    @classmethod
    def from_config(cls, values: Mapping[str, Any]) -> "KeywordParams":
        """The settings a bundle saved; those of the earlier syllable n-gram ranking are ignored."""
        return cls(**{k: v for k, v in values.items() if k not in RETIRED})

    def weight_row(self) -> tuple[float, list[float]]:
        """(intercept, weights in ``FEATURES`` order); a feature without a weight counts 0."""
        return float(self.weights.get("bias", 0.0)), [float(self.weights.get(f, 0.0)) for f in FEATURES]


# Capitalised before a name at the start of a sentence, but not part of it: honorifics,
# prepositions and conjunctions. Not every stop word: "Cần Thơ", "An Giang", "Hiện Đại".
NAME_PREFIXES = frozenset({
    "ông", "bà", "anh", "chị", "cô", "theo", "tại", "ở", "và", "của", "với", "từ", "khi", "trong", "sau",
    "trước", "do", "cho", "về", "vào", "đến", "tới", "như", "nhưng", "nếu", "là", "thì", "mà", "bởi", "các",
    "những", "một", "hay", "hoặc", "cả", "giữa", "dưới", "trên", "còn", "để", "nên", "dù", "rồi",
    # the level of a place, capitalised only where it opens the sentence: "Tỉnh Vĩnh Phúc"
    "tỉnh", "huyện", "quận", "xã", "phường",
})
# The honorifics among them. Capitalised before more capitalised syllables, one does not open a
# lexicon word: "Ông Hoàng Duy Bình" is "Ông" + a name, not the lexicon's "ông hoàng" (prince).
HONORIFICS = frozenset({"ông", "bà", "anh", "chị", "cô"})
# Names that open with an honorific syllable, which is part of them: "Bà Rịa - Vũng Tàu" is a
# province, not "Bà" + "Rịa". Places and streets of the news; pyvi's list has none of them.
HONORIFIC_NAMES = frozenset({"bà rịa", "bà chiểu", "bà điểm", "bà đen", "bà nà", "bà triệu", "cô tô", "ông đốc"})
# "Every day / month / year": one word, and a stop phrase. Neither word list has them, so
# "trợ cấp tuất hằng tháng" gave the keyword "tuất hằng".
PERIODIC = frozenset(f"{every} {unit}" for every in ("hằng", "hàng") for unit in ("ngày", "tuần", "tháng", "quý", "năm"))
# A lower-case word and one capitalised syllable that are one word: a region ("miền Bắc",
# "phương Tây", "châu Âu") or a language or people ("tiếng Anh", "người Việt"). Neither word list has
# most of them, and a lower-case word does not otherwise run on into a capital: "đồng bào
# miền Bắc" gave the keyword "Bắc", "học tiếng Anh" the country "Anh". Not before another
# capital: "người Việt Nam" is "người" + "Việt Nam".
PROPER_COMPOUNDS = frozenset(
    [f"{side} {point}" for side in ("miền", "phía", "phương", "hướng", "vùng")
     for point in ("đông", "tây", "nam", "bắc", "trung")]
    + [f"tiếng {language}" for language in ("việt", "anh", "pháp", "trung", "nhật", "hàn", "nga", "đức", "tây ban nha")]
    + [f"châu {continent}" for continent in ("âu", "á", "phi", "mỹ", "úc", "đại dương")]
    + ["người việt", "hàng việt"])
# Amounts and units: an article's most frequent words where it reports money, counts or
# measures, and no tag an editor would give ("tỷ đồng", "hàng chục", "km"; ViMs' 4,298 tags have
# none of them but "usd", 7 times, and stopping it cost nothing in cross-validation), so stop words.
AMOUNTS = frozenset(
    [f"{size} {unit}" for size in ("nghìn", "ngàn", "triệu", "tỷ", "nghìn tỷ") for unit in ("đồng", "usd")]
    + [f"hàng {size}" for size in ("chục", "trăm", "nghìn", "ngàn", "vạn", "triệu", "tỷ")]
    + ["km", "cm", "mm", "kg", "ha", "m2", "km2", "lít", "tấn", "usd"])


# --- words ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Lexicon:
    words: frozenset[str]  # lower-case entries of two or more syllables
    prefixes: frozenset[str]  # their beginnings of two or more syllables (a longer match may follow)
    longest: int  # syllables of the longest entry
    openers: frozenset[str]  # the first two syllables of every entry

    @classmethod
    def of(cls, entries) -> "Lexicon":
        words = frozenset(w for w in (" ".join(normalize(e).lower().split()) for e in entries) if " " in w)
        prefixes = set()
        for w in words:
            parts = w.split(" ")
            for k in range(2, len(parts)):
                prefixes.add(" ".join(parts[:k]))
        openers = frozenset(" ".join(w.split(" ")[:2]) for w in words)
        return cls(words, frozenset(prefixes), max((w.count(" ") + 1 for w in words), default=1), openers)


# pyvi's word list, and what underthesea's Viet22K adds to it (each file says where it comes from).
LEXICON_FILES = ("resources/lexicon_vi.txt", "resources/lexicon_vi_underthesea.txt")


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    lines = [line for name in LEXICON_FILES
             for line in resources.files("model").joinpath(name).read_text("utf-8").splitlines()]
    return Lexicon.of([line for line in lines if line.strip() and not line.startswith("#")]
                      + sorted(HONORIFIC_NAMES | PERIODIC | PROPER_COMPOUNDS))


def _honorific_before_name(low: list[str], caps: list[bool], i: int, k: int, key: str) -> bool:
    """Whether the lexicon word ``key`` (syllables i..i+k-1) is a capitalised honorific and the
    start of a name that runs on past it: "Ông Hoàng Duy Bình", not "ông hoàng" (prince)."""
    return (caps[i] and low[i] in HONORIFICS and i + k < len(low) and caps[i + k] and all(caps[i + 1:i + k])
            and key not in HONORIFIC_NAMES)


def _lexicon_words(low: list[str], caps: list[bool], lex: Lexicon,
                   doc_freq: Callable[[str], float] | None = None) -> list[int]:
    """Where each word of a run of syllables ends: the longest lexicon entry that starts there,
    else one syllable. A lower-case word does not run on into a capitalised syllable
    ("cố Thủ tướng" is "cố" + "thủ tướng"). With ``doc_freq`` (a corpus's document frequency
    of a syllable pair), two words of two syllables that overlap go the corpus's way: "cách âm
    thầm" is "cách" + "âm thầm" (secretly), more frequent in news than "cách âm" (soundproof)."""
    n = len(low)
    # Most syllables start no entry: one set lookup of each pair tells them (at C speed).
    openers = lex.openers
    opens = [f"{a} {b}" in openers for a, b in zip(low, low[1:])]
    words_, prefixes, longest = lex.words, lex.prefixes, lex.longest
    ends: list[int] = []
    i = 0
    while i < n:
        match = 1
        if i < n - 1 and opens[i]:
            key = low[i]
            for k in range(2, min(longest, n - i) + 1):
                key = f"{key} {low[i + k - 1]}"
                if key in words_:
                    if (caps[i] or not any(caps[i + 1:i + k])
                            or key in PROPER_COMPOUNDS and not (i + k < n and caps[i + k])) \
                            and not _honorific_before_name(low, caps, i, k, key):
                        match = k
                elif key not in prefixes:
                    break
        # "a b c": "a b" and "b c" both words, and no word starts at "c". Either reading leaves one
        # syllable alone ("a b" + "c" or "a" + "b c"): the pair the corpus writes more often wins.
        # (When a word starts at "c", "a b" + "c …" leaves none alone and stands.)
        if (match == 2 and doc_freq is not None and i + 2 < n
                and not (i + 3 < n and f"{low[i + 2]} {low[i + 3]}" in openers)):
            b = i + 1
            other = f"{low[b]} {low[b + 1]}"
            if (other in words_ and (caps[b] or not caps[b + 1]) and not _honorific_before_name(low, caps, b, 2, other)
                    and doc_freq(other) > doc_freq(f"{low[i]} {low[b]}")):
                match = 1
        i += match
        ends.append(i)
    return ends


# Documents: the kind, its name if capitalised, then its number ("Chỉ thị số 05-CT/TW",
# "Nghị quyết Trung ương 4", "Luật Đất đai 2024") are one name.
DOCUMENTS = frozenset({"nghị quyết", "chỉ thị", "quyết định", "nghị định", "thông tư", "công văn", "luật",
                       "kết luận", "hiến pháp", "thông báo"})
_DOCUMENT_STARTS = tuple(f"{d} " for d in DOCUMENTS)


def _documents(words: list[str], names: list[bool]) -> tuple[list[str], list[bool]]:
    """Each document kind followed by its number (after "số", or after its capitalised name)
    taken as one name."""
    at = [i for i, w in enumerate(words) if w in DOCUMENTS or names[i] and w.startswith(_DOCUMENT_STARTS)]
    if not at:
        return words, names
    out_words, out_names, i = [], [], 0
    for d in at:
        if d < i:
            continue
        out_words += words[i:d]
        out_names += names[i:d]
        j = d + 1
        if j < len(words) and words[j] == "số":
            j += 1
        if j < len(words) and words[j] != _SEP and any(ch.isdigit() for ch in words[j]) and " " not in words[j]:
            out_words.append(" ".join(words[d:j + 1]))
            out_names.append(True)
            i = j + 1
        else:
            out_words.append(words[d])
            out_names.append(names[d])
            i = d + 1
    return out_words + words[i:], out_names + names[i:]


def split_words(segment: str, lex: Lexicon, max_name: int = 6,
                doc_freq: Callable[[str], float] | None = None) -> tuple[list[str], list[bool]]:
    """The words of one run of space-separated syllables (lower case), and which are names.

    A name is a run of two or more words that each start with a capital letter ("Đinh La
    Thăng", "Ban Bí thư Trung ương Đảng"), without the honorific or preposition it starts with
    (``NAME_PREFIXES``: "Bà Thái Anh Văn") and without a leading title written as a word
    ("Bí thư Đinh La Thăng": the name is "Đinh La Thăng"); or one capitalised syllable inside a sentence ("Đức"), or a word whose
    first two syllables are capitalised ("Hà Nội", "Bộ Chính trị"). A run longer than
    ``max_name`` syllables is no name: its words stand alone (a cut piece of it, like "Hoa hậu
    Hoàn" of a longer title, would be a fragment). A document and its number are one name
    (``DOCUMENTS``).
    """
    written = segment.split()
    low = segment.lower().split()
    if len(low) != len(written):  # lower() never adds or removes spaces; stay exact if it did
        low = [w.lower() for w in written]
    caps = [w[:1].isupper() for w in written]
    ends = _lexicon_words(low, caps, lex, doc_freq)
    starts = [0] + ends[:-1]
    words = [low[s] if e - s == 1 else " ".join(low[s:e]) for s, e in zip(starts, ends)]
    names = [False] * len(words)
    if not any(caps):
        return _documents(words, names)
    full = [all(caps[s:e]) for s, e in zip(starts, ends)]  # every syllable capitalised
    out_words: list[str] = []
    out_names: list[bool] = []
    i, n = 0, len(words)
    while i < n:
        if not caps[starts[i]]:
            out_words.append(words[i])
            out_names.append(False)
            i += 1
            continue
        j = i
        while j < n and caps[starts[j]]:
            j += 1
        a = i
        # "Bà Thái Anh Văn", "Theo Bộ Y tế"; and a connective of several syllables opening the
        # sentence, never the start of a name: "Đồng thời Luật quy định", "Tuy nhiên Bộ Y tế"
        while a < j - 1 and (words[a] in NAME_PREFIXES or " " in words[a] and words[a] in _stopwords()):
            a += 1
        # a title written as a word before a name of capitalised syllables: "Thủ tướng Nguyễn Xuân
        # Phúc"; at the start of a run, before a name of one syllable too: there its capital is
        # the sentence's ("Tài khoản Instagram")
        b = a
        while b < j - 1 and not full[b] and all(full[b + 1:j]) and (
                ends[j - 1] - starts[b + 1] >= 2 or starts[b] == 0 or low[starts[b] - 1] == _SEP):
            b += 1
        out_words += words[i:b]
        out_names += [False] * (b - i)
        # one word: a name if its first two syllables are capitalised ("Hà Nội", "Bộ Chính trị"),
        # or if it is one capitalised syllable inside a sentence ("Đức")
        one_syllable = ends[b] - starts[b] == 1
        if j - b >= 2 or (caps[starts[b] + 1] if not one_syllable else starts[b] > 0 and low[starts[b] - 1] != _SEP):
            if ends[j - 1] - starts[b] <= max_name:
                out_words.append(" ".join(low[starts[b]:ends[j - 1]]))
                out_names.append(True)
            else:  # too long to be one name: its words, none a name (no cut fragment "Hoa hậu Hoàn")
                out_words += words[b:j]
                out_names += [False] * (j - b)
        else:  # a capitalised sentence start ("Tháo dỡ") or "Bí thư" is no name
            out_words.append(words[b])
            out_names.append(False)
        i = j
    return _documents(out_words, out_names)


# --- candidates ----------------------------------------------------------------------
@dataclass
class _Candidates:
    count: dict[str, int]  # occurrences, headline and body
    headline: set[str]
    first: dict[str, int]  # body word index of the first occurrence
    lead: set[str]  # phrases of the first paragraph
    words: dict[str, tuple[str, ...]]  # phrase of several words -> its words
    names: set[str]
    lexicon_words: set[str]
    body_words: int


_SEP = "|"  # between segments: never a word, never capitalised, in no lexicon entry
_GAP = f" {_SEP} "


class _Text:
    """One text cut into words: the segments of its first paragraph, then of the rest, each
    cut in one call (segments joined by ``_SEP``), so that every step is one pass over the
    whole text (the hot loop of prediction)."""

    def __init__(self, paragraphs: list[str], lex: Lexicon, stop: frozenset[str], params: KeywordParams,
                 doc_freq: Callable[[str], float] | None = None):
        segments = [_SEGMENT_RE.findall(p) for p in paragraphs]
        lead = next((i for i, found in enumerate(segments) if found), len(segments))
        words: list[str] = []
        name_flags: list[bool] = []
        self.lead_end = 0  # words of the first paragraph that has any
        for part in (segments[lead:lead + 1], segments[lead + 1:]):
            runs = [run for found in part for run in found]
            if runs:
                got, flags = split_words(_GAP.join(runs), lex, params.max_name_syllables, doc_freq)
                if words:
                    words.append(_SEP)
                    name_flags.append(False)
                words += got
                name_flags += flags
            if not self.lead_end:
                self.lead_end = len(words)
        self.names = {w for w, is_name in zip(words, name_flags) if is_name}
        self.lexicon_words = {w for w, is_name in zip(words, name_flags) if not is_name and " " in w}
        # Never a phrase's first or last word: stop words, numbers ("12", "26-9", "26/9/2024"),
        # over-long "words" and the separator. Odd words are found once per distinct word.
        # Also a single letter ("B" of "khối B") and a unit or rate that is no name ("đồng/lượng",
        # "km/h", "người/ngày").
        odd = {w for w in set(words) if len(w) > MAX_WORD_CHARS or len(w) == 1
               or ("-" in w or "/" in w) and _NUMBER_RE.fullmatch(w)
               or "/" in w and w not in self.names and _UNIT_RE.fullmatch(w)}
        blocked = stop | odd | {_SEP}
        ok = [not (w in blocked or w.isdigit()) for w in words]
        # A word's position among the words, separators not counted.
        position = list(accumulate(w != _SEP for w in words))
        self.lead_end = position[self.lead_end - 1] if self.lead_end else 0
        # Phrases of 1..max_words words that start and end on a kept word inside one segment
        # (a stop word may sit inside: "bộ và ngành"), in order of length, then position.
        self.phrases = [w for w, keep in zip(words, ok) if keep]
        self.starts = [position[i] - 1 for i, keep in enumerate(ok) if keep]
        self.multi: dict[str, tuple[str, ...]] = {}
        n = len(words)
        for span in range(2, params.max_words + 1):
            at = [a for a in range(n - span + 1)
                  if ok[a] and ok[a + span - 1] and (span == 2 or _SEP not in words[a + 1:a + span - 1])]
            grams = [" ".join(words[a:a + span]) for a in at]
            for gram, a in zip(reversed(grams), reversed(at)):  # the first occurrence's words
                self.multi[gram] = tuple(words[a:a + span])
            self.phrases += grams
            self.starts += [position[a] - 1 for a in at]
        self.n_words = position[-1] if position else 0


def _collect(title: str, body: str, params: KeywordParams, lex: Lexicon, stop: frozenset[str],
             doc_freq: Callable[[str], float] | None = None) -> _Candidates:
    head = _Text([title], lex, stop, params, doc_freq)
    text = _Text(body.split("\n"), lex, stop, params, doc_freq)
    count = Counter(text.phrases)
    for phrase in head.phrases:
        count[phrase] += 1
    for phrase in stop.intersection(count):  # stop phrases of several words: "cho biết"
        del count[phrase]
    # dict() keeps the last value of a repeated key: reversed, that is the first occurrence
    first = dict(zip(reversed(text.phrases), reversed(text.starts)))
    lead_end = text.lead_end
    lead = {p for p, a in zip(text.phrases, text.starts) if a < lead_end}
    return _Candidates(count, set(head.phrases), first, lead, {**text.multi, **head.multi},
                       head.names | text.names, head.lexicon_words | text.lexicon_words, text.n_words)


class _Corpus:
    """What the corpus says about one article's terms, each term looked up once (a lookup in
    the ~600k-term vocabulary misses the CPU caches; an article asks about the same terms again
    and again)."""

    def __init__(self, idf: Callable[[str], float | None], n_docs: int):
        self._idf, self.n_docs = idf, n_docs
        self._idf_of: dict[str, float | None] = {}
        self._df_of: dict[str, float] = {}

    def idf(self, term: str) -> float | None:
        try:
            return self._idf_of[term]
        except KeyError:
            value = self._idf_of[term] = self._idf(term)
            return value

    def doc_freq(self, term: str) -> float:
        value = self._df_of.get(term)
        if value is None:
            idf = self.idf(term)
            # smooth idf = ln((1 + n) / (1 + df)) + 1  =>  df = (1 + n) / e^(idf - 1) - 1
            value = 0.0 if idf is None else max((self.n_docs + 1) / math.exp(idf - 1.0) - 1.0, 0.0)
            self._df_of[term] = value
        return value

    def cohesion(self, a: str, b: str) -> float:
        """How much two syllables behave as one word: df(a b) / min(df(a), df(b)), in [0, 1]."""
        rarest = min(self.doc_freq(a), self.doc_freq(b))
        return min(self.doc_freq(f"{a} {b}") / rarest, 1.0) if rarest > 0 else 0.0


_DIGIT_RE = re.compile(r"\d")


def _rarity(phrase: str, count: int, corpus: _Corpus, max_idf: float) -> float:
    syllables = phrase.split(" ")
    if len(syllables) <= 2:  # the vocabulary holds syllables and syllable pairs
        value = corpus.idf(phrase)
    else:  # longer: its rarest syllable pair
        pairs = [corpus.idf(f"{a} {b}") for a, b in zip(syllables, syllables[1:])]
        value = None if None in pairs else max(pairs)
    if value is None:  # unseen in the corpus: rare, but possibly noise; trust it only if repeated
        value = max_idf if count >= 2 else 0.5 * max_idf
    return value / max_idf


def _bond(words: tuple[str, ...] | None, corpus: _Corpus) -> float:
    """sqrt of the weakest bond between adjacent words (last syllable of one, first of the
    next); 1 for a single word."""
    if words is None:
        return 1.0
    return math.sqrt(min(corpus.cohesion(a.rsplit(" ", 1)[-1], b.split(" ", 1)[0]) for a, b in zip(words, words[1:])))


class _Rows:
    """Candidates and their feature rows; common single syllables left out.

    The two features that need corpus lookups for every word pair (rarity and cohesion) may
    be left at their largest value, 1, and filled in by ``exact`` only for the phrases that
    can reach the top (``lazy``): most candidates never need them.
    """

    def __init__(self, c: _Candidates, corpus: _Corpus, params: KeywordParams, lazy: bool = False):
        self.c, self.corpus, self.min_pair = c, corpus, params.min_pair_cohesion
        n_docs = corpus.n_docs
        self.max_idf = math.log(n_docs + 1) + 1.0
        log_docs = math.log(max(n_docs, 2))
        common = params.common_share * n_docs
        body_words = max(c.body_words, 1)
        headline, lead, first_of, names, lexicon_words = c.headline, c.lead, c.first, c.names, c.lexicon_words
        self.phrases: list[str] = []
        self.rows: list[list[float]] = []
        multi = c.words
        min_pair = self.min_pair
        log, log1p, doc_freq = math.log, math.log1p, corpus.doc_freq
        phrases, rows = self.phrases, self.rows
        for phrase, count in c.count.items():
            words = multi.get(phrase)
            spaces = phrase.count(" ")
            is_name = words is None and phrase in names
            single = words is None and not is_name and not spaces
            single_common = 0.0
            if single:
                df = doc_freq(phrase)
                if df >= common:
                    continue
                single_common = log1p(df) / log_docs
            # ``loose``'s commonest case, up front for every candidate (one lookup; names too):
            # two one-syllable words the corpus never writes together ("trăm nụ")
            if words is not None and spaces == 1 and min_pair and corpus.cohesion(words[0], words[1]) < min_pair:
                continue
            n_words = 1 if words is None else len(words)
            first = first_of.get(phrase)
            if not lazy and self.loose(phrase):  # (lazy: checked when the phrase reaches the top)
                continue
            rarity, bond = (1.0, 1.0) if lazy else self.exact(phrase)
            phrases.append(phrase)
            rows.append([
                log(count),
                1.0 if phrase in headline else 0.0,
                0.0 if first is None else 1.0 - first / body_words,
                1.0 if phrase in lead else 0.0,
                1.0 if first is None else 0.0,
                1.0 if count == 1 else 0.0,
                rarity,
                1.0 if is_name else 0.0,
                1.0 if is_name and spaces else 0.0,
                1.0 if words is None and phrase in lexicon_words else 0.0,
                1.0 if single else 0.0,
                single_common,
                1.0 if n_words == 2 else 0.0,
                1.0 if n_words == 3 else 0.0,
                (spaces + 1 if spaces < 6 else 6) / 6.0,
                bond,
                1.0 if words is not None and words[-1] in names and words[0] not in names and " " not in words[0] else 0.0,
                1.0 if words is not None and _DIGIT_RE.search(phrase) else 0.0,
            ])

    def loose(self, phrase: str) -> bool:
        """Whether a phrase's words do not belong together: a junction next to a word of one
        syllable that the corpus writes less than ``min_pair_cohesion`` ("Áp lực kiếm" of "Áp
        lực kiếm tiền", "lao động xa" of "lao động xa xứ": the syllable belongs to the next
        word). Two words of several syllables join freely ("vi phạm bản quyền"), and a name is
        whole ("Luật Sở hữu trí tuệ")."""
        words = self.c.words.get(phrase)
        if words is None or not self.min_pair or phrase in self.c.names:
            return False
        cohesion = self.corpus.cohesion
        return any(cohesion(a.rsplit(" ", 1)[-1], b.split(" ", 1)[0]) < self.min_pair
                   for a, b in zip(words, words[1:]) if " " not in a or " " not in b)

    def exact(self, phrase: str) -> tuple[float, float]:
        """(rarity, cohesion) of a phrase."""
        return (_rarity(phrase, self.c.count[phrase], self.corpus, self.max_idf),
                _bond(self.c.words.get(phrase), self.corpus))


def candidate_features(title: str, body: str, idf: Callable[[str], float | None], n_docs: int,
                       params: KeywordParams | None = None) -> tuple[list[str], list[list[float]]]:
    """Every candidate phrase of an article (lower case) and its feature row (``FEATURES``):
    what the weights are fit on (``training/keywords.py``)."""
    params = params or KeywordParams()
    corpus = _Corpus(idf, n_docs)
    c = _collect(normalize(title), clip(normalize(body)), params, lexicon(), _stopwords(), corpus.doc_freq)
    rows = _Rows(c, corpus, params)
    return rows.phrases, rows.rows


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return stopwords() | PERIODIC | AMOUNTS


# --- ranking -------------------------------------------------------------------------
def _surface(phrase: str, texts: tuple[str, ...], lowered: tuple[str, ...]) -> str:
    """How the article writes the phrase (its first occurrence), e.g. "Ai Cập" for "ai cập"."""
    for text, lower in zip(texts, lowered):
        start = lower.find(phrase)
        while start >= 0:
            end = start + len(phrase)
            before_ok = start == 0 or not lower[start - 1].isalnum()
            after_ok = end == len(lower) or not lower[end].isalnum()
            if before_ok and after_ok and len(lower) == len(text):
                return " ".join(text[start:end].split())
            start = lower.find(phrase, start + 1)
    return phrase


def clip(text: str) -> str:
    """The first ``MAX_CHARS`` characters, without a word cut in two at the end."""
    if len(text) <= MAX_CHARS:
        return text
    cut = text[:MAX_CHARS]
    if cut[-1].isspace() or text[MAX_CHARS].isspace():
        return cut
    head = cut.rsplit(maxsplit=1)  # the last word was cut: leave it out
    return head[0] if len(head) == 2 else ""


def _padded(phrase: str) -> str:
    """A phrase between spaces, its slashes and hyphens read as spaces: what one keyword must
    not hold of another ("thông tư 46/2024" is inside "Thông tư 46/2024/TT-BCA", "Chin" inside
    "Chin-su")."""
    return f" {phrase.replace('/', ' ').replace('-', ' ')} "


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= -700 else 0.0


def extract_keywords(title: str, body: str, idf: Callable[[str], float | None], n_docs: int,
                     params: KeywordParams) -> list[Keyword]:
    """Top keywords of an article (normalised text, ``model.text.normalize``).
    ``idf(term) -> float | None`` gives corpus rarity."""
    body = clip(body)
    if params.top_k <= 0:
        return []
    corpus = _Corpus(idf, n_docs)
    c = _collect(title, body, params, lexicon(), _stopwords(), corpus.doc_freq)
    bias, weights = params.weight_row()
    w_rarity, w_cohesion = weights[_RARITY], weights[_COHESION]
    # With positive weights, rows holding rarity and cohesion at their largest value give upper
    # bounds: a phrase is scored exactly only when its bound reaches the top of the heap.
    lazy = w_rarity >= 0 and w_cohesion >= 0
    table = _Rows(c, corpus, params, lazy=lazy)
    heap = [(-(bias + sum(map(operator.mul, weights, row))), phrase, not lazy)
            for phrase, row in zip(table.phrases, table.rows)]
    heapq.heapify(heap)
    chosen: list[tuple[str, float, str]] = []  # (phrase, score, padded)
    while heap and len(chosen) < params.top_k:
        negative, phrase, exact = heapq.heappop(heap)
        if not exact:
            if table.loose(phrase):
                continue
            rarity, bond = table.exact(phrase)
            heapq.heappush(heap, (negative + w_rarity * (1.0 - rarity) + w_cohesion * (1.0 - bond), phrase, True))
            continue
        padded = _padded(phrase)
        if any(padded in q or q in padded for _, _, q in chosen):
            continue  # a sub- or super-phrase of one already chosen
        chosen.append((phrase, -negative, padded))
    texts, lowered = (title, body), (title.lower(), body.lower())
    return [Keyword(_surface(p, texts, lowered), round(_sigmoid(z), 4)) for p, z, _ in chosen]
