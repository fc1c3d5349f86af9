"""The TF-IDF baseline: one shared TF-IDF transform and four heads.

- type: linear classifier scores, calibrated into probabilities by a small multinomial
  logistic map fitted on out-of-fold scores;
- topics: one-vs-rest logistic regression with per-label thresholds;
- keywords: salient syllable n-grams (``keywords.py``);
- summary: extractive sentence scoring (``summary.py``).

This class only answers; ``training/baseline.py`` fits it.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import bundle
from .features import TfidfFeatures, TfidfParams, analysis_text, lead_text
from .interface import Analysis, Labels
from .keywords import KeywordParams, extract_keywords
from .results import Keyword, Summary, TopicsPrediction, TypePrediction
from .summary import (
    FEATURE_NAMES,
    SentenceScorer,
    SummaryParams,
    select_sentences,
    sentence_features,
)
from .structure import DATELINE_RE, draft_exclusions, laid_out_in_paragraphs, strip_dateline
from .text import Sentence, normalize, read_article, split_sentences, tidy_spacing

KIND = "baseline"
VOCAB_FILE = "vocabulary.json"
CHAR_VOCAB_FILE = "topic_char_vocabulary.json"
# The type head's headline blocks (HeadlineFeatures): their vocabularies, by block name.
HEADLINE_VOCAB_FILES = {"title": "type_title_vocabulary.json", "char": "type_char_vocabulary.json"}
WEIGHTS_FILE = "weights.npz"


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# An input with fewer TF-IDF terms than this is "short" (a headline with its lead, a feed item):
# such inputs have about 50-120 terms and full articles about 1,000, so any value in the gap
# splits them the same way; 200 is not tuned.
SHORT_TERMS = 200


@dataclass
class EraRouter:
    """Which era an article reads like, and whether it is short.

    A linear classifier on the TF-IDF features, trained on the sources of the typed records
    (archive: VNTC 2005-07; current: everything else), and a count of the article's terms.
    """

    coef: np.ndarray  # [n_features]: the article reads as current when X @ coef + intercept > 0
    intercept: float
    short_terms: int = SHORT_TERMS

    def is_current(self, X: sp.csr_matrix) -> np.ndarray:
        return np.asarray(X @ self.coef).ravel() + self.intercept > 0

    def is_short(self, X: sp.csr_matrix) -> np.ndarray:
        return np.diff(X.indptr) < self.short_terms

    def with_short_block(self, X: sp.csr_matrix) -> sp.csr_matrix:
        """[X | short·X]: the current head reads short inputs with weights of their own
        (Daumé's feature augmentation; a lead is worded unlike a whole article)."""
        return sp.hstack([X, sp.diags(self.is_short(X).astype(X.dtype)) @ X], format="csr")


@dataclass
class TypeHead:
    labels: list[str]
    coef: np.ndarray  # [n_labels, n_features]
    intercept: np.ndarray  # [n_labels]
    calib_coef: np.ndarray  # [n_labels, n_labels]: raw scores -> logits
    calib_intercept: np.ndarray  # [n_labels]

    def __post_init__(self) -> None:
        # X @ coef.T with a transposed view copies all weights per call; keep one contiguous
        # copy, and coef as a view of it, not a second copy.
        self._coef_t = np.ascontiguousarray(self.coef.T)
        self.coef = self._coef_t.T

    def scores(self, X: sp.csr_matrix) -> np.ndarray:
        return np.asarray(X @ self._coef_t) + self.intercept

    def term_weights(self, X: sp.csr_matrix, label: str) -> np.ndarray:
        """Each feature's weight for ``label`` as it applies to the one article in ``X``."""
        return self.coef[self.labels.index(label)] if label in self.labels else np.zeros(X.shape[1], np.float32)

    def proba(self, X: sp.csr_matrix, views: list[tuple[str, str]] | None = None) -> np.ndarray:
        """``views`` is read only by a RoutedTypeHead with headline blocks: one interface."""
        return _softmax(self.scores(X) @ self.calib_coef.T + self.calib_intercept)


@dataclass
class HeadlineFeatures:
    """Two more blocks of evidence for the current type head, read from the headline and lead.

    - ``title``: the headline's own word TF-IDF (a vocabulary of headlines), for every article:
      a headline is worded unlike a body ("Ronaldo lập cú đúp" says Thể thao in few words);
    - ``char``: character 2-4-grams of the headline + lead, for short inputs only (a feed
      item or alert), where a handful of words must carry the decision.
    Each block is scaled by ``weight``. Chosen on the dev splits of vntc/train + recent/train
    (bench/type_recipes.py, ``current_char_short_and_title_block_w0.5``).
    """

    title: TfidfFeatures | None
    char: TfidfFeatures | None
    weight: float

    def width(self) -> int:
        return sum(len(f.vocabulary) for f in (self.title, self.char) if f is not None)

    def block(self, views: list[tuple[str, str]], short: np.ndarray) -> sp.csr_matrix:
        """[title | char] rows of ``views`` ((headline, analysis text) per article); the char
        block is empty for articles that are not ``short``."""
        parts = []
        if self.title is not None:
            parts.append(self.title.transform([headline_view(title) for title, _ in views]))
        if self.char is not None:
            parts.append(self.char.transform([lead_text(a) if s else "" for (_, a), s in zip(views, short)]))
        if not parts:
            return sp.csr_matrix((len(views), 0), dtype=np.float32)
        return (sp.hstack(parts, format="csr") * self.weight).astype(np.float32)


def headline_view(title: str) -> str:
    """What the headline block reads: the normalised, lower-cased headline."""
    return normalize(title).lower() if title else ""


@dataclass
class RoutedTypeHead:
    """Two type heads and a router: the archive head for articles that read like VNTC
    (2005-07), the current head for the rest.

    Section labels drift: what VNTC files under "Đời sống" or "Văn hóa" is not what a 2024
    outlet does, and one head over both eras lost a point on VNTC (bench/type_recipes.py).
    The archive head is fitted on archive articles only, as before today's articles were
    added; the current head on every typed article, with a feature block for short inputs.
    Both heads are stacked and calibrated, so their probabilities compare.
    """

    labels: list[str]  # the current head's: every label of the training data
    archive: TypeHead
    current: TypeHead  # reads router.with_short_block(X) and headline.block: 2 x n_features + headline.width()
    router: EraRouter
    headline: HeadlineFeatures | None = None
    # The era copy's weights [n_labels, n_features] (Daumé's augmentation by era): the current
    # head learned today's records with a second copy of their features. Every input the router
    # calls current has that copy, so its weights are already added into the current head's
    # shared ones; they are taken out again where the current head reads an archive-era input
    # (a label the archive never had, below), which had no copy in training.
    era_coef: np.ndarray | None = None

    def __post_init__(self) -> None:
        self._archive_columns = [self.labels.index(label) for label in self.archive.labels]
        # Labels the archive never had (a label a retrain added, such as "Giáo dục"): the
        # archive head cannot say them, so the current head says how likely they are.
        self._new_columns = [i for i, label in enumerate(self.labels) if label not in self.archive.labels]
        self._era_coef_t = None if self.era_coef is None else np.ascontiguousarray(self.era_coef.T)

    def proba(self, X: sp.csr_matrix, views: list[tuple[str, str]] | None = None) -> np.ndarray:
        """``views``: (headline, analysis text) of each row of ``X``, which the headline
        blocks read; required when the head has them."""
        if self.headline is not None and (views is None or len(views) != X.shape[0]):
            raise ValueError("this type head reads the headline too: pass views, one (headline, analysis text) per row")
        current = self.router.is_current(X)
        # float32 like TypeHead.proba: a float64 block would make the topics head convert its
        # dense weights on every call (measured: 33 ms an article instead of 0.1).
        out = np.zeros((X.shape[0], len(self.labels)), dtype=np.float32)
        if current.any():
            out[current] = self._current_proba(X[current], _rows(views, current))
        if not current.all():
            archive = self.archive.proba(X[~current])
            if self._new_columns:
                # The router tells eras apart, not topics: an education article of 2024 may
                # read like VNTC (a quarter of them did), where the archive head can only file
                # it under an old label. P(new label) is the current head's; the archive head
                # shares the rest among the labels it knows.
                new = self._current_proba(X[~current], _rows(views, ~current), era=False)[:, self._new_columns]
                archive = archive * (1.0 - new.sum(axis=1, keepdims=True))
                out[np.ix_(~current, self._new_columns)] = new
            out[np.ix_(~current, self._archive_columns)] = archive
        return out

    def _current_proba(self, X: sp.csr_matrix, views: list[tuple[str, str]] | None, era: bool = True) -> np.ndarray:
        """``current.proba([router.with_short_block(X) | headline.block])`` without building
        the wide matrix; ``era=False``: for archive-era inputs, without the era copy's weights."""
        n, h = X.shape[1], self.current
        scores = np.asarray(X @ h._coef_t[:n]) + h.intercept
        if not era and self._era_coef_t is not None:
            scores -= np.asarray(X @ self._era_coef_t)
        short = self.router.is_short(X)
        if short.any():
            scores[short] += np.asarray(X[short] @ h._coef_t[n:2 * n])
        if self.headline is not None:
            scores += np.asarray(self.headline.block(views, short) @ h._coef_t[2 * n:])
        return _softmax(scores @ h.calib_coef.T + h.calib_intercept)

    def term_weights(self, X: sp.csr_matrix, label: str) -> np.ndarray:
        if not self.router.is_current(X)[0] and label in self.archive.labels:
            return self.archive.term_weights(X, label)
        if label not in self.labels:
            return np.zeros(X.shape[1], np.float32)
        # A current-era article, or a label only the current head knows (see proba).
        # The word terms' weights; the headline blocks' are not word terms of X.
        j = self.labels.index(label)
        n, w = X.shape[1], self.current.coef[j]
        shared = w[:n]
        if self.era_coef is not None and not self.router.is_current(X)[0]:
            shared = shared - self.era_coef[j]  # as _current_proba reads an archive-era input
        return shared + w[n:2 * n] if self.router.is_short(X)[0] else shared


def _rows(views: list | None, mask: np.ndarray) -> list | None:
    return None if views is None else [v for v, m in zip(views, mask) if m]


@dataclass
class CorpusContext:
    """What the large corpora know, as extra evidence for the topics head.

    Topic labels (DANeS) come on 1,400 short leads. Both parts read an article's word TF-IDF
    restricted to the ``columns`` most common terms:
    - ``lsa``: a truncated SVD (latent semantic analysis) fitted on the training articles,
      so a lead that shares no word with a labelled lead can still land near it;
    - ``lead_type``: a type head fitted on the *leads* of the typed (VNTC) articles, closer
      to what a topic-labelled lead looks like than the full-article type head.
    Together they raised out-of-fold micro-F1 on danes/train by about 0.012 (README).
    """

    columns: np.ndarray  # [n_common] vocabulary indices
    lsa: np.ndarray | None  # [dims, n_common]
    lsa_weight: float
    lead_type: TypeHead | None  # over the ``columns`` features
    lead_type_weight: float

    def __post_init__(self) -> None:
        # A transposed view would be copied on every product (15 M floats); keep one copy.
        self._lsa_t = np.ascontiguousarray(self.lsa.T) if self.lsa is not None else None
        # Vocabulary index -> position among ``columns`` (-1: not a common term).
        self._position = np.full(int(self.columns.max()) + 1 if self.columns.size else 0, -1, np.int64)
        self._position[self.columns] = np.arange(self.columns.size)

    def width(self) -> int:
        return (self.lsa.shape[0] if self.lsa is not None else 0) + \
            (len(self.lead_type.labels) if self.lead_type is not None else 0)

    def common_terms(self, X: sp.csr_matrix) -> sp.csr_matrix:
        """``X[:, columns]`` in O(nnz): scipy's column indexing costs ~2 ms per call on 600k columns."""
        X = X.tocsr()
        idx = X.indices
        pos = np.full(idx.shape, -1, np.int64)
        inside = idx < self._position.size
        pos[inside] = self._position[idx[inside]]
        keep = pos >= 0
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=X.shape[0]))])
        return sp.csr_matrix((X.data[keep], pos[keep], indptr), shape=(X.shape[0], self.columns.size))

    def block(self, X: sp.csr_matrix) -> np.ndarray:
        common = self.common_terms(X)
        parts = []
        if self._lsa_t is not None:
            z = np.asarray(common @ self._lsa_t)
            z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
            parts.append(z * self.lsa_weight)
        if self.lead_type is not None:
            parts.append(self.lead_type.proba(common) * self.lead_type_weight)
        return np.hstack(parts)


