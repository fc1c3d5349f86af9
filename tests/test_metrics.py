"""training/metrics.py on small examples computed by hand, and training/bootstrap.py."""
from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from training import bootstrap
from training.metrics import METRIC_NAMES, ROUGE_KEYS, TASK_METRICS, classification, keywords_f1_at_k, mean_scores, multilabel, rouge, rouge_tokens


# --- ROUGE -------------------------------------------------------------------------------------
def test_rouge_tokens_keep_diacritics_and_lower_case():
    assert rouge_tokens("Hà Nội, MƯA to!") == ["hà", "nội", "mưa", "to"]
    assert rouge_tokens(unicodedata.normalize("NFD", "Đà Nẵng")) == ["đà", "nẵng"]


@pytest.mark.parametrize(
    "pred, ref, expected",
    [
        ("Hà Nội mưa to", "Hà Nội mưa to", (1.0, 1.0, 1.0)),
        ("HÀ NỘI mưa to.", "hà nội, mưa to", (1.0, 1.0, 1.0)),  # case and punctuation ignored
        (unicodedata.normalize("NFD", "Hà Nội mưa to"), "Hà Nội mưa to", (1.0, 1.0, 1.0)),
        ("Hà Nội mưa to", "Sài Gòn nắng gắt", (0.0, 0.0, 0.0)),
        ("ma ma ma", "mà má mả", (0.0, 0.0, 0.0)),  # diacritics make different syllables
        # 3 of 4 unigrams shared: P = R = 3/4; bigrams 1 of 3; LCS "hà nội to" = 3.
        ("Hà Nội mưa to", "Hà Nội nắng to", (0.75, 1 / 3, 0.75)),
        # P = 3/3, R = 3/6 -> F = 2/3; bigrams 2/2 and 2/5 -> 4/7.
        ("bóng đá việt", "bóng đá việt nam rất hay", (2 / 3, 4 / 7, 2 / 3)),
        # LCS of "a b c d" and "d c b a" is 1: F = 1/4; unigrams all shared.
        ("một hai ba bốn", "bốn ba hai một", (1.0, 0.0, 0.25)),
        ("", "Hà Nội", (0.0, 0.0, 0.0)),
    ],
)
def test_rouge_single_pair(pred, ref, expected):
    scores = rouge([pred], [ref])
    assert (scores["rouge1"], scores["rouge2"], scores["rougeL"]) == pytest.approx(expected)
    assert scores["n"] == 1


def test_rouge_is_the_mean_over_pairs():
    scores = rouge(["Hà Nội mưa to", "Hà Nội mưa to"], ["Hà Nội mưa to", "Sài Gòn nắng gắt"])
    assert scores == pytest.approx({"rouge1": 0.5, "rouge2": 0.5, "rougeL": 0.5, "n": 2})


def test_rouge_of_nothing():
    assert rouge([], []) == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0, "n": 0}


