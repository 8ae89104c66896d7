"""Paired rows McNemar's *exact* test needs to detect a stated accuracy difference, planned before a run.

The evaluation's accuracy test is the exact conditional McNemar test (``paired_tests.mcnemar_exact``):
given d discordant rows (exactly one variant right), the count c of rows only B gets right is
Binomial(d, ½) under "no difference", and the test rejects when 2·P(X ≤ min(b, c)) < α. Connor's
(1987, Biometrics 43:207–211) closed form approximates that test by a normal one and, because the
exact test is conservative, promises more power than it delivers (0.78 instead of 0.80 at
δ = 0.05, ψ = 0.2). Here the power is computed exactly instead:

    power(n) = Σ_d P(D = d) · [P(C ≤ k_d) + P(C ≥ d − k_d)],  D ~ Binomial(n, ψ),  C | d ~ Binomial(d, π)

with ψ the discordant rate, π = (ψ + δ) / (2ψ) the share of discordant rows B wins, and k_d the
largest count the exact test rejects at (from the Binomial(d, ½) tail). The rows needed are found by
a search starting at Connor's value. Exact power is not monotone in n (the binomial is discrete),
so the answer is defined as the n the bisection lands on: ``power(n) ≥ target > power(n − 1)``.

Plan with the **smallest difference worth acting on, chosen before the run**, not with the
difference a run observed: "rows needed to detect the observed difference" only restates the
p-value (Hoenig & Heisey 2001, The American Statistician 55:19–24) and invites re-running until
something is significant. The discordant rate is a nuisance parameter; an earlier run's value is a
fair guess for it. With more than two variants, plan at the family's first Holm level, α / m with
m = 2·(variants − 1): a test that passes there passes Holm's procedure whatever the others do.

The power is the accuracy test's. A winner verdict follows from it unless the ROC AUC is
significant the *other* way (``evaluate.verdicts``: a non-significant AUC does not veto), which a
truly better candidate rarely shows; so the chance of naming the winner is this power less that rare case.

Standard library only (the Lambda runtime has no scipy); tests compare with scipy. Cost: one power
evaluation sums over the likely discordant counts (about ±8 standard deviations), each with a few
binomial tail terms; a plan for ~650 rows takes milliseconds, one for ~60,000 rows a few seconds.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from evaluate.paired_tests import binomial_half_lower_tail_log

_NORMAL = NormalDist()
# Discordant counts whose probability is below this share of the most likely one are left out of
# the power sum: what they could add is far below the precision anyone plans with.
_NEGLIGIBLE = 1e-16


def _check_rates(p_a: float, p_b: float, discordant_rate: float, alpha: float, power: float) -> tuple[float, float]:
    """Validate the inputs; return (ψ, π): discordant rate and the share of discordant rows B wins."""
    for name, value in (("p_a", p_a), ("p_b", p_b), ("discordant_rate", discordant_rate)):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} is {value!r}; it must be a proportion between 0 and 1")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha is {alpha!r}; it must be between 0 and 1")
    if not 0 < power < 1:
        raise ValueError(f"power is {power!r}; it must be between 0 and 1")
    delta = p_b - p_a
    if delta == 0:
        raise ValueError("p_a equals p_b: there is no difference to detect, at any sample size")
    only_a = (discordant_rate - delta) / 2  # share of rows only A gets right
    only_b = (discordant_rate + delta) / 2
    slack = 1e-12
    if only_a < -slack or only_b > min(p_b, 1 - p_a) + slack or only_a > min(p_a, 1 - p_b) + slack:
        raise ValueError(
            f"discordant_rate {discordant_rate} is impossible with accuracies {p_a} and {p_b}: it must be at "
            f"least |p_b − p_a| = {abs(delta):.6g} and leave room for rows both get right or both get wrong"
        )
    return discordant_rate, min(1.0, max(0.0, only_b / discordant_rate))


def connor_approximation(
    p_a: float, p_b: float, discordant_rate: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Connor's normal approximation, rounded up: the search's starting point, not the answer.

    n = (z₁₋α/₂·√ψ + z_power·√(ψ − δ²))² / δ², δ = p_b − p_a, ψ = ``discordant_rate``.
    """
    psi, _ = _check_rates(p_a, p_b, discordant_rate, alpha, power)
    delta = p_b - p_a
    root = _NORMAL.inv_cdf(1 - alpha / 2) * math.sqrt(psi) + _NORMAL.inv_cdf(power) * math.sqrt(
        max(0.0, psi - delta**2)
    )
    return max(1, math.ceil(root**2 / delta**2 - 1e-9))