@dataclass
class TopicsHead:
    """One-vs-rest logistic regression over [word TF-IDF | char TF-IDF of the lead | type
    probabilities | corpus context].

    Topic data (DANeS) is small and short (headline + lead), so character n-grams of the
    lead, the type head's probabilities (learned from 34k VNTC articles) and a
    ``CorpusContext`` add evidence the 1,400 labelled leads cannot give alone; each raised
    out-of-fold micro-F1 on the training data.
    """

    labels: list[str]
    coef: sp.csr_matrix  # [n_labels, n_features], sparse: only features seen in training
    intercept: np.ndarray
    thresholds: np.ndarray  # [n_labels]
    char_features: TfidfFeatures | None = None
    char_weight: float = 0.0
    type_weight: float = 0.0
    context: CorpusContext | None = None

    def design(self, X: sp.csr_matrix, analysed: list[str], type_proba: np.ndarray | None) -> sp.csr_matrix:
        parts = [X]
        if self.char_features is not None:
            parts.append(self.char_features.transform([lead_text(t) for t in analysed]) * self.char_weight)
        if self.type_weight:
            parts.append(sp.csr_matrix(type_proba * self.type_weight))
        if self.context is not None:
            parts.append(sp.csr_matrix(self.context.block(X)))
        return sp.hstack(parts).tocsr() if len(parts) > 1 else X

    def __post_init__(self) -> None:
        # Stored sparse (only features seen in training), multiplied dense: a sparse x dense
        # product is ~5x faster than sparse x sparse here, for ~55 MB of memory.
        self._coef_t = np.ascontiguousarray(self.coef.T.toarray())

    def proba(self, D: sp.csr_matrix) -> np.ndarray:
        z = np.asarray(D @ self._coef_t) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def choose(self, proba: np.ndarray) -> list[list[int]]:
        return choose_topics(proba, self.thresholds)


