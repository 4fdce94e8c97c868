"""Metric and calibration helpers on cases with known answers."""
from __future__ import annotations

import numpy as np
from scipy.special import softmax

from stance.calibration import apply_temperature, choose_threshold, fit_temperature
from stance.evaluation.metrics import bootstrap_ci, calibration_metrics, classification_metrics, expected_calibration_error


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, size=(4000, 3))
    y = np.array([rng.choice(3, p=p) for p in softmax(true_logits, axis=1)])
    t = fit_temperature(true_logits * 3.0, y)  # over-confident by a factor of 3
    assert 2.5 < t < 3.5
    before = calibration_metrics(apply_temperature(true_logits * 3.0, 1.0), y)
    after = calibration_metrics(apply_temperature(true_logits * 3.0, t), y)
    assert after["nll"] < before["nll"] and after["ece"] < before["ece"]


def test_ece_is_zero_for_perfect_confidence_and_large_when_wrong():
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(probs, np.array([0, 1])) == 0.0
    assert expected_calibration_error(probs, np.array([1, 0])) == 1.0


def test_classification_metrics_and_bootstrap():
    y = np.array([0, 0, 1, 1, 2, 2, 2, 1])
    p = np.array([0, 1, 1, 1, 2, 2, 0, 1])
    m = classification_metrics(y, p, ["a", "b", "c"])
    assert m["accuracy"] == 6 / 8
    assert m["per_class"]["b"]["recall"] == 1.0 and m["per_class"]["a"]["recall"] == 0.5
    lo, hi = bootstrap_ci(y, p, 3, n_samples=200)
    assert 0.0 <= lo < hi <= 1.0
    assert bootstrap_ci(y, y, 3, n_samples=50) == (1.0, 1.0)


def test_macro_f1_ignores_labels_absent_from_a_subset():
    from stance.evaluation.metrics import macro_f1

    assert macro_f1(np.array([0, 0, 1]), np.array([0, 0, 1]), 3) == 1.0


def test_threshold_keeps_the_target_coverage():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.55, 0.45], [0.8, 0.2], [0.7, 0.3]])
    t = choose_threshold(probs, 0.6)
    assert ((probs.max(1) >= t).mean()) == 0.6


def test_end_to_end_scores_count_flags_and_their_precision():
    from stance.evaluation.metrics import end_to_end_scores

    gold = ["reassure", "none", "none", "threaten", "dismiss", "none"]
    pred = ["reassure", "threaten", "none", "dismiss", "none", "none"]
    m = end_to_end_scores(gold, pred, bootstrap_samples=50)
    assert m["n"] == 6 and m["flags"] == 3
    assert m["flag_precision"] == 1 / 3  # reassure right; threaten on a none and dismiss on a threat wrong
    assert m["flag_recall"] == 1 / 3  # one of the three stance statements found with its stance
    assert sum(map(sum, m["confusion_matrix"])) == 6 and 0 <= m["macro_f1_ci95"][0] <= m["macro_f1"]


def test_decide_turns_weak_stances_into_none_and_keeps_three_label_models_apart():
    from stance.inference import decide

    labels = ["reassure", "threaten", "dismiss", "none"]
    p = np.array([[0.5, 0.2, 0.1, 0.2], [0.3, 0.1, 0.1, 0.5], [0.34, 0.33, 0.0, 0.33]])
    assert decide(p, labels, 0.4).tolist() == [0, 3, 3]
    assert decide(p, labels, None).tolist() == [0, 3, 0]
    three = np.array([[0.6, 0.3, 0.1], [0.4, 0.35, 0.25]])
    assert decide(three, labels[:3], 0.5).tolist() == [0, -1]  # -1: none, which a three-label model has no column for


def test_stance_view_reads_the_best_stance_on_gold_stance_statements():
    from stance.evaluation.metrics import stance_scores

    labels = ["reassure", "threaten", "dismiss", "none"]
    probs = np.array([[0.3, 0.1, 0.1, 0.5], [0.1, 0.2, 0.1, 0.6], [0.2, 0.2, 0.5, 0.1]])
    m = stance_scores(["reassure", "none", "dismiss"], probs, labels, bootstrap_samples=10)
    assert m["n"] == 2 and m["accuracy"] == 1.0  # the none row is left out; `none` never wins the stance view


def test_bootstrap_ci_agrees_with_a_hand_resampling_loop():
    """scipy's paired percentile bootstrap against the plain loop it replaced (same seed, 300 items)."""
    from stance.evaluation.metrics import macro_f1

    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 300)
    p = np.where(rng.random(300) < 0.7, y, rng.integers(0, 3, 300))
    draws = np.random.default_rng(0)
    scores = [macro_f1(y[b], p[b], 3) for b in (draws.integers(0, 300, 300) for _ in range(300))]
    lo, hi = np.quantile(scores, [0.025, 0.975])
    got = bootstrap_ci(y, p, 3, n_samples=300, seed=0)
    assert abs(got[0] - lo) < 0.01 and abs(got[1] - hi) < 0.01
    assert bootstrap_ci(y[:1], p[:1], 3) == (1.0, 1.0)  # one item: every resample is that item
    assert all(np.isnan(bootstrap_ci([], [], 3)))
