"""The rollout judge's always-valid sequential test, checked by simulation and by hand.

numpy and scipy are test-only references; the module itself is standard library only. Every
simulation uses a fixed seed, so every run checks the same numbers.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from scipy import stats

from rollout.sequential import (
    DEFAULT_TAU,
    SequentialResult,
    fixed_horizon_requests_per_arm,
    msprt_two_proportions,
)

ALPHA = 0.05
ROLLOUTS = 2000
LOOKS = 12
REQUESTS_PER_LOOK = 2000  # per arm; counts are cumulative, so look k sees k × 2,000 requests per arm
REQUESTS = np.arange(1, LOOKS + 1) * REQUESTS_PER_LOOK


def simulate(candidate_rate: float, baseline_rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative error counts per arm, shape (ROLLOUTS, LOOKS)."""
    rng = np.random.default_rng(seed)
    candidate = rng.binomial(REQUESTS_PER_LOOK, candidate_rate, size=(ROLLOUTS, LOOKS)).cumsum(axis=1)
    baseline = rng.binomial(REQUESTS_PER_LOOK, baseline_rate, size=(ROLLOUTS, LOOKS)).cumsum(axis=1)
    return candidate, baseline


def run_rollout(candidate_errors: np.ndarray, baseline_errors: np.ndarray) -> list[SequentialResult]:
    """Every look of one rollout, chaining each look's p-value into the next as the judge does."""
    results: list[SequentialResult] = []
    previous_p = 1.0
    for c, b, n in zip(candidate_errors.tolist(), baseline_errors.tolist(), REQUESTS.tolist(), strict=True):
        result = msprt_two_proportions(c, n, b, n, alpha=ALPHA, previous_p=previous_p)
        results.append(result)
        previous_p = result.always_valid_p
    return results


def simulation_margin(rate: float, runs: int) -> float:
    return 3.0 * math.sqrt(rate * (1.0 - rate) / runs)


# --- by simulation -----------------------------------------------------------------------------


def test_equal_error_rates_keep_false_positives_at_alpha_however_often_the_judge_looks():
    candidate, baseline = simulate(0.01, 0.01, seed=20240611)
    rollouts = [run_rollout(candidate[r], baseline[r]) for r in range(ROLLOUTS)]

    ever_worse = np.mean([any(look.candidate_worse for look in looks) for looks in rollouts])
    ever_decided = np.mean([looks[-1].always_valid_p <= ALPHA for looks in rollouts])
    # The guarantee is for the two-sided decision, so "worse" alone is bounded as well.
    assert ever_worse <= ALPHA + simulation_margin(ALPHA, ROLLOUTS)
    assert ever_decided <= ALPHA + simulation_margin(ALPHA, ROLLOUTS)

    # The same question asked of a one-sided fixed-horizon z-test at every look ("is the candidate
    # worse at alpha 0.05?") rolls back a healthy candidate far more often than alpha.
    pooled = (candidate + baseline) / (2.0 * REQUESTS)
    z = (candidate - baseline) / REQUESTS / np.sqrt(pooled * (1.0 - pooled) * 2.0 / REQUESTS)
    naive_ever_worse = np.mean((z > stats.norm.ppf(1.0 - ALPHA)).any(axis=1))
    assert naive_ever_worse > 2 * ALPHA
    assert naive_ever_worse > 5 * ever_worse


def test_a_clearly_worse_candidate_is_caught_within_three_looks():
    candidate, baseline = simulate(0.03, 0.01, seed=7)
    caught_early = [
        any(look.candidate_worse for look in run_rollout(candidate[r], baseline[r])[:3]) for r in range(ROLLOUTS)
    ]
    assert np.mean(caught_early) >= 0.90


def test_always_valid_p_never_increases_across_looks():
    for candidate_rate, seed in [(0.01, 1), (0.012, 2), (0.03, 3)]:
        candidate, baseline = simulate(candidate_rate, 0.01, seed=seed)
        for r in range(200):
            p_values = [look.always_valid_p for look in run_rollout(candidate[r], baseline[r])]
            assert all(0.0 <= p <= 1.0 for p in p_values)
            assert all(later <= earlier for earlier, later in itertools.pairwise(p_values))


