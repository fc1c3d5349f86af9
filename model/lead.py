"""Is the article's first paragraph its lead (sapo)? Then the draft summary is that lead.

A pasted page starts with the newsroom's own summary, often without a dateline to mark it. A
body without its lead (a feed, VietNews) starts with ordinary text. The two look alike, but
a lead *summarises*: its words come back in the rest of the article (the rarer ones above
all), it is one or two sentences, it rarely quotes anyone. A logistic regression over such
features of the first paragraph, fit on VietNews articles with and without their lead
(``training/lead.py``, ``bench/lead.py --fit``), gives the probability that it is a lead.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .text import Sentence, stopwords, tokenize

LEAD_FEATURES = (
    "log_words",          # log(1 + words of the first paragraph)
    "sentences",          # its sentences
    "one_sentence",
    "recall_in_rest",     # share of its content syllables found in the rest of the article
    "rare_recall",        # the same, each syllable weighted by its idf
    "in_headline",        # share of its content syllables found in the headline
    "cosine_rest",        # TF-IDF cosine with the rest of the article
    "cosine_headline",    # TF-IDF cosine with the headline
    "final_punctuation",  # it ends a sentence
    "quote",              # it quotes someone
    "colon",
    "next_longer",        # log(1 + words of the next paragraph) - log(1 + its words)
    "log_rest_words",     # log(1 + words of the rest)
    "opens_with_when",    # "Ngày …", "Sáng …", "Theo …": how leads often open
)
_QUOTE_RE = re.compile(r"[“”\"]")
_OPENS_RE = re.compile(r"^(?:Ngày|Sáng|Chiều|Tối|Trưa|Đêm|Hôm|Theo|Tại|Trong)\b")
_FINAL = (".", "!", "?", "…")
UNSEEN_IDF = 12.0  # a syllable the corpus never saw: as rare as the rarest ones of 100k documents


@dataclass(frozen=True)
class LeadDetector:
    """Standardised logistic regression over ``LEAD_FEATURES``; ``threshold`` on its probability."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float

    def probability(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros(0)
        z = ((np.asarray(rows, dtype=float) - self.mean) / self.scale) @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


# Fit by ``python bench/lead.py --fit`` on 3,000 articles of vietnews/train, each with and without
# its lead, with the default baseline's TF-IDF; the threshold was chosen on vietnews/dev (the most
# leads recognised while the drafts of bodies without a lead lose nothing).
DETECTOR = LeadDetector(
    mean=(3.45544, 1.08283, 0.923, 0.76342, 0.76146, 0.26497, 0.20756, 0.21278, 0.99317, 0.1135, 0.02817,
          -0.04126, 5.97049, 0.195),
    scale=(0.49955, 0.29828, 0.26659, 0.1811, 0.1883, 0.16556, 0.09226, 0.15381, 0.08238, 0.3172, 0.16545,
           0.75088, 0.54556, 0.3962),
    coef=(0.4238, 0.8189, -0.0588, 0.6808, 0.2181, -0.1242, 0.1976, 0.667, 0.0019, -0.0199, -0.2712, -0.4874,
          0.0001, -0.7509),
    intercept=0.02,
    threshold=0.4,
)


def parts(sentences: list[Sentence], furniture: np.ndarray | None) -> tuple[list[int], list[int], list[int]]:
    """Indices of the first paragraph's sentences, of the next paragraph's, and of all later
    ones; page furniture (captions, bylines …) left out."""
    keep = [i for i in range(len(sentences)) if furniture is None or not furniture[i]]
    if not keep:
        return [], [], []
    first = sentences[keep[0]].paragraph
    lead = [i for i in keep if sentences[i].paragraph == first]
    rest = [i for i in keep if sentences[i].paragraph != first]
    following = [i for i in rest if sentences[i].paragraph == sentences[rest[0]].paragraph] if rest else []
    return lead, following, rest


def lead_rows(sentences: list[list[Sentence]], furniture: list[np.ndarray | None], titles: list[str],
              features) -> tuple[np.ndarray, np.ndarray]:
    """(feature rows, has a first paragraph and more) for a batch of articles.

    ``features`` is the model's ``TfidfFeatures``: its idf and its vectors (one transform
    call for the whole batch).
    """
    stop = stopwords()
    idf = features.idf_lookup()
    rows = np.zeros((len(sentences), len(LEAD_FEATURES)))
    usable = np.zeros(len(sentences), dtype=bool)
    texts: list[str] = []
    for k, (doc, mask, title) in enumerate(zip(sentences, furniture, titles)):
        lead, following, rest = parts(doc, mask)
        if not lead or not rest:
            texts += ["", "", ""]
            continue
        usable[k] = True
        first = " ".join(doc[i].text for i in lead)
        others = " ".join(doc[i].text for i in rest)
        texts += [first.lower(), others.lower(), title.lower()]
        words = len(first.split())
        rest_tokens = set(tokenize(others))
        title_tokens = set(tokenize(title))
        content = [t for t in tokenize(first) if t not in stop and not t.isdigit()]
        weights = [idf(t) or UNSEEN_IDF for t in content]
        found = [t in rest_tokens for t in content]
        rows[k] = (
            math.log1p(words),
            len(lead),
            float(len(lead) == 1),
            float(np.mean(found)) if content else 0.0,
            sum(w for w, f in zip(weights, found) if f) / sum(weights) if content else 0.0,
            float(np.mean([t in title_tokens for t in content])) if content else 0.0,
            0.0,  # cosines below, from one transform
            0.0,
            float(first.rstrip().endswith(_FINAL)),
            float(bool(_QUOTE_RE.search(first))),
            float(":" in first),
            math.log1p(sum(len(doc[i].text.split()) for i in following)) - math.log1p(words),
            math.log1p(len(others.split())),
            float(bool(_OPENS_RE.match(first))),
        )
    if usable.any():
        V = features.transform(texts)
        dots = np.asarray(V[0::3].multiply(V[1::3]).sum(axis=1)).ravel()
        heads = np.asarray(V[0::3].multiply(V[2::3]).sum(axis=1)).ravel()
        rows[:, LEAD_FEATURES.index("cosine_rest")] = dots
        rows[:, LEAD_FEATURES.index("cosine_headline")] = heads
    return rows, usable


def is_lead(sentences: list[list[Sentence]], furniture: list[np.ndarray | None], titles: list[str], features,
            detector: LeadDetector = DETECTOR) -> list[bool]:
    """For each article: does its first paragraph read as its lead?"""
    rows, usable = lead_rows(sentences, furniture, titles, features)
    return [bool(u and p >= detector.threshold) for u, p in zip(usable, detector.probability(rows))]
