"""Paired tests against independent computations: scipy's binomial test, a numpy DeLong, scikit-learn AUCs."""

from __future__ import annotations

import math
import random
import re
from statistics import NormalDist

import numpy as np
import pytest
from scipy.stats import binomtest, norm
from sklearn.metrics import roc_auc_score

from evaluate.paired_tests import (
    DELONG_MIN_PER_CLASS,
    AucNotTestable,
    McNemarResult,
    delong_test,
    mcnemar_exact,
    paired_bootstrap_auc,
)


def paired_correct(b: int, c: int, both: int = 3, neither: int = 2) -> tuple[list[bool], list[bool]]:
    """Correctness vectors with b rows only A gets right and c rows only B gets right."""
    a = [True] * b + [False] * c + [True] * both + [False] * neither
    b_ = [False] * b + [True] * c + [True] * both + [False] * neither
    return a, b_


# --- McNemar ---------------------------------------------------------------------------------------


def test_mcnemar_matches_scipy_exact_binomial_test():
    for b in range(0, 41):
        for c in range(0, 41, 3):
            result = mcnemar_exact(*paired_correct(b, c))
            expected = 1.0 if b + c == 0 else binomtest(min(b, c), b + c, 0.5).pvalue
            assert result.p_value == pytest.approx(expected, rel=1e-9, abs=1e-300), (b, c)
            assert (result.b, result.c) == (b, c)


def test_mcnemar_is_exact_at_a_million_discordant_pairs():
    """Where a naive binomial sum would underflow: the p-value still matches scipy's exact test.
    (How long it takes is for benchmarks, not for an assertion on a shared machine.)"""
    b, c = 498_600, 501_400
    result = mcnemar_exact(*paired_correct(b, c, both=0, neither=0))
    expected = binomtest(b, b + c, 0.5).pvalue
    assert 0.001 < expected < 0.05
    assert result.p_value == pytest.approx(expected, rel=1e-6)


