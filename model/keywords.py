"""Key phrases: syllable n-grams (1-3) of the article ranked by TF-IDF-like salience.

Candidates never cross punctuation, never start or end with a stop word and are not
bare numbers. Each is scored by how often it occurs (headline occurrences count more),
how rare it is in the news corpus (idf from the fitted TF-IDF vocabulary), how much it
behaves like one word (a multi-syllable phrase seen as often as its rarest syllable)
and whether it is written as a proper name; a phrase cut out of a longer word (an edge
syllable bound tightly to the word beside it) ranks down. Near-repeats are then removed.
"""
from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from dataclasses import dataclass
from itertools import chain
from functools import lru_cache

from .results import Keyword
from .text import stopwords

_SEGMENT_RE = re.compile(r"[^\W_]+(?:[ \t]+[^\W_]+)*", re.UNICODE)  # words joined by spaces only
_WORD_BEFORE = re.compile(r"([^\W_]+)[ \t]+$")
_WORD_AFTER = re.compile(r"[ \t]+([^\W_]+)")
# Keywords come from the first 50,000 characters: enough for any news article, and a 1 MB
# paste stays fast.
MAX_CHARS = 50_000


@dataclass(frozen=True)
class KeywordParams:
    top_k: int = 10
    max_ngram: int = 3
    title_weight: float = 2.0
    proper_name_boost: float = 1.0  # names already count as whole phrases (quality 1)
    unigram_quality: float = 0.5  # single syllables are rarely key phrases in Vietnamese
    cohesion_power: float = 0.5
    length_weight: float = 0.35  # prefer real multi-syllable words over single syllables
    shortlist_factor: int = 8
    # A phrase whose edge syllable binds this tightly (cohesion) to the word beside it in the
    # article is a piece of a longer word: "ương Đảng" of "Trung ương Đảng". Scaled by 1 - cohesion.
    fragment_cohesion: float = 0.6


# --- candidates --------------------------------------------------------------------
# A text's segments are joined into one word list with two separators between them: each
# n-gram kind is then one comprehension over the whole text (the hot loop of prediction),
# and no window of up to three words has both its ends in words across a gap.
_SEP = "|"  # never a word: words are runs of letters and digits
_GAP = f" {_SEP} {_SEP} "


@lru_cache(maxsize=1)
def _blocked() -> frozenset[str]:
    """Words no candidate may start or end with: stop words and the segment separator."""
    return stopwords() | {_SEP}


def _words(text: str) -> tuple[list[str], list[str]]:
    """The text's words as written and lower-cased, segments separated by ``_GAP``."""
    joined = _GAP.join(_SEGMENT_RE.findall(text))
    words = joined.split()
    # One lower() for the whole text. It equals lower-casing word by word: lower-casing never
    # makes or removes whitespace, and its one context rule (Greek final sigma) stops at spaces.
    low = joined.lower().split()
    if len(low) != len(words):  # cannot happen (see above); stay exact if it ever did
        low = [w.lower() for w in words]
    return words, low


def _candidates(text: str, max_ngram: int, capitalised: set[str]) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """Every occurrence of an n-gram (n <= 3) that neither starts nor ends with a stop word
    or a number, and each trigram's two bigrams; adds whole proper names to ``capitalised``."""
    words, low = _words(text)
    blocked = _blocked()
    ok = [not (w in blocked or w.isdigit()) for w in low]
    grams = [w for w, keep in zip(low, ok) if keep]
    parts: dict[str, tuple[str, str]] = {}
    if max_ngram >= 2:
        pairs = [f"{a} {b}" for a, b in zip(low, low[1:])]  # every adjacent pair, kept or not
        grams += [p for p, ka, kb in zip(pairs, ok, ok[1:]) if ka and kb]
        if max_ngram >= 3:  # the middle word may be a stop word: "bộ và ngành"
            ends = [ka and kc for ka, kc in zip(ok, ok[2:])]
            trigrams = [f"{p} {c}" for p, c, keep in zip(pairs, low[2:], ends) if keep]
            parts = dict(zip(trigrams, [(p, q) for p, q, keep in zip(pairs, pairs[1:], ends) if keep]))
            grams += trigrams
    _add_proper_names(words, low, ok, max_ngram, capitalised)
    return grams, parts


