"""SageMaker's deployment-guardrail rules that its service model states only in prose, in one table.

Ranges and enums (``WaitIntervalInSeconds`` 0-3600, ``MaximumExecutionTimeoutInSeconds`` 600-28800,
``CapacitySizeValue`` >= 1, ``AlarmList`` at most 10, ``TrafficRoutingConfigType``) are read from
botocore's service model where the loader uses them. The rules below are sentences: each carries
the sentence, the page it is on, and, where botocore's model carries the same text, the member
whose documentation holds it; a test fails when that documentation no longer contains the
sentence (tests/constructs_lib/test_deployment_config.py), so a changed rule cannot drift by.

Sources:

* API reference, ``TrafficRoutingConfig``
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html),
  ``RollingUpdatePolicy`` (…/API_RollingUpdatePolicy.html), ``BlueGreenUpdatePolicy``
  (…/API_BlueGreenUpdatePolicy.html), ``AutoRollbackConfig`` (…/API_AutoRollbackConfig.html);
* developer guide, "Exclusions"
  (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html), which
  botocore does not carry: its two rules are cited, not drift-tested.

Nothing here imports the CDK or calls AWS: the loader, the constructs' warnings and the tests read it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from constructs_lib.config.model import DeploymentSpec, MonitoringSpec, PackageModel, VariantSpec

API_REFERENCE = "https://docs.aws.amazon.com/sagemaker/latest/APIReference"
EXCLUSIONS_PAGE = "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html"

BLUE_GREEN = ("all_at_once", "canary", "linear")
ROLLING = "rolling"
STRATEGIES = (*BLUE_GREEN, ROLLING)
INSTANCE_COUNT = "instance_count"
CAPACITY_PERCENT = "capacity_percent"


@dataclass(frozen=True)
class DocumentedRule:
    """A rule as AWS words it. ``structure``/``member``: where botocore's model carries the same sentence."""

    name: str
    sentence: str
    source: str
    structure: str | None = None
    member: str | None = None


CANARY_SIZE = DocumentedRule(
    "canary-size",
    "Value must be less than or equal to 50% of the variant's total instance count.",
    f"{API_REFERENCE}/API_TrafficRoutingConfig.html",
    "TrafficRoutingConfig",
    "CanarySize",
)
LINEAR_STEP = DocumentedRule(
    "linear-step-size",
    "Value must be 10-50% of the variant's total instance count.",
    f"{API_REFERENCE}/API_TrafficRoutingConfig.html",
    "TrafficRoutingConfig",
    "LinearStepSize",
)
ROLLING_BATCH = DocumentedRule(
    "rolling-batch-size",
    "Value must be between 5% to 50% of the variant's total instance count.",
    f"{API_REFERENCE}/API_RollingUpdatePolicy.html",
    "RollingUpdatePolicy",
    "MaximumBatchSize",
)
TIMEOUT_ABOVE_WAITS = DocumentedRule(
    "timeout-above-waits",
    "Note that the timeout value should be larger than the total waiting time specified in "
    "TerminationWaitInSeconds and WaitIntervalInSeconds.",
    f"{API_REFERENCE}/API_BlueGreenUpdatePolicy.html",
    "BlueGreenUpdatePolicy",
    "MaximumExecutionTimeoutInSeconds",
)
ALARM_LIST = DocumentedRule(
    "rollback-alarms",
    "List of CloudWatch alarms in your account that are configured to monitor metrics on an endpoint. "
    "If any alarms are tripped during a deployment, SageMaker rolls back the deployment.",
    f"{API_REFERENCE}/API_AutoRollbackConfig.html",
    "AutoRollbackConfig",
    "Alarms",
)
# Inf1 and Marketplace: guardrails silently do not happen. Refused (Inf1, visible in the config) or
# warned about (a package without image_repository_arn may be a Marketplace one; synth cannot tell).
FALLBACK_EXCLUSIONS = DocumentedRule(
    "fallback-to-all-at-once",
    "If your endpoint uses any of the following features, you cannot use deployment guardrails on your "
    "endpoint, and your endpoint will fall back to using a blue/green deployment with all at once traffic "
    "shifting and no final baking period: Marketplace containers; Endpoints that use Inf1 (Inferentia-based) "
    "instances",
    EXCLUSIONS_PAGE,
)
ROLLING_EXCLUSIONS = DocumentedRule(
    "rolling-single-variant",
    "If you're doing a rolling deployment, there are additional feature-based exclusions: Serverless inference "
    "endpoints; Multi-variant inference endpoints",
    EXCLUSIONS_PAGE,
)
# Not checkable at synth (the loader sees one config, not the deployed one): said in the README.
SAME_VARIANT_NAMES = DocumentedRule(
    "same-variant-names",
    "When doing a blue/green or rolling deployment, your new endpoint configuration must have the same variant "
    "name as the old endpoint configuration.",
    EXCLUSIONS_PAGE,
)

