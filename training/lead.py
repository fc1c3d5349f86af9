"""Fitting the lead detector (``model.lead``): is an article's first paragraph its lead?

Every VietNews article gives two examples: its body with the lead put back as the first
paragraph (a lead), and its body as shipped, whose first paragraph is ordinary text (not a
lead). Features come from the same code that answers (``model.lead.lead_rows``).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from model.lead import DETECTOR, LeadDetector, lead_rows
from model.structure import furniture_mask
from model.text import normalize, split_sentences

from .data import Record


def with_lead(r: Record) -> Record:
    """The record with its lead (``summary``) put back as the first paragraph."""
    return replace(r, text=f"{r.summary}\n{r.text}")


def rows_of(records: Sequence[Record], features) -> tuple[np.ndarray, np.ndarray]:
    """(feature rows, usable: a first paragraph and more) of each record, as answering sees it."""
    texts = [normalize(r.text) for r in records]
    sentences = [split_sentences(t) for t in texts]
    furniture = [furniture_mask(t, s) for t, s in zip(texts, sentences)]
    return lead_rows(sentences, furniture, [normalize(r.title) for r in records], features)


def fit_lead_detector(records: Sequence[Record], features, C: float = 1.0,
                      threshold: float = DETECTOR.threshold) -> LeadDetector:
    """A detector fit on ``records`` that carry their lead in ``summary``."""
    records = [r for r in records if r.summary]
    X_pos, ok_pos = rows_of([with_lead(r) for r in records], features)
    X_neg, ok_neg = rows_of(records, features)
    X = np.vstack([X_pos[ok_pos], X_neg[ok_neg]])
    y = np.r_[np.ones(int(ok_pos.sum())), np.zeros(int(ok_neg.sum()))]
    if len(set(y)) < 2:
        raise ValueError("need articles of two or more paragraphs, with a lead in 'summary'.")
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    clf = LogisticRegression(C=C, max_iter=5000).fit((X - mean) / scale, y)
    return LeadDetector(tuple(np.round(mean, 5).tolist()), tuple(np.round(scale, 5).tolist()),
                        tuple(np.round(clf.coef_[0], 4).tolist()), round(float(clf.intercept_[0]), 4), threshold)
