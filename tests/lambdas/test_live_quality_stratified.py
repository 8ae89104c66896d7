"""Differences within inference days: the Mantel-Haenszel difference, its null and Sato's variances, per-day ROC AUC."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from live_quality.stratified import (
    Stratum,
    accuracy_difference,
    auc_difference,
    label_mix_test,
    paired_strata,
)


def stratum(period, labelled, correct, positives=None, auc=None, v10=None, v01=None):
    positives = labelled // 2 if positives is None else positives
    return Stratum(period, labelled, positives, labelled - positives, correct, auc, v10, v01)


def test_one_stratum_is_the_plain_difference_with_the_wald_variance():
    (estimate,) = [accuracy_difference([(stratum("d1", 100, 50), stratum("d1", 100, 60))])]
    assert estimate is not None
    assert estimate.difference == pytest.approx(0.10)
    assert estimate.interval_variance == pytest.approx(0.6 * 0.4 / 100 + 0.5 * 0.5 / 100)
    # The p-value's variance: pooled accuracy 0.55, hypergeometric (N / (N - 1)).
    assert estimate.variance == pytest.approx(0.55 * 0.45 * (1 / 100 + 1 / 100) * 200 / 199)
    assert (estimate.strata_used, estimate.strata_left_out) == (1, 0)


def test_the_mantel_haenszel_difference_and_satos_variance_by_hand():
    # Two days; candidate (x of n) minus baseline (y of m). Sato (1989): Var = (RD ΣP + ΣQ) / (Σ w)².
    days = [(30, 20, 40, 25), (80, 60, 120, 70)]  # (n, x, m, y)
    pairs = [(stratum(f"d{i}", m, y), stratum(f"d{i}", n, x)) for i, (n, x, m, y) in enumerate(days)]
    w = [n * m / (n + m) for n, _, m, _ in days]
    rd = sum(wk * (x / n - y / m) for wk, (n, x, m, y) in zip(w, days, strict=True)) / sum(w)
    p = sum((n * n * y - m * m * x + n * m * (m - n) / 2) / (n + m) ** 2 for n, x, m, y in days)
    q = sum((x * (m - y) + y * (n - x)) / (2 * (n + m)) for n, x, m, y in days)
    estimate = accuracy_difference(pairs)
    assert estimate is not None
    assert estimate.difference == pytest.approx(rd)
    assert estimate.interval_variance == pytest.approx((rd * p + q) / sum(w) ** 2)


def test_the_p_values_variance_is_the_cochran_mantel_haenszel_one():
    # Σ w_k RD_k = Σ (x_k − E[x_k | day's correct]); its variance is the hypergeometric one: the CMH test.
    days = [(30, 20, 40, 25), (80, 60, 120, 70), (1, 1, 1, 0)]  # (n, x, m, y)
    pairs = [(stratum(f"d{i}", m, y), stratum(f"d{i}", n, x)) for i, (n, x, m, y) in enumerate(days)]
    w = sum(n * m / (n + m) for n, _, m, _ in days)
    hypergeometric = sum(n * m * (x + y) * (n + m - x - y) / ((n + m) ** 2 * (n + m - 1)) for n, x, m, y in days)
    estimate = accuracy_difference(pairs)
    assert estimate is not None
    assert estimate.variance == pytest.approx(hypergeometric / w**2)
    observed_minus_expected = sum(x - n * (x + y) / (n + m) for n, x, m, y in days)
    assert estimate.difference * w == pytest.approx(observed_minus_expected)


def test_a_small_arm_without_errors_at_high_accuracy_is_not_near_certain_evidence():
    # 600 labelled requests all right against 59,400 at 0.98: Sato's (Wald) variance takes the small
    # arm's 0 errors at face value (variance from the large arm alone, z ≈ 35); under "no difference"
    # both arms have the pooled accuracy, z ≈ 3.5.
    pairs = [(stratum("d1", 59400, 58212), stratum("d1", 600, 600))]
    estimate = accuracy_difference(pairs)
    assert estimate is not None
    pooled = (58212 + 600) / 60000
    assert estimate.variance == pytest.approx(pooled * (1 - pooled) * (1 / 600 + 1 / 59400) * 60000 / 59999)
    assert estimate.interval_variance == pytest.approx(0.98 * 0.02 / 59400)
    assert estimate.difference / math.sqrt(estimate.variance) < 4


def test_the_accuracy_p_value_keeps_its_level_for_a_small_arm_at_high_accuracy():
    # The review's case: 59,400 vs 600 labelled requests, accuracy 0.98 in both. |z| > 3 should happen
    # in 0.27 % of runs; with Sato's variance it did in 1.6 %.
    rng = np.random.default_rng(11)
    runs, large, small = 20000, 59400, 600
    correct_large, correct_small = rng.binomial(large, 0.98, runs), rng.binomial(small, 0.98, runs)
    beyond = 0
    for y, x in zip(correct_large, correct_small, strict=True):
        estimate = accuracy_difference([(stratum("d1", large, int(y)), stratum("d1", small, int(x)))])
        assert estimate is not None
        beyond += abs(estimate.difference) > 3 * math.sqrt(estimate.variance)
    assert beyond / runs < 2 * math.erfc(3 / math.sqrt(2))


def test_both_variances_match_the_spread_of_the_estimate_with_many_small_days():
    # 40 days with 3-12 labels per variant: the regime where summing stratum variances fails.
    rng = np.random.default_rng(5)
    sizes = rng.integers(3, 13, size=(40, 2))
    rates = rng.uniform(0.3, 0.9, 40)
    estimates, variances = [], []
    for _ in range(2000):
        pairs = []
        for k, ((m, n), rate) in enumerate(zip(sizes, rates, strict=True)):
            y, x = rng.binomial(m, rate), rng.binomial(n, rate)
            pairs.append((stratum(f"d{k}", int(m), int(y)), stratum(f"d{k}", int(n), int(x))))
        estimate = accuracy_difference(pairs)
        assert estimate is not None
        estimates.append(estimate.difference)
        variances.append((estimate.variance, estimate.interval_variance))
    assert np.mean(estimates) == pytest.approx(0.0, abs=0.005)
    null, sato = np.mean(variances, axis=0)
    assert null == pytest.approx(np.var(estimates), rel=0.1)
    assert sato == pytest.approx(np.var(estimates), rel=0.1)


def test_a_split_that_changes_while_the_base_rate_moves_favours_no_one_within_days():
    # Same accuracy each day for both; baseline got most of its traffic on the easy day (Simpson).
    easy_a, hard_a = stratum("d1", 900, 810), stratum("d2", 100, 60)  # 90 % and 60 %
    easy_b, hard_b = stratum("d1", 100, 90), stratum("d2", 900, 540)
    pooled_a, pooled_b = (810 + 60) / 1000, (90 + 540) / 1000
    assert pooled_a - pooled_b > 0.2
    estimate = accuracy_difference(paired_strata([easy_a, hard_a], [easy_b, hard_b]))
    assert estimate is not None and estimate.difference == pytest.approx(0.0, abs=1e-12)


def test_days_with_labels_of_one_variant_only_are_not_paired():
    a = [stratum("d1", 10, 5), stratum("d2", 10, 5), stratum("d3", 0, 0, positives=0)]
    b = [stratum("d2", 10, 6), stratum("d3", 4, 2), stratum("d4", 10, 6)]
    assert [(x.period, y.period) for x, y in paired_strata(a, b)] == [("d2", "d2")]
    assert accuracy_difference([]) is None
    with pytest.raises(ValueError, match="repeat a period"):
        paired_strata([stratum("d1", 10, 5), stratum("d1", 10, 5)], b)


def _day(rng, period, positives, negatives, shift):
    y = np.r_[np.ones(positives, int), np.zeros(negatives, int)]
    s = rng.normal(shift * y, 1.0)
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    correct = int(((s >= shift / 2) == y).sum())
    return Stratum(
        period,
        y.size,
        positives,
        negatives,
        correct,
        float(roc_auc_score(y, s)),
        float(v10.var(ddof=1)) if positives > 1 else None,  # the query's NULL for one row of a class
        float(v01.var(ddof=1)),
    )


def test_per_day_aucs_are_combined_with_the_same_weights_and_delongs_variances():
    rng = np.random.default_rng(3)
    a = [_day(rng, "d1", 20, 80, 1.0), _day(rng, "d2", 40, 60, 2.0), _day(rng, "d3", 1, 30, 1.0)]
    b = [_day(rng, "d1", 30, 50, 1.0), _day(rng, "d2", 10, 90, 2.0), _day(rng, "d3", 12, 12, 1.0)]
    estimate = auc_difference(paired_strata(a, b))
    assert estimate is not None
    used = [(x, y) for x, y in zip(a, b, strict=True) if x.positives >= 2 and y.positives >= 2]
    w = np.array([x.labelled * y.labelled / (x.labelled + y.labelled) for x, y in used])
    d = np.array([y.roc_auc - x.roc_auc for x, y in used])
    var = np.array(
        [
            x.v10_variance / x.positives
            + x.v01_variance / x.negatives
            + y.v10_variance / y.positives
            + y.v01_variance / y.negatives
            for x, y in used
        ]
    )
    assert estimate.difference == pytest.approx(float((w * d).sum() / w.sum()))
    assert estimate.interval_variance == pytest.approx(float((w * w * var).sum() / w.sum() ** 2))

    def pooled(x, nx, y, ny):
        return ((nx - 1) * x + (ny - 1) * y) / (nx + ny - 2)

    pooled_var = np.array(
        [
            pooled(x.v10_variance, x.positives, y.v10_variance, y.positives) * (1 / x.positives + 1 / y.positives)
            + pooled(x.v01_variance, x.negatives, y.v01_variance, y.negatives) * (1 / x.negatives + 1 / y.negatives)
            for x, y in used
        ]
    )
    # The p-value's: the larger of the pooled and the unpooled sums.
    assert estimate.variance == pytest.approx(
        max(float((w * w * pooled_var).sum()), float((w * w * var).sum())) / w.sum() ** 2
    )
    assert (estimate.strata_used, estimate.strata_left_out) == (2, 1)  # d3: the baseline has one positive
    assert math.isfinite(estimate.variance)


def test_a_day_without_an_auc_in_either_variant_leaves_nothing_to_combine():
    only = [stratum("d1", 10, 5, positives=1, auc=None)]
    assert auc_difference(paired_strata(only, only)) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (dict(labelled=10, positives=4, negatives=5, correct=3), r"4 positives \+ 5 negatives != 10"),
        (dict(labelled=10, positives=5, negatives=5, correct=11), "11 correct of 10"),
        (dict(labelled=-1, positives=0, negatives=0, correct=0), "labelled is -1"),
    ],
)
def test_impossible_counts_are_refused_with_the_day(fields, message):
    with pytest.raises(ValueError, match=f"stratum 2026/11/01: {message}"):
        Stratum("2026/11/01", **fields)


def _sorted_day(rng, positives, negatives, shift=2.0):
    """A day's stratum with placements by binary search (fast for large classes; no ties here)."""
    pos, neg = rng.normal(shift, 1.0, positives), rng.normal(0.0, 1.0, negatives)
    v10 = np.searchsorted(np.sort(neg), pos) / negatives
    v01 = 1 - np.searchsorted(np.sort(pos), neg) / positives
    labelled = positives + negatives
    return Stratum(
        "d1", labelled, positives, negatives, 0, float(v10.mean()), float(v10.var(ddof=1)), float(v01.var(ddof=1))
    )


