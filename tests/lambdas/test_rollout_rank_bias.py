"""The nearest-rank p99 offset b(n), pinned against scipy's quadrature over the Beta law and a simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rollout.rank_bias import lognormal_scale, nearest_rank, p99_rank_bias
from tests.lambdas.test_rollout_concurrent_latency import scipy_rank_bias


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