def _log_binomial_pmf(k: int, n: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X ≤ k), X ~ Binomial(n, p), summed from k away from the mode (terms shrink), in log space."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    if k <= n * p:  # below the mean: sum k, k−1, …; each term is the previous × i(1−p) / ((n−i+1)p)
        ratio_step = (1 - p) / p
        total = term = 1.0
        for i in range(k, 0, -1):
            term *= i / (n - i + 1) * ratio_step
            total += term
            if term < total * 1e-17:
                break
        return min(1.0, math.exp(_log_binomial_pmf(k, n, p) + math.log(total)))
    # above the mean: 1 − P(X ≥ k + 1), summed upwards
    ratio_step = p / (1 - p)
    total = term = 1.0
    for i in range(k + 1, n):
        term *= (n - i) / (i + 1) * ratio_step
        total += term
        if term < total * 1e-17:
            break
    return max(0.0, 1.0 - math.exp(_log_binomial_pmf(k + 1, n, p) + math.log(total)))


def exact_mcnemar_power(rows: int, p_a: float, p_b: float, discordant_rate: float, alpha: float = 0.05) -> float:
    """Power of the two-sided exact McNemar test (rejecting when p < ``alpha``, default 0.05) at ``rows`` pairs."""
    psi, pi = _check_rates(p_a, p_b, discordant_rate, alpha, 0.5)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError(f"rows is {rows!r}; it must be a positive integer")
    if psi >= 1.0:
        discordant_range = range(rows, rows + 1)
    else:
        # Walk out from the most likely discordant count until the probabilities are negligible.
        mode = min(rows, math.floor((rows + 1) * psi))
        log_top = _log_binomial_pmf(mode, rows, psi)
        low = mode
        while low > 0 and _log_binomial_pmf(low - 1, rows, psi) - log_top > math.log(_NEGLIGIBLE):
            low -= 1
        high = mode
        while high < rows and _log_binomial_pmf(high + 1, rows, psi) - log_top > math.log(_NEGLIGIBLE):
            high += 1
        discordant_range = range(low, high + 1)
    total = 0.0
    k = -1
    for d in discordant_range:
        if d == 0:
            continue
        # The bound grows with d by at most one per step: continue from the previous one.
        while k + 1 <= d // 2 and math.log(2) + binomial_half_lower_tail_log(k + 1, d) < math.log(alpha):
            k += 1
        if k < 0:
            continue
        weight = 1.0 if psi >= 1.0 else math.exp(_log_binomial_pmf(d, rows, psi))
        rejects = _binomial_cdf(k, d, pi) + _binomial_cdf(k, d, 1.0 - pi)  # c ≤ k, or b = d − c ≤ k
        total += weight * rejects
    return min(1.0, total)


def required_pairs_for_accuracy_difference(
    p_a: float, p_b: float, discordant_rate: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Paired rows for the exact McNemar test to detect accuracy p_b vs p_a with ``power``.

    Defaults: two-sided α = 0.05, power 0.8. ``p_b − p_a`` should be the smallest difference that
    matters, chosen before the run; ``discordant_rate`` the share of rows exactly one variant gets
    right. Returns n with ``exact_mcnemar_power(n) ≥ power > exact_mcnemar_power(n − 1)``. Raises
    when p_a = p_b or when the rates cannot come from one 2×2 table.
    """
    _check_rates(p_a, p_b, discordant_rate, alpha, power)

    def enough(n: int) -> bool:
        return exact_mcnemar_power(n, p_a, p_b, discordant_rate, alpha) >= power

    start = connor_approximation(p_a, p_b, discordant_rate, alpha, power)
    # Bracket: power(low) < target ≤ power(high), growing or shrinking by 10 % from Connor's n.
    if enough(start):
        high = start
        low = max(0, math.floor(start / 1.1))
        while low > 0 and enough(low):
            high, low = low, max(0, math.floor(low / 1.1))
    else:
        low = start
        high = math.ceil(start * 1.1) + 1
        while not enough(high):
            low, high = high, math.ceil(high * 1.1) + 1
    while high - low > 1:
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle
    return high
