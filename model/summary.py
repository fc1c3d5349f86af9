"""Extractive summaries: score sentences, keep the best in document order within a budget.

The score is a logistic model over a few readable sentence features (position, length,
similarity to the document and headline, caption cues). Its weights are fitted in
``training/baseline.py`` (``fit_summary``) against oracle sentences of ``vietnews/train``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .text import Sentence, tokenize

FEATURE_NAMES = (
    "bias",
    "inv_position",
    "is_first",
    "is_second",
    "relative_position",
    "log_length",
    "is_short",
    "no_final_punct",
    "doc_similarity",
    "title_similarity",
    "digit_ratio",
    "starts_with_quote",
    "photo_credit",
    "first_paragraph",
)
_PHOTO_RE = re.compile(r"(^|\W)(ảnh|photo|video|clip|nguồn)\s*[:：]", re.IGNORECASE)
_FINAL_PUNCT = tuple(".!?…\"”'’)")


@dataclass(frozen=True)
class SummaryParams:
    """How long a draft may be: like a lead paragraph (sapo) by default."""

    max_words: int = 40
    max_sentences: int = 3
    min_sentences: int = 1


@dataclass
class SentenceScorer:
    """Logistic sentence scorer over ``FEATURE_NAMES`` (standardised inputs)."""

    weights: np.ndarray = field(default_factory=lambda: _DEFAULT_WEIGHTS.copy())
    mean: np.ndarray = field(default_factory=lambda: np.zeros(len(FEATURE_NAMES), np.float32))
    scale: np.ndarray = field(default_factory=lambda: np.ones(len(FEATURE_NAMES), np.float32))

    def score(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.scale) @ self.weights


# Before fitting: favour early, central, complete sentences (a sensible Lead-like prior).
_DEFAULT_WEIGHTS = np.array([0, 1.0, 1.0, 0.3, -0.5, 0.3, -0.5, -0.5, 1.0, 0.5, 0, 0, -1.0, 0.2], np.float32)


def sentence_features(sentences: list[Sentence], doc_sim: np.ndarray, title_sim: np.ndarray) -> np.ndarray:
    """Feature matrix [n_sentences, len(FEATURE_NAMES)].

    ``doc_sim`` and ``title_sim`` are cosine similarities of each sentence's TF-IDF vector to
    the whole article and to its headline (0 without one).
    """
    n = len(sentences)
    out = np.zeros((n, len(FEATURE_NAMES)), np.float32)
    if n == 0:
        return out
    first_paragraph = sentences[0].paragraph
    for i, s in enumerate(sentences):
        tokens = tokenize(s.text)
        n_tok = max(len(tokens), 1)
        out[i] = (
            1.0,
            1.0 / (i + 1),
            i == 0,
            i == 1,
            i / max(n - 1, 1),
            np.log1p(n_tok),
            n_tok < 8,
            not s.text.endswith(_FINAL_PUNCT),
            doc_sim[i],
            title_sim[i],
            sum(t.isdigit() for t in tokens) / n_tok,
            s.text[:1] in "\"“'‘-–",
            bool(_PHOTO_RE.search(s.text)),
            s.paragraph == first_paragraph,
        )
    return out


def select_sentences(sentences: list[Sentence], scores: np.ndarray, params: SummaryParams) -> list[int]:
    """Best-scoring sentences within the word budget, returned in document order."""
    chosen: list[int] = []
    words = 0
    for i in np.argsort(-scores, kind="stable"):
        if len(chosen) >= params.max_sentences or scores[i] == -np.inf:  # -inf: never a draft sentence
            break
        n_words = len(sentences[i].text.split())
        if chosen and words + n_words > params.max_words and len(chosen) >= params.min_sentences:
            continue
        chosen.append(int(i))
        words += n_words
    return sorted(chosen)