def _add_proper_names(words: list[str], low: list[str], ok: list[bool], max_ngram: int,
                      capitalised: set[str]) -> None:
    """A proper name: a whole run of capitalised words away from the start of a segment
    ("ở Ai Cập", "biển Địa Trung Hải"), not a piece of a longer run ("Địa Trung")."""
    # Capitalised words that do not start a segment (a segment starts the text or follows _SEP);
    # islower() first: a cheap test that rules out most words.
    upper = [i for i, w in enumerate(words)
             if not w.islower() and w[:1].isupper() and i > 0 and words[i - 1] != _SEP]
    n, k = len(words), 0
    while k < len(upper):
        i = j = upper[k]
        k += 1
        while k < len(upper) and upper[k] == j + 1:
            j, k = j + 1, k + 1
        # Vietnamese organisation names capitalise only their first syllables ("Ban Bí thư",
        # "Bộ Chính trị"): a run followed by a lower-case content word is not a whole name.
        continues = j + 1 < n and ok[j + 1] and not words[j + 1][:1].isupper() and not low[j + 1].isdigit()
        if j - i < max_ngram and ok[i] and ok[j] and not continues:
            capitalised.add(" ".join(low[i : j + 1]))


@dataclass
class _Candidates:
    counts: dict[str, float]  # phrase -> occurrences, a headline one counting title_weight
    parts: dict[str, tuple[str, str]]  # trigram -> its two bigrams
    capitalised: set[str]  # whole proper names


def _count_candidates(title: str, body: str, params: KeywordParams) -> _Candidates:
    """The article's candidates, counted; multi-word stop phrases ("cho biết") removed."""
    capitalised: set[str] = set()
    title_grams, parts = _candidates(title, params.max_ngram, capitalised)
    body_grams, body_parts = _candidates(body, params.max_ngram, capitalised)
    parts.update(body_parts)
    # Counted in C. A body-only count stays an int: adding 1.0 n times gives exactly n, and
    # log() and >= read both alike.
    counts: dict[str, float] = Counter(body_grams)
    headline: dict[str, float] = {}
    for g in title_grams:
        headline[g] = headline.get(g, 0.0) + params.title_weight
    for g, value in headline.items():
        for _ in range(counts.get(g, 0)):  # headline first, then 1.0 per body occurrence: the same float sum
            value += 1.0
        counts[g] = value
    for phrase in stopwords().intersection(counts):
        del counts[phrase]
    return _Candidates(counts, parts, capitalised)


# --- ranking -----------------------------------------------------------------------
def _neighbours(phrase: str, *lowered: str) -> tuple[str, str]:
    """The words just before and after the phrase's first whole-word occurrence in the
    lower-cased texts ("" at punctuation or the edge of the text)."""
    for lower in lowered:
        start = lower.find(phrase)
        while start >= 0:
            end = start + len(phrase)
            if (start == 0 or not lower[start - 1].isalnum()) and (end == len(lower) or not lower[end].isalnum()):
                # Only spaces may separate a neighbour: punctuation or a new line ends the phrase.
                left = lower[max(start - 40, 0):start]
                before = _WORD_BEFORE.search(left) if left[-1:] in (" ", "\t") else None
                after = _WORD_AFTER.match(lower, end) if lower[end:end + 1] in (" ", "\t") else None
                return (before.group(1) if before else "", after.group(1) if after else "")
            start = lower.find(phrase, start + 1)
    return "", ""