@dataclass
class BaselineScores:
    texts: list[str]  # normalised
    titles: list[str]
    type_proba: np.ndarray | None  # [n, n_types]
    topic_proba: np.ndarray | None  # [n, n_topics]
    sentences: list[list[Sentence]]
    sentence_scores: list[np.ndarray]
    # per sentence: never a draft sentence (a caption, byline, subheading, a piece of a quote: model/structure.py)
    excluded: list[np.ndarray] | None = None


def choose_topics(proba: np.ndarray, thresholds: np.ndarray) -> list[list[int]]:
    """Labels over their thresholds; at least the most likely one (every article has a topic)."""
    out = []
    for row in proba:
        chosen = [int(j) for j in np.flatnonzero(row >= thresholds)]
        out.append(sorted(chosen, key=lambda j: -row[j]) or [int(row.argmax())])
    return out


def type_predictions(labels: list[str], proba: np.ndarray | None, n: int) -> list[TypePrediction]:
    if proba is None:
        return [TypePrediction("", {})] * n
    return [
        TypePrediction(labels[int(row.argmax())], {l: round(float(p), 6) for l, p in zip(labels, row)})
        for row in proba
    ]


def topic_predictions(labels: list[str], proba: np.ndarray, chosen: list[list[int]]) -> list[TopicsPrediction]:
    return [
        TopicsPrediction([labels[j] for j in picks], {l: round(float(p), 6) for l, p in zip(labels, row)})
        for row, picks in zip(proba, chosen)
    ]