def test_the_p_values_variance_keeps_the_level_where_unpooled_delong_is_liberal():
    # A 5 % canary (30 positives, 300 negatives) against a 95 % baseline, AUC ≈ 0.92, identical models:
    # the review measured unpooled DeLong at several times the level here; the p-value's variance (at
    # least the pooled one) stays near it.
    rng = np.random.default_rng(8)
    level, runs = 0.0125, 1500
    z = 2.4977  # two-sided 0.0125
    rejected = {"p-value's": 0, "unpooled": 0}
    for _ in range(runs):
        large, small = _sorted_day(rng, 570, 5700), _sorted_day(rng, 30, 300)
        estimate = auc_difference([(large, small)])
        assert estimate is not None
        rejected["p-value's"] += abs(estimate.difference) > z * math.sqrt(estimate.variance)
        rejected["unpooled"] += abs(estimate.difference) > z * math.sqrt(estimate.interval_variance)
    assert rejected["p-value's"] / runs < 2 * level
    assert rejected["unpooled"] / runs > 3 * level


def _binormal_day(rng, positives, negatives, mean, sd):
    """A day's stratum whose positives score N(mean, sd) and negatives N(0, 1): AUC Φ(mean / sqrt(1 + sd²))."""
    pos, neg = rng.normal(mean, sd, positives), rng.normal(0.0, 1.0, negatives)
    v10 = np.searchsorted(np.sort(neg), pos) / negatives
    v01 = 1 - np.searchsorted(np.sort(pos), neg) / positives
    return Stratum(
        "d1",
        positives + negatives,
        positives,
        negatives,
        0,
        float(v10.mean()),
        float(v10.var(ddof=1)),
        float(v01.var(ddof=1)),
    )


