"""Key phrases: syllable n-grams (1-3) of the article ranked by TF-IDF-like salience.

Candidates never cross punctuation, never start or end with a stop word and are not
bare numbers. Each is scored by how often it occurs (headline occurrences count more),
how rare it is in the news corpus (idf from the fitted TF-IDF vocabulary), how much it
behaves like one word (a multi-syllable phrase seen as often as its rarest syllable)
and whether it is written as a proper name. Near-repeats are then removed.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .results import Keyword
from .text import stopwords

_SEGMENT_RE = re.compile(r"[^\W_]+(?:[ \t]+[^\W_]+)*", re.UNICODE)  # words joined by spaces only


@dataclass(frozen=True)
class KeywordParams:
    top_k: int = 10
    max_ngram: int = 3
    title_weight: float = 2.0
    proper_name_boost: float = 1.5
    cohesion_weight: float = 1.0
    length_weight: float = 0.35  # prefer real multi-syllable words over single syllables


def _count_candidates(text: str, max_ngram: int, stop: frozenset[str], weight: float,
                      counts: dict, surfaces: dict, capitalised: dict) -> None:
    """Count n-grams that neither start nor end with a stop word or a number."""
    for seg in _SEGMENT_RE.finditer(text):
        words = seg.group(0).split()
        lowers = [w.lower() for w in words]
        ok_edge = [not (w in stop or w.isdigit()) for w in lowers]
        cap = [w[:1].isupper() for w in words]
        n_words = len(words)
        for i in range(n_words):
            if not ok_edge[i]:
                continue
            for n in range(1, min(max_ngram, n_words - i) + 1):
                j = i + n - 1
                if not ok_edge[j]:
                    continue
                phrase = " ".join(lowers[i : j + 1]) if n > 1 else lowers[i]
                if n > 1 and phrase in stop:
                    continue
                counts[phrase] = counts.get(phrase, 0.0) + weight
                if phrase not in surfaces:
                    surfaces[phrase] = " ".join(words[i : j + 1])
                # Written with capitals away from the start of a sentence: a proper name.
                if i > 0 and all(cap[i : j + 1]):
                    capitalised[phrase] = capitalised.get(phrase, 0) + 1


def extract_keywords(title: str, body: str, idf, n_docs: int, params: KeywordParams) -> list[Keyword]:
    """Top key phrases of an article. ``idf(term) -> float | None`` gives corpus rarity."""
    stop = stopwords()
    counts: dict[str, float] = {}
    surfaces: dict[str, str] = {}
    capitalised: dict[str, int] = {}
    _count_candidates(title, params.max_ngram, stop, params.title_weight, counts, surfaces, capitalised)
    _count_candidates(body, params.max_ngram, stop, 1.0, counts, surfaces, capitalised)
    if not counts:
        return []
    max_idf = math.log(n_docs + 1) + 1.0

    def rarity(phrase: str, tf: float) -> float:
        words = phrase.split(" ")
        if len(words) <= 2:
            value = idf(phrase)
        else:  # trigrams are not in the vocabulary: the rarer of their two bigrams
            parts = [idf(" ".join(words[:2])), idf(" ".join(words[1:]))]
            value = None if None in parts else max(parts)
        if value is None:
            # Unseen in the corpus: rare, but possibly noise; trust it only if repeated.
            value = max_idf if tf >= 2 else max_idf * 0.5
        return value

    def doc_freq(term: str) -> float:
        value = idf(term)
        # smooth idf = ln((1 + n) / (1 + df)) + 1  =>  df = (1 + n) / e^(idf - 1) - 1
        return 0.0 if value is None else max((n_docs + 1) / math.exp(value - 1.0) - 1.0, 0.0)

    # A cheap first ranking (frequency x rarity x length) keeps the finer scoring to a shortlist.
    bonus = params.length_weight + params.cohesion_weight + params.proper_name_boost
    first = sorted(((1.0 + math.log(tf)) * rarity(p, tf) * (1 + bonus * (p.count(" ") > 0)), p) for p, tf in counts.items())
    shortlist = [p for _, p in first[-(params.top_k * 8):]]

    scored: list[tuple[float, str]] = []
    for phrase in shortlist:
        tf = counts[phrase]
        words = phrase.split(" ")
        cohesion = 0.0
        if len(words) > 1:
            # How much the phrase behaves like one word: as common as its rarest syllable.
            df_phrase = doc_freq(" ".join(words[:2]))
            rarest = min(doc_freq(w) for w in words) or 1.0
            cohesion = min(df_phrase / rarest, 1.0)
        score = (1.0 + math.log(tf)) * rarity(phrase, tf)
        score *= 1.0 + params.cohesion_weight * cohesion + params.length_weight * (len(words) - 1)
        if capitalised.get(phrase, 0) >= 1:
            score *= params.proper_name_boost
        scored.append((score, phrase))
    scored.sort(key=lambda x: (-x[0], x[1]))

    chosen: list[tuple[str, float]] = []
    for score, phrase in scored:
        if len(chosen) >= params.top_k:
            break
        padded = f" {phrase} "
        if any(padded in f" {c} " or f" {c} " in padded for c, _ in chosen):
            continue  # a sub- or super-phrase of one already chosen
        chosen.append((phrase, score))
    top = chosen[0][1] if chosen else 1.0
    return [Keyword(surfaces[p], round(s / top, 4)) for p, s in chosen]
