"""The shadow's weight from its sampling percentage: hypothesis H1 (implemented) beside H2 (kept here).

Both are UNVERIFIED (design §5, Q1): no AWS page says how a shadow's weight becomes a share of requests.
The table states what each hypothesis predicts, so that once Q1 is answered on a real account, switching
is ``shadow_weight`` plus a snapshot refresh, and this table says which rows change.
"""

from __future__ import annotations

import math

import pytest

from endpoint_weights.shadow_sampling import replicated_percentage, shadow_weight


def h1_share(shadow: float, production: float) -> float:
    """H1 (implemented): replicated share = shadow weight / production weight."""
    return shadow / production


def h2_share(shadow: float, production: float) -> float:
    """H2 (not implemented): the production ratio rule applied to both, share = shadow / (shadow + production)."""
    return shadow / (shadow + production)


# (sampling %, production weight, shadow weight under H1, the share H2 would give that same weight)
TABLE = [
    (100, 1.0, 1.0, 0.5),  # the developer guide's example (1 and 1): 100 % under H1, 50 % under H2
    (20, 1.0, 0.2, 0.2 / 1.2),
    (1, 1.0, 0.01, 0.01 / 1.01),
    (50, 2.0, 1.0, 1.0 / 3.0),
    (0, 1.0, 0.0, 0.0),
]


@pytest.mark.parametrize(("percent", "production", "weight", "h2"), TABLE)
def test_h1_is_implemented_and_h2_would_read_the_same_weight_differently(
    percent: int, production: float, weight: float, h2: float
):
    assert shadow_weight(percent, production) == pytest.approx(weight)
    assert h1_share(weight, production) == pytest.approx(percent / 100)
    assert replicated_percentage(weight, production) == pytest.approx(percent)
    assert h2_share(weight, production) == pytest.approx(h2)


def test_under_h2_the_same_percentage_would_need_another_weight():
    """H2's weight for 20 %: share/(1-share) × production = 0.25, not H1's 0.2; 100 % is impossible under H2."""
    share = 0.2
    assert share / (1 - share) * 1.0 == pytest.approx(0.25) != shadow_weight(20, 1.0)


@pytest.mark.parametrize("bad", [-1, 100.5, math.nan, math.inf])
def test_a_percentage_outside_0_to_100_is_refused(bad: float):
    with pytest.raises(ValueError, match="sampling_percentage"):
        shadow_weight(bad, 1.0)


@pytest.mark.parametrize("bad", [0, -1, math.inf, math.nan])
def test_the_production_weight_must_be_positive_and_finite(bad: float):
    with pytest.raises(ValueError, match="production_weight"):
        shadow_weight(20, bad)
