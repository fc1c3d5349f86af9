"""Fitting the TF-IDF baseline: one shared TF-IDF transform, four heads.

Each head learns only from the records that carry its label, so files from different
corpora can be mixed freely. Everything tuned here (calibration, topic thresholds, the
summary length budget) is tuned on held-out parts of the *training* data.
"""
from __future__ import annotations

import hashlib
import json
import logging
import warnings
from dataclasses import asdict, replace

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

from model.baseline import (BaselineModel, CorpusContext, EraRouter, HeadlineFeatures, RoutedTypeHead, TopicsHead,
                            TypeHead, headline_view)
from model.features import TfidfFeatures, TfidfParams, analysis_text, lead_text, make_vectorizer
from model.summary import FEATURE_NAMES, SentenceScorer, select_sentences
from model.text import read_article, split_sentences

from .common import kfold, sample_records, step, topic_matrix, tune_thresholds
from .config import BaselineParams
from .data import Record
from .metrics import rouge
from .oracle import greedy_oracle
from .parallel import ParallelTfidfVectorizer, chunked_map
from .splits import leading_holdout

log = logging.getLogger("newslens.train")

# Articles normalised and featurised at once when fitting the summary scorer: bounds memory
# (a chunk's sentences and feature rows) without a per-article call overhead.
SUMMARY_CHUNK = 256
# The logit given to a topic that every (or no) training record carries: a probability of
# about 0.9997 (or 0.0003), so the label is always (never) chosen, as in the training data.
CONSTANT_LABEL_LOGIT = 8.0
# Iterations of the type head's calibrator (a multinomial logistic map of the scorers' out-of-fold scores).
CALIBRATION_MAX_ITER = 1000
# The topic threshold when there are too few records for out-of-fold tuning (fewer than two folds).
UNTUNED_THRESHOLD = 0.3
# LSA of the common terms: power iterations of the randomised SVD (sklearn's default is 5);
# the topics recipe was chosen with 4.
LSA_POWER_ITERATIONS = 4
# A retrain (``warm_from``) keeps the current model's vocabulary while the articles it reads
# number within this share of those the vocabulary was fitted on. Counted from the fit, not the
# last retrain, so that many small retrains in a row refit it once they add up to this share.
WARM_MAX_GROWTH = 0.05
# ... and while it covers the new articles' words and word pairs about as well as the old ones'
# (at most this much less often found in it): new words (another domain, another language) need a
# vocabulary fitted again. Measured with the default model: 87.2% of the n-grams of recent/'s
# education articles (never in its corpus) are in its vocabulary, 87.5% of its own recent articles',
# 86.1% of VNTC's and 85.5% of ViMs' (other outlets, 2016).
WARM_MAX_COVERAGE_LOSS = 0.03
# Old articles read to measure that coverage (evenly spaced through the corpus).
COVERAGE_SAMPLE = 2000