def _surface(phrase: str, texts: tuple[str, ...], lowered: tuple[str, ...]) -> str:
    """How the article writes the phrase (its first occurrence), e.g. "Ai Cập" for "ai cập".

    A plain case-insensitive find: a regex per phrase would be compiled for every keyword of
    every article (the hot path), and candidates are single-space joined words anyway.
    """
    for text, lower in zip(texts, lowered):
        start = lower.find(phrase)
        while start >= 0:
            end = start + len(phrase)
            before_ok = start == 0 or not lower[start - 1].isalnum()
            after_ok = end == len(lower) or not lower[end].isalnum()
            if before_ok and after_ok and len(lower) == len(text):
                return text[start:end]
            start = lower.find(phrase, start + 1)
    return phrase


_MISSING = object()


class _Corpus:
    """What the corpus says about one article's terms, each term looked up once.

    A lookup in the ~600k-term vocabulary is the slow step (it misses the CPU caches), and
    an article asks about the same syllables and bigrams again and again: as candidates,
    as parts of trigrams, for the cohesion of a phrase and of a phrase with its neighbours.
    """

    def __init__(self, idf, n_docs: int, terms: list[str]):
        self._idf = idf
        self._n_docs = n_docs
        self.idf_of: dict[str, float | None] = dict(zip(terms, map(idf, terms)))  # one C-level pass
        self._df_of: dict[str, float] = {}

    def idf(self, term: str) -> float | None:
        value = self.idf_of.get(term, _MISSING)
        if value is _MISSING:
            value = self.idf_of[term] = self._idf(term)
        return value

    def doc_freq(self, term: str) -> float:
        value = self._df_of.get(term)
        if value is None:
            idf = self.idf(term)
            # smooth idf = ln((1 + n) / (1 + df)) + 1  =>  df = (1 + n) / e^(idf - 1) - 1
            value = 0.0 if idf is None else max((self._n_docs + 1) / math.exp(idf - 1.0) - 1.0, 0.0)
            self._df_of[term] = value
        return value

    def cohesion(self, a: str, b: str) -> float:
        """How much two syllables behave as one word: df(a b) / min(df(a), df(b)), in [0, 1]."""
        doc_freq = self.doc_freq
        rarest = min(doc_freq(a), doc_freq(b))
        return min(doc_freq(f"{a} {b}") / rarest, 1.0) if rarest > 0 else 0.0


def _rarities(cands: _Candidates, idf, n_docs: int) -> tuple[dict[str, float], _Corpus]:
    """How rare each candidate is in the corpus (its idf), and the corpus facts looked up."""
    counts, parts = cands.counts, cands.parts
    terms = [p for p in counts if p not in parts]  # unigrams and bigrams: vocabulary terms
    terms += [q for q in chain.from_iterable(parts.values()) if q not in counts]
    corpus = _Corpus(idf, n_docs, terms)
    idf_of = corpus.idf_of
    max_idf = math.log(n_docs + 1) + 1.0
    unseen_once, unseen_repeated = max_idf * 0.5, max_idf
    rarity: dict[str, float] = {}
    for phrase, tf in counts.items():
        pair = parts.get(phrase)
        if pair is None:
            value = idf_of[phrase]
        else:  # trigrams are not in the vocabulary: the rarer of their two bigrams
            first, second = idf_of[pair[0]], idf_of[pair[1]]
            value = None if first is None or second is None else max(first, second)
        # Unseen in the corpus: rare, but possibly noise; trust it only if repeated.
        rarity[phrase] = (unseen_repeated if tf >= 2 else unseen_once) if value is None else value
    return rarity, corpus


def _best(scores: list[float], phrases: list[str], k: int) -> list[str]:
    """The phrases of ``sorted(zip(scores, phrases))[-k:]``, without sorting the pairs: a sort
    of the bare floats finds the k-th best score, and only phrases tied on it are compared."""
    if k <= 0 or k >= len(phrases):  # a slice, not a count, or everything
        return [p for _, p in sorted(zip(scores, phrases))[-k:]]
    threshold = sorted(scores)[-k]
    best = [p for s, p in zip(scores, phrases) if s > threshold]
    tied = sorted([p for s, p in zip(scores, phrases) if s == threshold])
    return best + tied[len(tied) - (k - len(best)):]


