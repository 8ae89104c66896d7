"""Standard-library metrics against the reference implementations (scikit-learn, numpy, scipy)."""

from __future__ import annotations

import json
import math
import random
import re

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn import metrics as sk_metrics
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from evaluate import metrics
from evaluate.metrics import (
    BinaryMetrics,
    Confusion,
    binary_metrics,
    correct_predictions,
    latency_percentiles,
    linear_quantile,
    midranks,
    roc_auc,
)


def random_case(rng: random.Random) -> tuple[list[int], list[float], float]:
    """Labels (sometimes a single class), scores (often tied) and a threshold (sometimes equal to a score)."""
    rows = rng.randint(1, 60)
    share = rng.choice([0.0, 0.05, 0.3, 0.5, 0.9, 1.0])
    labels = [int(rng.random() < share) for _ in range(rows)]
    style = rng.choice(["continuous", "rounded", "few", "constant"])
    if style == "continuous":
        scores = [rng.random() for _ in range(rows)]
    elif style == "rounded":
        scores = [round(rng.random(), 1) for _ in range(rows)]
    elif style == "few":
        scores = [float(rng.randint(-2, 2)) for _ in range(rows)]
    else:
        scores = [0.5] * rows
    threshold = rng.choice([0.5, rng.random(), rng.choice(scores)])
    return labels, scores, threshold


def test_binary_metrics_match_scikit_learn_on_random_cases():
    rng = random.Random(20240601)
    single_class = 0
    for case in range(160):
        labels, scores, threshold = random_case(rng)
        got = binary_metrics(labels, scores, threshold)
        predicted = [int(s >= threshold) for s in scores]
        where = f"case {case}: labels={labels} scores={scores} threshold={threshold}"
        tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
        assert got.confusion == Confusion(tp=int(tp), fp=int(fp), tn=int(tn), fn=int(fn)), where
        assert got.rows == len(labels)
        assert got.accuracy == pytest.approx(accuracy_score(labels, predicted), abs=1e-12), where
        precision, recall, f1, _ = precision_recall_fscore_support(
            labels, predicted, average="binary", labels=[0, 1], zero_division=0
        )
        assert got.precision == pytest.approx(precision, abs=1e-12), where
        assert got.recall == pytest.approx(recall, abs=1e-12), where
        assert got.f1 == pytest.approx(f1, abs=1e-12), where
        if len(set(labels)) == 1:
            single_class += 1
            assert got.roc_auc is None, where
        else:
            assert got.roc_auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12), where
    assert single_class >= 10, "the random cases should include single-class label sets"


def test_roc_auc_with_ties_is_the_mann_whitney_probability():
    # Positive scores 0.8, 0.5; negatives 0.5, 0.2: pairs (0.8>0.5, 0.8>0.2, 0.5=0.5, 0.5>0.2) → 3.5 / 4.
    assert roc_auc([1, 1, 0, 0], [0.8, 0.5, 0.5, 0.2]) == 0.875
    assert roc_auc([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3]) == 0.5
    assert roc_auc([1, 1], [0.1, 0.9]) is None
    assert roc_auc([0], [0.1]) is None


def test_midranks_match_scipy_average_ranks():
    rng = random.Random(3)
    for _ in range(50):
        values = [float(rng.randint(0, 5)) for _ in range(rng.randint(1, 40))]
        assert midranks(values) == rankdata(values, method="average").tolist()


def test_threshold_is_inclusive_as_in_scikit_learn():
    metrics = binary_metrics([1, 0], [0.5, 0.49999])
    assert metrics.confusion == Confusion(tp=1, fp=0, tn=1, fn=0)
    assert correct_predictions([1, 0, 1], [0.5, 0.7, 0.2], threshold=0.5) == (True, False, False)


def test_zero_division_gives_zero_not_nan():
    metrics = binary_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert (metrics.precision, metrics.recall, metrics.f1, metrics.accuracy) == (0.0, 0.0, 0.0, 1.0)
    assert metrics.roc_auc is None


def test_metrics_are_frozen_and_confusion_converts_to_a_dict():
    metrics = binary_metrics([1, 0, 1, 0], [0.9, 0.1, 0.4, 0.6])
    assert isinstance(metrics, BinaryMetrics)
    assert metrics.confusion.as_dict() == {"tp": 1, "fp": 1, "tn": 1, "fn": 1}
    with pytest.raises(AttributeError):
        metrics.accuracy = 1.0  # type: ignore[misc]


