"""Per-label offsets that tune the type head's decisions for macro-F1 (training/baseline.py)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from training.baseline import _macro_f1, fit_type_head, macro_f1_offsets
from training.config import BaselineParams
from training.metrics import classification


def test_fast_macro_f1_matches_the_metrics_module():
    rng = np.random.default_rng(0)
    truth, predicted = rng.integers(0, 4, 200), rng.integers(0, 5, 200)  # label 4 is never true
    names = np.array(list("abcde"))
    expected = classification(names[truth].tolist(), names[predicted].tolist())["macro_f1"]
    assert abs(_macro_f1(truth, predicted, 5) - expected) < 1e-12


def test_offsets_rescue_a_label_the_argmax_never_picks():
    # Label 2 is always second best by a small margin: the argmax never predicts it.
    rng = np.random.default_rng(1)
    truth = np.repeat([0, 1, 2], [100, 100, 20])
    logits = rng.normal(0, 0.05, (220, 3))
    logits[np.arange(220), truth] += 1.0
    logits[truth == 2, 0] += 1.2  # label 0 wins every label-2 article
    before = _macro_f1(truth, logits.argmax(1), 3)
    offsets = macro_f1_offsets(logits, truth)
    after = _macro_f1(truth, (logits + offsets).argmax(1), 3)
    assert offsets[2] - offsets[0] > 0.2 and after > before + 0.2


def test_offsets_stay_zero_when_the_argmax_is_already_right():
    truth = np.array([0, 1, 2, 0, 1, 2])
    logits = np.eye(3)[truth] * 3.0
    assert np.all(macro_f1_offsets(logits, truth) == 0)


def test_type_head_offsets_are_folded_into_the_calibration_and_can_be_turned_off():
    rng = np.random.default_rng(2)
    X = sp.csr_matrix(rng.random((90, 12)))
    y = [("a", "b", "c")[i % 3] for i in range(90)]
    plain = fit_type_head(X, y, BaselineParams(type_macro_f1_offsets=False))
    tuned = fit_type_head(X, y, BaselineParams(type_macro_f1_offsets=True))
    helper = fit_type_head(X, y, BaselineParams(type_macro_f1_offsets=True), macro_f1_offsets_apply=False)
    np.testing.assert_array_equal(plain.coef, tuned.coef)  # only the calibration's intercept may move
    np.testing.assert_array_equal(plain.calib_coef, tuned.calib_coef)
    np.testing.assert_array_equal(plain.calib_intercept, helper.calib_intercept)
    offsets = tuned.calib_intercept.astype(np.float64) - plain.calib_intercept  # stored as float32
    assert np.any(offsets != 0)  # these near-random features leave room to tune
    assert np.all(np.isin(np.round(offsets, 4), np.round(np.arange(-1.0, 1.001, 0.05), 4)))
