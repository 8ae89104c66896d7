"""Pure checks on requested weights and instance counts. No AWS in here.

Everything is validated *before* any call that changes the endpoint, so a bad request fails
with a clear reason and leaves the endpoint's weights as they were.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

# Two weights closer than this are the same weight: DescribeEndpoint returns floats.
WEIGHT_TOLERANCE = 1e-6


class InvalidRequest(ValueError):
    """The request cannot be applied; the endpoint was not changed."""


def finite_number(value: Any, where: str, error: type[ValueError] = InvalidRequest) -> float:
    """A finite number from a JSON number or from the string CloudFormation sends ("25").

    Booleans are not numbers. Problems raise ``error`` naming ``where``.
    """
    if isinstance(value, bool):
        raise error(f"{where}: must be a number (got {value!r})")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise error(f"{where}: must be a number (got {value!r})") from None
    else:
        raise error(f"{where}: must be a number (got {type(value).__name__})")
    if not math.isfinite(number):
        raise error(f"{where}: must be a finite number (got {value!r})")
    return number


_number = finite_number


def _mapping(raw: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidRequest(f"{what} must be a non-empty object of variant name -> value (got {raw!r})")
    for name in raw:
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"{what}: variant names must be non-empty strings (got {name!r})")
    return raw


def parse_weights(raw: Any) -> dict[str, float]:
    """Variant name → weight, each >= 0. Numbers may arrive as strings."""
    weights = {name: _number(value, f"weight of {name}") for name, value in _mapping(raw, "weights").items()}
    negative = sorted(name for name, w in weights.items() if w < 0)
    if negative:
        raise InvalidRequest(f"weights must be >= 0; negative for: {', '.join(negative)}")
    return weights


def parse_instance_counts(raw: Any) -> dict[str, int]:
    """Variant name → instance count, each a whole number >= 1. Numbers may arrive as strings."""
    counts: dict[str, int] = {}
    for name, value in _mapping(raw, "instance_counts").items():
        number = _number(value, f"instance count of {name}")
        if number != int(number) or number < 1:
            raise InvalidRequest(f"instance count of {name}: must be a whole number >= 1 (got {value!r})")
        counts[name] = int(number)
    return counts


def check_known_variants(requested: Iterable[str], live: Iterable[str], *, endpoint: str) -> None:
    """Fail when a requested variant is not one of the endpoint's live variants."""
    live_names = sorted(live)
    unknown = sorted(set(requested) - set(live_names))
    if unknown:
        raise InvalidRequest(
            f"endpoint {endpoint} has no variant(s) {', '.join(unknown)}; its variants are {', '.join(live_names)}"
        )


def check_not_shadow(requested: Iterable[str], shadows: Iterable[str], *, endpoint: str) -> None:
    """Fail when a request names the endpoint's shadow variant.

    DescribeEndpoint lists it apart, under ShadowProductionVariants (DescribeEndpoint API reference), and
    UpdateEndpointWeightsAndCapacities documents its items as "weight and capacity values for a production
    variant" (DesiredWeightAndCapacity); whether it takes a shadow's name is UNVERIFIED (design Q2). Here the
    shadow's weight comes from its sampling percentage: only the weights custom resource sets it in place, from
    the stack parameter (shadow_in_place.py), never a weight request.
    """
    named = sorted(set(requested) & set(shadows))
    if named:
        raise InvalidRequest(
            f"variant(s) {', '.join(named)} of endpoint {endpoint} are its shadow: a shadow's weight comes from its "
            "sampling_percentage in the endpoint config (a config change, i.e. a new fleet) or its stack parameter "
            "<Shadow>SamplingPercentage (tried in place), not from a weight change"
        )


def check_weights_fixed_beside_shadow(
    requested: Mapping[str, float], current: Mapping[str, float], shadows: Iterable[str], *, endpoint: str
) -> None:
    """Fail when a request would move a production weight of an endpoint with a shadow.

    Its single production variant takes all traffic whatever its weight ("The traffic to a production variant is
    determined by the ratio of the VariantWeight to the sum of all VariantWeight values across all
    ProductionVariants", ProductionVariant API reference), so a change does nothing for callers, while under the
    shadow-weight hypothesis (shadow_sampling.py, UNVERIFIED) it would change the share the shadow receives.
    """
    shadow_names = sorted(shadows)
    if not shadow_names:
        return
    moved = sorted(name for name, weight in requested.items() if not weights_match({name: weight}, current))
    if moved:
        raise InvalidRequest(
            f"endpoint {endpoint} has shadow variant {', '.join(shadow_names)}: its production weight is fixed (one "
            f"production variant takes all traffic whatever its weight, and the weight would change the shadow's "
            f"share); refused for {', '.join(moved)}"
        )


def merged_weights(current: Mapping[str, float], requested: Mapping[str, float]) -> dict[str, float]:
    """The weights after applying ``requested``: variants not named keep their current weight."""
    merged = dict(current)
    merged.update(requested)
    return merged


def ensure_some_traffic(weights: Mapping[str, float]) -> None:
    """Fail when every variant would get weight 0: the endpoint would serve no one."""
    if weights and all(w <= WEIGHT_TOLERANCE for w in weights.values()):
        raise InvalidRequest(
            f"all weights would be 0 ({', '.join(sorted(weights))}): at least one variant must receive traffic"
        )


def weights_match(desired: Mapping[str, float], current: Mapping[str, float]) -> bool:
    """True when every desired weight is already the current one."""
    return all(name in current and abs(current[name] - weight) <= WEIGHT_TOLERANCE for name, weight in desired.items())


def plan_updates(
    weights: Mapping[str, float], instance_counts: Mapping[str, int]
) -> list[tuple[dict[str, float], dict[str, int]]]:
    """Split a change into UpdateEndpointWeightsAndCapacities calls.

    SageMaker changes the weights of many variants in one call but the *capacity of only one
    variant per call*. So the first call carries every weight and the first count; each further
    count goes in a call of its own, repeating the same weights so none of them moves.
    """
    ordered = sorted(instance_counts.items())
    calls: list[tuple[dict[str, float], dict[str, int]]] = [(dict(weights), dict(ordered[:1]))]
    calls.extend((dict(weights), {name: count}) for name, count in ordered[1:])
    return calls
