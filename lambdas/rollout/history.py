"""The per-minute history a rollout judge decides from. No AWS in here.

One :class:`Minute` per CloudWatch minute since the rollout's first step went live: the weights in
force during that minute, and per variant the requests, 5XX errors and ModelLatency p50/p99 that
SageMaker published for it. ``rollout.observe`` builds it from GetMetricData (60 s period);
``scripts/rollout_replay.py --judge-batch`` reads it as JSON (:func:`parse_minutes`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# CloudWatch returns request-count sums as floats; sums of whole numbers are exact below 2**53.
_WHOLE_TOLERANCE = 1e-6


class InvalidHistory(ValueError):
    """The history cannot be judged (a count or latency is impossible); nothing was decided."""


@dataclass(frozen=True)
class VariantMinute:
    """One variant's minute. Latencies are ``None`` when CloudWatch had no datapoint (no requests)."""

    invocations: int
    errors_5xx: int
    p50_ms: float | None = None
    p99_ms: float | None = None


@dataclass(frozen=True)
class Minute:
    """One minute: ``weights`` in force (variant → weight) and ``variants`` (variant → its counts).

    A variant missing from ``variants`` served nothing that minute.
    """

    weights: Mapping[str, float]
    variants: Mapping[str, VariantMinute]

    def get(self, variant: str) -> VariantMinute:
        return self.variants.get(variant) or _IDLE


_IDLE = VariantMinute(invocations=0, errors_5xx=0)


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InvalidHistory(f"{where}: must be a whole number >= 0 (got {value!r})")
    if abs(value - round(value)) > _WHOLE_TOLERANCE:
        raise InvalidHistory(f"{where}: must be a whole number >= 0 (got {value!r})")
    return round(value)


def _latency(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InvalidHistory(f"{where}: must be a latency in ms > 0, or null (got {value!r})")
    return float(value)


def variant_minute(raw: Any, where: str) -> VariantMinute:
    """A :class:`VariantMinute` from ``{"invocations", "errors_5xx", "p50_ms"?, "p99_ms"?}``."""
    if isinstance(raw, VariantMinute):
        raw = {"invocations": raw.invocations, "errors_5xx": raw.errors_5xx, "p50_ms": raw.p50_ms, "p99_ms": raw.p99_ms}
    if not isinstance(raw, Mapping):
        raise InvalidHistory(f"{where}: must be an object (got {raw!r})")
    unknown = sorted(set(raw) - {"invocations", "errors_5xx", "p50_ms", "p99_ms"})
    if unknown:
        raise InvalidHistory(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
    invocations = _count(raw.get("invocations", 0), f"{where}.invocations")
    errors = _count(raw.get("errors_5xx", 0), f"{where}.errors_5xx")
    if errors > invocations:
        raise InvalidHistory(f"{where}.errors_5xx: {errors} errors is more than its {invocations} invocations")
    return VariantMinute(
        invocations=invocations,
        errors_5xx=errors,
        p50_ms=_latency(raw.get("p50_ms"), f"{where}.p50_ms"),
        p99_ms=_latency(raw.get("p99_ms"), f"{where}.p99_ms"),
    )


def parse_minutes(raw: Any, where: str = "minutes") -> tuple[Minute, ...]:
    """Validate a JSON list of ``{"weights": {variant: w}, "variants": {variant: {...}}}``.

    Raises :class:`InvalidHistory` naming the minute, variant and field at fault.
    """
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise InvalidHistory(f"{where}: must be a list of minutes (got {type(raw).__name__})")
    minutes = []
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        if isinstance(item, Minute):
            minutes.append(item)
            continue
        if not isinstance(item, Mapping) or set(item) - {"weights", "variants"}:
            raise InvalidHistory(f"{at}: must be an object with keys weights and variants (got {item!r})")
        weights_raw = item.get("weights")
        if not isinstance(weights_raw, Mapping) or not weights_raw:
            raise InvalidHistory(f"{at}.weights: must map each variant to its weight (got {weights_raw!r})")
        weights = {}
        for name, weight in weights_raw.items():
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
                raise InvalidHistory(f"{at}.weights.{name}: must be a number >= 0 (got {weight!r})")
            if weight < 0:
                raise InvalidHistory(f"{at}.weights.{name}: must be a number >= 0 (got {weight!r})")
            weights[str(name)] = float(weight)
        variants_raw = item.get("variants") or {}
        if not isinstance(variants_raw, Mapping):
            raise InvalidHistory(f"{at}.variants: must map each variant to its counts (got {variants_raw!r})")
        variants = {str(n): variant_minute(v, f"{at}.variants.{n}") for n, v in variants_raw.items()}
        minutes.append(Minute(weights=weights, variants=variants))
    return tuple(minutes)


def current_step(minutes: Sequence[Minute]) -> Sequence[Minute]:
    """The trailing run of minutes with the last minute's weights: the step being judged (holds
    included, since a hold bakes again at the same weights). Empty for an empty history."""
    if not minutes:
        return ()
    last = minutes[-1].weights
    start = len(minutes)
    while start > 0 and _same_weights(minutes[start - 1].weights, last):
        start -= 1
    return minutes[start:]


def _same_weights(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    names = set(a) | set(b)
    return all(abs(a.get(n, 0.0) - b.get(n, 0.0)) <= 1e-9 for n in names)