def fit_baseline(records: list[Record], params: BaselineParams, progress: bool = True,
                 preferred: list[Record] | None = None, preferred_weight: float = 1.0,
                 summary_from: BaselineModel | None = None, warm_from: BaselineModel | None = None) -> BaselineModel:
    """Fit every head for which ``records`` carry labels.

    ``preferred`` records (the new data of a retrain) are always among the summary articles
    when ``summary_max_records`` caps them, so new summaries are never sampled away, and each
    counts ``preferred_weight`` times in every head's loss (a sample weight): a few hundred new
    articles are heard against tens of thousands of old ones.
    ``summary_from``: a model whose sentence scorer and draft budget are kept instead of fitted
    again (a retrain whose new data brings no summary: the scorer reads 14 features that do not
    depend on the vocabulary, and its training articles are the same, so a refit would give it
    back almost unchanged, at a tenth of the retrain's time).
    ``warm_from``: the current model of a retrain. Its TF-IDF vocabulary is kept when the
    articles number about the same (``WARM_MAX_GROWTH``), and then so are the parts fitted on
    exactly the same archive records with the same settings (the archive type head, which a
    refit would give back to float32 rounding, and the topics head's corpus context): about a third of a
    retrain's time. Every head that reads the new data is fitted again.
    """
    rng = np.random.default_rng(params.seed)  # also draws the LSA sample below: one stream, as always
    typed = [r for r in records if r.type is not None]
    topical = [r for r in records if r.topics is not None]
    summarised = sample_records([r for r in records if r.summary is not None], params.summary_max_records, rng,
                                preferred)
    if not (typed or topical or summarised):
        raise ValueError("no record carries a label (type, topics or summary); nothing to train.")

    # One TF-IDF space for all heads: the idf of a word is learned from every article.
    corpus = [r for r in records if r.type is not None or r.topics is not None] + summarised
    chosen = {id(r) for r in preferred or ()}
    with step("TF-IDF features", f"{len(corpus):,} articles"):
        # (headline, analysis text) of each article: the TF-IDF reads the second, the type
        # head's headline blocks both; read once here.
        views = [v for part in chunked_map(headline_views, corpus, cost=_text_length) for v in part]
        texts = [analysed for _, analysed in views]
        kept = kept_vocabulary(warm_from, params, texts, [id(r) in chosen for r in corpus])
        if kept:
            features, n_docs = warm_from.features, warm_from.n_docs
            X = sp.vstack(chunked_map(features.transform, texts, cost=len), format="csr")
        else:
            features, X = TfidfFeatures.fit_transform(texts, params.tfidf,
                                                      ParallelTfidfVectorizer(**make_vectorizer(params.tfidf).get_params()))
            n_docs = len(corpus)
    kept_parts = ["vocabulary"] if kept else []
    rows = {id(r): i for i, r in enumerate(corpus)}

    def weights(part: list[Record]) -> np.ndarray | None:
        """Sample weights of ``part``: None (all 1) unless it holds preferred records."""
        if preferred_weight == 1.0 or not chosen:
            return None
        w = np.array([preferred_weight if id(r) in chosen else 1.0 for r in part])
        return None if (w == 1.0).all() else w

    # The archive records (all typed ones without era routing) and everything that decides what is
    # fitted on them: the archive head and the topic context are kept when a retrain's match.
    archive = [r for r in typed if is_archive(r.source, params)] or typed
    archive_print = archive_fingerprint(features, archive, weights(archive), params)
    same_archive = kept and warm_from.meta.get("training", {}).get("archive_fingerprint") == archive_print
    type_head = topics_head = None
    if typed:
        with step("type head", f"{len(typed):,} articles, {len({r.type for r in typed})} labels"):
            untyped = untyped_of_typed_collections(records, typed) if params.type_router_reads_untyped else []
            era_rows = None
            if untyped:  # read by the era router only: not part of the TF-IDF corpus or of any head
                untyped_texts = [t for part in chunked_map(_analysis_texts, untyped, cost=_text_length) for t in part]
                era_rows = (features.transform(untyped_texts), np.array([not is_archive(r.source, params) for r in untyped]))
            typed_rows = [rows[id(r)] for r in typed]
            kept_archive = warm_from.type_head.archive if same_archive and isinstance(warm_from.type_head, RoutedTypeHead) \
                else None
            type_head = fit_routed_type_head(X[typed_rows], typed, params, weights(typed), era_rows=era_rows,
                                             archive_head=kept_archive, views=[views[i] for i in typed_rows])
            if kept_archive is not None and getattr(type_head, "archive", None) is kept_archive:
                kept_parts.append("archive type head")
                log.info("type head: the archive head kept from the current model (same vocabulary and archive)")
    if topical:
        context = None
        if params.topics_common_terms and (params.topics_lsa_dims or (params.topics_lead_type_weight and typed)):
            # The lead type head reads archive leads, as in the cross-validated recipe (README, "Topics").
            if same_archive and warm_from.topics_head is not None and warm_from.topics_head.context is not None:
                context = warm_from.topics_head.context
                kept_parts.append("topic context")
                log.info("topic context: kept from the current model (same vocabulary and archive)")
            else:
                with step("topic context", f"{params.topics_common_terms:,} common terms"):
                    context = fit_corpus_context(X, features, [texts[rows[id(r)]] for r in archive],
                                                 [r.type for r in archive], params, rng, progress)
        with step("topics head", f"{len(topical):,} articles"):
            idx = [rows[id(r)] for r in topical]
            type_proba = type_head.proba(X[idx], [views[i] for i in idx]) if type_head is not None else None
            topics_head = fit_topics_head(X[idx], [texts[i] for i in idx], type_proba, [r.topics for r in topical], params,
                                          context, weights(topical))

    model = BaselineModel(
        tfidf_params=params.tfidf,
        features=features,
        n_docs=n_docs,
        type_head=type_head,
        topics_head=topics_head,
        scorer=SentenceScorer(),
        summary_params=params.summary,
        keyword_params=params.keywords,
        # What a retrain kept from its current model instead of fitting again.
        meta={"training": {"archive_fingerprint": archive_print, "kept_from_current": kept_parts}},
    )
    if summarised and summary_from is not None:
        model.scorer, model.summary_params = summary_from.scorer, summary_from.summary_params
        log.info("summary scorer: kept from the current model (the new data brings no summary)")
    elif summarised:
        with step("summary scorer", f"{len(summarised):,} articles"):
            fit_summary(model, summarised, params, progress, chosen, preferred_weight)
    return model


