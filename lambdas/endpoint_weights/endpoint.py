"""The few SageMaker calls both weight Lambdas make, with the error cases AWS documents.

* ``DescribeEndpoint`` → :class:`EndpointState`; a missing endpoint is ``None``.
* ``UpdateEndpointWeightsAndCapacities`` is rejected while the endpoint is not ``InService``
  (``ValidationException``); it and ``DescribeEndpoint`` may be throttled. Both cases are
  reported as :class:`Busy` so callers can wait and try again rather than fail.
* A guarded deployment (the endpoint's ``DeploymentConfig``: canary, linear, rolling, baking) runs
  while ``DescribeEndpoint`` shows ``PendingDeploymentSummary``: "This field is only returned when
  the endpoint is creating or updating with a new endpoint configuration" (DescribeEndpoint API
  reference). The endpoint counts as busy while it is there, whatever the status says.
* When a guardrail alarm fires, SageMaker rolls the deployment back and the endpoint ends
  ``InService`` on its *old* endpoint config. :func:`converge`, given the config the stack
  declares, then fails (:class:`ConfigurationRolledBack`) instead of setting weights on a fleet
  the stack did not ask for.

Throttling is retried with exponential backoff by botocore's ``standard`` retry mode, which
is the well-kept implementation of the backoff AWS recommends; no hand-written loop here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from endpoint_weights.validation import (
    InvalidRequest,
    check_known_variants,
    check_not_shadow,
    ensure_some_traffic,
    merged_weights,
    weights_match,
)

LOG = logging.getLogger(__name__)

IN_SERVICE = "InService"
# Statuses that end by themselves (DescribeEndpoint's documented EndpointStatus values): wait.
BUSY_STATUSES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
# Every other status (Failed, OutOfService, Deleting, UpdateRollbackFailed, anything new) will
# not become InService without a person: fail clearly rather than wait out a timeout.

# Up to 6 attempts per call, with exponential backoff and jitter between them (botocore's
# "standard" mode). Beyond that the callers treat throttling as "busy, try again later".
MAX_ATTEMPTS = 6
RETRY_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}, connect_timeout=5, read_timeout=30
)
# Calls made under a deadline (set-weights before its safety margin, the custom resource's
# on_event inside its Lambda timeout): two attempts with short socket timeouts, so that one call
# takes at most a few seconds (endpoint_weights.call_bounds computes how many). Control-plane
# answers come in well under a second; a call that still fails is reported as busy or failed
# by the caller, which has a reason to give, instead of being cut off by the Lambda timeout.
BOUNDED_CALL_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=2, read_timeout=3)
# Calls that a poller repeats anyway (the custom resource's is_complete, every 30 s): a single
# attempt, because a retry inside the poll would only make the poll longer; the next poll is
# the retry.
SINGLE_ATTEMPT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=2, read_timeout=3)
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})


class EndpointUnavailable(RuntimeError):
    """The endpoint is missing or in a state that will not recover by waiting."""


class Busy(RuntimeError):
    """SageMaker cannot take the change right now (endpoint updating, or throttled)."""


class ShadowWeightNotTaken(EndpointUnavailable):
    """The endpoint, InService on the declared config, shows a shadow weight other than the config's (or no shadow)."""


class ConfigurationRolledBack(EndpointUnavailable):
    """The endpoint is InService on another endpoint config than the one asked for (a rolled-back deployment)."""

    def __init__(self, message: str, state: EndpointState) -> None:
        super().__init__(message)
        self.state = state  # what DescribeEndpoint showed: the config that serves, the endpoint's ARN


@dataclass(frozen=True)
class VariantState:
    name: str
    current_weight: float
    desired_weight: float
    current_instance_count: int | None
    desired_instance_count: int | None


@dataclass(frozen=True)
class EndpointState:
    name: str
    status: str
    failure_reason: str
    variants: Mapping[str, VariantState]
    last_modified: datetime | None = None
    config_name: str = ""
    # PendingDeploymentSummary: the config a deployment moves to, and each pending variant's
    # VariantStatus entries (Creating, Updating, Deleting, ActivatingTraffic, Baking).
    pending_config_name: str | None = None
    pending_statuses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # LastDeploymentConfig's policy, e.g. "BlueGreenUpdatePolicy CANARY" (for messages only).
    last_deployment: str = ""
    arn: str = ""  # EndpointArn
    # ShadowProductionVariants: listed apart from the production variants (DescribeEndpoint API reference,
    # "one for each model that you want to host at this endpoint in shadow mode"). Never weighed here:
    # ``variants`` (and so every weight check and the traffic rule) holds production variants only.
    shadow_variants: Mapping[str, VariantState] = field(default_factory=dict)

    @property
    def busy(self) -> bool:
        """Something runs that ends by itself: a busy status, or a deployment still pending."""
        return self.status in BUSY_STATUSES or self.pending_config_name is not None

    @property
    def ready(self) -> bool:
        """InService with no deployment pending: a weight change can be made and will stay."""
        return self.status == IN_SERVICE and self.pending_config_name is None

    @property
    def current_weights(self) -> dict[str, float]:
        return {name: v.current_weight for name, v in self.variants.items()}

    @property
    def current_instance_counts(self) -> dict[str, int | None]:
        return {name: v.current_instance_count for name, v in self.variants.items()}


