"""The within-minute error tests, pinned against scipy on fixed inputs and checked by small simulations.

scipy computes the same quantities another way: the mixture likelihood ratio from binomial pmfs
(not the closed-form log terms), the one-sided normal mixture by numerical integration over λ.
Simulations use fixed seeds, so every run checks the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from rollout.concurrent_errors import INCREMENT_PRECISION, RATE_RATIOS, error_evidence
from rollout.mixture import log_one_sided_mixture
from tests.lambdas.judge_histories import minute, simulated

ALPHA = 0.05
# (candidate requests, errors), (baseline requests, errors), share: few events, lopsided splits.
FIXED = [
    minute((100, 3), (900, 6)),
    minute((95, 0), (905, 11)),
    minute((250, 5), (750, 4), share=25),
    minute((10, 2), (990, 7), share=1),
    minute((500, 9), (500, 2), share=50),
]


def reference_log_ratios(minutes) -> list[float]:
    """log of the mixture likelihood ratio after each minute, from scipy's binomial pmf."""
    out, products = [], np.ones(len(RATE_RATIOS))
    for m in minutes:
        n_c, c = m.variants["C"].invocations, m.variants["C"].errors_5xx
        n_b, b = m.variants["B"].invocations, m.variants["B"].errors_5xx
        pi = n_c / (n_c + n_b)
        for k, rho in enumerate(RATE_RATIOS):
            theta = rho * pi / (rho * pi + 1 - pi)
            products[k] *= stats.binom.pmf(c, c + b, theta) / stats.binom.pmf(c, c + b, pi)
        out.append(math.log(products.mean()))
    return out


def reference_log_mixture(total: float, variance: float, precision: float) -> float:
    """log ∫_0^∞ exp(λS - λ²V/2) · half-normal(λ; precision) dλ, by quadrature."""
    scale = 1 / math.sqrt(precision)

    def integrand(lam: float) -> float:  # exponents combined so that no factor overflows on its own
        return math.exp(lam * total - lam * lam * variance / 2 + stats.norm.logpdf(lam, scale=scale)) * 2

    value, _ = integrate.quad(integrand, 0, np.inf)
    return math.log(value)


def test_the_mixture_likelihood_ratio_matches_scipy_on_fixed_minutes():
    evidence = error_evidence(FIXED, "C", ["B"], ALPHA)
    assert evidence.max_log_ratio == pytest.approx(max(0.0, *reference_log_ratios(FIXED)), rel=1e-9)


@pytest.mark.parametrize(("total", "variance"), [(0.0, 0.0), (3.0, 4.0), (12.5, 30.0), (-4.0, 9.0), (40.0, 200.0)])
def test_the_one_sided_normal_mixture_matches_numerical_integration(total, variance):
    assert log_one_sided_mixture(total, variance, INCREMENT_PRECISION) == pytest.approx(
        reference_log_mixture(total, variance, INCREMENT_PRECISION), rel=1e-7, abs=1e-9
    )


def test_the_self_normalized_test_uses_the_centred_increments_of_the_fixed_minutes():
    increments = []
    for m in FIXED:
        n_c, c = m.variants["C"].invocations, m.variants["C"].errors_5xx
        n_b, b = m.variants["B"].invocations, m.variants["B"].errors_5xx
        increments.append(c - n_c / (n_c + n_b) * (c + b))
    expected = max(
        0.0,
        *(
            reference_log_mixture(sum(increments[:t]), float(np.var(increments[:t]) * t), INCREMENT_PRECISION)
            for t in range(1, len(increments) + 1)
        ),
    )
    assert error_evidence(FIXED, "C", ["B"], ALPHA).max_log_increment_mixture == pytest.approx(expected, rel=1e-7)


def test_a_base_rate_that_moves_for_everyone_cancels_within_the_minute():
    # The candidate's share grows while the endpoint's error rate quadruples: pooled over the rollout,
    # the candidate's rate (mostly late minutes) is far above the baseline's (mostly early ones).
    minutes = [minute((share * 10, share * r // 10), ((100 - share) * 10, (100 - share) * r // 10), share=share)
               for share, r in [(10, 10), (25, 20), (50, 40)] for _ in range(10)]  # fmt: skip
    pooled_c = sum(m.variants["C"].errors_5xx for m in minutes) / sum(m.variants["C"].invocations for m in minutes)
    pooled_b = sum(m.variants["B"].errors_5xx for m in minutes) / sum(m.variants["B"].invocations for m in minutes)
    assert pooled_c > 1.3 * pooled_b  # what the old pooled test compared
    evidence = error_evidence(minutes, "C", ["B"], ALPHA)
    assert not evidence.worse_a and not evidence.worse_b
    assert evidence.excess_rate == pytest.approx(0.0, abs=1e-12)


def test_minutes_where_one_arm_is_idle_compare_nothing():
    idle = [minute((1000, 300), (0, 0), share=100)] * 5  # the 100 % step: no baseline traffic
    evidence = error_evidence(idle, "C", ["B"], ALPHA)
    assert (evidence.minutes, evidence.max_log_ratio, evidence.candidate_worse) == (0, 0.0, False)


def test_a_clearly_worse_candidate_is_found_by_both_tests():
    worse = [minute((100, 4), (900, 9))] * 10  # 4 % vs 1 %
    evidence = error_evidence(worse, "C", ["B"], ALPHA)
    assert evidence.worse_a and evidence.worse_b and evidence.candidate_worse


def false_rejections(rng: np.random.Generator, runs: int, **kwargs) -> tuple[float, float]:
    """(A alone, A and B) rejection rates of identical arms over 120 minutes at 10 %."""
    a = both = 0
    for _ in range(runs):
        evidence = error_evidence(simulated(rng, [10.0] * 120, **kwargs), "C", ["B"], ALPHA)
        a += evidence.worse_a
        both += evidence.candidate_worse
    return a / runs, both / runs


def test_identical_arms_are_rarely_called_worse_even_after_many_minutes():
    a, both = false_rejections(np.random.default_rng(7), 300)
    assert a <= 0.08 and both <= a  # α = 0.05, 300 runs: SE ≈ 1.3 points


def test_bursts_that_hit_one_arm_break_the_binomial_test_but_not_the_pair():
    a, both = false_rejections(np.random.default_rng(11), 300, cv=0.5)
    assert a > 0.08, "over-dispersion should push the binomial test above α (else this test shows nothing)"
    assert both <= 0.06


def test_a_doubled_error_rate_is_caught_within_twenty_minutes_most_of_the_time():
    rng = np.random.default_rng(3)
    caught = sum(
        error_evidence(simulated(rng, [10.0] * 10 + [25.0] * 10, ratio=2.0), "C", ["B"], ALPHA).candidate_worse
        for _ in range(200)
    )
    assert caught / 200 >= 0.75
