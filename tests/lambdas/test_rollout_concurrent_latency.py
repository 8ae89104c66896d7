"""The within-minute p99 test: pinned against numpy/scipy on fixed inputs, and its bias rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rollout.concurrent_latency import LOG_RATIO_PRECISION, MIN_MINUTES, MIN_REQUESTS_FOR_P99, latency_evidence
from tests.lambdas.judge_histories import minute
from tests.lambdas.test_rollout_concurrent_errors import reference_log_mixture

ALPHA = 0.05
TOLERANCE = 1.25
P99S = [(130.0, 100.0), (90.0, 110.0), (160.0, 100.0), (120.0, 95.0), (150.0, 105.0), (140.0, 100.0)]


def paired(p99s, candidate=(200, 2), baseline=(800, 8)):
    return [minute(candidate, baseline, p99=p) for p in p99s]


def test_the_statistic_matches_numpy_and_quadrature_on_fixed_minutes():
    y = np.log([c / b for c, b in P99S])
    expected = max(
        0.0,
        *(
            reference_log_mixture(
                float(np.sum(y[:t] - math.log(TOLERANCE))), float(np.var(y[:t]) * t), LOG_RATIO_PRECISION
            )
            for t in range(MIN_MINUTES, len(y) + 1)
        ),
    )
    evidence = latency_evidence(paired(P99S), "C", ["B"], TOLERANCE, ALPHA)
    assert evidence.max_log_mixture == pytest.approx(expected, rel=1e-7)
    assert evidence.mean_log_ratio == pytest.approx(float(np.mean(y)))
    assert evidence.minutes == len(P99S)


def test_a_consistently_much_slower_candidate_is_found():
    evidence = latency_evidence(
        paired([(300.0, 100.0), (280.0, 105.0), (310.0, 98.0)] * 2), "C", ["B"], TOLERANCE, ALPHA
    )
    assert evidence.slower and evidence.ratio > 2.5


def test_one_slow_minute_is_not_a_verdict():
    # The old rule compared each arm's worst minute: one 3× minute rolled back.
    minutes = paired([(300.0, 100.0)] + [(100.0, 100.0)] * 9)
    assert not latency_evidence(minutes, "C", ["B"], TOLERANCE, ALPHA).slower


def test_fewer_than_min_minutes_never_decide():
    assert not latency_evidence(paired([(900.0, 100.0)] * (MIN_MINUTES - 1)), "C", ["B"], TOLERANCE, ALPHA).slower


@pytest.mark.parametrize(
    ("candidate", "baseline"),
    [
        ((MIN_REQUESTS_FOR_P99 - 1, 0), (900, 0)),  # the candidate's p99 is barely more than its maximum
        ((600, 0), (400, 0)),  # the baseline's p99 would be biased down more than the candidate's
        ((500, 0), (0, 0)),  # the 100 % step: nothing to compare with
    ],
)
def test_minutes_where_a_p99_would_be_biased_against_the_candidate_are_left_out(candidate, baseline):
    minutes = [minute(candidate, baseline, p99=(400.0, 100.0))] * 10
    evidence = latency_evidence(minutes, "C", ["B"], TOLERANCE, ALPHA)
    assert (evidence.minutes, evidence.slower) == (0, False)


def sample_p99(rng: np.random.Generator, n: int, sigma: float) -> float:
    """Nearest-rank p99 of n lognormal latencies, drawn exactly through the Beta law of order statistics."""
    k = math.ceil(0.99 * n)
    return 50.0 * math.exp(sigma * stats.norm.ppf(rng.beta(k, n - k + 1)))


@pytest.mark.parametrize("sigma", [0.5, 1.0])
def test_identical_lognormal_latencies_at_a_10_percent_share_rarely_roll_back(sigma):
    rng = np.random.default_rng(5)
    runs, slower = 200, 0
    for _ in range(runs):
        minutes = []
        for _ in range(20):
            n_c = int(rng.binomial(1000, 0.1))
            p99 = (sample_p99(rng, n_c, sigma), sample_p99(rng, 1000 - n_c, sigma))
            minutes.append(minute((n_c, 0), (1000 - n_c, 0), p99=p99))
        slower += latency_evidence(minutes, "C", ["B"], TOLERANCE, ALPHA).slower
    assert slower / runs <= 0.05  # the old worst-minute rule: 12 % (σ 0.5) and 37 % (σ 1.0)