# --- by hand -----------------------------------------------------------------------------------


def test_likelihood_ratio_matches_a_hand_computation():
    # 30 errors in 1,000 candidate requests vs 10 in 1,000 baseline ones, τ = 0.01.
    # Variance rates (e + ½)/(n + 1): 30.5/1001 = 0.030469..., 10.5/1001 = 0.010490...
    # V = 0.030469 × 0.969531 / 1000 + 0.010490 × 0.989510 / 1000 = 3.99206e-5
    # Λ = sqrt(V / (V + 1e-4)) × exp(1e-4 × 0.02² / (2 V (V + 1e-4))) = 0.534143 × exp(3.58056) = 19.172
    result = msprt_two_proportions(30, 1000, 10, 1000)
    rate_c, rate_b = 30.5 / 1001, 10.5 / 1001
    variance = rate_c * (1 - rate_c) / 1000 + rate_b * (1 - rate_b) / 1000
    tau2 = DEFAULT_TAU**2
    expected = math.sqrt(variance / (variance + tau2)) * math.exp(tau2 * 0.02**2 / (2 * variance * (variance + tau2)))
    assert variance == pytest.approx(3.99206e-5, rel=1e-5)
    assert result.likelihood_ratio == pytest.approx(expected, rel=1e-12)
    assert result.likelihood_ratio == pytest.approx(19.172, abs=5e-4)
    assert result.always_valid_p == pytest.approx(1 / expected, rel=1e-12)
    assert (result.candidate_rate, result.baseline_rate) == (0.03, 0.01)
    assert result.difference == pytest.approx(0.02, abs=1e-15)
    # 1/Λ ≈ 0.0522: strong evidence, but not yet enough at alpha 0.05; enough at alpha 0.1.
    assert not result.candidate_worse and not result.candidate_better
    assert msprt_two_proportions(30, 1000, 10, 1000, alpha=0.1).candidate_worse


def test_previous_p_carries_over_and_a_verdict_stands():
    worse = msprt_two_proportions(60, 2000, 10, 2000)
    assert worse.candidate_worse and not worse.candidate_better
    assert worse.always_valid_p <= ALPHA
    # A later look with less evidence keeps the earlier (smaller) p-value.
    later = msprt_two_proportions(70, 3000, 60, 3000, previous_p=worse.always_valid_p)
    assert later.always_valid_p == worse.always_valid_p
    assert later.likelihood_ratio < 1 / ALPHA


def test_a_better_candidate_is_reported_as_better():
    result = msprt_two_proportions(10, 2000, 60, 2000)
    assert result.candidate_better and not result.candidate_worse
    assert result.difference < 0


def test_overwhelming_evidence_gives_an_infinite_ratio_and_p_zero():
    result = msprt_two_proportions(500_000, 1_000_000, 0, 1_000_000)
    assert result.likelihood_ratio == math.inf
    assert result.always_valid_p == 0.0
    assert result.candidate_worse


# --- edge cases and validation -----------------------------------------------------------------


@pytest.mark.parametrize("counts", [(0, 0, 0, 0), (0, 0, 5, 100), (3, 100, 0, 0)])
def test_zero_requests_on_an_arm_is_no_evidence(counts):
    result = msprt_two_proportions(*counts, previous_p=0.3)
    assert result.likelihood_ratio == 1.0
    assert result.always_valid_p == 0.3
    assert result.difference == 0.0
    assert not result.candidate_worse and not result.candidate_better


def test_zero_requests_keeps_an_earlier_verdict_p_value():
    assert msprt_two_proportions(0, 0, 0, 0, previous_p=0.01).always_valid_p == 0.01


def test_zero_errors_on_both_arms_is_finite_and_no_evidence():
    result = msprt_two_proportions(0, 5000, 0, 5000)
    assert 0.0 < result.likelihood_ratio < 1.0
    assert result.always_valid_p == 1.0
    assert result.difference == 0.0


