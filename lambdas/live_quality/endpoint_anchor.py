"""Where the live-quality window starts: when the endpoint's current endpoint config began to serve alone (AWS calls).

The thin AWS layer of the plan (``live_quality.window`` is the pure part): DescribeEndpoint names the
endpoint config the endpoint serves (``EndpointConfigName``: "the name of the endpoint configuration
associated with this endpoint"), DescribeEndpointConfig says when it was created (``CreationTime``),
and ListTags on the endpoint reads the serving-since marker the weights custom resource wrote after
the last deployment (``endpoint_weights.serving_since``). SageMaker API reference:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpointConfig.html and
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListTags.html.

**While a new endpoint config is being deployed, nothing is planned.** ``PendingDeploymentSummary``
"is only returned when the endpoint is creating or updating with a new endpoint configuration"
(DescribeEndpoint): then two fleets may serve (canary, linear, baking), the config that will serve is
not settled, and the function may not describe the new config yet (its grant names the stack's config
only). That, or ``EndpointStatus`` ``Creating`` (no fleet serves yet), is :class:`DeploymentInProgress`;
the state machine retries the plan a few times, then ends the run as succeeded, naming the endpoint and
the pending config.

A busy status without a pending deployment is **not** a deployment: the config that serves stays the
same, so the plan proceeds (``SAME_CONFIG_STATUSES``, each from the EndpointStatus documentation in
botocore's service model):

- ``Updating``: "UpdateEndpoint or UpdateEndpointWeightsAndCapacities is executing", and
  UpdateEndpointWeightsAndCapacities "sets the endpoint status to Updating" -- every weight change (the
  rollout, ``scripts/deploy_weights.py``) and every capacity change (Application Auto Scaling scales a
  variant through that call). An UpdateEndpoint with a new config shows its PendingDeploymentSummary.
- ``RollingBack``: "This transitional status only applies to an endpoint that has autoscaling enabled
  and is undergoing variant weight or capacity changes as part of an UpdateEndpointWeightsAndCapacities
  call": weights or capacity move back, the config stays.
- ``SystemUpdating``: "Endpoint is undergoing maintenance ... This maintenance operation does not change
  any customer-specified values such as VPC config, KMS encryption, model, instance type, or instance
  count": the same models serve the same config.

UNVERIFIED (no account): how an automatic rollback of a guarded UpdateEndpoint (an alarm fired during
canary or linear traffic shifting) shows in DescribeEndpoint is not documented; this relies on it still
being "updating with a new endpoint configuration", i.e. on PendingDeploymentSummary staying until the
rollback ends. The weights custom resource then moves the serving-since marker past the rollback.

Neither operation documents errors of its own (only the common ones); a name that does not exist is
answered with ``ValidationException`` ("Could not find endpoint ..."), which is also what SageMaker
says about an endpoint config deleted while an endpoint still uses it (DeleteEndpointConfig allows
that). Each is turned into :class:`EndpointNotReadable` naming the endpoint; a refused
DescribeEndpointConfig into :class:`EndpointConfigNotGranted`, which the state machine retries first;
other errors (throttling after the client's retries, a service error) propagate as they are. Either way
the plan fails before anything is read, and the state machine's failure alarm reports the run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from endpoint_weights.serving_since import read_marker
from live_quality.window import ANCHOR_KEY, EndpointConfigAnchor

NOT_FOUND = "ValidationException"
ACCESS_DENIED = "AccessDeniedException"
# EndpointStatus values (botocore's EndpointStatus enum; the module docstring quotes their documentation).
# Creating: CreateEndpoint is executing, no fleet serves yet: a deployment, pending summary or not.
DEPLOYING_STATUSES = frozenset({"Creating"})
# Busy, but the endpoint config that serves stays the same: without a PendingDeploymentSummary the plan proceeds.
SAME_CONFIG_STATUSES = frozenset({"Updating", "RollingBack", "SystemUpdating"})


class EndpointNotReadable(RuntimeError):
    """The endpoint or the endpoint config it serves cannot be described: the window's start is unknown."""