def make_summary(sentences: list[Sentence], scores: np.ndarray, params: SummaryParams,
                 excluded: np.ndarray | None = None) -> Summary:
    """The draft: the best sentences within the budget, never an ``excluded`` one (page
    furniture: captions, bylines, subheadings; pieces of quotes; unless the article has nothing
    else), the lead's dateline left out."""
    if excluded is None:
        excluded = np.zeros(len(sentences), dtype=bool)
    lead = 0  # the first sentence not excluded: the one a dateline opens
    if excluded.any() and not excluded.all():
        scores = np.where(excluded, -np.inf, scores)
        lead = int(np.argmin(excluded))
    # A lead's teaser question ("Kết phim không thỏa đáng?") or the line that announces a list
    # ("Trả lời:") does not stand alone in a draft; the lead is told without it.
    usable = ~excluded & np.array([not asks_or_announces(s.text) for s in sentences], dtype=bool)
    if sentences and DATELINE_RE.match(sentences[lead].text):
        # A page whose lead opens with its dateline ("(NTO) Ngày 26-9, ..."): the newsroom's
        # own summary. The draft is that lead, its first sentences within the budget.
        chosen = lead_sentences(sentences, lead, params, ~usable & (np.arange(len(sentences)) != lead))
    elif params.follow_lead and usable.any() and laid_out_in_paragraphs(sentences):
        # A page laid out in paragraphs: its first is the lead (sapo), told the same way.
        lead = int(np.argmax(usable))
        chosen = lead_sentences(sentences, lead, params, ~usable)
    else:
        chosen = select_sentences(sentences, scores, params)
        # With ``complete_announcements``: a draft sentence that announces what follows it
        # ("… như sau:", "Ông Dũng cho biết:") without what follows dangles, so the draft is
        # chosen again without it. (Had what follows fit in the budget, the greedy choice would
        # have taken it.) A few times at most, so a page of such lines costs little; never
        # down to an empty draft.
        for _ in range(params.max_sentences if params.complete_announcements else 0):
            dangling = [i for i in chosen if announces(sentences[i].text) and i + 1 not in chosen]
            if not dangling:
                break
            scores = np.where(np.arange(len(scores)) == dangling[0], -np.inf, scores)
            chosen = select_sentences(sentences, scores, params) or chosen
    return Summary(tidy_spacing(" ".join(strip_dateline(sentences[j].text) if j == lead else sentences[j].text
                                         for j in chosen)), chosen)


