"""Independent-sample tests against published values and scipy."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy.stats import binomtest, norm

from live_quality.independent_tests import (
    auc_variance,
    newcombe_interval,
    newcombe_test,
    unpaired_delong_test,
    wilson_interval,
)

Z95 = norm.ppf(0.975)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10: p1 - p2 there is B - A here
        ((48, 80), (56, 70), (0.0524, 0.3339)),
        ((3, 10), (9, 10), (0.1705, 0.8090)),
        ((2, 7), (6, 7), (0.0582, 0.8062)),
        ((0, 29), (5, 56), (-0.0381, 0.1926)),
        ((0, 20), (0, 10), (-0.1611, 0.2775)),
        ((0, 20), (10, 10), (0.6791, 1.0000)),
    ],
)
def test_newcombe_interval_matches_the_published_examples(a, b, expected):
    low, high = newcombe_interval(*a, *b, Z95)
    assert (round(low, 4), round(high, 4)) == expected


def test_wilson_interval_matches_scipy():
    rng = random.Random(3)
    for _ in range(50):
        n = rng.randint(1, 500)
        k = rng.randint(0, n)
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        low, high = wilson_interval(k, n, Z95)
        assert (low, high) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_the_p_value_is_where_the_interval_touches_zero():
    rng = random.Random(5)
    for _ in range(40):
        n_a, n_b = rng.randint(20, 2000), rng.randint(20, 2000)
        k_a, k_b = rng.randint(0, n_a), rng.randint(0, n_b)
        result = newcombe_test(k_a, n_a, k_b, n_b)
        if result.difference == 0:
            assert result.p_value == 1.0
            continue
        if result.p_value < 1e-12:
            continue
        z = norm.ppf(1 - result.p_value / 2)
        low, high = newcombe_interval(k_a, n_a, k_b, n_b, z)
        nearest = low if result.difference > 0 else high
        assert nearest == pytest.approx(0, abs=1e-8)
        assert (result.ci_low > 0 or result.ci_high < 0) == (result.p_value < 0.05)


def test_newcombe_p_is_close_to_the_pooled_score_test():
    from scipy.stats import chi2_contingency

    for a, b in [((480, 800), (560, 700)), ((90, 200), (110, 210)), ((30, 1000), (45, 1000))]:
        expected = chi2_contingency([[a[0], a[1] - a[0]], [b[0], b[1] - b[0]]], correction=False)[1]
        assert newcombe_test(*a, *b).p_value == pytest.approx(expected, rel=0.15)


@pytest.mark.parametrize("bad", [(0, 0, 1, 2), (3, 2, 1, 2), (-1, 2, 1, 2), (True, 2, 1, 2)])
def test_bad_counts_are_refused(bad):
    with pytest.raises(ValueError):
        newcombe_test(*bad)


def test_unpaired_delong_from_placement_variances():
    rng = np.random.default_rng(9)
    aucs, variances = [], []
    for shift in (0.8, 1.1):
        y = rng.random(600) < 0.3
        s = rng.normal(shift * y, 1.0)
        pos, neg = s[y], s[~y]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
        aucs.append(v10.mean())
        variances.append(auc_variance(np.var(v10, ddof=1), len(pos), np.var(v01, ddof=1), len(neg)))
    result = unpaired_delong_test(aucs[0], variances[0], aucs[1], variances[1])
    se = math.sqrt(variances[0] + variances[1])
    assert result.difference == pytest.approx(aucs[1] - aucs[0])
    assert result.standard_error == pytest.approx(se)
    assert result.p_value == pytest.approx(2 * norm.sf(abs(aucs[1] - aucs[0]) / se))
    assert (result.ci_low, result.ci_high) == pytest.approx(
        (result.difference - Z95 * se, result.difference + Z95 * se)
    )
    with pytest.raises(ValueError, match="variance"):
        unpaired_delong_test(0.7, 0.0, 0.8, 0.0)
    with pytest.raises(ValueError, match="2 of each"):
        auc_variance(0.1, 1, 0.1, 50)
