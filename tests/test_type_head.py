"""training/baseline.py: the type head, a calibrated stack of a linear scorer and its NB-SVM twin."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import make_records, small_params
from model.features import TfidfFeatures, TfidfParams, analysis_text
from training.baseline import fit_type_head, nb_ratios
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


@pytest.mark.parametrize("nb_svm", [False, True])
def test_type_head_probabilities_are_calibrated_and_right_on_clear_cases(typed, nb_svm):
    X, y = typed
    head = fit_type_head(X, y, replace(small_params(), type_nb_svm=nb_svm))
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


def test_two_labels_give_one_weight_row_per_label(typed):
    X, y = typed
    keep = [i for i, label in enumerate(y) if label in sorted(set(y))[:2]]
    head = fit_type_head(X[keep], [y[i] for i in keep], small_params())
    assert head.coef.shape == (2, X.shape[1])
    predicted = np.array(head.labels)[head.proba(X[keep]).argmax(axis=1)]
    assert (predicted == np.array([y[i] for i in keep])).mean() >= 0.9


@pytest.mark.parametrize("change, match", [({"type_nb_svm": "yes"}, "type_nb_svm must be true or false"),
                                           ({"type_nb_smoothing": 0}, "type_nb_smoothing must be a positive number")])
def test_bad_nb_svm_settings_are_refused(change, match):
    with pytest.raises(ConfigError, match=match):
        replace(small_params(), **change)