def test_zero_errors_on_the_baseline_does_not_make_a_few_candidate_errors_decisive():
    # Raw rates would give the baseline variance 0; the corrected rate keeps V honest.
    result = msprt_two_proportions(3, 200, 0, 200)
    assert math.isfinite(result.likelihood_ratio)
    assert not result.candidate_worse


def test_whole_float_counts_from_cloudwatch_are_accepted():
    assert msprt_two_proportions(30.0, 1000.0, 10.0, 1000.0) == msprt_two_proportions(30, 1000, 10, 1000)


def test_result_is_frozen():
    result = msprt_two_proportions(1, 10, 1, 10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.always_valid_p = 0.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"candidate_errors": 11, "candidate_requests": 10}, r"candidate_errors \(11\) must not exceed"),
        ({"baseline_errors": 11, "baseline_requests": 10}, r"baseline_errors \(11\) must not exceed"),
        ({"candidate_errors": -1}, "candidate_errors must be a whole number >= 0"),
        ({"baseline_requests": -5}, "baseline_requests must be a whole number >= 0"),
        ({"candidate_requests": 10.5}, "candidate_requests must be a whole number"),
        ({"baseline_errors": math.nan}, "baseline_errors must be a whole number"),
        ({"candidate_requests": True}, "candidate_requests must be a whole number"),
        ({"candidate_errors": "3"}, "candidate_errors must be a whole number"),
        ({"alpha": 0.0}, "alpha must be a number strictly between 0 and 1"),
        ({"alpha": 1.0}, "alpha must be a number strictly between 0 and 1"),
        ({"alpha": math.nan}, "alpha must be"),
        ({"tau": 0.0}, "tau must be a finite number > 0"),
        ({"tau": math.inf}, "tau must be a finite number > 0"),
        ({"previous_p": 1.5}, r"previous_p must be a number in \[0, 1\]"),
        ({"previous_p": -0.1}, r"previous_p must be a number in \[0, 1\]"),
    ],
)
def test_bad_inputs_are_rejected_with_a_clear_message(kwargs, message):
    arguments = {
        "candidate_errors": 1,
        "candidate_requests": 100,
        "baseline_errors": 1,
        "baseline_requests": 100,
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        msprt_two_proportions(**arguments)


# --- fixed-horizon sample size -----------------------------------------------------------------


def test_fixed_horizon_matches_a_hand_computation():
    # 1 % vs 2 %, alpha 0.05 two-sided, power 0.8: p̄ = 0.015,
    # (1.959964 × sqrt(2 × 0.015 × 0.985) + 0.841621 × sqrt(0.0099 + 0.0196))² / 0.01² = 2318.16 → 2319.
    assert fixed_horizon_requests_per_arm(0.01, 0.02) == 2319
    # The formula is symmetric in the two rates.
    assert fixed_horizon_requests_per_arm(0.02, 0.01) == 2319


@pytest.mark.parametrize(
    ("baseline", "candidate", "alpha", "power"),
    [(0.01, 0.02, 0.05, 0.8), (0.01, 0.015, 0.05, 0.9), (0.001, 0.005, 0.01, 0.8), (0.2, 0.25, 0.1, 0.95)],
)
def test_fixed_horizon_matches_the_formula_with_scipy(baseline, candidate, alpha, power):
    mean = (baseline + candidate) / 2
    numerator = stats.norm.ppf(1 - alpha / 2) * math.sqrt(2 * mean * (1 - mean)) + stats.norm.ppf(power) * math.sqrt(
        baseline * (1 - baseline) + candidate * (1 - candidate)
    )
    assert fixed_horizon_requests_per_arm(baseline, candidate, alpha=alpha, power=power) == math.ceil(
        (numerator / (candidate - baseline)) ** 2
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0.01, 0.01), {}, "the rates must differ"),
        ((-0.1, 0.02), {}, r"baseline_rate must be a number in \[0, 1\]"),
        ((0.01, 1.5), {}, r"candidate_rate must be a number in \[0, 1\]"),
        ((0.01, 0.02), {"alpha": 0.0}, "alpha must be"),
        ((0.01, 0.02), {"power": 1.0}, "power must be"),
    ],
)
def test_fixed_horizon_rejects_bad_inputs(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fixed_horizon_requests_per_arm(*args, **kwargs)