def kept_vocabulary(warm_from: BaselineModel | None, params: BaselineParams, texts: list[str],
                    is_new: list[bool]) -> bool:
    """Whether a retrain keeps ``warm_from``'s TF-IDF vocabulary: same TF-IDF settings, about as
    many articles as it was fitted on (``WARM_MAX_GROWTH``), and the new articles' n-grams
    found in it about as often as the old ones' (``WARM_MAX_COVERAGE_LOSS``)."""
    if warm_from is None or warm_from.tfidf_params != params.tfidf or warm_from.n_docs <= 0:
        return False
    if abs(len(texts) - warm_from.n_docs) > WARM_MAX_GROWTH * warm_from.n_docs:
        log.info("TF-IDF: %d articles against the %d the vocabulary was fitted on: fitted again", len(texts),
                 warm_from.n_docs)
        return False
    new = [t for t, fresh in zip(texts, is_new) if fresh]
    old = [t for t, fresh in zip(texts, is_new) if not fresh]
    if not new:
        return True
    new_coverage = vocabulary_coverage(warm_from.features, new)
    old_coverage = vocabulary_coverage(warm_from.features, old[:: max(len(old) // COVERAGE_SAMPLE, 1)])
    log.info("TF-IDF: the vocabulary holds %.1f%% of the new articles' n-grams, %.1f%% of the old ones'",
             100 * new_coverage, 100 * old_coverage)
    return new_coverage >= old_coverage - WARM_MAX_COVERAGE_LOSS


def vocabulary_coverage(features: TfidfFeatures, texts: list[str]) -> float:
    """The share of the n-grams of ``texts`` (as the vectorizer cuts them) that are in the vocabulary."""
    analyze, vocabulary = features.vectorizer.build_analyzer(), features.vocabulary
    found = total = 0
    for text in texts:
        grams = analyze(text)
        total += len(grams)
        found += sum(g in vocabulary for g in grams)
    return found / total if total else 1.0


def archive_fingerprint(features: TfidfFeatures, archive: list[Record], weight: np.ndarray | None,
                        params: BaselineParams) -> str:
    """A digest of what the archive head and the topic context are fitted from: the vocabulary
    and idf, the archive records (in order, with their labels and weights) and every setting."""
    h = hashlib.sha256()
    h.update(features.idf.tobytes())
    h.update(str(len(features.vocabulary)).encode())
    h.update(json.dumps(asdict(params), sort_keys=True, default=str).encode())
    for i, r in enumerate(archive):
        w = 1.0 if weight is None else float(weight[i])
        h.update(f"{r.type}\x1f{r.source}\x1f{w!r}\x1f{r.title}\x1f{r.text}\x1e".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _text_length(record: Record) -> int:
    """What reading a record costs, to cut work into chunks of equal cost (``chunked_map``)."""
    return len(record.text) + len(record.title or "")


def _analysis_texts(records: list[Record]) -> list[str]:
    """The TF-IDF view of each record (``read_article`` splits off a pasted headline)."""
    return [analysed for _, analysed in headline_views(records)]


def headline_views(records: list[Record]) -> list[tuple[str, str]]:
    """(headline, analysis text) of each record, read as an answer reads an article: the
    TF-IDF reads the second, the type head's headline blocks (HeadlineFeatures) both."""
    return [(a.title, analysis_text(a.body, a.title)) for a in (read_article(r.text, r.title) for r in records)]


def type_estimator(params: BaselineParams):
    """The linear classifier of the type head.

    "sgd" (default): modified-Huber loss with averaged SGD, which on a held-out 20% of
    vntc/train scored 0.932 accuracy vs 0.928 for LinearSVC at the same features.
    """
    if params.type_classifier == "svm":
        return LinearSVC(C=params.type_C)
    # n_jobs: one-vs-rest binary fits run in threads; each has its own fixed seed, so the
    # result is identical for any number of cores (checked), only faster.
    return SGDClassifier(loss="modified_huber", alpha=params.type_alpha, max_iter=params.type_epochs,
                         tol=None, average=True, random_state=params.seed, n_jobs=-1)


# A linear scorer: scores = X @ W.T + b, one column per label.
Linear = tuple[np.ndarray, np.ndarray]


def fit_linear(X: sp.csr_matrix, y: np.ndarray, labels: list[str], params: BaselineParams,
               weight: np.ndarray | None = None) -> Linear:
    """The type estimator's one-vs-rest weights, one row per label (also for two labels)."""
    est = type_estimator(params).fit(X, y, sample_weight=weight)
    return one_row_per_label(est.coef_, est.intercept_)


def one_row_per_label(coef: np.ndarray, intercept: np.ndarray) -> Linear:
    """sklearn keeps one row for two labels (the second's); split it evenly into two."""
    if coef.shape[0] == 1:
        return np.vstack([-coef, coef]) / 2, np.array([-intercept[0], intercept[0]]) / 2
    return coef, intercept


def nb_ratios(X: sp.csr_matrix, positive: np.ndarray, smoothing: float) -> np.ndarray:
    """Per-term log-count ratio of one label against the rest (Wang & Manning, 2012)."""
    p = smoothing + np.asarray(X[positive].sum(axis=0)).ravel()
    q = smoothing + np.asarray(X[~positive].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


def scale_columns(X: sp.csr_matrix, r: np.ndarray) -> sp.csr_matrix:
    """``X @ diags(r)`` in X's dtype, by scaling the stored values: a sixth of the time of the
    sparse product (measured: 0.07 s vs 0.41 s on 15,000 articles), for each label and fold."""
    out = X.copy()
    out.data = (X.data * r[X.indices]).astype(X.dtype, copy=False)
    return out


def fit_nb_linear(X: sp.csr_matrix, y: np.ndarray, labels: list[str], params: BaselineParams,
                  weight: np.ndarray | None = None) -> Linear:
    """NB-SVM: for each label, the type estimator fitted on features scaled by that label's
    log-count ratios, folded back into plain weights over the TF-IDF features.

    The ratios make terms typical of one label weigh more from the start, which the
    SGD alone has to learn from data; the two scorers make different mistakes.
    """
    def one(label: str) -> tuple[np.ndarray, float]:
        positive = y == label
        r = nb_ratios(X, positive, params.type_nb_smoothing)
        clf = type_estimator(params).fit(scale_columns(X, r), positive.astype(int), sample_weight=weight)
        return r * clf.coef_[0], float(clf.intercept_[0])

    # Threads: the fits run in compiled code that releases the GIL, and each has its own seed.
    rows = Parallel(n_jobs=-1, prefer="threads")(delayed(one)(label) for label in labels)
    return np.stack([w for w, _ in rows]), np.array([b for _, b in rows])


def fit_complement_nb_linear(X: sp.csr_matrix, y: np.ndarray, labels: list[str], params: BaselineParams,
                             weight: np.ndarray | None = None) -> Linear:
    """Complement Naive Bayes (Rennie et al., 2003) over the TF-IDF features: each label's
    weights come from the term mass of every *other* label, which keeps small labels' weights
    as well estimated as large ones'. Its scores are linear; each row is centred across the
    labels (a linear map too), so the calibrator reads differences, not the article's length.
    Its smoothing is the NB-SVM's, ``type_nb_smoothing``."""
    nb = ComplementNB(alpha=params.type_nb_smoothing).fit(X, y, sample_weight=weight)
    W = nb.feature_log_prob_[[list(nb.classes_).index(label) for label in labels]]
    return W - W.mean(axis=0, keepdims=True), np.zeros(len(labels))


def fit_type_head(X: sp.csr_matrix, y: list[str], params: BaselineParams, weight: np.ndarray | None = None) -> TypeHead:
    """Linear scorers over TF-IDF, stacked and calibrated by a multinomial logistic map.

    The scorers are the type estimator and, with ``type_nb_svm``, its NB-SVM twin. The
    calibrator learns from their out-of-fold scores how to weigh them and turns the result
    into probabilities. Everything is linear, so it is folded into one weight matrix whose
    scores are already calibrated logits: predicting costs the same as one scorer.
    ``weight``: a sample weight per record, for the scorers and the calibrator alike.
    """
    labels = sorted(set(y))
    if len(labels) < 2:
        raise ValueError(f"the type head needs at least two labels in the training data; found {labels}.")
    y_arr = np.array(y)
    fits = [fit_linear] + ([fit_nb_linear] if params.type_nb_svm else []) + \
        ([fit_complement_nb_linear] if params.type_complement_nb else [])
    folds = min(params.calibration_folds, int(np.bincount(np.unique(y_arr, return_inverse=True)[1]).min()))
    if folds < 2:  # too few examples per label to calibrate: a plain softmax of the first scorer
        coef, intercept = fit_linear(X, y_arr, labels, params, weight)
        return _type_head(labels, coef, intercept, np.eye(len(labels)), np.zeros(len(labels)))
    # Cross-fitting (``type_crossfit``): the scorers are the mean of the fold models whose
    # out-of-fold scores the calibrator learns from, instead of one more fit on all records.
    scorers = None if params.type_crossfit else [fit(X, y_arr, labels, params, weight) for fit in fits]
    sums = [[0.0, 0.0] for _ in fits]
    oof = np.zeros((len(y_arr), len(labels) * len(fits)))
    for train, held in StratifiedKFold(folds, shuffle=True, random_state=params.seed).split(X, y_arr):
        for k, fit in enumerate(fits):
            fold_W, fold_b = fit(X[train], y_arr[train], labels, params, None if weight is None else weight[train])
            oof[held, k * len(labels):(k + 1) * len(labels)] = X[held] @ fold_W.T + fold_b
            if params.type_crossfit:
                sums[k][0] = sums[k][0] + fold_W / folds
                sums[k][1] = sums[k][1] + fold_b / folds
    if scorers is None:
        scorers = [(W, b) for W, b in sums]
    calib = LogisticRegression(C=1.0, max_iter=CALIBRATION_MAX_ITER)
    # With heavy sample weights (a retrain's new records) lbfgs may stop at its limit; that is
    # said once in the log, not as scikit-learn's warning in a newsroom's terminal.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        calib.fit(oof, y_arr, sample_weight=weight)
    if np.max(calib.n_iter_) >= CALIBRATION_MAX_ITER:
        log.info("type head: the calibrator stopped at its %d-iteration limit (weighted records); "
                 "its probabilities are used as fitted", CALIBRATION_MAX_ITER)
    C, c = one_row_per_label(calib.coef_, calib.intercept_)
    W = np.vstack([w for w, _ in scorers])
    b = np.concatenate([bias for _, bias in scorers])
    if len(fits) == 1:  # keep raw scores and calibration apart, as bundles always had them
        return _type_head(labels, W, b, C, c)
    return _type_head(labels, C @ W, C @ b + c, np.eye(len(labels)), np.zeros(len(labels)))


def is_archive(source: str | None, params: BaselineParams) -> bool:
    return bool(source) and source.startswith(tuple(params.type_archive_sources))


def untyped_of_typed_collections(records: list[Record], typed: list[Record]) -> list[Record]:
    """The untyped records of the collections typed records come from (a collection: the part
    of ``source`` before the first "/", such as "recent"), for the era router to learn from.

    recent/'s education articles are untyped in the shared files. A router that learns from
    typed records alone never saw an education article of today, and sent 28% of them to the
    archive head, which cannot say a label the archive never had (bench/type_recipes.py,
    router_reads_untyped: 96% routed to the current head with them, the 10 labels unchanged).
    """
    collections = {r.source.split("/", 1)[0] for r in typed if r.source}
    return [r for r in records if r.type is None and r.source and r.source.split("/", 1)[0] in collections]


def fit_routed_type_head(X: sp.csr_matrix, typed: list[Record], params: BaselineParams,
                         weight: np.ndarray | None = None,
                         era_rows: tuple[sp.csr_matrix, np.ndarray] | None = None,
                         archive_head: TypeHead | None = None,
                         views: list[tuple[str, str]] | None = None) -> TypeHead | RoutedTypeHead:
    """The type head; a RoutedTypeHead when the typed records come from both eras.

    Each record's era is known from its source (``type_archive_sources``). The archive head
    is fitted on the archive records alone, as the head was before today's articles were
    added; the current head on every typed record, with a block for short inputs; and a
    linear classifier learns to tell the eras apart for the articles it will be asked about.
    ``weight``: a sample weight per record, passed to both heads (not to the era classifier).
    ``era_rows``: (features, is current) of more records, untyped, that the era classifier
    learns from as well (``untyped_of_typed_collections``).
    ``archive_head``: a fitted archive head to use instead of fitting one (a retrain's, fitted
    on the same archive records in the same feature space: ``archive_fingerprint``).
    ``views``: ``headline_views(typed)`` when the caller has them (read again otherwise).
    Chosen on dev splits of vntc/train + recent/train (``bench/type_recipes.py``).
    """
    y = np.array([r.type for r in typed])
    current = np.array([not is_archive(r.source, params) for r in typed])
    if not params.type_era_routing or current.all() or not current.any():
        return fit_type_head(X, list(y), params, weight)
    X_era, era = X, current
    if era_rows is not None:
        X_era, era = sp.vstack([X, era_rows[0]]).tocsr(), np.r_[current, era_rows[1]]
    gate = type_estimator(params).fit(X_era, era.astype(int))
    router = EraRouter(gate.coef_[0].astype(np.float32), float(gate.intercept_[0]))
    log.info("type head: %d archive and %d current articles", (~current).sum(), current.sum())
    archive = archive_head if archive_head is not None else \
        fit_type_head(X[~current], list(y[~current]), params, None if weight is None else weight[~current])
    # The current head answers for every label, so it reads the archive records too unless
    # told not to, or when the current era lacks one of the archive's labels.
    rows = np.arange(len(y))
    if not params.type_current_reads_archive:
        missing = set(y[~current]) - set(y[current])
        if missing:
            log.warning("type head: the current era has no %s article; the current head reads the archive too",
                        ", ".join(sorted(missing)))
        else:
            rows = np.flatnonzero(current)
    X_rows = X[rows]
    short = router.is_short(X_rows)
    design = router.with_short_block(X_rows)
    headline = None
    if params.type_headline_weight:
        if views is None:
            views = [v for part in chunked_map(headline_views, typed, cost=_text_length) for v in part]
        row_views = [views[i] for i in rows]
        headline = fit_headline_features(row_views, short, params)
        if headline is not None:
            design = sp.hstack([design, headline.block(row_views, short)], format="csr")
    era_copy = params.type_current_era_copy and not current[rows].all()
    if era_copy:  # the current era's copy of its features, last (Daumé): see below
        design = sp.hstack([design, sp.diags(current[rows].astype(np.float32)) @ X_rows], format="csr")
    current_head = fit_type_head(design, list(y[rows]), replace(params, calibration_folds=params.type_current_folds),
                                 None if weight is None else weight[rows])
    era_coef = None
    if era_copy:
        # The router sends the current head only what reads like today, so every input it
        # answers for has the era copy: its weights fold into the shared ones, and the
        # stored head is as wide, and as fast, as one without it. Where the current head
        # also reads archive-era inputs (for labels the archive never had), they are kept
        # apart too, to be taken out for those (RoutedTypeHead.era_coef).
        n = X.shape[1]
        coef = current_head.coef[:, :-n].copy()
        coef[:, :n] += current_head.coef[:, -n:]
        if set(current_head.labels) - set(archive.labels):
            era_coef = current_head.coef[:, -n:].copy()
        current_head = _type_head(current_head.labels, coef, current_head.intercept, current_head.calib_coef,
                                  current_head.calib_intercept)
    return RoutedTypeHead(current_head.labels, archive, current_head, router, headline, era_coef)


def fit_headline_features(views: list[tuple[str, str]], short: np.ndarray, params: BaselineParams) -> HeadlineFeatures | None:
    """The current type head's headline blocks: a vocabulary of the headlines of ``views``
    ((headline, analysis text) per typed record) and one of character n-grams of the short
    records' headline + lead. A block whose vocabulary comes out empty (no headlines, no
    short record, too few to pass min_df) is left out; None when both are."""
    def fit(texts: list[str], tfidf: TfidfParams) -> TfidfFeatures | None:
        texts = [t for t in texts if t]
        if not texts:
            return None
        try:  # counted on every core: the same vocabulary and idf as a plain fit
            return TfidfFeatures.fit_transform(texts, tfidf, ParallelTfidfVectorizer(**make_vectorizer(tfidf).get_params()))[0]
        except ValueError:  # scikit-learn: empty vocabulary, or max_df below min_df for so few
            return None
    title = fit([headline_view(t) for t, _ in views], params.type_title_tfidf)
    char = fit([lead_text(a) for (_, a), s in zip(views, short) if s], params.type_char_tfidf)
    if title is None and char is None:
        return None
    log.info("type head: headline blocks of %d headline and %d character terms",
             len(title.vocabulary) if title else 0, len(char.vocabulary) if char else 0)
    return HeadlineFeatures(title, char, params.type_headline_weight)


def _type_head(labels, coef, intercept, calib_coef, calib_intercept) -> TypeHead:
    return TypeHead(list(labels), coef.astype(np.float32), intercept.astype(np.float32),
                    calib_coef.astype(np.float32), calib_intercept.astype(np.float32))


def fit_corpus_context(X: sp.csr_matrix, features: TfidfFeatures, typed_texts: list[str], types: list[str],
                     params: BaselineParams, rng: np.random.Generator, progress: bool) -> CorpusContext | None:
    """CorpusContext: an LSA of all articles and a type head of leads, over the most common terms."""
    df = np.bincount(X.indices, minlength=X.shape[1])
    columns = np.sort(np.argsort(-df, kind="stable")[: params.topics_common_terms])
    lsa = None
    dims = min(params.topics_lsa_dims, len(columns) - 1, X.shape[0] - 1)
    if dims >= 1:
        docs = X.shape[0]
        sample = np.sort(rng.choice(docs, params.topics_lsa_docs, replace=False)) if docs > params.topics_lsa_docs > 0 \
            else np.arange(docs)
        svd = TruncatedSVD(dims, n_iter=LSA_POWER_ITERATIONS, random_state=params.seed).fit(X[sample][:, columns])
        # Rounded to float16 as the bundle stores it, so a saved model answers exactly as fitted.
        lsa = svd.components_.astype(np.float16).astype(np.float32)
    lead_type = None
    if params.topics_lead_type_weight and len(set(types)) >= 2:
        leads = [lead_text(t) for t in typed_texts]
        L = sp.vstack(chunked_map(features.transform, leads, cost=len), format="csr")
        # Without the NB-SVM twin: it was not part of the cross-validated topics recipe, and
        # would add about a minute of training for features weighted at 0.25.
        lead_type = fit_type_head(L[:, columns], types, replace(params, type_nb_svm=False))
    if lsa is None and lead_type is None:
        return None
    return CorpusContext(columns, lsa, params.topics_lsa_weight, lead_type, params.topics_lead_type_weight)


def _ovr_logistic(X: sp.csr_matrix, Y: np.ndarray, C: float, weight: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    coefs, intercepts = [], []
    for j in range(Y.shape[1]):
        if Y[:, j].min() == Y[:, j].max():  # a label that is always (or never) present
            coefs.append(np.zeros(X.shape[1]))
            intercepts.append(CONSTANT_LABEL_LOGIT if Y[0, j] else -CONSTANT_LABEL_LOGIT)
            continue
        # Sequential on purpose: liblinear holds the GIL, and threads measured slower.
        lr = LogisticRegression(C=C, solver="liblinear", max_iter=1000).fit(X, Y[:, j], sample_weight=weight)
        coefs.append(lr.coef_[0])
        intercepts.append(lr.intercept_[0])
    return np.array(coefs), np.array(intercepts)


def fit_topics_head(X: sp.csr_matrix, analysed: list[str], type_proba: np.ndarray | None,
                    topics: list[tuple[str, ...]], params: BaselineParams,
                    context: CorpusContext | None = None, weight: np.ndarray | None = None) -> TopicsHead:
    labels = sorted({t for ts in topics for t in ts})
    Y = topic_matrix(topics, labels)
    char_features = None
    if params.topics_char_weight > 0:
        char_features, _ = TfidfFeatures.fit_transform([lead_text(t) for t in analysed], params.topics_char_tfidf)
    head = TopicsHead(labels, sp.csr_matrix((len(labels), 0)), np.zeros(len(labels)), np.zeros(len(labels)),
                      char_features, params.topics_char_weight,
                      params.topics_type_weight if type_proba is not None else 0.0, context)
    X = head.design(X, analysed, type_proba)
    coef, intercept = _ovr_logistic(X, Y, params.topics_C, weight)
    # Per-label thresholds from out-of-fold probabilities, shrunk towards one shared
    # threshold for labels with few examples (their own optimum is mostly noise).
    oof = np.zeros(Y.shape, dtype=float)
    folds = min(params.topics_folds, len(topics))
    if folds >= 2:
        for train_idx, test_idx in kfold(len(topics), folds, params.seed):
            c, b = _ovr_logistic(X[train_idx], Y[train_idx], params.topics_C, None if weight is None else weight[train_idx])
            oof[test_idx] = 1 / (1 + np.exp(-(X[test_idx] @ c.T + b)))
        thresholds = tune_thresholds(oof, Y)
    else:
        thresholds = np.full(len(labels), UNTUNED_THRESHOLD)
    return replace(head, coef=sp.csr_matrix(coef.astype(np.float32)), intercept=intercept.astype(np.float32),
                   thresholds=thresholds.astype(np.float32))


def _summary_examples(model: BaselineModel, records: list[Record], oracle: bool = False):
    """(position in ``records``, sentences, sentence features, the oracle's sentence indices when
    ``oracle``) for each article that has sentences, computed on every core."""
    def part(chunk: list[tuple[int, Record]]):
        out = []
        for start in range(0, len(chunk), SUMMARY_CHUNK):
            batch = chunk[start : start + SUMMARY_CHUNK]
            articles = [read_article(r.text, r.title) for _, r in batch]
            texts, titles = [a.body for a in articles], [a.title for a in articles]
            sentences = [split_sentences(t) for t in texts]
            _, features = model.article_features([analysis_text(t, h) for t, h in zip(texts, titles)], sentences, titles)
            for (i, r), s, f in zip(batch, sentences, features):
                if s:
                    out.append((i, s, f, greedy_oracle([x.text for x in s], r.summary) if oracle else None))
        return out

    return [row for rows in chunked_map(part, list(enumerate(records)), cost=lambda item: _text_length(item[1])) for row in rows]


def fit_summary(model: BaselineModel, records: list[Record], params: BaselineParams, progress: bool,
                preferred: set[int] | None = None, preferred_weight: float = 1.0) -> None:
    """Fit the sentence scorer on oracle labels, then choose the word budget on held-out articles.

    ``preferred`` (ids of records: a retrain's new summaries) are never in the budget's
    holdout, so they train the scorer, where each sentence of theirs counts ``preferred_weight``.
    """
    preferred = preferred or set()
    # The first articles of the sample in file order, as always; preferred ones are left out of it.
    fit_part, hold_part = leading_holdout([r for r in records if id(r) not in preferred], params.summary_holdout)
    fit_part = fit_part + [r for r in records if id(r) in preferred]
    feats, labels, weights = [], [], []
    for i, sentences, f, chosen in _summary_examples(model, fit_part, oracle=True):
        feats.append(f)
        chosen = set(chosen)
        labels.extend(k in chosen for k in range(len(sentences)))
        weights.extend([preferred_weight if id(fit_part[i]) in preferred else 1.0] * len(sentences))
    F, y = np.vstack(feats), np.array(labels, dtype=int)
    if y.min() == y.max():
        log.warning("summary: oracle labels are all %d; keeping the default sentence scorer", y[0])
        return
    mean, scale = F.mean(0), F.std(0)
    mean[0], scale[0] = 0.0, 1.0  # keep the bias column as is
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=1.0, max_iter=2000, fit_intercept=False).fit(
        (F - mean) / scale, y, sample_weight=np.array(weights) if preferred_weight != 1.0 else None)
    model.scorer = SentenceScorer(lr.coef_[0].astype(np.float32), mean.astype(np.float32), scale.astype(np.float32))
    log.info("summary: weights %s", {n: round(float(w), 3) for n, w in zip(FEATURE_NAMES, lr.coef_[0])})
    if not hold_part:
        return
    held = [(hold_part[i], s, f) for i, s, f, _ in _summary_examples(model, hold_part)]
    best = None
    for budget in params.summary_budgets:
        p = replace(params.summary, max_words=budget)
        preds = [" ".join(s[i].text for i in select_sentences(s, model.scorer.score(f), p)) for _, s, f in held]
        scores = rouge(preds, [r.summary for r, _, _ in held])
        total = scores["rouge1"] + scores["rouge2"] + scores["rougeL"]
        log.info("summary: budget %d words -> R1 %.3f R2 %.3f RL %.3f", budget, scores["rouge1"], scores["rouge2"], scores["rougeL"])
        if best is None or total > best[0]:
            best = (total, p)
    model.summary_params = best[1]
