"""Anytime-valid p-values and confidence sequences from the two-sided normal mixture."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from live_quality.anytime import (
    DIFFERENCE_WORTH_ACTING_ON,
    MIXTURE_PRECISION,
    anytime_p_value,
    confidence_sequence,
)
from rollout.mixture import log_two_sided_mixture, two_sided_mixture_radius


def reference_log_mixture(total: float, variance: float, precision: float) -> float:
    """log ∫ exp(λS - λ²V/2) · N(λ; 0, 1/precision) dλ, by quadrature."""

    def integrand(lam: float) -> float:
        return math.exp(lam * total - lam * lam * variance / 2 + stats.norm.logpdf(lam, scale=precision**-0.5))

    value, _ = integrate.quad(integrand, -np.inf, np.inf)
    return math.log(value)


@pytest.mark.parametrize(("total", "variance"), [(0.0, 0.0), (3.0, 4.0), (-12.5, 30.0), (40.0, 200.0)])
def test_the_two_sided_normal_mixture_matches_numerical_integration(total, variance):
    assert log_two_sided_mixture(total, variance, 2.0) == pytest.approx(
        reference_log_mixture(total, variance, 2.0), rel=1e-7, abs=1e-9
    )


def test_the_radius_is_where_the_mixture_reaches_one_over_alpha():
    for variance, precision, alpha in [(10.0, 1.0, 0.05), (1e4, 4e3, 0.0125), (0.5, 2.0, 0.001)]:
        radius = two_sided_mixture_radius(variance, precision, alpha)
        assert log_two_sided_mixture(radius, variance, precision) == pytest.approx(math.log(1 / alpha))


def test_the_p_value_is_one_at_no_difference_symmetric_and_falls_with_the_difference():
    assert anytime_p_value(0.0, 1e-4) == 1.0
    assert anytime_p_value(0.03, 1e-4) == pytest.approx(anytime_p_value(-0.03, 1e-4))
    values = [anytime_p_value(d, 1e-4) for d in (0.01, 0.02, 0.04, 0.08)]
    assert values == sorted(values, reverse=True) and values[-1] < 1e-6


def test_the_anytime_p_value_is_larger_than_the_fixed_look_one():
    # The price of looking at every run: at z = 3 a single look would reject at 0.0027.
    fixed = math.erfc(3 / math.sqrt(2))
    assert anytime_p_value(3 * 0.01, 0.01**2) > 5 * fixed


def test_the_confidence_sequence_ends_where_the_p_value_reaches_alpha():
    low, high = confidence_sequence(0.02, 1e-4, 0.025)
    assert anytime_p_value(0.02 - low, 1e-4) == pytest.approx(0.025)
    assert anytime_p_value(high - 0.02, 1e-4) == pytest.approx(0.025)
    assert low < 0.02 < high
    # an interval at alpha excludes 0 exactly when the p-value is at most alpha
    for d in (0.01, 0.03, 0.05):
        low, high = confidence_sequence(d, 1e-4, 0.025)
        assert (low > 0) == (anytime_p_value(d, 1e-4) < 0.025)


def test_rejecting_at_any_of_many_looks_keeps_the_error_below_alpha():
    # A difference of 0 estimated from a growing sample: the estimate after n observations of
    # N(0, 1) has variance 1/n. 100 looks per path; Ville's inequality bounds the paths that ever
    # reach p <= 0.05 by 5 % (a fixed-level test at every look exceeds it several times over).
    rng = np.random.default_rng(12)
    ever, fixed_ever = 0, 0
    paths = 2000
    for _ in range(paths):
        sums = np.cumsum(rng.normal(size=2000))
        looks = np.arange(20, 2001, 20)
        estimates = sums[looks - 1] / looks
        p = [anytime_p_value(d, 1 / n, precision=1 / 0.1**2) for d, n in zip(estimates, looks, strict=True)]
        ever += min(p) <= 0.05
        fixed_ever += bool(np.any(np.abs(estimates) * np.sqrt(looks) > 1.96))
    assert ever / paths <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / paths)
    assert fixed_ever / paths > 0.2  # the same looks at a fixed level: why the anytime p-value is needed


def test_the_chosen_precision_follows_the_documented_rule():
    # 1/sqrt(m) ≈ 0.76 × the difference worth acting on (live_quality.anytime's docstring).
    scale = MIXTURE_PRECISION**-0.5
    assert scale == pytest.approx(0.76 * DIFFERENCE_WORTH_ACTING_ON, rel=0.02)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.1, 0.0), r"variance is 0\.0"),
        ((math.nan, 1e-4), "difference is nan"),
        ((0.1, 1e-4, -1.0), r"precision is -1\.0"),
    ],
)
def test_bad_input_is_refused(args, message):
    with pytest.raises(ValueError, match=message):
        anytime_p_value(*args)
    with pytest.raises(ValueError, match=r"alpha is 1\.5"):
        confidence_sequence(0.1, 1e-4, 1.5)