def test_mcnemar_summary_rates():
    result = mcnemar_exact(*paired_correct(2, 6, both=10, neither=2))
    assert result == McNemarResult(rows=20, b=2, c=6, accuracy_a=12 / 20, accuracy_b=16 / 20, p_value=result.p_value)
    assert result.difference == pytest.approx(0.2)
    assert result.discordant_rate == pytest.approx(0.4)
    assert mcnemar_exact([True, False], [True, False]).p_value == 1.0


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ([], [], "no rows"),
        ([True], [True, False], "correct_a has 1 rows but correct_b has 2"),
        ([True, "yes"], [True, False], "correct_a at row 1 is 'yes'"),
        ([True, False], [True, None], "correct_b at row 1 is None"),
    ],
)
def test_mcnemar_rejects_bad_input(a, b, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        mcnemar_exact(a, b)


# --- DeLong ----------------------------------------------------------------------------------------


def numpy_delong(labels, scores_a, scores_b):
    """DeLong from its definition: the full P×N kernel matrix, then the 2×2 covariance (no midrank trick)."""
    y = np.asarray(labels, dtype=bool)
    components = []
    for scores in (scores_a, scores_b):
        s = np.asarray(scores, dtype=float)
        pos, neg = s[y][:, None], s[~y][None, :]
        psi = (pos > neg) + 0.5 * (pos == neg)
        components.append((psi.mean(axis=1), psi.mean(axis=0)))
    (v10_a, v01_a), (v10_b, v01_b) = components
    s10 = np.cov(np.vstack([v10_a, v10_b]))
    s01 = np.cov(np.vstack([v01_a, v01_b]))
    contrast = np.array([-1.0, 1.0])
    variance = contrast @ s10 @ contrast / len(v10_a) + contrast @ s01 @ contrast / len(v01_a)
    difference = v10_b.mean() - v10_a.mean()
    se = math.sqrt(variance)
    return v10_a.mean(), v10_b.mean(), difference, se, 2 * norm.sf(abs(difference) / se)


def correlated_scores(rng: random.Random, rows: int, shift_a: float, shift_b: float, rho: float, decimals: int = 6):
    """Binormal scores: each class has unit variance per model, models correlated by rho."""
    labels = [int(rng.random() < 0.35) for _ in range(rows)]
    a, b = [], []
    for y in labels:
        e1, e2 = rng.gauss(0, 1), rng.gauss(0, 1)
        a.append(round(shift_a * y + e1, decimals))
        b.append(round(shift_b * y + rho * e1 + math.sqrt(1 - rho**2) * e2, decimals))
    return labels, a, b


def test_delong_matches_an_independent_numpy_computation():
    rng = random.Random(5)
    for case in range(30):
        rows = rng.randint(12, 300)
        labels, a, b = correlated_scores(rng, rows, rng.uniform(0, 1.5), rng.uniform(0, 1.5), rng.uniform(0, 0.9), 1)
        if min(sum(labels), rows - sum(labels)) < 2:
            continue
        got = delong_test(labels, a, b, minimum_per_class=2)
        auc_a, auc_b, difference, se, p_value = numpy_delong(labels, a, b)
        where = f"case {case}"
        assert got.auc_a == pytest.approx(roc_auc_score(labels, a), abs=1e-12), where
        assert got.auc_b == pytest.approx(roc_auc_score(labels, b), abs=1e-12), where
        assert (got.auc_a, got.auc_b, got.difference) == pytest.approx((auc_a, auc_b, difference), abs=1e-12), where
        assert got.standard_error == pytest.approx(se, rel=1e-9), where
        assert got.p_value == pytest.approx(p_value, rel=1e-6, abs=1e-15), where
        z = NormalDist().inv_cdf(0.975)
        assert got.ci_low == pytest.approx(max(-1, difference - z * se), abs=1e-12), where
        assert got.ci_high == pytest.approx(min(1, difference + z * se), abs=1e-12), where
        assert (got.method, got.rows, got.confidence, got.resamples) == ("delong", rows, 0.95, None)


def test_delong_refuses_a_zero_variance():
    # The review's case: a constant baseline (AUC 0.5) and a perfect candidate (AUC 1) on 2 + 2 rows
    # leave no variability; a standard error of 0 used to give p = 0, "certain", into Holm.
    labels = [1, 1, 0, 0]
    with pytest.raises(AucNotTestable, match="variance of the AUC difference is 0"):
        delong_test(labels, [0.5, 0.5, 0.5, 0.5], [0.9, 0.8, 0.2, 0.1], minimum_per_class=2)
    with pytest.raises(AucNotTestable, match="variance of the AUC difference is 0"):
        delong_test(labels, [0.9, 0.8, 0.2, 0.1], [0.9, 0.8, 0.2, 0.1], minimum_per_class=2)


def test_delong_needs_delong_min_per_class_rows_of_each_class_by_default():
    rng = random.Random(8)
    scores = [rng.random() for _ in range(2 * DELONG_MIN_PER_CLASS)]
    other = [rng.random() for _ in scores]
    short = [1] * (DELONG_MIN_PER_CLASS - 1) + [0] * (DELONG_MIN_PER_CLASS + 1)
    with pytest.raises(
        AucNotTestable, match=f"{DELONG_MIN_PER_CLASS - 1} positive and .* at least {DELONG_MIN_PER_CLASS}"
    ):
        delong_test(short, scores, other)
    enough = [1] * DELONG_MIN_PER_CLASS + [0] * DELONG_MIN_PER_CLASS
    assert delong_test(enough, scores, other).rows == 2 * DELONG_MIN_PER_CLASS
    assert delong_test(short, scores, other, minimum_per_class=2).rows == 2 * DELONG_MIN_PER_CLASS


def test_delong_needs_two_rows_of_each_class():
    with pytest.raises(ValueError, match="1 positive and 3 negative rows"):
        delong_test([1, 0, 0, 0], [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1], minimum_per_class=2)
    with pytest.raises(ValueError, match="scores_b has 3 values but there are 4 labels"):
        delong_test([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2])
    with pytest.raises(ValueError, match="confidence"):
        delong_test([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1], confidence=95, minimum_per_class=2)


# --- bootstrap -------------------------------------------------------------------------------------


def reference_bootstrap(labels, a, b, resamples, seed, confidence=0.95):
    """The documented procedure with scikit-learn AUCs, drawing rows with rng.choices."""
    rng = random.Random(seed)
    y, sa, sb = np.asarray(labels), np.asarray(a), np.asarray(b)
    differences = []
    for _ in range(resamples):
        rows = np.asarray(rng.choices(range(len(labels)), k=len(labels)))
        if len(set(y[rows].tolist())) < 2:
            continue
        differences.append(roc_auc_score(y[rows], sb[rows]) - roc_auc_score(y[rows], sa[rows]))
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(differences, [tail, 100 - tail])
    return len(differences), low, high, float(np.std(differences, ddof=1))


@pytest.mark.parametrize(("rows", "positives", "seed"), [(60, 24, 1), (25, 2, 2)])
def test_bootstrap_reproduces_the_reference_procedure(rows, positives, seed):
    rng = random.Random(seed)
    labels = [1] * positives + [0] * (rows - positives)
    rng.shuffle(labels)
    a = [round(rng.random() + 0.3 * y, 1) for y in labels]  # rounded: many ties
    b = [round(rng.random() + 0.6 * y, 1) for y in labels]
    got = paired_bootstrap_auc(labels, a, b, resamples=150, seed=seed)
    used, low, high, sd = reference_bootstrap(labels, a, b, 150, seed)
    assert got.resamples == used
    assert (got.ci_low, got.ci_high, got.standard_error) == pytest.approx((low, high, sd), abs=1e-12)
    assert got.difference == pytest.approx(roc_auc_score(labels, b) - roc_auc_score(labels, a), abs=1e-12)
    if positives == 2:
        # P(a resample misses both positives) = (23/25)^25 ≈ 12%.
        assert used < 150, "with few positives some resamples draw a single class and are skipped"


def test_bootstrap_is_deterministic_per_seed_and_agrees_with_delong():
    labels, a, b = correlated_scores(random.Random(8), 400, 0.8, 1.1, 0.6)
    first = paired_bootstrap_auc(labels, a, b, resamples=400, seed=3)
    assert paired_bootstrap_auc(labels, a, b, resamples=400, seed=3) == first
    assert paired_bootstrap_auc(labels, a, b, resamples=400, seed=4) != first
    delong = delong_test(labels, a, b)
    assert first.difference == pytest.approx(delong.difference, abs=1e-12)
    assert first.standard_error == pytest.approx(delong.standard_error, rel=0.25)
    assert first.ci_low == pytest.approx(delong.ci_low, abs=0.02)
    assert first.ci_high == pytest.approx(delong.ci_high, abs=0.02)
    assert 0 <= first.p_value <= 1
    assert (first.method, first.rows, first.resamples) == ("bootstrap", 400, 400)


def test_intervals_cover_the_true_difference_in_a_simulation():
    # Binormal model with unit variances: AUC = Φ(shift / √2), so the true difference is known.
    shift_a, shift_b = 0.8, 1.2
    truth = NormalDist().cdf(shift_b / math.sqrt(2)) - NormalDist().cdf(shift_a / math.sqrt(2))
    rng = random.Random(99)
    covered = {"bootstrap": 0, "delong": 0}
    trials = 40
    for trial in range(trials):
        labels, a, b = correlated_scores(rng, 150, shift_a, shift_b, 0.5)
        for result in (paired_bootstrap_auc(labels, a, b, resamples=200, seed=trial), delong_test(labels, a, b)):
            covered[result.method] += result.ci_low <= truth <= result.ci_high
    # Nominal 95%; 40 trials leave room for chance, not for a broken interval.
    assert covered["bootstrap"] >= 0.8 * trials, covered
    assert covered["delong"] >= 0.8 * trials, covered


def test_bootstrap_rejects_bad_input():
    labels, a, b = [1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2], [0.7, 0.3, 0.6, 0.4]
    with pytest.raises(ValueError, match="resamples is 0"):
        paired_bootstrap_auc(labels, a, b, resamples=0)
    with pytest.raises(ValueError, match=r"confidence is 1\.5"):
        paired_bootstrap_auc(labels, a, b, confidence=1.5)
    with pytest.raises(ValueError, match="0 positive and 4 negative rows"):
        paired_bootstrap_auc([0, 0, 0, 0], a, b)


def test_bootstrap_fails_clearly_when_every_resample_has_one_class():
    rows = 50
    labels = [1] + [0] * (rows - 1)
    scores = [i / rows for i in range(rows)]
    seed = next(s for s in range(100) if 0 not in random.Random(s).choices(range(rows), k=rows))
    with pytest.raises(ValueError, match="all 1 resamples drew a single class"):
        paired_bootstrap_auc(labels, scores, scores[::-1], resamples=1, seed=seed)
