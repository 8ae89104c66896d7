"""Builders of per-minute rollout histories for the judge's tests (numpy only for simulated ones)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rollout.history import Minute, VariantMinute


def minute(
    candidate: tuple[int, int],
    baseline: tuple[int, int],
    *,
    share: float = 10.0,
    p99: tuple[float | None, float | None] = (100.0, 100.0),
) -> Minute:
    """One minute of candidate "C" against baseline "B": (requests, errors) each, weights from ``share``."""
    return Minute(
        weights={"C": share, "B": 100.0 - share},
        variants={
            "C": VariantMinute(candidate[0], candidate[1], None, p99[0] if candidate[0] else None),
            "B": VariantMinute(baseline[0], baseline[1], None, p99[1] if baseline[0] else None),
        },
    )


def simulated(
    rng: np.random.Generator,
    shares: Sequence[float],
    *,
    per_minute: int = 1000,
    rate: float = 0.01,
    ratio: float = 1.0,
    cv: float = 0.0,
) -> list[Minute]:
    """Minutes at the given candidate shares (percent): binomial splits and errors, with per-arm
    per-minute Gamma rate multipliers of coefficient of variation ``cv`` (0: none)."""
    out = []
    for share in shares:
        n_c = int(rng.binomial(per_minute, share / 100))
        n_b = per_minute - n_c
        mult_c, mult_b = rng.gamma(1 / cv**2, cv**2, size=2) if cv else (1.0, 1.0)
        c = int(rng.binomial(n_c, min(1.0, rate * ratio * mult_c)))
        b = int(rng.binomial(n_b, min(1.0, rate * mult_b)))
        out.append(minute((n_c, c), (n_b, b), share=share))
    return out
