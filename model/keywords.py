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
from dataclasses import dataclass

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


def _count_candidates(text: str, max_ngram: int, stop: frozenset[str], weight: float,
                      counts: dict[str, float], capitalised: set[str]) -> None:
    """Count n-grams (n <= 3) that neither start nor end with a stop word or a number.

    Written as comprehensions over whole segments: this is the hot loop of prediction.
    """
    for seg in _SEGMENT_RE.findall(text):
        words = seg.split()
        low = [w.lower() for w in words]
        ok = [not (w in stop or w.isdigit()) for w in low]
        cap = [w[:1].isupper() for w in words]
        n = len(low)
        grams = [low[i] for i in range(n) if ok[i]]
        if max_ngram >= 2:
            grams += [f"{low[i]} {low[i + 1]}" for i in range(n - 1) if ok[i] and ok[i + 1]]
        if max_ngram >= 3:
            grams += [f"{low[i]} {low[i + 1]} {low[i + 2]}" for i in range(n - 2) if ok[i] and ok[i + 2]]
        for g in grams:
            counts[g] = counts.get(g, 0.0) + weight
        # A proper name: a whole run of capitalised words away from the start of a segment
        # ("ở Ai Cập", "biển Địa Trung Hải"), not a piece of a longer run ("Địa Trung").
        i = 1
        while i < n:
            if not cap[i]:
                i += 1
                continue
            j = i
            while j + 1 < n and cap[j + 1]:
                j += 1
            # Vietnamese organisation names capitalise only their first syllables ("Ban Bí thư",
            # "Bộ Chính trị"): a run followed by a lower-case content word is not a whole name.
            continues = j + 1 < n and ok[j + 1] and not cap[j + 1] and not low[j + 1].isdigit()
            if j - i < max_ngram and ok[i] and ok[j] and not continues:
                capitalised.add(" ".join(low[i : j + 1]))
            i = j + 1


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


def _surface(phrase: str, title: str, body: str) -> str:
    """How the article writes the phrase (its first occurrence), e.g. "Ai Cập" for "ai cập".

    A plain case-insensitive find: a regex per phrase would be compiled for every keyword of
    every article (the hot path), and candidates are single-space joined words anyway.
    """
    for text in (title, body):
        lower = text.lower()
        start = lower.find(phrase)
        while start >= 0:
            end = start + len(phrase)
            before_ok = start == 0 or not lower[start - 1].isalnum()
            after_ok = end == len(lower) or not lower[end].isalnum()
            if before_ok and after_ok and len(lower) == len(text):
                return text[start:end]
            start = lower.find(phrase, start + 1)
    return phrase


def extract_keywords(title: str, body: str, idf, n_docs: int, params: KeywordParams) -> list[Keyword]:
    """Top key phrases of an article. ``idf(term) -> float | None`` gives corpus rarity."""
    stop = stopwords()
    counts: dict[str, float] = {}
    capitalised: set[str] = set()
    body = body[:MAX_CHARS]
    _count_candidates(title, params.max_ngram, stop, params.title_weight, counts, capitalised)
    _count_candidates(body, params.max_ngram, stop, 1.0, counts, capitalised)
    for phrase in stop.intersection(counts):  # multi-word stop phrases ("cho biết")
        del counts[phrase]
    if not counts:
        return []
    max_idf = math.log(n_docs + 1) + 1.0
    unseen_once, unseen_repeated = max_idf * 0.5, max_idf

    def rarity(phrase: str, tf: float) -> float:
        if phrase.count(" ") < 2:
            value = idf(phrase)
        else:  # trigrams are not in the vocabulary: the rarer of their two bigrams
            a, b, c = phrase.split(" ")
            first, second = idf(f"{a} {b}"), idf(f"{b} {c}")
            value = None if first is None or second is None else max(first, second)
        if value is None:
            # Unseen in the corpus: rare, but possibly noise; trust it only if repeated.
            return unseen_repeated if tf >= 2 else unseen_once
        return value

    def doc_freq(term: str) -> float:
        value = idf(term)
        # smooth idf = ln((1 + n) / (1 + df)) + 1  =>  df = (1 + n) / e^(idf - 1) - 1
        return 0.0 if value is None else max((n_docs + 1) / math.exp(value - 1.0) - 1.0, 0.0)

    def cohesion(a: str, b: str) -> float:
        """How much two syllables behave as one word: df(a b) / min(df(a), df(b)), in [0, 1]."""
        rarest = min(doc_freq(a), doc_freq(b))
        return min(doc_freq(f"{a} {b}") / rarest, 1.0) if rarest > 0 else 0.0

    def quality(phrase: str) -> float:
        """Phrase-ness: the weakest link between adjacent syllables; names count as whole."""
        if phrase in capitalised:
            return 1.0
        words = phrase.split(" ")
        if len(words) == 1:
            return params.unigram_quality
        return min(cohesion(a, b) for a, b in zip(words, words[1:])) ** params.cohesion_power

    # A cheap first ranking (frequency x rarity, names boosted) keeps the finer scoring to a
    # shortlist; multi-word phrases get their best possible quality there.
    log = math.log
    length_bonus = 1 + params.length_weight
    first = sorted(
        ((1.0 + log(tf)) * rarity(p, tf) * (length_bonus if " " in p else params.unigram_quality)
         * (params.proper_name_boost if p in capitalised else 1.0), p)
        for p, tf in counts.items()
    )
    shortlist = [p for _, p in first[-(params.top_k * params.shortlist_factor):]]

    lowered = (title.lower(), body.lower())

    def fragment(phrase: str) -> float:
        """1 - cohesion with the word beside it in the article, when that binds tightly; else 1."""
        before, after = _neighbours(phrase, *lowered)
        words = phrase.split(" ")
        edge = max(cohesion(before, words[0]) if before else 0.0, cohesion(words[-1], after) if after else 0.0)
        return 1.0 - edge if edge >= params.fragment_cohesion else 1.0

    def ranked():
        """Shortlisted phrases by score, best first. The fragment factor (<= 1) is computed
        lazily: the score without it bounds the score from above, so only phrases whose
        bound reaches the top are looked up in the text (about top_k, not the shortlist)."""
        heap = []
        for phrase in shortlist:
            tf = counts[phrase]
            n_words = phrase.count(" ") + 1
            value = (1.0 + log(tf)) * rarity(phrase, tf) * quality(phrase) * (1 + params.length_weight * (n_words > 1))
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
    return [Keyword(_surface(p, title, body), round(s / top, 4)) for p, s in chosen]
