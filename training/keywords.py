"""Fitting the keyword ranking on editorial tags (the weights of ``model.keywords``).

Every candidate phrase of a tagged article is one example: its feature row, labelled by
whether an editor tagged exactly that phrase (lower case, NFC). A logistic regression over
them gives the weights; its probability is the score a keyword is shown with. The articles'
corpus statistics (idf, document frequencies) come from a trained baseline, as at answer time.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from model.keywords import FEATURES, KeywordParams, candidate_features
from model.text import normalize

from .data import Record


def tag_set(tags: Sequence[str]) -> set[str]:
    """Tags as the metric compares them: NFC, lower case, single spaces."""
    return {" ".join(normalize(t).lower().split()) for t in tags}


def examples(records: Sequence[Record], idf: Callable[[str], float | None], n_docs: int,
             params: KeywordParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(feature rows, tagged or not) of every candidate of every tagged record."""
    rows: list[list[float]] = []
    labels: list[bool] = []
    for r in records:
        if not r.tags:
            continue
        gold = tag_set(r.tags)
        phrases, feats = candidate_features(r.title, r.text, idf, n_docs, params)
        rows += feats
        labels += [p in gold for p in phrases]
    if not rows:
        raise ValueError("no candidate phrases: the records carry no tags, or no text.")
    return np.asarray(rows, dtype=float), np.asarray(labels, dtype=bool)


def fit_weights(records: Sequence[Record], idf: Callable[[str], float | None], n_docs: int,
                params: KeywordParams | None = None, C: float = 0.3) -> dict[str, float]:
    """Weights for ``KeywordParams.weights``, fit on the tags of ``records``."""
    X, y = examples(records, idf, n_docs, params)
    if y.all() or not y.any():
        raise ValueError("the tags match all or none of the candidate phrases: nothing to learn.")
    clf = LogisticRegression(C=C, max_iter=5000).fit(X, y)
    weights = {"bias": round(float(clf.intercept_[0]), 3)}
    weights.update({f: round(float(w), 3) for f, w in zip(FEATURES, clf.coef_[0])})
    return weights
