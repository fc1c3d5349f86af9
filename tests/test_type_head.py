"""training/baseline.py: the type head, a calibrated stack of a linear scorer and its NB-SVM twin."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import make_records, small_params
from model.features import TfidfFeatures, TfidfParams, analysis_text
from model.baseline import TypeHead
from training.baseline import fit_complement_nb_linear, fit_type_head, nb_ratios
from training.config import ConfigError


@pytest.fixture(scope="module")
def typed():
    records = [r for r in make_records() if r.type is not None]
    features, X = TfidfFeatures.fit_transform([analysis_text(r.text, r.title) for r in records],
                                              TfidfParams(min_df=1, max_df=1.0, max_features=None))
    return X, [r.type for r in records]


def test_nb_ratios_favour_the_terms_of_the_label():
    # term 0 only in positive rows, term 1 only in negative rows, term 2 everywhere alike
    X = sp.csr_matrix(np.array([[1.0, 0, 1], [1.0, 0, 1], [0, 1.0, 1], [0, 1.0, 1]]))
    r = nb_ratios(X, np.array([True, True, False, False]), smoothing=0.1)
    assert r[0] > 0 > r[1]
    assert r[2] == pytest.approx(0.0)


@pytest.mark.parametrize("nb_svm, complement_nb", [(False, False), (True, False), (True, True)])
def test_type_head_probabilities_are_calibrated_and_right_on_clear_cases(typed, nb_svm, complement_nb):
    X, y = typed
    head = fit_type_head(X, y, replace(small_params(), type_nb_svm=nb_svm, type_complement_nb=complement_nb))
    proba = head.proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    predicted = np.array(head.labels)[proba.argmax(axis=1)]
    assert (predicted == np.array(y)).mean() >= 0.9
    assert head.coef.shape == (len(set(y)), X.shape[1])


def test_nb_svm_is_folded_into_one_weight_matrix_of_calibrated_logits(typed):
    X, y = typed
    head = fit_type_head(X, y, replace(small_params(), type_nb_svm=True))
    # Prediction costs one product, as without the twin: the calibration is inside the weights.
    np.testing.assert_array_equal(head.calib_coef, np.eye(len(head.labels), dtype=np.float32))
    np.testing.assert_array_equal(head.calib_intercept, np.zeros(len(head.labels), dtype=np.float32))
    plain = fit_type_head(X, y, replace(small_params(), type_nb_svm=False))
    assert not np.allclose(plain.coef, head.coef)


def test_complement_nb_scores_are_linear_centred_and_favour_the_label(typed):
    X, y = typed
    labels = sorted(set(y))
    W, b = fit_complement_nb_linear(X, np.array(y), labels, small_params())
    assert W.shape == (len(labels), X.shape[1]) and not b.any()
    np.testing.assert_allclose(W.sum(axis=0), 0.0, atol=1e-9)  # centred across the labels
    predicted = np.array(labels)[np.asarray(X @ W.T).argmax(axis=1)]
    assert (predicted == np.array(y)).mean() >= 0.8


def test_two_labels_give_one_weight_row_per_label(typed):
    X, y = typed
    keep = [i for i, label in enumerate(y) if label in sorted(set(y))[:2]]
    head = fit_type_head(X[keep], [y[i] for i in keep], small_params())
    assert head.coef.shape == (2, X.shape[1])
    predicted = np.array(head.labels)[head.proba(X[keep]).argmax(axis=1)]
    assert (predicted == np.array([y[i] for i in keep])).mean() >= 0.9


@pytest.mark.parametrize("change, match", [({"type_nb_svm": "yes"}, "type_nb_svm must be true or false"),
                                           ({"type_complement_nb": 1}, "type_complement_nb must be true or false"),
                                           ({"type_nb_smoothing": 0}, "type_nb_smoothing must be a positive number")])
def test_bad_nb_svm_settings_are_refused(change, match):
    with pytest.raises(ConfigError, match=match):
        replace(small_params(), **change)


# --- the era router ------------------------------------------------------------------------
def _two_era_records():
    """Health words are "Đời sống" in the archive and "Sức khỏe" today, and only today has
    short inputs; each era has words of its own, so a classifier can tell them apart."""
    from conftest import HEALTH, SPORTS, VOCAB
    from training.data import Record

    marks = {"vntc/A": "máy nhắn tin đĩa mềm", "recent/B": "điện thoại thông minh mạng xã hội"}
    out = []
    for source, mark in marks.items():
        for i in range(10):
            for label in (SPORTS, HEALTH):
                typed = "Đời sống" if (label == HEALTH and source.startswith("vntc/")) else label
                text = " ".join(VOCAB[label][(i + k) % 6] for k in range(3)) + " " + mark
                out.append(Record(id=f"{source}-{label}-{i}", text=text, source=source, type=typed))
    return out


@pytest.fixture(scope="module")
def two_eras():
    from training.baseline import fit_routed_type_head

    records = _two_era_records()
    _, X = TfidfFeatures.fit_transform([analysis_text(r.text, r.title) for r in records],
                                       TfidfParams(min_df=1, max_df=1.0, max_features=None))
    return records, X, fit_routed_type_head(X, records, small_params())


def _views(records):
    from training.baseline import headline_views

    return headline_views(records)


def test_routed_head_reads_each_era_by_its_own_labels(two_eras):
    from model.baseline import RoutedTypeHead

    records, X, head = two_eras
    views = _views(records)
    assert isinstance(head, RoutedTypeHead)
    assert head.labels == sorted({r.type for r in records})
    assert sorted(head.archive.labels) == sorted({r.type for r in records if r.source.startswith("vntc/")})
    # shared + short block + the headline blocks: no record has a headline, all are short, so
    # only the character block is there
    assert head.headline.title is None and len(head.headline.char.vocabulary) > 0
    assert head.current.coef.shape == (len(head.labels), 2 * X.shape[1] + head.headline.width())
    proba = head.proba(X, views)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    predicted = np.array(head.labels)[proba.argmax(axis=1)]
    assert (predicted == np.array([r.type for r in records])).mean() >= 0.95
    # an archive article: the label the archive lacks gets the current head's probability, and
    # the archive head shares the rest among its own labels, in its own proportions
    archive = np.array([r.source.startswith("vntc/") for r in records])
    new = head.labels.index("Sức khỏe")
    archive_views = [v for v, a in zip(views, archive) if a]
    # ... read without the era copy's weights, as the archive-era training records were: the
    # health words that mean "Đời sống" in the archive do not become "Sức khỏe" there
    assert head.era_coef is not None and head.era_coef.shape == (len(head.labels), X.shape[1])
    np.testing.assert_allclose(proba[archive][:, new],
                               head._current_proba(X[archive], archive_views, era=False)[:, new], rtol=1e-5)
    known = [head.labels.index(label) for label in head.archive.labels]
    np.testing.assert_allclose(proba[archive][:, known],
                               head.archive.proba(X[archive]) * (1 - proba[archive][:, [new]]), rtol=1e-5)
    # the fast path equals the current head on the wide features
    wide = sp.hstack([head.router.with_short_block(X), head.headline.block(views, head.router.is_short(X))], format="csr")
    np.testing.assert_allclose(head._current_proba(X, views), head.current.proba(wide), atol=1e-4)
    with pytest.raises(ValueError, match="pass views"):
        head.proba(X)


def test_headline_blocks_read_headlines_and_short_leads_only():
    from model.baseline import HeadlineFeatures
    from training.baseline import fit_headline_features

    params = replace(small_params(), type_title_tfidf=TfidfParams(min_df=1, max_df=1.0, max_features=None),
                     type_char_tfidf=TfidfParams(analyzer="char_wb", ngram_min=2, ngram_max=3, min_df=1, max_df=1.0,
                                                 max_features=None))
    views = [("Đội tuyển thắng đậm", "đội tuyển thắng đậm\nbàn thắng phút cuối"),
             ("Giá vàng tăng mạnh", "giá vàng tăng mạnh\nthị trường sôi động")]
    short = np.array([True, False])
    blocks = fit_headline_features(views, short, params)
    assert isinstance(blocks, HeadlineFeatures)
    assert "thắng đậm" in blocks.title.vocabulary  # the headlines' own words
    assert "bàn" not in blocks.title.vocabulary  # never the body's
    assert " bà" in blocks.char.vocabulary and "giá" not in "".join(blocks.char.vocabulary)  # the short one's lead only
    B = blocks.block(views, short)
    assert B.shape == (2, blocks.width())
    n_title = len(blocks.title.vocabulary)
    assert B[0, n_title:].nnz > 0 and B[1, n_title:].nnz == 0  # a full text gets no character block
    np.testing.assert_allclose(abs(B[0, :n_title]).sum(), params.type_headline_weight * abs(blocks.title.transform(
        ["đội tuyển thắng đậm"])).sum(), rtol=1e-5)
    # nothing to learn from: no headline, no short record
    assert fit_headline_features([("", "a b c"), ("", "d e f")], np.array([False, False]), params) is None


def test_headline_weight_zero_keeps_the_head_as_before(two_eras):
    from training.baseline import fit_routed_type_head

    records, X, _ = two_eras
    head = fit_routed_type_head(X, records, replace(small_params(), type_headline_weight=0.0))
    assert head.headline is None
    assert head.current.coef.shape == (len(head.labels), 2 * X.shape[1])
    np.testing.assert_allclose(head.proba(X).sum(axis=1), 1.0, rtol=1e-5)  # no views needed


def test_router_tells_the_eras_apart_and_marks_short_inputs(two_eras):
    records, X, head = two_eras
    current = np.array([r.source.startswith("recent/") for r in records])
    np.testing.assert_array_equal(head.router.is_current(X), current)
    wide = head.router.with_short_block(X)
    assert wide.shape == (X.shape[0], 2 * X.shape[1])
    assert (wide[:, X.shape[1]:] != X).nnz == 0  # every synthetic article is short: the block repeats X


def test_routed_term_weights_are_the_weights_that_apply(two_eras):
    records, X, head = two_eras
    n = X.shape[1]
    i = next(k for k, r in enumerate(records) if r.source.startswith("recent/"))
    row, label = X[i:i + 1], records[i].type
    w = head.current.coef[head.labels.index(label)]
    np.testing.assert_allclose(head.term_weights(row, label), w[:n] + w[n:2 * n], rtol=1e-6)
    j = next(k for k, r in enumerate(records) if r.source.startswith("vntc/"))
    np.testing.assert_allclose(head.term_weights(X[j:j + 1], "Đời sống"),
                               head.archive.coef[head.archive.labels.index("Đời sống")], rtol=1e-6)
    # not an archive label: the current head's weights, as it is the head that says it
    # (read as an archive-era input: without the era copy's weights)
    k = head.labels.index("Sức khỏe")
    w = head.current.coef[k]
    np.testing.assert_allclose(head.term_weights(X[j:j + 1], "Sức khỏe"), w[:n] - head.era_coef[k] + w[n:2 * n],
                               rtol=1e-5, atol=1e-6)


def test_a_label_the_archive_never_had_is_said_of_an_article_that_reads_like_the_archive():
    """A retrain adds "Giáo dục" from today's articles. An education article worded like
    VNTC goes to the archive head, which cannot say the label; the current head must."""
    from conftest import SPORTS, VOCAB
    from model.baseline import RoutedTypeHead
    from training.baseline import fit_routed_type_head
    from training.data import Record

    school = ["học sinh thi tốt nghiệp", "trường đại học tuyển sinh", "giáo viên dạy học",
              "điểm chuẩn đại học", "sinh viên nhập học", "kỳ thi học sinh giỏi"]
    marks = {"vntc/A": "máy nhắn tin đĩa mềm", "recent/B": "điện thoại thông minh mạng xã hội"}
    records = []
    for source, mark in marks.items():
        for i in range(10):
            for label, words in ((SPORTS, VOCAB[SPORTS]), ("Kinh doanh", VOCAB["Kinh doanh"]), ("Giáo dục", school)):
                if label == "Giáo dục" and source.startswith("vntc/"):
                    continue
                text = " ".join(words[(i + k) % 6] for k in range(3)) + " " + mark
                records.append(Record(id=f"{source}-{label}-{i}", text=text, source=source, type=label))
    features, X = TfidfFeatures.fit_transform([analysis_text(r.text, r.title) for r in records],
                                              TfidfParams(min_df=1, max_df=1.0, max_features=None))
    head = fit_routed_type_head(X, records, small_params())
    assert isinstance(head, RoutedTypeHead) and "Giáo dục" not in head.archive.labels
    analysed = analysis_text(" ".join(school[:3]) + " " + marks["vntc/A"], "")
    article = features.transform([analysed])
    assert not head.router.is_current(article)[0]  # it reads like the archive
    proba = head.proba(article, [("", analysed)])[0]
    assert head.labels[int(proba.argmax())] == "Giáo dục"
    np.testing.assert_allclose(proba.sum(), 1.0, rtol=1e-5)


def test_one_era_or_routing_off_gives_the_plain_head(two_eras):
    from training.baseline import fit_routed_type_head

    records, X, _ = two_eras
    recent = [i for i, r in enumerate(records) if r.source.startswith("recent/")]
    assert isinstance(fit_routed_type_head(X[recent], [records[i] for i in recent], small_params()), TypeHead)
    assert isinstance(fit_routed_type_head(X, records, replace(small_params(), type_era_routing=False)), TypeHead)


def test_the_current_head_can_read_the_current_era_alone(two_eras, caplog):
    from training.baseline import fit_routed_type_head

    from conftest import BUSINESS, VOCAB
    from training.data import Record

    records, X, _ = two_eras
    # Today's outlets also write "Đời sống" articles (here: business words), so the current
    # era has every label of the archive.
    part = records + [Record(id=f"recent/B-life-{i}", source="recent/B", type="Đời sống",
                             text=" ".join(VOCAB[BUSINESS][(i + k) % 6] for k in range(3)) + " điện thoại thông minh")
                      for i in range(10)]
    features, Xp = TfidfFeatures.fit_transform([analysis_text(r.text, r.title) for r in part],
                                               TfidfParams(min_df=1, max_df=1.0, max_features=None))
    archive_only = [features.vocabulary[w] for w in ("máy", "nhắn", "đĩa", "mềm")]  # in archive articles alone
    n = Xp.shape[1]
    alone = fit_routed_type_head(Xp, part, replace(small_params(), type_current_reads_archive=False))
    both = fit_routed_type_head(Xp, part, small_params())
    assert not alone.current.coef[:, archive_only].any() and not alone.current.coef[:, n:][:, archive_only].any()
    assert both.current.coef[:, archive_only].any()  # by default it reads the archive too
    # the archive has a label the current era lacks: the current head must read the archive for it
    with caplog.at_level("WARNING"):
        fallback = fit_routed_type_head(X, records, replace(small_params(), type_current_reads_archive=False))
    assert "the current era has no Đời sống article" in caplog.text
    # "Đời sống" articles are all in the archive: a weight for it means the archive was read
    assert fallback.current.coef[fallback.labels.index("Đời sống")].any()


@pytest.mark.parametrize("change, match", [({"type_era_routing": 1}, "type_era_routing must be true or false"),
                                           ({"type_archive_sources": "vntc/"}, "type_archive_sources must be a list"),
                                           ({"type_archive_sources": [""]}, "type_archive_sources must be a list"),
                                           ({"type_current_folds": 1}, "type_current_folds must be a whole number >= 2"),
                                           ({"type_current_reads_archive": "no"}, "type_current_reads_archive must be true or false"),
                                           ({"type_router_reads_untyped": 1}, "type_router_reads_untyped must be true or false")])
def test_bad_routing_settings_are_refused(change, match):
    with pytest.raises(ConfigError, match=match):
        replace(small_params(), **change)


def test_a_routed_baseline_answers_the_same_after_save_and_load(tmp_path):
    from model.baseline import BaselineModel, RoutedTypeHead
    from training.baseline import fit_baseline

    records = _two_era_records()
    model = fit_baseline(records, small_params(), progress=False)
    assert isinstance(model.type_head, RoutedTypeHead)
    texts = [r.text for r in records[::5]]
    before = model.analyse(texts)
    loaded = BaselineModel.load(model.save(tmp_path / "routed", "card"))
    assert isinstance(loaded.type_head, RoutedTypeHead)
    after = loaded.analyse(texts)
    assert [a.type.label for a in after] == [b.type.label for b in before]
    for a, b in zip(after, before):
        assert a.type.scores == pytest.approx(b.type.scores, abs=1e-5)
    assert loaded.explain_type(texts[0])  # "Why this type?" reads the routed weights


def test_the_router_also_learns_the_eras_from_untyped_records():
    """Today's education articles are untyped in the shared files: the router must still
    learn that they are of today, or it sends them to the archive head."""
    from conftest import VOCAB
    from training.baseline import fit_routed_type_head, untyped_of_typed_collections
    from training.data import Record

    records = _two_era_records()
    school = ["học sinh thi tốt nghiệp", "trường đại học tuyển sinh", "giáo viên dạy học",
              "điểm chuẩn đại học", "sinh viên nhập học", "kỳ thi học sinh giỏi"]
    untyped = [Record(id=f"recent/B-edu-{i}", source="recent/B/education", type=None,
                      text=" ".join(school[(i + k) % 6] for k in range(3))) for i in range(10)]
    other = [Record(id=f"danes-{i}", source="danes/x", topics=["Y tế"], text=VOCAB["Sức khỏe"][i % 6]) for i in range(3)]
    assert untyped_of_typed_collections(records + untyped + other, records) == untyped  # not another collection's
    features, X = TfidfFeatures.fit_transform([analysis_text(r.text, r.title) for r in records + untyped],
                                              TfidfParams(min_df=1, max_df=1.0, max_features=None))
    n = len(records)
    article = features.transform([analysis_text(" ".join(school[:3]))])
    blind = fit_routed_type_head(X[:n], records, small_params())
    seeing = fit_routed_type_head(X[:n], records, small_params(), era_rows=(X[n:], np.ones(len(untyped), bool)))
    assert seeing.router.is_current(article)[0]
    assert np.asarray(article @ seeing.router.coef).item() > np.asarray(article @ blind.router.coef).item()
    # the heads themselves are the same: only the router read the untyped records
    np.testing.assert_allclose(seeing.current.coef, blind.current.coef)
    np.testing.assert_allclose(seeing.archive.coef, blind.archive.coef)


# --- a retrain keeps what only the archive decides ---------------------------------------------
def _with_topics():
    from conftest import make_records

    return _two_era_records() + [r for r in make_records() if r.topics is not None or r.summary is not None]


def test_a_retrain_keeps_the_archive_head_a_refit_would_give_back():
    """With the vocabulary kept, the archive head is fitted on the same archive records in the
    same space: a refit gives it back (to float32 rounding), so a retrain keeps it (and the topic context,
    fitted on the same archive leads) instead of spending a third of its time on it."""
    from conftest import SPORTS, VOCAB
    from model.baseline import RoutedTypeHead
    from training.baseline import fit_baseline
    from training.data import Record

    records, params = _with_topics(), small_params()
    current = fit_baseline(records, params, progress=False)
    assert current.meta["training"]["kept_from_current"] == []  # a first fit keeps nothing
    new = [Record(id="recent/B-new", source="recent/B", type=SPORTS,
                  text=" ".join(VOCAB[SPORTS][k] for k in (5, 1, 3)) + " điện thoại thông minh")]
    warm = fit_baseline(records + new, params, progress=False, preferred=new, preferred_weight=5.0,
                        warm_from=current)
    assert warm.meta["training"]["kept_from_current"] == ["vocabulary", "archive type head", "topic context"]
    assert warm.features is current.features and warm.n_docs == current.n_docs
    assert isinstance(warm.type_head, RoutedTypeHead) and warm.type_head.archive is current.type_head.archive
    assert warm.topics_head.context is current.topics_head.context
    # the same retrain, told nothing of the current model's archive: fits the archive head again
    unknown = replace(current, meta={})
    refit = fit_baseline(records + new, params, progress=False, preferred=new, preferred_weight=5.0,
                         warm_from=unknown)
    assert refit.meta["training"]["kept_from_current"] == ["vocabulary"]
    assert refit.type_head.archive is not current.type_head.archive
    # ... the same weights, up to float32 rounding (a first fit's features carry a float64 idf)
    np.testing.assert_allclose(refit.type_head.archive.coef, current.type_head.archive.coef, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(refit.type_head.archive.calib_coef, current.type_head.archive.calib_coef, rtol=1e-4,
                               atol=1e-5)
    lead, kept_lead = refit.topics_head.context.lead_type, current.topics_head.context.lead_type
    np.testing.assert_allclose(lead.coef, kept_lead.coef, rtol=1e-4, atol=1e-5)
    # the current head learnt the new record: it is not kept
    assert not np.array_equal(warm.type_head.current.coef, current.type_head.current.coef)


def test_what_changes_the_archive_fits_it_again():
    from conftest import SPORTS, VOCAB
    from training.baseline import fit_baseline
    from training.data import Record

    records, params = _with_topics(), small_params()
    current = fit_baseline(records, params, progress=False)
    # an archive label changed (as a relabel does): the archive head and context are fitted again
    first = next(i for i, r in enumerate(records) if r.source == "vntc/A" and r.type == SPORTS)
    changed = records[:first] + [replace(records[first], type="Đời sống")] + records[first + 1:]
    relabelled = fit_baseline(changed, params, progress=False, warm_from=current)
    assert relabelled.meta["training"]["kept_from_current"] == ["vocabulary"]
    # other settings: nothing kept
    other = fit_baseline(records, replace(params, tfidf=TfidfParams(min_df=1, max_df=1.0, max_features=50)),
                         progress=False, warm_from=current)
    assert other.meta["training"]["kept_from_current"] == []
    # many more articles than the vocabulary was fitted on: fitted again
    more = [Record(id=f"recent/B-more-{i}", source="recent/B", type=SPORTS,
                   text=" ".join(VOCAB[SPORTS][(i + k) % 6] for k in range(4)) + f" điện thoại {i}") for i in range(20)]
    grown = fit_baseline(records + more, params, progress=False, preferred=more, warm_from=current)
    assert grown.meta["training"]["kept_from_current"] == []


def test_new_words_the_vocabulary_lacks_fit_it_again():
    from training.baseline import fit_baseline
    from training.data import Record

    records, params = _with_topics(), small_params()
    current = fit_baseline(records, params, progress=False)
    foreign = [Record(id="recent/B-en", source="recent/B", type="Thể thao",
                      text="The striker scored twice as the visitors collapsed after halftime")]
    refit = fit_baseline(records + foreign, params, progress=False, preferred=foreign, warm_from=current)
    assert refit.meta["training"]["kept_from_current"] == []
    assert "striker" in refit.features.vocabulary and "striker" not in current.features.vocabulary


def test_a_calibrator_at_its_iteration_limit_is_logged_not_warned(typed, caplog, monkeypatch):
    import warnings

    import training.baseline

    X, y = typed
    monkeypatch.setattr(training.baseline, "CALIBRATION_MAX_ITER", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scikit-learn's ConvergenceWarning would fail here
        with caplog.at_level("INFO", logger="newslens.train"):
            head = fit_type_head(X, y, replace(small_params(), type_nb_svm=False), weight=np.full(len(y), 10.0))
    assert "calibrator stopped at its 1-iteration limit" in caplog.text
    assert head.proba(X).shape == (len(y), len(set(y)))


def test_headline_blocks_round_trip_through_a_bundle(tmp_path):
    """A routed head with both headline blocks saves and loads to the same answers, and a
    bundle whose headline vocabulary is missing is refused by name."""
    from model.bundle import BundleError
    from model.predictor import Predictor
    from training.baseline import fit_baseline

    records = [replace(r, title=" ".join(r.text.split()[:2]).capitalize()) if i % 2 else r
               for i, r in enumerate(_two_era_records())]
    model = fit_baseline(records, small_params(), progress=False)
    head = model.type_head
    assert head.headline.title is not None and head.headline.char is not None
    path = model.save(tmp_path / "routed", card="# card")
    texts = [r.text for r in records[:6]]
    titles = [r.title or "" for r in records[:6]]
    loaded = Predictor.load(path).model
    assert loaded.analyse(texts, titles) == model.analyse(texts, titles)
    np.testing.assert_allclose(loaded.scores(texts, titles).type_proba, model.scores(texts, titles).type_proba, rtol=1e-6)
    (path / "type_char_vocabulary.json").unlink()
    with pytest.raises(BundleError, match="type_char_vocabulary.json"):
        Predictor.load(path)
