"""Normal-mixture boundaries: one-sided for the rollout judge's self-normalized tests, two-sided for the
live-quality comparison's anytime-valid p-values (``live_quality.anytime``). No AWS in here.

For a sum S_t of increments with mean <= 0 and a variance process V_t, exp(λ S_t - λ² V_t / 2) is
(at least asymptotically) a non-negative supermartingale for every λ >= 0. Mixing λ over a
half-normal density with precision ``m`` gives, in closed form (Howard, Ramdas, McAuliffe &
Sekhon, "Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Stat. 2021,
section 3, the one-sided normal mixture),

    M_t = 2 sqrt(m / (V_t + m)) · exp(S_t² / (2 (V_t + m))) · Φ(S_t / sqrt(V_t + m)),

and Ville's inequality gives P(M_t >= 1/α for some t) <= α. With V_t the *empirical* sum of
squares this is the asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy &
Ramdas ("Time-uniform central limit theory and asymptotic confidence sequences", Ann. Stat. 2024):
valid as the variance grows, with no model of where the variance comes from.

``m`` sets where the boundary is tightest. Ignoring log Φ (≈ 0 once S_t is well above 0), the
boundary is crossed when S_t² >= (V + m) (2c + log((V + m) / m)), c = log(1/α) - log 2; its
derivative in m vanishes at r - log(1 + r) = 2c with r = V/m, i.e. r ≈ 6.6 at α 0.05. So the m
that needs the smallest S_t at the variance V reached at the decision that matters is V / 6.6, and
the minimum is flat: m within a factor 2 of it moves the boundary by under 2 %. Both users are
already there (a tuning pass checked): error test B reaches V ≈ 3-4 by the 25 % step's judge
(m 0.5), the latency test V ≈ 0.05-0.12 (log ratio)² (m 0.01), so m is not a lever for power.
**Two-sided form.** Mixing λ over the whole line with a normal density of precision ``m``
(mean 0, variance 1/m) gives Robbins' normal mixture (Robbins 1970, "Statistical methods related to
the law of the iterated logarithm", Ann. Math. Statist. 41:1397-1409; Howard et al. 2021, section 3,
the two-sided normal mixture),

    M_t = sqrt(m / (V_t + m)) · exp(S_t² / (2 (V_t + m))),

for H0: the increments have mean 0 (either sign of S_t is evidence). Ville's inequality again gives
P(M_t >= 1/α for some t) <= α, and M_t >= 1/α exactly when |S_t| reaches
:func:`two_sided_mixture_radius`. The same optimisation in m holds without the log 2 of the
one-sided form: r - log(1 + r) = 2 log(1/α), r = V/m: r ≈ 8.2 at α 0.05, 9.75 at 0.025.

Standard library only.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_NORMAL = NormalDist()


def log_one_sided_mixture(total: float, variance: float, precision: float) -> float:
    """log M_t for ``total`` S_t, ``variance`` V_t >= 0 and ``precision`` m > 0 (module docstring).

    log Φ is taken from the complementary tail for very negative arguments so it never underflows.
    """
    scale = variance + precision
    z = total / math.sqrt(scale)
    if z > -30.0:
        log_phi = math.log(max(_NORMAL.cdf(z), 1e-300))
    else:  # Mills ratio: Φ(z) ≈ φ(z) / |z| for z → -∞
        log_phi = -0.5 * z * z - math.log(-z) - 0.5 * math.log(2.0 * math.pi)
    return math.log(2.0) + 0.5 * math.log(precision / scale) + total * total / (2.0 * scale) + log_phi


def log_two_sided_mixture(total: float, variance: float, precision: float) -> float:
    """log M_t of the two-sided normal mixture (module docstring) for ``total`` S_t, ``variance`` V_t >= 0
    and ``precision`` m > 0."""
    scale = variance + precision
    return 0.5 * math.log(precision / scale) + total * total / (2.0 * scale)


def two_sided_mixture_radius(variance: float, precision: float, alpha: float) -> float:
    """The |S_t| at which the two-sided mixture reaches 1/``alpha``: sqrt((V + m)(2 log(1/α) + log((V + m)/m)))."""
    scale = variance + precision
    return math.sqrt(scale * (2.0 * math.log(1.0 / alpha) + math.log(scale / precision)))
