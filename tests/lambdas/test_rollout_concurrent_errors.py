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

from rollout.concurrent_errors import BLOCK_MINUTES, INCREMENT_PRECISION, error_evidence
from rollout.mixture import log_one_sided_mixture
from tests.lambdas.judge_histories import minute, simulated

ALPHA = 0.05
# (candidate requests, errors), (baseline requests, errors), share: few events, lopsided splits.
# The published design, copied here rather than imported so that a change to the module under test
# fails these references: test A's rate ratios, test B's blocks and mixture precision.
REFERENCE_RATE_RATIOS = (1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
REFERENCE_BLOCK_MINUTES = 5
REFERENCE_PRECISION = 0.5
FIXED = [
    minute((100, 3), (900, 6)),
    minute((95, 0), (905, 11)),
    minute((250, 5), (750, 4), share=25),
    minute((10, 2), (990, 7), share=1),
    minute((500, 9), (500, 2), share=50),
]


def reference_log_ratios(minutes) -> list[float]:
    """log of the mixture likelihood ratio after each minute, from scipy's binomial pmf."""
    out, products = [], np.ones(len(REFERENCE_RATE_RATIOS))
    for m in minutes:
        n_c, c = m.variants["C"].invocations, m.variants["C"].errors_5xx
        n_b, b = m.variants["B"].invocations, m.variants["B"].errors_5xx
        pi = n_c / (n_c + n_b)
        for k, rho in enumerate(REFERENCE_RATE_RATIOS):
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


def test_the_published_constants_are_the_ones_in_use():
    assert (BLOCK_MINUTES, INCREMENT_PRECISION) == (REFERENCE_BLOCK_MINUTES, REFERENCE_PRECISION)


# 25 minutes (five complete blocks) with varied splits and errors, no pattern.
BLOCKY = [
    minute((100 + 7 * (t % 5), (3 * t) % 7), (900 - 7 * (t % 5), 5 + (5 * t) % 9), share=10 if t < 10 else 25)
    for t in range(25)
]


def reference_block_test(minutes, divide_spread: bool = False) -> float:
    """Test B written out with numpy from the published recipe: standardized block sums, variance the
    largest of their spread, the within-block spread of minutes, and one per block. Both spreads are
    unbiased sample variances (ddof 1) times their count, in units of the binomial variance under the
    Mantel-Haenszel rate ratio so far for the within-block spread (divided by g_k = Σ θ(1-θ)e / Σ π(1-π)e
    >= 1); the spread of the block scores is never divided (``divide_spread`` replays the earlier rule
    that did, so a test can show the fixed minutes tell the two apart)."""
    c = np.array([m.variants["C"].errors_5xx for m in minutes], dtype=float)
    b = np.array([m.variants["B"].errors_5xx for m in minutes], dtype=float)
    n_c = np.array([m.variants["C"].invocations for m in minutes], dtype=float)
    n_b = np.array([m.variants["B"].invocations for m in minutes], dtype=float)
    pi = n_c / (n_c + n_b)
    e = c + b
    x, w = c - pi * e, pi * (1 - pi) * e
    best, scores = 0.0, []
    for k in range(len(minutes) // REFERENCE_BLOCK_MINUTES):
        end = (k + 1) * REFERENCE_BLOCK_MINUTES
        part = slice(k * REFERENCE_BLOCK_MINUTES, end)
        scores.append(x[part].sum() / math.sqrt(w[part].sum()))
        rho = max(1.0, float(np.sum(c[:end] * (1 - pi[:end])) / np.sum(b[:end] * pi[:end])))
        theta = rho * pi / (rho * pi + 1 - pi)
        within, gs = 0.0, []
        for j in range(k + 1):
            block = slice(j * REFERENCE_BLOCK_MINUTES, (j + 1) * REFERENCE_BLOCK_MINUTES)
            gs.append(max(1.0, float(np.sum(theta[block] * (1 - theta[block]) * e[block]) / w[block].sum())))
            used = x[block][e[block] > 0]  # minutes without an error add nothing to a block
            within += float(np.var(used, ddof=1) * len(used)) / w[block].sum() / gs[-1]
        spread = float(np.var(scores, ddof=1) * len(scores)) if len(scores) > 1 else 0.0
        spread /= float(np.mean(gs)) if divide_spread else 1.0
        variance = max(spread, within, float(len(scores)))
        best = max(best, reference_log_mixture(float(np.sum(scores)), variance, REFERENCE_PRECISION))
    return best


def test_the_block_test_matches_a_numpy_reference_on_fixed_minutes():
    evidence = error_evidence(BLOCKY, "C", ["B"], ALPHA)
    assert evidence.max_log_increment_mixture == pytest.approx(reference_block_test(BLOCKY), rel=1e-7)
    assert evidence.max_log_increment_mixture > 0.0  # the fixed minutes do move the statistic


# A 10 % candidate whose errors come in a burst in blocks 2-3, quiet otherwise: the block scores spread
# most, and the rate ratio so far is above 1, so the earlier rule (spread ÷ mean g) would judge differently.
BURST_ON_A_SMALL_SHARE = [minute((100, 12 if 5 <= t < 15 else t % 2), (900, 9 + t % 3), share=10) for t in range(25)]


def test_a_burst_on_a_small_candidate_keeps_the_whole_spread_of_the_block_scores():
    """A confirmation review: g is estimated from the same data as S, so dividing the spread of the block
    scores by it shrank B's defence against bursts exactly when S neared the boundary (7.8-10.2 % false
    rollbacks with mean-zero faults at a 10 % share). Only the within-minute spread is divided now."""
    kept, divided = reference_block_test(BURST_ON_A_SMALL_SHARE), reference_block_test(BURST_ON_A_SMALL_SHARE, True)
    assert divided > kept * 1.01  # these minutes tell the two rules apart
    evidence = error_evidence(BURST_ON_A_SMALL_SHARE, "C", ["B"], ALPHA)
    assert evidence.max_log_increment_mixture == pytest.approx(kept, rel=1e-7)


def test_the_block_test_looks_only_at_complete_blocks():
    # A huge excess in a partial block is not judged by B until its block is complete.
    spike = [minute((100, 30), (900, 9))] * BLOCK_MINUTES
    assert error_evidence(spike[:-1], "C", ["B"], ALPHA).max_log_increment_mixture == 0.0
    assert error_evidence(spike, "C", ["B"], ALPHA).worse_b


def test_one_block_that_spreads_little_is_held_to_the_binomial_variance():
    # Ten identical minutes: the spread of the minutes and of the single block score are both 0. Without
    # the binomial floor the boundary would be crossed by an excess of about one error.
    minutes = [minute((100, 2), (900, 9))] * 5  # 10 candidate errors where 5.5 were its share
    evidence = error_evidence(minutes, "C", ["B"], ALPHA)
    # Σ (c - π e) = 10 - 0.1 · 55 = 4.5 over W = 0.1 · 0.9 · 55 = 4.95; variance: the floor, 1.
    expected = reference_log_mixture(4.5 / math.sqrt(4.95), 1.0, REFERENCE_PRECISION)
    assert evidence.max_log_increment_mixture == pytest.approx(expected, rel=1e-9)


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
    assert a <= 0.08 and both <= 0.08  # α = 0.05, 300 runs: SE ≈ 1.3 points


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


def with_bad_hosts(rng: np.random.Generator, minutes, *, start_chance: float, length: int, extra_at_half: float):
    """Add faults that last ``length`` minutes: each minute a fault starts with ``start_chance`` (none
    while one runs) and lands on an arm with probability equal to that arm's share of requests (H0:
    a bad host is no likelier to be the candidate's); it adds Poisson errors scaled by the arm's share."""
    out, t = list(minutes), 0
    while t < len(out):
        if rng.random() < start_chance:
            share = out[t].variants["C"].invocations / 1000
            arm = "C" if rng.random() < share else "B"
            weight = share if arm == "C" else 1 - share
            for u in range(t, min(len(out), t + length)):
                v = out[u].variants
                counts = {n: (v[n].invocations, v[n].errors_5xx) for n in ("C", "B")}
                n, e = counts[arm]
                counts[arm] = (n, min(n, e + int(rng.poisson(extra_at_half * weight / 0.5))))
                out[u] = minute(counts["C"], counts["B"], share=out[u].weights["C"])
            t += length
        t += 1
    return out


def test_faults_lasting_ten_minutes_on_one_arm_do_not_pass_for_a_regression():
    # The cold review's case: a bad host stays bad 10 minutes (about one a 100 minutes), at a 50 % share.
    # Per-minute increments rolled back 29 % of identical candidates here; blocks of minutes hold α.
    rng = np.random.default_rng(13)
    runs, both = 300, 0
    for _ in range(runs):
        clean = simulated(rng, [50.0] * 120)
        minutes = with_bad_hosts(rng, clean, start_chance=0.01, length=10, extra_at_half=20)
        both += error_evidence(minutes, "C", ["B"], ALPHA).candidate_worse
    assert both / runs <= 0.06  # α = 0.05, 300 runs: SE ≈ 1.3 points