RULES = (
    CANARY_SIZE,
    LINEAR_STEP,
    ROLLING_BATCH,
    TIMEOUT_ABOVE_WAITS,
    ALARM_LIST,
    FALLBACK_EXCLUSIONS,
    ROLLING_EXCLUSIONS,
    SAME_VARIANT_NAMES,
)


@dataclass(frozen=True)
class SizeLimit:
    """A step's share of each variant's instances, in percent (``low``..``high``), and where it is written."""

    low: int
    high: int
    rule: DocumentedRule


# Canary: no lower bound beyond CapacitySizeValue's minimum (1).
SIZE_LIMITS = {
    "canary": SizeLimit(1, 50, CANARY_SIZE),
    "linear": SizeLimit(10, 50, LINEAR_STEP),
    ROLLING: SizeLimit(5, 50, ROLLING_BATCH),
}
# Two alarms per production variant (5XX rate, p99 latency; constructs_lib/deployment_alarms.py).
ALARMS_PER_VARIANT = 2
INF1_PREFIX = "ml.inf1."


def is_inf1(instance_type: str) -> bool:
    return instance_type.startswith(INF1_PREFIX)


def asks_for_guardrails(deployment: DeploymentSpec) -> bool:
    """Whether the deployment asks for anything beyond SageMaker's fallback (all at once, no baking)."""
    return (
        deployment.strategy != "all_at_once"
        or deployment.wait_seconds > 0
        or bool(deployment.termination_wait_seconds)
        or deployment.auto_rollback
    )


def cite(rule: DocumentedRule) -> str:
    return f'"{rule.sentence}" ({rule.source})'


def variant_problems(
    deployment: DeploymentSpec, variants: Sequence[VariantSpec], max_alarms: int
) -> list[tuple[str, str]]:
    """What SageMaker has against ``deployment`` on these production variants, as (key, message) pairs.

    ``max_alarms`` is botocore's ``AlarmList`` maximum.
    """
    found: list[tuple[str, str]] = []
    limit = SIZE_LIMITS.get(deployment.strategy)
    size = deployment.size
    if limit and size and size.type == INSTANCE_COUNT:
        for v in variants:
            share = 100 * size.value / v.initial_instance_count
            if not limit.low <= share <= limit.high:
                found.append(
                    (
                        "size",
                        f"{size.value} instance(s) is {share:g} % of variant {v.name}'s {v.initial_instance_count}; "
                        f"a {deployment.strategy} step must be {limit.low}-{limit.high} %: {cite(limit.rule)}",
                    )
                )
    if deployment.strategy == ROLLING and len(variants) > 1:
        found.append(
            ("strategy", f"rolling needs a single production variant (got {len(variants)}): {cite(ROLLING_EXCLUSIONS)}")
        )
    inf1 = [f"{v.name} ({v.instance_type})" for v in variants if is_inf1(v.instance_type)]
    if inf1 and asks_for_guardrails(deployment):
        found.append(
            (
                "strategy",
                f"variants on Inf1 instances ({', '.join(inf1)}) get no guardrails: SageMaker would update them all at "
                "once, without baking or rollback, whatever this says; use strategy all_at_once with wait_seconds 0, "
                "no termination_wait_seconds and auto_rollback false, or leave deployment out: "
                f"{cite(FALLBACK_EXCLUSIONS)}",
            )
        )
    alarms = ALARMS_PER_VARIANT * len(variants)
    if deployment.auto_rollback and alarms > max_alarms:
        found.append(
            (
                "auto_rollback",
                f"{len(variants)} variants need {alarms} rollback alarms; SageMaker takes at most {max_alarms} "
                f"(AlarmList, {ALARM_LIST.source}): at most {max_alarms // ALARMS_PER_VARIANT} variants, or "
                "auto_rollback false",
            )
        )
    return found


