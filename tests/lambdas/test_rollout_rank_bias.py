"""The nearest-rank p99 offsets b(n) (lognormal) and b_pareto(n), pinned against scipy's quadrature over the
Beta law and simulations, and the envelope the latency test takes of the two."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rollout.rank_bias import (
    baseline_offset,
    candidate_offset,
    lognormal_scale,
    nearest_rank,
    p99_is_the_maximum,
    p99_rank_bias,
    p99_rank_bias_pareto,
)
from tests.lambdas.test_rollout_concurrent_latency import scipy_pareto_rank_bias, scipy_rank_bias


@pytest.mark.parametrize("n", [50, 99, 100, 125, 199, 200, 501, 1000, 10_000, 250_000])
def test_the_offset_matches_scipy_quadrature_over_the_beta_law(n):
    assert p99_rank_bias(n) == pytest.approx(scipy_rank_bias(n), abs=1e-7)


def test_the_offset_matches_a_simulation_of_normal_order_statistics():
    # 20,000 samples of 125 standard normals: the 124th smallest, minus the true p99.
    rng = np.random.default_rng(3)
    draws = np.sort(rng.standard_normal((20_000, 125)), axis=1)[:, 123] - stats.norm.ppf(0.99)
    assert p99_rank_bias(125) == pytest.approx(float(draws.mean()), abs=4 * float(draws.std()) / math.sqrt(20_000))


def test_the_rank_is_the_ceiling_without_float_slop():
    assert [nearest_rank(n) for n in (1, 99, 100, 101, 200, 300, 1000)] == [1, 99, 99, 100, 198, 297, 990]


def test_the_lognormal_scale_puts_p50_and_p99_where_they_are():
    assert lognormal_scale(50.0, 50.0 * math.exp(0.8 * stats.norm.ppf(0.99))) == pytest.approx(0.8)
    assert lognormal_scale(None, 100.0) is None
    assert lognormal_scale(100.0, 90.0) == 0.0  # a p99 below the p50 (rounding): no scale


@pytest.mark.parametrize("n", [1, 50, 75, 99, 100, 125, 199, 720, 10_000])
def test_the_pareto_offset_matches_scipy_quadrature_over_the_beta_law(n):
    assert p99_rank_bias_pareto(n) == pytest.approx(scipy_pareto_rank_bias(n), abs=1e-7)


def test_the_pareto_offset_matches_a_simulation_of_pareto_order_statistics():
    # 20,000 minutes of 80 Pareto latencies (shape 1.68: p99/p50 as lognormal σ 1): the nearest-rank p99 is the
    # maximum; its mean log offset from the true p99, in units of (log p99 - log p50) / Φ⁻¹(0.99) = σ 1.
    rng = np.random.default_rng(7)
    shape = math.log(50.0) / stats.norm.ppf(0.99)
    draws = np.log(rng.pareto(shape, (20_000, 80)).max(axis=1) + 1.0) - math.log(100.0) / shape
    assert p99_rank_bias_pareto(80) == pytest.approx(
        float(draws.mean()), abs=4 * float(draws.std()) / math.sqrt(20_000)
    )


@pytest.mark.parametrize("n", [50, 60, 75, 99])
def test_where_the_p99_is_the_maximum_the_candidate_takes_the_larger_offset_and_the_baseline_the_smaller(n):
    """The rule as written; the baseline's "smaller" is no guard (next test: it is always the lognormal one)."""
    assert p99_is_the_maximum(n)
    assert candidate_offset(n) == max(p99_rank_bias(n), p99_rank_bias_pareto(n))
    assert baseline_offset(n) == min(p99_rank_bias(n), p99_rank_bias_pareto(n))


def test_the_baselines_smaller_of_the_two_offsets_is_always_the_lognormal_one():
    """The Pareto offset is at least the lognormal one at every count where the p99 is the maximum, so the
    baseline side is plain lognormal b(n) (what README and docs/benchmarks.md "Limit" say: a baseline tail
    lighter than lognormal is over-corrected, and nothing on the baseline side guards against a heavy one)."""
    for n in range(50, 100):  # from MIN_REQUESTS_FOR_P99 to the last count whose p99 is the maximum
        assert p99_rank_bias_pareto(n) >= p99_rank_bias(n)
        assert baseline_offset(n) == p99_rank_bias(n)


@pytest.mark.parametrize("n", [100, 125, 150, 199, 250, 500, 720, 1000])
def test_from_100_requests_on_both_arms_take_the_lognormal_offset(n):
    assert not p99_is_the_maximum(n)
    assert candidate_offset(n) == baseline_offset(n) == p99_rank_bias(n)


def test_a_heavy_tail_moves_the_maximum_of_a_quiet_minute_more_than_a_lognormal_does():
    # 50-99 requests: the p99 is the maximum; a Pareto's reads about twice as far above the true p99.
    assert p99_rank_bias_pareto(80) > 1.8 * p99_rank_bias(80) > 0.15