def test_labels_accept_booleans_and_integral_floats():
    assert binary_metrics([True, False, 1.0, 0.0], [0.9, 0.1, 0.8, 0.2]).accuracy == 1.0


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        ([], [], "labels are empty"),
        ([0, 2], [0.1, 0.2], "label at row 1 is 2"),
        ([0, "1"], [0.1, 0.2], "label at row 1 is '1'"),
        ([0, math.nan], [0.1, 0.2], "label at row 1 is nan"),
        ([0, None], [0.1, 0.2], "label at row 1 is None"),
        ([0, 1], [0.1], "scores has 1 values but there are 2 labels"),
        ([0, 1], [0.1, math.nan], "scores at row 1 is nan"),
        ([0, 1], [math.inf, 0.2], "scores at row 0 is inf"),
        ([0, 1], [0.1, "0.2"], "scores at row 1 is '0.2'"),
        ([0, 1], [0.1, None], "scores at row 1 is None"),
        ([0, 1], [True, 0.2], "scores at row 0 is True"),
    ],
)
def test_bad_inputs_are_rejected_with_the_row(labels, scores, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        binary_metrics(labels, scores)


def test_bad_threshold_is_rejected():
    with pytest.raises(ValueError, match="threshold is nan"):
        binary_metrics([0, 1], [0.1, 0.2], threshold=math.nan)


def test_latency_percentiles_match_numpy_linear_exactly():
    rng = random.Random(11)
    wanted = (0, 1, 25, 37.5, 50, 90, 99, 99.9, 100)
    for _ in range(200):
        samples = [round(rng.expovariate(1 / 40), rng.choice([0, 3])) for _ in range(rng.randint(1, 120))]
        got = latency_percentiles(samples, wanted)
        expected = np.percentile(samples, wanted)
        assert list(got) == ["p0", "p1", "p25", "p37.5", "p50", "p90", "p99", "p99.9", "p100"]
        assert list(got.values()) == expected.tolist(), samples


def test_latency_percentiles_default_keys_and_one_sample():
    assert latency_percentiles([12.5]) == {"p50": 12.5, "p90": 12.5, "p99": 12.5}
    assert latency_percentiles(range(1, 101)) == pytest.approx({"p50": 50.5, "p90": 90.1, "p99": 99.01})


@pytest.mark.parametrize(
    ("samples", "percentiles", "message"),
    [
        ([], (50,), "no latency samples"),
        ([1.0, -2.0], (50,), "latency sample 1 is -2.0"),
        ([1.0, math.nan], (50,), "latency sample 1 is nan"),
        ([1.0, "3"], (50,), "latency sample 1 is '3'"),
        ([1.0], (101,), "percentile 101 is not a number between 0 and 100"),
        ([1.0], (-1,), "percentile -1"),
    ],
)
def test_latency_percentiles_reject_bad_input(samples, percentiles, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        latency_percentiles(samples, percentiles)


def test_linear_quantile_needs_values():
    with pytest.raises(ValueError, match="no values"):
        linear_quantile([], 0.5)


# --- ROC curve ---------------------------------------------------------------------------------------


def roc_cases():
    rng = np.random.default_rng(3)
    for rows, digits in ((40, 1), (300, 2), (2000, 6)):
        labels = rng.integers(0, 2, rows)
        scores = np.round(np.clip(0.35 * labels + rng.normal(0.4, 0.25, rows), 0, 1), digits)  # ties when rounded
        yield labels.tolist(), scores.tolist()


@pytest.mark.parametrize(("labels", "scores"), list(roc_cases()))
def test_roc_curve_is_scikit_learns_when_it_fits(labels, scores) -> None:
    fpr, tpr, thresholds = sk_metrics.roc_curve(labels, scores)
    curve = metrics.roc_curve(labels, scores, max_points=10_000)
    assert curve is not None
    assert list(curve.fpr) == fpr.tolist() and list(curve.tpr) == tpr.tolist()
    assert curve.thresholds[0] is None and np.isinf(thresholds[0])
    assert list(curve.thresholds[1:]) == thresholds[1:].tolist()


@pytest.mark.parametrize(("labels", "scores"), list(roc_cases()))
def test_thinned_roc_curve_keeps_exact_points_of_scikit_learns_curve(labels, scores) -> None:
    fpr, tpr, thresholds = sk_metrics.roc_curve(labels, scores, drop_intermediate=False)
    at = {t: (f, r) for f, r, t in zip(fpr.tolist(), tpr.tolist(), thresholds.tolist(), strict=True)}
    for limit in (3, 25, metrics.MAX_ROC_POINTS):
        curve = metrics.roc_curve(labels, scores, max_points=limit)
        assert curve is not None and len(curve.fpr) <= limit
        assert (curve.fpr[0], curve.tpr[0], curve.fpr[-1], curve.tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
        for f, r, t in zip(curve.fpr[1:], curve.tpr[1:], curve.thresholds[1:], strict=True):
            assert at[t] == (f, r)
        assert list(curve.thresholds[1:]) == sorted(curve.thresholds[1:], reverse=True)
        if limit >= 25:  # drawn through its points, the thinned curve stays close to the real area
            assert abs(np.trapezoid(curve.tpr, curve.fpr) - sk_metrics.roc_auc_score(labels, scores)) < 0.03


def test_roc_curve_is_undefined_with_one_class_and_refuses_bad_input() -> None:
    assert metrics.roc_curve([1, 1, 1], [0.2, 0.5, 0.9]) is None
    with pytest.raises(ValueError, match="at least 3"):
        metrics.roc_curve([0, 1], [0.1, 0.9], max_points=2)
    with pytest.raises(ValueError, match="scores at row 1"):
        metrics.roc_curve([0, 1], [0.1, float("nan")])


def test_a_full_sized_report_curve_fits_the_budget() -> None:
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 20_000).tolist()
    scores = rng.random(20_000).tolist()
    curve = metrics.roc_curve(labels, scores)
    assert curve is not None and len(curve.fpr) <= metrics.MAX_ROC_POINTS
    assert len(json.dumps(curve.as_dict())) < 16_000
