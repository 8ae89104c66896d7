"""Anytime-valid p-values and confidence sequences for a difference that is looked at again and again.

**Why.** The live comparison runs on a schedule (daily) over a window that grows: each run tests
the difference so far. A fixed-level test at every look rejects a true "no difference" far more
often than alpha over the looks (the review measured 22-25 % false winners over 30 daily looks at
alpha 0.05). A normal-mixture e-process keeps the error at most alpha over *every* look, however
many, and needs no memory of earlier runs.

**How.** The combined difference D̂ with variance σ̂² (``live_quality.stratified``) is read as the
sum S = D̂/σ̂² of increments whose variance process is V = 1/σ̂² (the information: under "no
difference" S behaves as a Brownian motion in V). The two-sided normal mixture
(``rollout.mixture.log_two_sided_mixture``, Robbins 1970; Howard, Ramdas, McAuliffe & Sekhon 2021)

    M = sqrt(m / (V + m)) · exp(S² / (2 (V + m)))

is then (asymptotically: Waudby-Smith et al. 2024, "Time-uniform central limit theory and
asymptotic confidence sequences") a non-negative martingale under "no difference", so by Ville's
inequality P(M >= 1/alpha at any look) <= alpha, and p = min(1, 1/M) is an anytime-valid p-value:
rejecting whenever p <= alpha at any look keeps the error at most alpha. Stateless: each run
computes M from the data of its window alone; nothing is carried from the previous run. Holm over
the family at each look stays valid: a false rejection at any look needs some true null's p-value
below alpha/|true nulls| at some look, and each of those events has probability at most
alpha/|true nulls| (a union bound over the true nulls, as in Holm's own proof).

The same boundary, inverted, is a *confidence sequence*: D̂ ± r/V with r the |S| at which M
reaches 1/alpha (``rollout.mixture.two_sided_mixture_radius``) covers the true difference at every
look at once with probability at least 1 − alpha.

**What it needs.** The guarantee is for looks at one growing window (a fixed start). The scheduled
run's window therefore starts at the creation of the endpoint's current endpoint config
(``live_quality.window``): every run of one experiment reads the same start and a later end. A
window that slides (the last N days) drops old requests, so the looks are no longer one growing
sample: each new window is, in effect, a new test (a review measured 7 % false winners over 60
daily looks of a 7-day sliding window, 13.5 % over 120, at alpha 5 %). Once the longest window
(``lookback_days``) cuts an anchored window, it slides too, and the report says each run then
stands alone.

**Precision m** (the mixture's λ ~ N(0, 1/m); λ is the difference itself here, so m is in
1/difference², and 1/sqrt(m) is the size of difference the mixture expects). ``rollout.mixture``
explains the choice: the boundary is tightest when V/m = r with r - log(1 + r) = 2 log(1/α'); at
Holm's first level with two tests (α' = 0.025) r ≈ 9.75, so m = V/9.75 at the variance V = 1/σ²
reached at the decision that matters. That decision is the one where a difference worth acting on,
δ, is found with 80 % power: there |D̂| must reach z_b·σ, z_b ≈ 3.28 (the boundary at r = 9.75),
so δ ≈ (3.28 + 0.84)·σ, σ ≈ δ/4.12 and m = 9.75/σ² ≈ (4.12/δ)²/9.75, 1/sqrt(m) ≈ 0.76 δ. With δ =
:data:`DIFFERENCE_WORTH_ACTING_ON` (3 points of accuracy or of ROC AUC) the mixture's scale is
about 0.023. The minimum is flat: m within a factor 2 moves the boundary by a few per cent
(docs/benchmarks.md measures power at half and twice the scale).

Standard library only.
"""

from __future__ import annotations

import math

from rollout.mixture import log_two_sided_mixture, two_sided_mixture_radius

# The smallest difference (of accuracy or of ROC AUC) worth switching models for: the decision the
# mixture is tuned to (module docstring). 1/sqrt(MIXTURE_PRECISION) ≈ 0.76 × this.
DIFFERENCE_WORTH_ACTING_ON = 0.03
# r at Holm's first level with two tests: r - log(1 + r) = 2 log(1/0.025).
_BOUNDARY_RATIO = 9.75
_POWER_Z = 0.8416  # Φ⁻¹(0.8)
_BOUNDARY_Z = math.sqrt((1 + 1 / _BOUNDARY_RATIO) * (2 * math.log(1 / 0.025) + math.log(1 + _BOUNDARY_RATIO)))
MIXTURE_PRECISION = ((_BOUNDARY_Z + _POWER_Z) / DIFFERENCE_WORTH_ACTING_ON) ** 2 / _BOUNDARY_RATIO


def _check(difference: float, variance: float, precision: float) -> None:
    if not math.isfinite(difference):
        raise ValueError(f"difference is {difference!r}; it must be a finite number")
    if not math.isfinite(variance) or variance <= 0:
        raise ValueError(f"variance is {variance!r}; an anytime p-value needs a finite variance > 0")
    if not math.isfinite(precision) or precision <= 0:
        raise ValueError(f"precision is {precision!r}; it must be a finite number > 0")


def anytime_p_value(difference: float, variance: float, precision: float = MIXTURE_PRECISION) -> float:
    """min(1, 1/M) for the difference ``difference`` with variance ``variance`` (module docstring)."""
    _check(difference, variance, precision)
    information = 1.0 / variance
    log_m = log_two_sided_mixture(difference * information, information, precision)
    return 1.0 if log_m <= 0 else math.exp(-log_m)


def confidence_sequence(
    difference: float, variance: float, alpha: float, precision: float = MIXTURE_PRECISION
) -> tuple[float, float]:
    """The interval of differences d whose anytime p-value (for ``difference - d``) is above ``alpha``."""
    _check(difference, variance, precision)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha is {alpha!r}; it must be between 0 and 1")
    information = 1.0 / variance
    half = two_sided_mixture_radius(information, precision, alpha) / information
    return difference - half, difference + half