class EndpointConfigNotGranted(EndpointNotReadable):
    """DescribeEndpointConfig was refused (AccessDeniedException): the endpoint serves another config than
    the one the plan's policy names. Usually a passing moment of a stack update or rollback, or IAM's
    propagation: the state machine retries the plan on it by this class name
    (constructs_lib/live_quality.ENDPOINT_CONFIG_NOT_GRANTED) before the run fails."""


class DeploymentInProgress(RuntimeError):
    """A new endpoint config is being deployed (Creating, or a PendingDeploymentSummary): which fleet serves
    is not settled.

    The state machine retries the plan on it by this class name (constructs_lib/live_quality.DEPLOYMENT_IN_PROGRESS),
    then ends the run as succeeded: every deployment would otherwise page once."""


def _check_not_deploying(endpoint: str, described: dict[str, Any]) -> None:
    status = str(described.get("EndpointStatus", ""))
    pending = (described.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
    if status not in DEPLOYING_STATUSES and pending is None:
        return
    serving = described.get("EndpointConfigName")
    moving = f", moving to endpoint config {pending}" if pending else ""
    raise DeploymentInProgress(
        f"endpoint {endpoint} is {status} (serving endpoint config {serving}{moving}): a deployment is in "
        "progress, so which fleet serves is not settled. Nothing was read; the first run after the "
        "deployment reads from when its config serves alone"
    )


def _error(err: ClientError) -> tuple[str, str]:
    error = err.response.get("Error", {})
    return str(error.get("Code", "")), str(error.get("Message", ""))


def read_endpoint_anchor(sagemaker: Any, endpoint: str) -> EndpointConfigAnchor:
    """The endpoint config ``endpoint`` serves and its creation time, in UTC."""
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as err:
        code, message = _error(err)
        if code != NOT_FOUND:
            raise
        raise EndpointNotReadable(
            f"endpoint {endpoint} was not found (DescribeEndpoint: {message}); the live-quality window starts "
            "at the creation of the endpoint config it serves, so nothing was read"
        ) from None
    _check_not_deploying(endpoint, described)
    name = described["EndpointConfigName"]
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    except ClientError as err:
        code, message = _error(err)
        if code == NOT_FOUND:
            raise EndpointNotReadable(
                f"endpoint {endpoint} serves endpoint config {name}, which cannot be described "
                f"(DescribeEndpointConfig: {message}); it may have been deleted while in use. Nothing was read; "
                f"a manual run can name the window's start with {ANCHOR_KEY}"
            ) from None
        if code == ACCESS_DENIED:
            # The plan function may describe only the endpoint config its stack deployed
            # (constructs_lib/ab_endpoint.py). A deployment in progress was refused above; the endpoint
            # serves another config than the grant names in the moments between the grant's update and
            # UpdateEndpoint, after a rollback until the stack's own rollback restores the grant, while a
            # changed policy is still propagating (IAM is eventually consistent), or after the endpoint was
            # changed outside the stack. The first three pass by themselves: the state machine retries.
            raise EndpointConfigNotGranted(
                f"endpoint {endpoint} serves endpoint config {name}, which this function may not describe "
                f"(DescribeEndpointConfig: {message}): it is allowed the config its stack deployed only, so "
                "a stack update is about to move the endpoint or is rolling back, the policy has not yet "
                "propagated, or the endpoint was updated outside the stack. Nothing was read"
            ) from None
        raise
    created = config["CreationTime"]
    if not isinstance(created, datetime) or created.tzinfo is None:
        raise EndpointNotReadable(
            f"endpoint config {name} of endpoint {endpoint}: CreationTime is {created!r}, not a time with a zone"
        )
    # Errors propagate: a marker that cannot be read might be the one that excludes a failed canary.
    marker, note = read_marker(sagemaker, described["EndpointArn"])
    if marker is not None and not marker.names(name):
        note = f"its serving-since marker names endpoint config {marker.config_name}"
        marker = None
    if note:
        note = f"{note}, so the window starts at the creation of endpoint config {name}"
    return EndpointConfigAnchor(
        endpoint_config_name=name,
        created=created.astimezone(UTC),
        serving_since=None if marker is None else marker.since,
        note=note,
    )