def sagemaker_client(config: Config = RETRY_CONFIG) -> Any:
    """A SageMaker client; by default one that retries throttling with exponential backoff (``RETRY_CONFIG``)."""
    return boto3.client("sagemaker", config=config)


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _error_message(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Message", ""))


def _variant(raw: Mapping[str, Any]) -> VariantState:
    # A variant created with weight 0 may come back without CurrentWeight; fall back to the
    # desired weight, then to 0, so that "no weight" never reads as "some traffic".
    desired = float(raw.get("DesiredWeight", raw.get("CurrentWeight", 0.0)))
    return VariantState(
        name=raw["VariantName"],
        current_weight=float(raw.get("CurrentWeight", desired)),
        desired_weight=desired,
        current_instance_count=raw.get("CurrentInstanceCount"),
        desired_instance_count=raw.get("DesiredInstanceCount"),
    )


def describe(client: Any, endpoint_name: str) -> EndpointState | None:
    """The endpoint's status and live variants, or ``None`` when it does not exist."""
    try:
        raw = client.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as err:
        if _error_code(err) == "ValidationException" and "Could not find endpoint" in _error_message(err):
            return None
        if _error_code(err) in THROTTLING_CODES:
            raise Busy(f"DescribeEndpoint throttled after retries: {_error_message(err)}") from err
        raise
    variants = {v["VariantName"]: _variant(v) for v in raw.get("ProductionVariants", [])}
    pending = raw.get("PendingDeploymentSummary")
    return EndpointState(
        name=endpoint_name,
        status=raw["EndpointStatus"],
        failure_reason=raw.get("FailureReason", ""),
        variants=variants,
        last_modified=raw.get("LastModifiedTime"),
        config_name=raw.get("EndpointConfigName", ""),
        pending_config_name=pending["EndpointConfigName"] if pending else None,
        pending_statuses={
            v["VariantName"]: tuple(s["Status"] for s in v.get("VariantStatus", []))
            for v in (pending or {}).get("ProductionVariants", [])
        },
        last_deployment=_deployment_summary(raw.get("LastDeploymentConfig") or {}),
        arn=raw.get("EndpointArn", ""),
        shadow_variants={v["VariantName"]: _variant(v) for v in raw.get("ShadowProductionVariants", [])},
    )


def _deployment_summary(config: Mapping[str, Any]) -> str:
    if "RollingUpdatePolicy" in config:
        return "RollingUpdatePolicy"
    routing = config.get("BlueGreenUpdatePolicy", {}).get("TrafficRoutingConfiguration", {})
    return f"BlueGreenUpdatePolicy {routing['Type']}" if "Type" in routing else ""


def require_declared_config(state: EndpointState, config_name: str) -> None:
    """Fail when the endpoint, ready, serves another endpoint config than ``config_name``.

    The stack moved the endpoint to ``config_name`` before asking for weights. Ending on another
    config means SageMaker rolled the deployment back (a rollback alarm fired, or the deployment
    timed out) or someone changed the endpoint by hand. SageMaker names are case-insensitive.
    """
    if not config_name or state.config_name.casefold() == config_name.casefold():
        return
    deployment = f" (last deployment: {state.last_deployment})" if state.last_deployment else ""
    raise ConfigurationRolledBack(
        f"endpoint {state.name} serves endpoint config {state.config_name}, but the stack declares {config_name}"
        f"{deployment}: a deployment guardrail may have rolled the update back (see the endpoint's events and "
        "its rollback alarms); weights left unchanged",
        state,
    )


def require_shadow_weights(state: EndpointState, expected: Mapping[str, float]) -> None:
    """Fail when a declared shadow is missing from DescribeEndpoint or its CurrentWeight is not ``expected``.

    ``expected`` is the weight the stack declares for the shadow: its sampling parameter (the ShadowSampling
    property) turned into a weight, which the weights custom resource sets in place before this check
    (shadow_in_place.py). So a differing weight is left only when SageMaker refused that call in a request that
    did not change the sampling (a warning there); a shadow missing from DescribeEndpoint has nothing to call.
    UNVERIFIED: how DescribeEndpoint reports a shadow (design Q2), and whether retention, and so the endpoint's
    exclusion of DesiredWeight from retained variant properties, applies to ShadowProductionVariants at all
    (VariantProperty's text speaks of ProductionVariants).
    """
    for name, weight in sorted(expected.items()):
        live = state.shadow_variants.get(name)
        if live is None:
            listed = ", ".join(sorted(state.shadow_variants)) or "none"
            raise ShadowWeightNotTaken(
                f"endpoint {state.name} serves endpoint config {state.config_name} but DescribeEndpoint lists no "
                f"shadow variant {name} (its shadow variants: {listed}), though the stack declares it"
            )
        if not weights_match({name: weight}, {name: live.current_weight}):
            raise ShadowWeightNotTaken(
                f"endpoint {state.name}: shadow variant {name} has CurrentWeight {live.current_weight:g}, but the "
                f"stack's sampling parameter asks for {weight:g} (endpoint config {state.config_name}): the shadow's "
                "sampling is not the declared one"
            )


def require_usable(state: EndpointState | None, endpoint_name: str) -> EndpointState:
    """Fail clearly when the endpoint is gone or broken; return it (InService or busy) otherwise."""
    if state is None:
        raise EndpointUnavailable(f"endpoint {endpoint_name} does not exist")
    if state.status != IN_SERVICE and state.status not in BUSY_STATUSES:
        reason = f": {state.failure_reason}" if state.failure_reason else ""
        raise EndpointUnavailable(f"endpoint {endpoint_name} is {state.status}{reason}; weights left unchanged")
    return state


def validate_against(
    state: EndpointState, weights: Mapping[str, float], counts: Mapping[str, int] = {}
) -> dict[str, float]:
    """Check a request against the live production variants; return the full weights it would produce.
    Naming the shadow is refused with its own message."""
    check_not_shadow(list(weights) + list(counts), state.shadow_variants, endpoint=state.name)
    check_known_variants(list(weights) + list(counts), state.variants, endpoint=state.name)
    result = merged_weights(state.current_weights, weights)
    ensure_some_traffic(result)
    return result


def update(client: Any, endpoint_name: str, weights: Mapping[str, float], counts: Mapping[str, int] = {}) -> None:
    """One UpdateEndpointWeightsAndCapacities call. At most one variant may change capacity."""
    if len(counts) > 1:
        raise InvalidRequest("SageMaker changes the capacity of only one variant per call")
    desired = []
    for name in sorted(set(weights) | set(counts)):
        item: dict[str, Any] = {"VariantName": name}
        if name in weights:
            item["DesiredWeight"] = float(weights[name])
        if name in counts:
            item["DesiredInstanceCount"] = int(counts[name])
        desired.append(item)
    LOG.info(
        "applying weights", extra={"endpoint": endpoint_name, "weights": dict(weights), "instance_counts": dict(counts)}
    )
    try:
        client.update_endpoint_weights_and_capacities(EndpointName=endpoint_name, DesiredWeightsAndCapacities=desired)
    except ClientError as err:
        code = _error_code(err)
        if code in THROTTLING_CODES:
            raise Busy(f"throttled by SageMaker after retries: {_error_message(err)}") from err
        if code == "ValidationException" and "in-progress" in _error_message(err).lower():
            raise Busy(f"endpoint {endpoint_name} is busy: {_error_message(err)}") from err
        raise


def converge(
    client: Any, endpoint_name: str, weights: Mapping[str, float], config_name: str = ""
) -> EndpointState | None:
    """Take one step towards ``weights`` and say whether they are in place.

    Returns the endpoint's state once it is ``InService`` with the desired weights, and
    ``None`` while something is still to happen (endpoint busy, a deployment pending, or a
    change just requested). Raises :class:`InvalidRequest` or :class:`EndpointUnavailable` when
    waiting cannot help, :class:`ConfigurationRolledBack` when the endpoint ended on another
    config than ``config_name`` (if given); those checks run before any change, so a failure
    leaves the weights as they were.
    """
    try:
        state = require_usable(describe(client, endpoint_name), endpoint_name)
    except Busy as err:
        LOG.warning("could not look yet", extra={"endpoint": endpoint_name, "reason": str(err)})
        return None
    if state.busy:
        # The waiter's log tells the deployment's story: Creating, ActivatingTraffic, Baking, ...
        LOG.info(
            "endpoint busy, waiting",
            extra={
                "endpoint": endpoint_name,
                "status": state.status,
                "pending_config": state.pending_config_name,
                "pending_variants": {k: list(v) for k, v in state.pending_statuses.items()},
            },
        )
        return None
    require_declared_config(state, config_name)
    validate_against(state, weights)
    if weights_match(weights, state.current_weights):
        return state
    try:
        update(client, endpoint_name, weights)
    except Busy as err:
        LOG.warning("could not apply yet", extra={"endpoint": endpoint_name, "reason": str(err)})
    return None
