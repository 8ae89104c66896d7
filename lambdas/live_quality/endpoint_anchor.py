"""Where the live-quality window starts: when the endpoint's current endpoint config began to serve alone (AWS calls).

The thin AWS layer of the plan (``live_quality.window`` is the pure part): DescribeEndpoint names the
endpoint config the endpoint serves (``EndpointConfigName``: "the name of the endpoint configuration
associated with this endpoint"), DescribeEndpointConfig says when it was created (``CreationTime``),
and ListTags on the endpoint reads the serving-since marker the weights custom resource wrote after
the last deployment (``endpoint_weights.serving_since``). SageMaker API reference:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpointConfig.html and
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListTags.html.

**While a deployment runs, nothing is planned.** DescribeEndpoint's ``EndpointStatus`` is one of
botocore's ``EndpointStatus`` enum (OutOfService, Creating, Updating, SystemUpdating, RollingBack,
InService, Deleting, Failed, UpdateRollbackFailed); ``endpoint_weights.endpoint.BUSY_STATUSES`` names the
four that end by themselves, and ``PendingDeploymentSummary`` "is only returned when the endpoint is
creating or updating with a new endpoint configuration". In either case two fleets may serve (canary,
linear, baking), the config that will serve is not settled, and the function may not describe the
new config yet (its grant names the stack's config only): :class:`DeploymentInProgress`, which the
state machine ends as succeeded, naming the endpoint and the pending config.

Neither operation documents errors of its own (only the common ones); a name that does not exist is
answered with ``ValidationException`` ("Could not find endpoint ..."), which is also what SageMaker
says about an endpoint config deleted while an endpoint still uses it (DeleteEndpointConfig allows
that). Each is turned into :class:`EndpointNotReadable` naming the endpoint; other errors (throttling
after the client's retries, a service error) propagate as they are. Either way the plan fails before
anything is read, and the state machine's failure alarm reports the run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from endpoint_weights.endpoint import BUSY_STATUSES
from endpoint_weights.serving_since import read_marker
from live_quality.window import ANCHOR_KEY, EndpointConfigAnchor

NOT_FOUND = "ValidationException"
ACCESS_DENIED = "AccessDeniedException"


class EndpointNotReadable(RuntimeError):
    """The endpoint or the endpoint config it serves cannot be described: the window's start is unknown."""


class DeploymentInProgress(RuntimeError):
    """The endpoint is being deployed (a busy status or a pending deployment): which fleet serves is not settled.

    The state machine catches it by this class name (constructs_lib/live_quality.DEPLOYMENT_IN_PROGRESS)
    and ends the run as succeeded: every deployment would otherwise page once."""


def _check_not_deploying(endpoint: str, described: dict[str, Any]) -> None:
    status = str(described.get("EndpointStatus", ""))
    pending = (described.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
    if status not in BUSY_STATUSES and pending is None:
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
            # UpdateEndpoint, after a rollback until the stack's own rollback restores the grant, or after
            # the endpoint was changed outside the stack.
            raise EndpointNotReadable(
                f"endpoint {endpoint} serves endpoint config {name}, which this function may not describe "
                f"(DescribeEndpointConfig: {message}): it is allowed the config its stack deployed only, so "
                "a stack update is about to move the endpoint or is rolling back, or the endpoint was updated "
                "outside the stack. Nothing was read; the next run after the stack update reads it"
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