def announces(sentence: str) -> bool:
    """A sentence ending in a colon announces a list, a quote or a table after it."""
    return sentence.rstrip().endswith((":", "："))


def asks_or_announces(sentence: str) -> bool:
    """A question, or a sentence that announces what follows it: neither ends a lead."""
    return announces(sentence) or sentence.rstrip("\"”'’) ").endswith("?")


def lead_sentences(sentences: list[Sentence], lead: int, params: SummaryParams,
                   excluded: np.ndarray | None = None) -> list[int]:
    """The lead paragraph's sentences from ``lead`` on, in order, within the word budget (at least one)."""
    chosen: list[int] = []
    words = 0
    for i in range(lead, len(sentences)):
        if sentences[i].paragraph != sentences[lead].paragraph or len(chosen) >= params.max_sentences:
            break
        if excluded is not None and excluded[i]:
            continue
        n = len(sentences[i].text.split())
        if chosen and words + n > params.max_words:
            break
        chosen.append(i)
        words += n
    return chosen


@dataclass
class BaselineModel:
    tfidf_params: TfidfParams
    features: TfidfFeatures
    n_docs: int  # documents the idf was computed on (for keyword document frequencies)
    type_head: TypeHead | RoutedTypeHead | None
    topics_head: TopicsHead | None
    scorer: SentenceScorer
    summary_params: SummaryParams = field(default_factory=SummaryParams)
    keyword_params: KeywordParams = field(default_factory=KeywordParams)
    meta: dict[str, Any] = field(default_factory=dict)  # metrics, data fingerprints, ...

    # --- answering -------------------------------------------------------------------
    @property
    def labels(self) -> Labels:
        return Labels(list(self.type_head.labels) if self.type_head else [],
                      list(self.topics_head.labels) if self.topics_head else [])

    def scores(self, texts: list[str], titles: list[str] | None = None) -> "BaselineScores":
        """The raw evidence behind ``analyse``: probabilities and sentence scores.

        The transformer bundle combines these with its own scores, so both models read an
        article the same way (same normalisation, same sentences).
        """
        titles = [normalize(t) for t in (titles or [""] * len(texts))]
        texts = [normalize(t) for t in texts]
        analysed = [analysis_text(t, h) for t, h in zip(texts, titles)]
        sentences = [split_sentences(t) for t in texts]
        X, features = self.article_features(analysed, sentences, titles)
        type_proba = self.type_head.proba(X, list(zip(titles, analysed))) if self.type_head is not None else None
        topic_proba = None
        if self.topics_head is not None:
            topic_proba = self.topics_head.proba(self.topics_head.design(X, analysed, type_proba))
        return BaselineScores(texts, titles, type_proba, topic_proba, sentences,
                              [self.scorer.score(f) for f in features],
                              [draft_exclusions(t, s) for t, s in zip(texts, sentences)])

    def analyse(self, texts: list[str], titles: list[str] | None = None) -> list[Analysis]:
        s = self.scores(texts, titles)
        types = self.types(s.type_proba, len(s.texts))
        topics = self.topics(s.topic_proba, len(s.texts))
        return [
            Analysis(
                type=types[i],
                topics=topics[i],
                keywords=self.keywords(s.titles[i], s.texts[i]),
                summary=make_summary(s.sentences[i], s.sentence_scores[i], self.summary_params, s.excluded[i]),
            )
            for i in range(len(s.texts))
        ]

    def keywords(self, title: str, text: str, top_k: int | None = None) -> list[Keyword]:
        params = self.keyword_params if top_k is None else replace(self.keyword_params, top_k=top_k)
        return extract_keywords(title, text, self.features.idf_lookup(), self.n_docs, params)

    def article_features(self, analysed: list[str], sentences: list[list[Sentence]],
                         titles: list[str]) -> tuple[sp.csr_matrix, list[np.ndarray]]:
        """The articles' TF-IDF rows (of ``analysis_text``) and each article's sentence feature
        matrix, for a whole batch, each article's terms looked up once."""
        pieces = [[title.lower()] + [s.text.lower() for s in doc] for title, doc in zip(titles, sentences)]
        X, P = self.features.transform_with_parts(analysed, pieces)
        # P holds, article after article, the headline's row and then its sentences' rows.
        sizes = np.array([len(doc) for doc in sentences])
        starts = np.concatenate([[0], np.cumsum(sizes + 1)[:-1]]).astype(np.int64)
        T = P[starts]
        S = P[np.delete(np.arange(P.shape[0]), starts)]
        owner = np.repeat(np.arange(len(sentences)), sizes)
        # Row-wise dot products of L2-normalised rows = cosine similarities, all at once.
        doc_sim = np.asarray(S.multiply(X[owner]).sum(axis=1)).ravel()
        title_sim = np.asarray(S.multiply(T[owner]).sum(axis=1)).ravel()
        out, pos = [], 0
        for doc in sentences:
            end = pos + len(doc)
            out.append(sentence_features(doc, doc_sim[pos:end], title_sim[pos:end]))
            pos = end
        return X, out

    def types(self, proba: np.ndarray | None, n: int) -> list[TypePrediction]:
        return type_predictions(self.type_head.labels if self.type_head else [], proba, n)

    def topics(self, proba: np.ndarray | None, n: int) -> list[TopicsPrediction]:
        if self.topics_head is None or proba is None:
            return [TopicsPrediction([], {})] * n
        return topic_predictions(self.topics_head.labels, proba, self.topics_head.choose(proba))

    def explain_type(self, text: str, title: str = "", label: str | None = None, top: int = 10) -> list[tuple[str, float]]:
        """Terms that pushed the type decision most: tf-idf value x weight for ``label``."""
        if self.type_head is None:
            return []
        article = read_article(text, title)
        analysed = analysis_text(article.body, article.title)
        X = self.features.transform([analysed])
        head = self.type_head
        j = head.labels.index(label) if label else int(head.proba(X, [(article.title, analysed)])[0].argmax())
        row = X.getrow(0)
        contrib = row.data * head.term_weights(X, head.labels[j])[row.indices]
        order = np.argsort(-contrib)[:top]
        return [(self.features.term(int(row.indices[k])), float(contrib[k])) for k in order if contrib[k] > 0]

    # --- bundle I/O ------------------------------------------------------------------
    def save(self, path: str | os.PathLike, card: str, extra_config: dict[str, Any] | None = None) -> Path:
        arrays: dict[str, np.ndarray] = {
            "idf": self.features.idf,
            "scorer_weights": self.scorer.weights,
            "scorer_mean": self.scorer.mean,
            "scorer_scale": self.scorer.scale,
        }
        config: dict[str, Any] = {
            "kind": KIND,
            "tfidf": asdict(self.tfidf_params),
            "n_docs": self.n_docs,
            "summary": asdict(self.summary_params),
            # What the scorer's weights read, so that a retrain keeps a scorer only for the same features.
            "summary_features": list(FEATURE_NAMES),
            "keywords": asdict(self.keyword_params),
            "type_labels": None,
            "topic_labels": None,
            "topic_thresholds": None,
        }
        if self.type_head is not None:
            h = self.type_head
            config["type_labels"] = h.labels
            if isinstance(h, RoutedTypeHead):
                arrays.update(_head_arrays("type_current", h.current), type_router_coef=h.router.coef.astype(np.float32))
                config["type_router"] = {"intercept": float(h.router.intercept), "short_terms": h.router.short_terms,
                                         "archive_labels": h.archive.labels}
                if h.era_coef is not None:
                    arrays["type_current_era_coef"] = h.era_coef.astype(np.float32)
                if h.headline is not None:
                    config["type_headline"] = {"weight": h.headline.weight}
                    for name in HEADLINE_VOCAB_FILES:
                        f = getattr(h.headline, name)
                        config["type_headline"][f"{name}_tfidf"] = asdict(f.params) if f is not None else None
                        if f is not None:
                            arrays[f"type_{name}_idf"] = f.idf
                h = h.archive
            arrays.update(_head_arrays("type", h))
        if self.topics_head is not None:
            h = self.topics_head
            c = h.coef.tocsr().astype(np.float32)
            arrays.update(topics_data=c.data, topics_indices=c.indices, topics_indptr=c.indptr,
                          topics_shape=np.array(c.shape), topics_intercept=h.intercept)
            config["topic_labels"] = h.labels
            config["topic_thresholds"] = [round(float(t), 6) for t in h.thresholds]
            config["topic_char_weight"] = h.char_weight
            config["topic_type_weight"] = h.type_weight
            if h.char_features is not None:
                config["topic_char_tfidf"] = asdict(h.char_features.params)
                arrays["topics_char_idf"] = h.char_features.idf
            if h.context is not None:
                ctx = h.context
                arrays["topics_context_columns"] = ctx.columns.astype(np.int32)
                config["topic_lsa_weight"] = ctx.lsa_weight
                config["topic_lead_type_weight"] = ctx.lead_type_weight
                config["topic_lead_type_labels"] = ctx.lead_type.labels if ctx.lead_type is not None else None
                if ctx.lsa is not None:
                    arrays["topics_lsa"] = ctx.lsa.astype(np.float16)  # half the size; training already rounded it
                if ctx.lead_type is not None:
                    t = ctx.lead_type
                    arrays.update(topics_lead_type_coef=t.coef.astype(np.float32), topics_lead_type_intercept=t.intercept,
                                  topics_lead_type_calib_coef=t.calib_coef, topics_lead_type_calib_intercept=t.calib_intercept)
        config.update(self.meta)
        config.update(extra_config or {})
        writer = bundle.BundleWriter(path)
        try:
            writer.add_json(VOCAB_FILE, self.features.term_list())
            if self.topics_head is not None and self.topics_head.char_features is not None:
                writer.add_json(CHAR_VOCAB_FILE, self.topics_head.char_features.term_list())
            headline = getattr(self.type_head, "headline", None)
            for name, file in HEADLINE_VOCAB_FILES.items():
                if headline is not None and getattr(headline, name) is not None:
                    writer.add_json(file, getattr(headline, name).term_list())
            writer.add_arrays(WEIGHTS_FILE, arrays)
            return writer.commit(config, card)
        except BaseException:
            writer.abort()
            raise

    @classmethod
    def load(cls, path: str | os.PathLike, config: dict[str, Any] | None = None) -> "BaselineModel":
        config = config or bundle.read_config(path)
        if config.get("kind") != KIND:
            raise bundle.BundleError(f"{path}: kind {config.get('kind')!r} is not a {KIND} bundle.")
        try:
            a = bundle.load_arrays(path, WEIGHTS_FILE)
            terms = bundle.load_json(path, VOCAB_FILE)
            params = TfidfParams(**config["tfidf"])
            type_head = topics_head = None
            if config.get("type_labels"):
                routing = config.get("type_router")
                type_head = _load_head(routing["archive_labels"] if routing else config["type_labels"], "type", a)
                if routing:
                    router = EraRouter(a["type_router_coef"], float(routing["intercept"]), int(routing["short_terms"]))
                    type_head = RoutedTypeHead(config["type_labels"], type_head,
                                               _load_head(config["type_labels"], "type_current", a), router,
                                               _load_headline(path, config.get("type_headline"), a),
                                               a.get("type_current_era_coef"))
            if config.get("topic_labels"):
                coef = sp.csr_matrix((a["topics_data"], a["topics_indices"], a["topics_indptr"]),
                                     shape=tuple(a["topics_shape"]))
                char_features = None
                if config.get("topic_char_tfidf"):
                    char_features = TfidfFeatures.from_arrays(bundle.load_json(path, CHAR_VOCAB_FILE),
                                                              a["topics_char_idf"],
                                                              TfidfParams(**config["topic_char_tfidf"]))
                topics_head = TopicsHead(config["topic_labels"], coef, a["topics_intercept"],
                                         np.asarray(config["topic_thresholds"], np.float32),
                                         char_features, float(config.get("topic_char_weight", 0.0)),
                                         float(config.get("topic_type_weight", 0.0)),
                                         _load_context(config, a))
            _check_shapes(len(terms), type_head, topics_head, a)
            features = TfidfFeatures.from_arrays(terms, a["idf"], params)
            features.idf_lookup()  # build it now, not during the first request
            return cls(
                tfidf_params=params,
                features=features,
                n_docs=int(config["n_docs"]),
                type_head=type_head,
                topics_head=topics_head,
                scorer=SentenceScorer(a["scorer_weights"], a["scorer_mean"], a["scorer_scale"]),
                summary_params=SummaryParams(**config["summary"]),
                keyword_params=KeywordParams.from_config(config["keywords"]),
                meta={k: config[k] for k in bundle.META_KEYS if k in config},
            )
        except bundle.BundleError:
            raise  # already names the damaged file
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise bundle.BundleError(f"{path}: damaged or inconsistent bundle ({type(e).__name__}: {e}).") from None


