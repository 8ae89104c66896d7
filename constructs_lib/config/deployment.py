"""The endpoint's ``deployment`` section: SageMaker's deployment guardrails for model updates.

Keys, their rules (ranges and enums from botocore's service model, the prose-only rules from
:mod:`~constructs_lib.config.deployment_limits`) and the JSON Schema for them. What depends on the
endpoint's variants (instance-count sizes, rolling on one variant, Inf1, the alarm count) is checked
by :func:`check_against_variants`, which the endpoint's build function calls.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from constructs_lib.config import deployment_limits as limits
from constructs_lib.config import service_model
from constructs_lib.config.fields import Context, Field, Section
from constructs_lib.config.model import CapacitySizeSpec, DeploymentSpec, VariantSpec
from constructs_lib.config.rules import Boolean, JsonSchema, Probe, Rule, SageMakerInteger, describe


class SageMakerEnum(Rule):
    """One of a SageMaker enum shape's values, lower-cased as the config spells them (``CANARY`` → ``canary``),
    plus ``extra`` values the shape does not hold (``rolling`` is a separate policy, not a routing type)."""

    def __init__(self, shape: str, extra: tuple[str, ...] = ()):
        self.shape, self.extra = shape, extra

    @functools.cached_property
    def values(self) -> tuple[str, ...]:
        return (*sorted(v.lower() for v in service_model.enum_values(self.shape)), *self.extra)

    def __call__(self, value: Any) -> str | None:
        if not isinstance(value, str) or value not in self.values:
            return f"must be one of {', '.join(self.values)} (SageMaker's {self.shape}, lower-cased)"
        return None

    def json_schema(self) -> JsonSchema:
        return {"type": "string", "enum": list(self.values)}

    def probes(self) -> tuple[Probe, ...]:
        return (Probe(5), Probe(""), Probe("no-such-value"), Probe(self.values[0].upper()))


def _build_capacity_size(ctx: Context, v: dict[str, Any], before: int) -> CapacitySizeSpec | None:
    return None if len(ctx.problems) != before else CapacitySizeSpec(**v)


CAPACITY_SIZE = Section(
    "capacity_size",
    CapacitySizeSpec,
    (
        Field("type", SageMakerEnum("CapacitySizeType")),
        Field("value", SageMakerInteger("CapacitySizeValue")),
    ),
    _build_capacity_size,
)

# Which keys each strategy takes: BlueGreenUpdatePolicy has TerminationWaitInSeconds and no rollback batch;
# RollingUpdatePolicy the reverse; all at once shifts everything in one step, so it has no step size.
NEEDS_SIZE = ("canary", "linear", limits.ROLLING)
ONLY_FOR = {"rollback_size": (limits.ROLLING,), "termination_wait_seconds": limits.BLUE_GREEN, "size": NEEDS_SIZE}


def _build_deployment(ctx: Context, v: dict[str, Any], before: int) -> DeploymentSpec | None:
    if len(ctx.problems) != before:
        return None
    strategy = v["strategy"]
    for key, strategies in ONLY_FOR.items():
        if v[key] is not None and strategy not in strategies:
            ctx.error(f"only for strategy {' or '.join(strategies)} (got strategy {describe(strategy)})", key)
    if strategy in NEEDS_SIZE and v["size"] is None:
        ctx.error(f"is required for strategy {strategy}", "size")
    size, limit = v["size"], limits.SIZE_LIMITS.get(strategy)
    if size and limit and size.type == limits.CAPACITY_PERCENT and not limit.low <= size.value <= limit.high:
        ctx.error(
            f"a {strategy} step must be {limit.low}-{limit.high} % (got {size.value}): {limits.cite(limit.rule)}",
            "size",
        )
    rollback = v["rollback_size"]
    if rollback and rollback.type == limits.CAPACITY_PERCENT and rollback.value > 100:
        ctx.error(f"a percentage is at most 100 (got {rollback.value})", "rollback_size")
    if len(ctx.problems) != before:
        return None
    deployment = DeploymentSpec(**v)
    problem = limits.timeout_problem(deployment)
    if problem:
        ctx.error(problem, "timeout_seconds")
        return None
    return deployment


def _strategy(*names: str) -> JsonSchema:
    return {"properties": {"strategy": {"enum": list(names)}}, "required": ["strategy"]}


def _percent(key: str) -> JsonSchema:
    return {"properties": {key: {"properties": {"type": {"const": limits.CAPACITY_PERCENT}}, "required": ["type"]}}}


def _strategy_rules() -> list[JsonSchema]:
    """The per-strategy rules of :func:`_build_deployment`, as JSON Schema ``if``/``then`` pairs, each with
    its rule in words (``$comment``, which the config reference shows)."""
    found: list[JsonSchema] = [
        {
            "$comment": f"`size` required for strategy {', '.join(NEEDS_SIZE)}",
            "if": _strategy(*NEEDS_SIZE),
            "then": {"required": ["size"]},
        },
        *(
            {
                "$comment": f"`{key}` only for strategy {', '.join(strategies)}",
                "if": {"not": _strategy(*strategies)},
                "then": {"not": {"required": [key]}},
            }
            for key, strategies in ONLY_FOR.items()
        ),
        {
            "$comment": "`rollback_size` as capacity_percent: at most 100",
            "if": {**_percent("rollback_size"), "required": ["rollback_size"]},
            "then": {"properties": {"rollback_size": {"properties": {"value": {"maximum": 100}}}}},
        },
    ]
    for strategy, limit in limits.SIZE_LIMITS.items():
        condition = _strategy(strategy)
        found.append(
            {
                "$comment": f"`size` as capacity_percent for {strategy}: {limit.low}-{limit.high}",
                "if": {
                    "properties": {**condition["properties"], **_percent("size")["properties"]},
                    "required": ["strategy", "size"],
                },
                "then": {
                    "properties": {"size": {"properties": {"value": {"minimum": limit.low, "maximum": limit.high}}}}
                },
            }
        )
    return found


class DeploymentSection(Section):
    """The ``deployment`` keys, plus the rules between them that JSON Schema states with ``if``/``then``."""

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        reference = super().json_schema(defs)
        defs[self.name]["allOf"] = _strategy_rules()
        return reference


DEPLOYMENT = DeploymentSection(
    "deployment",
    DeploymentSpec,
    (
        Field("strategy", SageMakerEnum("TrafficRoutingConfigType", (limits.ROLLING,))),
        Field("size", CAPACITY_SIZE),
        Field("rollback_size", CAPACITY_SIZE),
        Field("wait_seconds", SageMakerInteger("WaitIntervalInSeconds")),
        Field("termination_wait_seconds", SageMakerInteger("TerminationWaitInSeconds")),
        Field("timeout_seconds", SageMakerInteger("MaximumExecutionTimeoutInSeconds")),
        Field("auto_rollback", Boolean()),
    ),
    _build_deployment,
)


def check_against_variants(ctx: Context, deployment: DeploymentSpec, variants: Sequence[VariantSpec]) -> bool:
    """Report what SageMaker has against ``deployment`` on these variants (under ``deployment``); True when fine."""
    _, most_alarms = service_model.list_bounds("AlarmList")
    problems = limits.variant_problems(deployment, variants, most_alarms or 0)
    for key, message in problems:
        ctx.child("deployment").error(message, key)
    return not problems
