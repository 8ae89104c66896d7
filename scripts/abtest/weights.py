"""Weights as the operator sees them: requested, declared (stack parameters) and live. No AWS in here.

Weights are relative (1:1 and 50:50 are the same split), so *drift* compares shares: declared and
live disagree when some variant would get a different share of the traffic, or exists on one
side only. Drift matters because CloudFormation re-applies the declared weights whenever a weight
parameter changes or the endpoint config is replaced: a Lambda or rollout change that was never
recorded as parameters is then undone (README, "When both are used, the last one applied wins").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from constructs_lib.config.model import weight_parameter_name
from endpoint_weights.validation import InvalidRequest, check_known_variants, ensure_some_traffic, parse_weights
from scripts.abtest.errors import BadInput
from scripts.weights_file import format_weight  # the one formatter for weights sent to CloudFormation

# Two shares closer than this are the same split. Weights are small decimals (25, 0.001); their
# shares differ by far more than float noise whenever they really differ (0.001 beside 1:1 is
# a share of 0.0005).
SHARE_TOLERANCE = 1e-9
WEIGHT_PARAMETER_PREFIX = "Weight"
_ASSIGNMENT = re.compile(r"^\s*([^=\s]+)\s*=\s*(\S+)\s*$")


def parse_assignments(items: Sequence[str]) -> dict[str, float]:
    """``["Variant1=25", "Variant2=75"]`` → ``{"Variant1": 25.0, "Variant2": 75.0}``.

    Each weight is a finite number >= 0 (the set-weights Lambda's own rules, reused); a variant
    named twice is an error, not "the last one wins".
    """
    if not items:
        raise BadInput("name at least one weight, e.g. Variant1=25 Variant2=75")
    raw: dict[str, str] = {}
    for item in items:
        match = _ASSIGNMENT.match(item)
        if not match:
            raise BadInput(f"{item!r}: expected VARIANT=WEIGHT, e.g. Variant1=25")
        name, value = match.groups()
        if name in raw:
            raise BadInput(f"variant {name} is named twice ({name}={raw[name]} and {item.strip()})")
        raw[name] = value
    try:
        return parse_weights(raw)
    except InvalidRequest as err:
        raise BadInput(str(err)) from err


def check_names(requested: Iterable[str], live: Iterable[str], *, endpoint: str) -> None:
    """Every requested variant must be one of the endpoint's live variants."""
    try:
        check_known_variants(requested, live, endpoint=endpoint)
    except InvalidRequest as err:
        raise BadInput(str(err)) from err


def target_weights(live: Mapping[str, float], requested: Mapping[str, float], *, endpoint: str) -> dict[str, float]:
    """Every variant's weight after ``requested``: named variants must be live ones, unnamed keep
    their live weight, and some variant must keep traffic (the Lambda's checks, before any call)."""
    try:
        check_known_variants(requested, live, endpoint=endpoint)
        merged = {**live, **requested}
        ensure_some_traffic(merged)
    except InvalidRequest as err:
        raise BadInput(str(err)) from err
    return merged


def shares(weights: Mapping[str, float]) -> dict[str, float]:
    """Each variant's fraction of the traffic (0 for all when every weight is 0)."""
    total = sum(weights.values())
    return {name: (weight / total if total > 0 else 0.0) for name, weight in weights.items()}


def same_split(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    """True when both name the same variants and give each the same share."""
    if set(a) != set(b):
        return False
    share_a, share_b = shares(a), shares(b)
    return all(abs(share_a[name] - share_b[name]) <= SHARE_TOLERANCE for name in a)


def declared_weights(parameters: Mapping[str, str], variants: Iterable[str]) -> tuple[dict[str, float], list[str]]:
    """The weight parameters of a stack, by variant; and the weight parameters no live variant has.

    Parameter names come from the variant names (``Weight`` + alphanumerics, the stack's own
    rule), so they are matched from the variants' side; a parameter left over belongs to a
    variant the endpoint no longer has (after a failed deploy, say).
    """
    declared: dict[str, float] = {}
    for variant in variants:
        value = parameters.get(weight_parameter_name(variant))
        if value is not None:
            declared[variant] = float(value)
    used = {weight_parameter_name(v) for v in declared}
    orphans = sorted(p for p in parameters if p.startswith(WEIGHT_PARAMETER_PREFIX) and p not in used)
    return declared, orphans


@dataclass(frozen=True)
class VariantStatus:
    """One variant's row of ``status``. ``None`` where a side does not know the variant."""

    variant: str
    parameter: str
    declared_weight: float | None
    declared_share: float | None
    live_weight: float | None
    live_share: float | None
    desired_weight: float | None
    instances: int | None
    desired_instances: int | None
    invocations: float
    observed_share: float | None
    drift: bool


@dataclass(frozen=True)
class LiveVariant:
    """What DescribeEndpoint says about one variant."""

    name: str
    current_weight: float
    desired_weight: float
    current_instances: int | None
    desired_instances: int | None


def variant_rows(
    live: Sequence[LiveVariant], declared: Mapping[str, float], invocations: Mapping[str, float]
) -> list[VariantStatus]:
    """Live and declared side by side, with the observed share of ``invocations``, one row per
    variant (live variants in the endpoint's order, then declared-only ones)."""
    live_weights = {v.name: v.current_weight for v in live}
    live_shares = shares(live_weights)
    declared_shares = shares(declared)
    total = sum(invocations.values())
    names = [v.name for v in live] + [name for name in declared if name not in live_weights]
    by_name = {v.name: v for v in live}
    rows = []
    for name in names:
        variant = by_name.get(name)
        in_both = variant is not None and name in declared
        drift = not in_both or abs(live_shares[name] - declared_shares[name]) > SHARE_TOLERANCE
        count = float(invocations.get(name, 0.0))
        rows.append(
            VariantStatus(
                variant=name,
                parameter=weight_parameter_name(name),
                declared_weight=declared.get(name),
                declared_share=declared_shares.get(name),
                live_weight=variant.current_weight if variant else None,
                live_share=live_shares.get(name),
                desired_weight=variant.desired_weight if variant else None,
                instances=variant.current_instances if variant else None,
                desired_instances=variant.desired_instances if variant else None,
                invocations=count,
                observed_share=count / total if total > 0 and variant else None,
                drift=drift,
            )
        )
    return rows


def parameter_values(stack_parameters: Mapping[str, str], weights: Mapping[str, float]) -> dict[str, str]:
    """The stack parameters that declare ``weights``: one ``Weight<name>`` per variant, as the
    string CloudFormation stores. Every variant must have its parameter in the stack."""
    values: dict[str, str] = {}
    missing = []
    for variant, weight in weights.items():
        parameter = weight_parameter_name(variant)
        if parameter not in stack_parameters:
            missing.append(f"{variant} (parameter {parameter})")
        values[parameter] = format_weight(weight)
    if missing:
        raise BadInput(
            f"the stack declares no weight parameter for {', '.join(missing)}; its weight parameters are "
            f"{', '.join(sorted(p for p in stack_parameters if p.startswith(WEIGHT_PARAMETER_PREFIX))) or 'none'}"
        )
    return values