def _head_arrays(prefix: str, head: TypeHead) -> dict[str, np.ndarray]:
    return {f"{prefix}_coef": head.coef.astype(np.float32), f"{prefix}_intercept": head.intercept,
            f"{prefix}_calib_coef": head.calib_coef, f"{prefix}_calib_intercept": head.calib_intercept}


def _load_head(labels: list[str], prefix: str, a: dict) -> TypeHead:
    return TypeHead(list(labels), a[f"{prefix}_coef"], a[f"{prefix}_intercept"], a[f"{prefix}_calib_coef"],
                    a[f"{prefix}_calib_intercept"])


def _load_headline(path, config: dict[str, Any] | None, a: dict) -> HeadlineFeatures | None:
    """The current type head's HeadlineFeatures, or None for bundles made before them."""
    if not config:
        return None
    blocks = {name: TfidfFeatures.from_arrays(bundle.load_json(path, file), a[f"type_{name}_idf"],
                                              TfidfParams(**config[f"{name}_tfidf"]))
              if config.get(f"{name}_tfidf") else None
              for name, file in HEADLINE_VOCAB_FILES.items()}
    return HeadlineFeatures(blocks["title"], blocks["char"], float(config["weight"]))


def _load_context(config: dict[str, Any], a: dict) -> CorpusContext | None:
    """The topics head's CorpusContext, or None for bundles made before it existed."""
    if "topics_context_columns" not in a:
        return None
    lead_type = None
    if config.get("topic_lead_type_labels"):
        lead_type = TypeHead(config["topic_lead_type_labels"], a["topics_lead_type_coef"], a["topics_lead_type_intercept"],
                             a["topics_lead_type_calib_coef"], a["topics_lead_type_calib_intercept"])
    lsa = a["topics_lsa"].astype(np.float32) if "topics_lsa" in a else None
    return CorpusContext(a["topics_context_columns"].astype(np.int64), lsa, float(config["topic_lsa_weight"]),
                       lead_type, float(config["topic_lead_type_weight"]))