def test_equal_aucs_with_differently_shaped_roc_curves_get_the_unpooled_variance_at_least():
    # Fixed data: the small arm's positives spread three times as wide (placement variance 0.0625 vs
    # 0.01). Pooling over the arms takes mostly the large arm's 0.01 for the small arm: a variance that
    # is right only if the models were identical, not for "equal AUC". The p-value's variance must be
    # at least DeLong's unpooled one.
    large = Stratum("d1", 6270, 570, 5700, 0, 0.92, 0.01, 0.002)
    small = Stratum("d1", 1650, 150, 1500, 0, 0.92, 0.0625, 0.004)
    estimate = auc_difference([(large, small)])
    assert estimate is not None
    unpooled = 0.01 / 570 + 0.002 / 5700 + 0.0625 / 150 + 0.004 / 1500
    assert estimate.interval_variance == pytest.approx(unpooled)
    assert estimate.variance == pytest.approx(unpooled)  # the larger: pooled is about 2/5 of it here
    # A small arm that shows less spread than the large one (as identical models often do by chance):
    # pooled is the larger and is used.
    narrow = auc_difference([(large, Stratum("d1", 1650, 150, 1500, 0, 0.92, 0.004, 0.001))])
    assert narrow is not None and narrow.variance > narrow.interval_variance