def timeout_problem(deployment: DeploymentSpec) -> str | None:
    """Blue/green: the timeout must exceed the termination wait plus the wait interval (the documented rule)."""
    timeout = deployment.timeout_seconds
    if timeout is None or deployment.strategy == ROLLING:
        return None
    waits = (deployment.termination_wait_seconds or 0) + deployment.wait_seconds
    if timeout > waits:
        return None
    return (
        f"timeout_seconds ({timeout}) must be larger than termination_wait_seconds + wait_seconds ({waits}): "
        f"{cite(TIMEOUT_ABOVE_WAITS)}"
    )


def _steps(size_percent_or_count: int, kind: str, count: int) -> int:
    if kind == CAPACITY_PERCENT:
        return math.ceil(100 / size_percent_or_count)
    return math.ceil(count / size_percent_or_count)


def estimated_bakes(deployment: DeploymentSpec, variants: Sequence[VariantSpec]) -> int:
    """Baking periods in a deployment that runs to the end: all at once 1, canary 2 (canary, then the rest),
    linear and rolling one per step. An estimate from the guardrail pages' descriptions (each shift is
    followed by a bake), not a documented formula."""
    if deployment.strategy == "all_at_once":
        return 1
    if deployment.strategy == "canary":
        return 2
    size = deployment.size
    assert size is not None
    return max(_steps(size.value, size.type, v.initial_instance_count) for v in variants)


def estimated_seconds(deployment: DeploymentSpec, variants: Sequence[VariantSpec]) -> int:
    """The waits alone of a deployment that runs to the end (provisioning comes on top)."""
    return (deployment.termination_wait_seconds or 0) + deployment.wait_seconds * estimated_bakes(deployment, variants)


def warnings(
    deployment: DeploymentSpec, variants: Sequence[VariantSpec], monitoring: MonitoringSpec
) -> list[tuple[str, str]]:
    """What synth should say about a valid ``deployment``: (warning id, message) pairs."""
    found: list[tuple[str, str]] = []
    size = deployment.size
    if size and size.type == INSTANCE_COUNT:
        scaled = [v.name for v in variants if v.autoscaling]
        if scaled:
            found.append(
                (
                    "ab-test:deploymentSizeVsAutoscaling",
                    f"deployment size {size.value} instance(s) was checked against initial_instance_count only; "
                    f"{', '.join(scaled)} autoscale(s), and the live count is what SageMaker compares it with.",
                )
            )
    if size and size.type == CAPACITY_PERCENT:
        small = [
            f"{v.name} ({v.initial_instance_count})" for v in variants if size.value * v.initial_instance_count < 100
        ]
        if small:
            found.append(
                (
                    "ab-test:deploymentPercentBelowOneInstance",
                    f"deployment size {size.value} % is less than one instance of {', '.join(small)}; how SageMaker "
                    "rounds it is not documented (a canary of a 1-instance variant may be the whole fleet).",
                )
            )
    marketplace = [v.name for v in variants if isinstance(v.model, PackageModel) and not v.model.image_repository_arn]
    if marketplace and asks_for_guardrails(deployment):
        found.append(
            (
                "ab-test:deploymentMarketplaceFallback",
                f"{', '.join(marketplace)}: a model package without image_repository_arn may be an AWS Marketplace "
                f"one, and then SageMaker ignores the deployment guardrails: {cite(FALLBACK_EXCLUSIONS)}",
            )
        )
    to_fire = monitoring.datapoints_to_alarm * monitoring.period_seconds
    if deployment.auto_rollback and deployment.wait_seconds < to_fire:
        found.append(
            (
                "ab-test:deploymentBakeShorterThanAlarm",
                f"wait_seconds ({deployment.wait_seconds}) is shorter than the rollback alarms need to fire "
                f"(datapoints_to_alarm × period_seconds = {to_fire} s): a bad model can pass a bake unnoticed.",
            )
        )
    if deployment.timeout_seconds is not None:
        waits = estimated_seconds(deployment, variants)
        if waits >= deployment.timeout_seconds:
            found.append(
                (
                    "ab-test:deploymentTimeoutBelowWaits",
                    f"timeout_seconds ({deployment.timeout_seconds}) is not above the deployment's estimated waits "
                    f"({estimated_bakes(deployment, variants)} bake(s) of {deployment.wait_seconds} s plus the "
                    f"termination wait = {waits} s), before any instance is provisioned.",
                )
            )
    return found
