"""The one-sided normal-mixture boundary shared by the judge's self-normalized tests. No AWS in here.

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

``m`` sets where the boundary is tightest: near V_t ≈ m · (a few). Standard library only.
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