def _check_shapes(n_features: int, type_head: TypeHead | None, topics_head: TopicsHead | None, a: dict) -> None:
    """config.json and the weights must agree, or predictions would silently be wrong."""
    problems = []
    if a["idf"].shape != (n_features,):
        problems.append(f"idf has {a['idf'].shape} values for {n_features} vocabulary terms")
    heads = [(type_head, n_features)]
    if isinstance(type_head, RoutedTypeHead):
        extra = type_head.headline.width() if type_head.headline is not None else 0
        heads = [(type_head.archive, n_features), (type_head.current, 2 * n_features + extra)]
        if type_head.router.coef.shape != (n_features,):
            problems.append(f"type router has {type_head.router.coef.size} weights for {n_features} terms")
        if not set(type_head.archive.labels) <= set(type_head.labels):
            problems.append("the archive type head has labels the model does not list")
        if type_head.era_coef is not None and type_head.era_coef.shape != (len(type_head.labels), n_features):
            problems.append(f"type era weights {type_head.era_coef.shape} do not match "
                            f"{len(type_head.labels)} type_labels x {n_features} terms")
    for head, width in heads:
        if head is None:
            continue
        n = len(head.labels)
        if head.coef.shape != (n, width) or head.intercept.shape != (n,) \
                or head.calib_coef.shape != (n, n) or head.calib_intercept.shape != (n,):
            problems.append(f"type weights {head.coef.shape} do not match {n} type_labels x {width} features")
    if topics_head is not None:
        n = len(topics_head.labels)
        width = n_features + (len(topics_head.char_features.vocabulary) if topics_head.char_features else 0) \
            + (len(type_head.labels) if type_head is not None and topics_head.type_weight else 0) \
            + (topics_head.context.width() if topics_head.context is not None else 0)
        if topics_head.coef.shape != (n, width) or topics_head.intercept.shape != (n,):
            problems.append(f"topic weights {topics_head.coef.shape} do not match {n} topic_labels x {width} features")
        ctx = topics_head.context
        if ctx is not None:
            k = ctx.columns.shape[0]
            if ctx.columns.size and not 0 <= ctx.columns.min() <= ctx.columns.max() < n_features:
                problems.append("topic context columns point outside the vocabulary")
            if ctx.lsa is not None and ctx.lsa.shape[1] != k:
                problems.append(f"topic LSA has {ctx.lsa.shape[1]} columns for {k} common terms")
            t = ctx.lead_type
            if t is not None and (t.coef.shape != (len(t.labels), k) or t.calib_coef.shape != (len(t.labels),) * 2):
                problems.append(f"lead type weights {t.coef.shape} do not match {len(t.labels)} labels x {k} common terms")
        if topics_head.thresholds.shape != (n,):
            problems.append(f"{topics_head.thresholds.size} topic_thresholds for {n} topic_labels")
    if a["scorer_weights"].shape != (len(FEATURE_NAMES),):
        problems.append(f"summary scorer has {a['scorer_weights'].size} weights for {len(FEATURE_NAMES)} features")
    if problems:
        raise ValueError("; ".join(problems))