# --- type: accuracy and macro-F1 -----------------------------------------------------------------------
def test_classification_by_hand():
    y_true = ["Thể thao", "Thể thao", "Kinh doanh", "Kinh doanh", "Sức khỏe"]
    y_pred = ["Thể thao", "Kinh doanh", "Kinh doanh", "Kinh doanh", "Thể thao"]
    labels = ["Thể thao", "Kinh doanh", "Sức khỏe"]
    result = classification(y_true, y_pred, labels)
    assert result["accuracy"] == pytest.approx(3 / 5)
    # Thể thao: P 1/2 R 1/2 -> 0.5; Kinh doanh: P 2/3 R 1 -> 0.8; Sức khỏe: 0.
    assert result["per_class_f1"] == pytest.approx({"Thể thao": 0.5, "Kinh doanh": 0.8, "Sức khỏe": 0.0})
    assert result["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert result["n"] == 5
    assert result["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]  # rows = truth


def test_classification_macro_f1_ignores_labels_absent_from_truth():
    result = classification(["a", "a", "b"], ["a", "a", "b"], labels=["a", "b", "c"])
    assert result["accuracy"] == 1.0
    assert result["macro_f1"] == 1.0
    assert result["per_class_f1"]["c"] == 0.0


def test_classification_default_labels_and_empty_input():
    assert classification(["x", "y"], ["y", "y"])["labels"] == ["x", "y"]
    assert classification([], [])["accuracy"] == 0.0


# --- topics: multi-label micro/macro-F1 --------------------------------------------------------------------
def test_multilabel_by_hand():
    y_true = [["Kinh tế", "Chứng khoán"], ["Thể thao"]]
    y_pred = [["Kinh tế"], ["Thể thao", "Giải trí"]]
    result = multilabel(y_true, y_pred)
    # tp = 2 (Kinh tế, Thể thao), fp = 1 (Giải trí), fn = 1 (Chứng khoán): P = R = 2/3.
    assert result["micro_f1"] == pytest.approx(2 / 3)
    assert result["per_label_f1"] == pytest.approx({"Chứng khoán": 0.0, "Giải trí": 0.0, "Kinh tế": 1.0, "Thể thao": 1.0})
    assert result["macro_f1"] == pytest.approx(0.5)
    assert result["n"] == 2


@pytest.mark.parametrize(
    "y_true, y_pred, micro",
    [
        ([["a"]], [["a"]], 1.0),
        ([["a", "b"]], [["b", "a", "a"]], 1.0),  # sets: order and repeats do not matter
        ([["a"]], [["b"]], 0.0),
        ([["a", "b", "c", "d"]], [["a"]], 2 * 1 * 0.25 / 1.25),
    ],
)
def test_multilabel_micro_f1(y_true, y_pred, micro):
    assert multilabel(y_true, y_pred)["micro_f1"] == pytest.approx(micro)


# --- keywords: F1@5 exact and partial --------------------------------------------------------------------
def test_keywords_exact_f1_at_5_by_hand():
    predicted = [["Hà Nội", "bóng đá", "giá vàng", "thời tiết", "lũ lụt", "Chứng Khoán"]]
    tags = [["hà nội", "Bóng Đá", "chứng khoán"]]
    result = keywords_f1_at_k(predicted, tags, k=5)
    # Only the first 5 predictions count, so "Chứng Khoán" (6th) is ignored:
    # 2 hits, P = 2/5, R = 2/3 -> F = 0.5.
    assert result["f1_at_5_exact"] == pytest.approx(0.5)
    assert result["n"] == 1


def test_keywords_partial_f1_at_5_by_hand():
    predicted = [["đội tuyển bóng đá", "Nội", "giá xăng"]]
    tags = [["bóng đá", "Hà Nội", "giá vàng", "World Cup"]]
    result = keywords_f1_at_k(predicted, tags, k=5)
    assert result["f1_at_5_exact"] == 0.0
    # predictions matching a tag: 2 of 3; tags matched: 2 of 4 -> F = 2 * (2/3)(1/2) / (7/6) = 4/7.
    assert result["f1_at_5_partial"] == pytest.approx(4 / 7)


def test_keywords_duplicates_and_normalisation():
    nfd = unicodedata.normalize("NFD", "Hà  Nội")
    result = keywords_f1_at_k([[nfd, "hà nội", "HÀ NỘI"]], [["hà nội"]])
    # the three predictions are one phrase after NFC, lower-casing and space folding
    assert result["f1_at_5_exact"] == pytest.approx(1.0)
    assert result["f1_at_5_partial"] == pytest.approx(1.0)


def test_keywords_mean_over_articles_counts_empty_predictions_as_zero():
    result = keywords_f1_at_k([["hà nội"], []], [["hà nội"], ["bóng đá"]])
    assert result == pytest.approx({"f1_at_5_exact": 0.5, "f1_at_5_partial": 0.5, "n": 2})


def test_keywords_partial_match_respects_syllable_boundaries():
    result = keywords_f1_at_k([["an"]], [["Thanh Hóa"]])
    assert result["f1_at_5_partial"] == 0.0


# --- bootstrap confidence intervals ---------------------------------------------------------------------
def _random_task(data_seed: int, n: int):
    """A random type task, topics task and per-document scores of ``n`` documents."""
    rng = np.random.default_rng(data_seed)
    labels = ["a", "b", "c", "d"]
    y_true = [labels[i] for i in rng.integers(0, 4, n)]
    y_pred = [t if rng.random() < 0.6 else labels[rng.integers(0, 4)] for t in y_true]
    sets = [[l for l in labels if rng.random() < 0.35] for _ in range(2 * n)]
    return labels, y_true, y_pred, sets[:n], sets[n:], rng.random((n, 3)).tolist()


def _all_intervals(data_seed: int, n: int, **options) -> dict:
    labels, y_true, y_pred, t_sets, p_sets, rows = _random_task(data_seed, n)
    return {
        **bootstrap.classification(y_true, y_pred, labels, classification(y_true, y_pred, labels), **options),
        **bootstrap.multilabel(t_sets, p_sets, multilabel(t_sets, p_sets), **options),
        **bootstrap.means(rows, ROUGE_KEYS, mean_scores(rows, ROUGE_KEYS), **options),
    }


def _slow_reference(data_seed: int, n: int, resamples: int) -> dict:
    """Resample documents and run the metric code itself on every resample."""
    labels, y_true, y_pred, t_sets, p_sets, rows = _random_task(data_seed, n)
    topic_labels = sorted({l for s in [*t_sets, *p_sets] for l in s})  # fixed, as in the full data

    def scores(idx) -> dict:
        pick = lambda xs: [xs[i] for i in idx]  # noqa: E731
        found = {**classification(pick(y_true), pick(y_pred), labels),
                 **multilabel(pick(t_sets), pick(p_sets), labels=topic_labels), **mean_scores(pick(rows), ROUGE_KEYS)}
        return {k: v for k, v in found.items() if isinstance(v, float)}

    point = scores(range(n))
    samples = [scores(idx) for chunk in bootstrap.resample_indices(n, resamples) for idx in chunk]
    out = {}
    for key, estimate in point.items():
        low, high = np.percentile([s[key] for s in samples], [2.5, 97.5])
        out[f"{key}_ci"] = [min(low, estimate), max(high, estimate)]
    return out


def test_bootstrap_matches_a_slow_reference():
    fast = _all_intervals(data_seed=3, n=40, resamples=200)
    slow = _slow_reference(data_seed=3, n=40, resamples=200)
    assert set(fast) == set(slow)
    for key in slow:
        assert fast[key] == pytest.approx(slow[key], abs=1e-12), key


def test_bootstrap_intervals_contain_the_point_estimate():
    labels, y_true, y_pred, t_sets, p_sets, rows = _random_task(data_seed=5, n=30)
    point = classification(y_true, y_pred, labels)
    cis = bootstrap.classification(y_true, y_pred, labels, point)
    point |= multilabel(t_sets, p_sets)
    cis |= bootstrap.multilabel(t_sets, p_sets, multilabel(t_sets, p_sets))
    for key, (low, high) in cis.items():
        assert low <= point[key.removesuffix("_ci")] <= high, key


def test_bootstrap_is_seeded_and_deterministic():
    assert _all_intervals(data_seed=7, n=50) == _all_intervals(data_seed=7, n=50)
    assert _all_intervals(data_seed=7, n=50) != _all_intervals(data_seed=7, n=50, seed=bootstrap.SEED + 1)


def test_bootstrap_intervals_shrink_with_more_data():
    small, large = _all_intervals(data_seed=11, n=50), _all_intervals(data_seed=11, n=2000)
    for key in small:
        assert large[key][1] - large[key][0] < (small[key][1] - small[key][0]) / 2, key


def test_bootstrap_of_identical_documents_is_a_point():
    rows = [(0.5, 0.25, 0.4)] * 20
    cis = bootstrap.means(rows, ROUGE_KEYS, mean_scores(rows, ROUGE_KEYS))
    expected = {"rouge1_ci": [0.5, 0.5], "rouge2_ci": [0.25, 0.25], "rougeL_ci": [0.4, 0.4]}
    assert set(cis) == set(expected)
    for key, interval in expected.items():
        assert cis[key] == pytest.approx(interval), key
    assert bootstrap.means([], ROUGE_KEYS, mean_scores([], ROUGE_KEYS))["rouge1_ci"] == [0.0, 0.0]


def test_with_intervals_places_each_interval_after_its_metric():
    out = bootstrap.with_intervals({"accuracy": 0.9, "macro_f1": 0.8, "n": 3},
                                   {"macro_f1_ci": [0.7, 0.9], "accuracy_ci": [0.8, 1.0]})
    assert list(out) == ["accuracy", "accuracy_ci", "macro_f1", "macro_f1_ci", "n"]


# --- the one task/metric schema: cards and reports read it ------------------------------------------
def test_every_schema_metric_has_a_display_name():
    assert {k for keys in TASK_METRICS.values() for k in keys} <= set(METRIC_NAMES)


def test_report_subsets_are_named_by_schema_keys():
    from training.report import HISTORY_METRICS

    assert HISTORY_METRICS and all(key in TASK_METRICS[task] for task, key in HISTORY_METRICS)


def test_metrics_table_has_a_column_per_task_in_schema_order():
    from training.card import metrics_table

    m = {"n": 3, "docs_per_second": 12.4, "type": {"accuracy": 0.5, "macro_f1": 0.25, "n": 2}, "topics": None,
         "keywords": None, "summary": {"rouge1": 0.3, "rouge2": 0.2, "rougeL": 0.1, "n": 1}}
    header, rule, row = metrics_table({"test": m}).splitlines()
    assert header == ("| data | n | type accuracy / macro-F1 | topics micro-F1 / macro-F1 | keywords F1@5 exact / "
                      "F1@5 partial | summary ROUGE-1 / ROUGE-2 / ROUGE-L | docs/s |")
    assert rule.count("---") == len(TASK_METRICS) + 3
    assert row == "| test | 3 | 0.500 / 0.250 | - | - | 0.300 / 0.200 / 0.100 | 12 |"


def test_clustered_intervals_are_wider_than_per_document_ones_when_clusters_repeat_a_story():
    from training import bootstrap

    rng = np.random.default_rng(0)
    stories = rng.random(30)
    rows = [[s] for s in stories for _ in range(8)]  # each story told 8 times, identically
    clusters = [f"c{i}" for i in range(30) for _ in range(8)]
    point = {"f1": float(np.mean(rows))}
    per_doc = bootstrap.means(rows, ["f1"], point)["f1_ci"]
    per_cluster = bootstrap.clustered_means(rows, clusters, ["f1"], point)["f1_ci"]
    assert per_cluster[0] <= point["f1"] <= per_cluster[1]
    assert per_cluster[1] - per_cluster[0] > 2 * (per_doc[1] - per_doc[0])
    # one document per cluster: the same resampling as per document
    single = bootstrap.clustered_means(rows[::8], [f"c{i}" for i in range(30)], ["f1"], {"f1": float(np.mean(rows[::8]))})
    assert single["f1_ci"][0] < single["f1_ci"][1]
    assert bootstrap.clustered_means([], [], ["f1"], {"f1": 0.0}) == {"f1_ci": [0.0, 0.0]}