def test_the_auc_p_values_variance_keeps_the_level_for_equal_aucs_of_different_shape():
    # Equal AUC 0.921: A's positives N(2, 1), B's N(μ, 3) with μ giving the same AUC; 570/5,700 vs
    # 150/1,500 labelled requests. Pooled placement variances rejected at 3.7× the level here.
    rng = np.random.default_rng(8)
    level, runs = 0.0125, 1500
    z = 2.4977  # two-sided 0.0125
    auc = stats.norm.cdf(2 / math.sqrt(2))
    mean_b = stats.norm.ppf(auc) * math.sqrt(1 + 3.0**2)
    rejected = 0
    for _ in range(runs):
        estimate = auc_difference(
            [(_binormal_day(rng, 570, 5700, 2.0, 1.0), _binormal_day(rng, 150, 1500, mean_b, 3.0))]
        )
        assert estimate is not None
        rejected += abs(estimate.difference) > z * math.sqrt(estimate.variance)
    assert rejected / runs < 2 * level


def test_the_label_mix_test_with_one_day_is_pearsons_chi_square_times_n_minus_1_over_n():
    from scipy.stats import chi2_contingency

    a, b = stratum("d1", 120, 60, positives=30), stratum("d1", 80, 40, positives=34)
    mix = label_mix_test([(a, b)])
    assert mix is not None
    pearson = chi2_contingency([[30, 90], [34, 46]], correction=False)[0]
    z = stats.norm.isf(mix.p_value / 2)
    assert z * z == pytest.approx(pearson * 199 / 200)
    assert (mix.share_a, mix.share_b, mix.difference) == pytest.approx((0.25, 0.425, 0.175))


def test_the_label_mix_test_sees_a_difference_within_days_that_pooling_hides():
    # B has more positives among its labels on both days (30 % vs 20 %, 80 % vs 45 %), but most of its
    # labels are from the day with fewer positives: pooled, both have 40 %.
    a = [stratum("d1", 100, 50, positives=20), stratum("d2", 400, 200, positives=180)]
    b = [stratum("d1", 400, 200, positives=120), stratum("d2", 100, 50, positives=80)]
    mix = label_mix_test(paired_strata(a, b))
    assert mix is not None and mix.share_a == mix.share_b == pytest.approx(0.40)
    assert mix.difference > 0.1 and mix.p_value < 1e-6