def _qualities(phrases: list[str], capitalised: set[str], corpus: _Corpus, params: KeywordParams) -> dict[str, float]:
    """Phrase-ness: the weakest link between adjacent syllables; names count as whole."""
    cohesion, power = corpus.cohesion, params.cohesion_power
    quality: dict[str, float] = {}
    for phrase in phrases:
        if phrase in capitalised:
            quality[phrase] = 1.0
        elif " " not in phrase:
            quality[phrase] = params.unigram_quality
        else:
            words = phrase.split(" ")
            quality[phrase] = min(map(cohesion, words, words[1:])) ** power
    return quality


def extract_keywords(title: str, body: str, idf, n_docs: int, params: KeywordParams) -> list[Keyword]:
    """Top key phrases of an article. ``idf(term) -> float | None`` gives corpus rarity."""
    body = body[:MAX_CHARS]
    cands = _count_candidates(title, body, params)
    counts, capitalised = cands.counts, cands.capitalised
    if not counts:
        return []
    rarity, corpus = _rarities(cands, idf, n_docs)

    # A cheap first ranking (frequency x rarity, names boosted) keeps the finer scoring to a
    # shortlist; multi-word phrases get their best possible quality there.
    log = math.log
    length_bonus = 1 + params.length_weight
    first = [(1.0 + log(tf)) * rarity[p] * (length_bonus if " " in p else params.unigram_quality)
             * (params.proper_name_boost if p in capitalised else 1.0) for p, tf in counts.items()]
    shortlist = _best(first, list(counts), params.top_k * params.shortlist_factor)
    quality = _qualities(shortlist, capitalised, corpus, params)

    lowered = (title.lower(), body.lower())

    def fragment(phrase: str) -> float:
        """1 - cohesion with the word beside it in the article, when that binds tightly; else 1."""
        before, after = _neighbours(phrase, *lowered)
        words = phrase.split(" ")
        edge = max(corpus.cohesion(before, words[0]) if before else 0.0,
                   corpus.cohesion(words[-1], after) if after else 0.0)
        return 1.0 - edge if edge >= params.fragment_cohesion else 1.0

    def ranked():
        """Shortlisted phrases by score, best first. The fragment factor (<= 1) is computed
        lazily: the score without it bounds the score from above, so only phrases whose
        bound reaches the top are looked up in the text (about top_k, not the shortlist)."""
        heap = []
        for phrase in shortlist:
            tf = counts[phrase]
            n_words = phrase.count(" ") + 1
            value = (1.0 + log(tf)) * rarity[phrase] * quality[phrase] * (1 + params.length_weight * (n_words > 1))
            if phrase in capitalised:  # names are never fragments
                heap.append((-value * params.proper_name_boost, phrase, True))
            else:
                heap.append((-value, phrase, params.fragment_cohesion >= 1.0))
        heapq.heapify(heap)
        while heap:
            negative, phrase, exact = heapq.heappop(heap)
            if exact:
                yield -negative, phrase
            else:
                heapq.heappush(heap, (negative * fragment(phrase), phrase, True))

    chosen: list[tuple[str, float]] = []
    for value, phrase in ranked():
        if len(chosen) >= params.top_k:
            break
        padded = f" {phrase} "
        if any(padded in f" {c} " or f" {c} " in padded for c, _ in chosen):
            continue  # a sub- or super-phrase of one already chosen
        chosen.append((phrase, value))
    top = chosen[0][1] if chosen and chosen[0][1] > 0 else 1.0  # 0 when every phrase is a fragment
    texts = (title, body)
    return [Keyword(_surface(p, texts, lowered), round(s / top, 4)) for p, s in chosen]
