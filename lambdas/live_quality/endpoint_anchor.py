"""Where the live-quality window starts: when the endpoint's current endpoint config was created (AWS calls).

The thin AWS layer of the plan (``live_quality.window`` is the pure part): DescribeEndpoint names the
endpoint config the endpoint serves (``EndpointConfigName``: "the name of the endpoint configuration
associated with this endpoint"; while an UpdateEndpoint to a new config runs, that one is under
``PendingDeploymentSummary`` and the old one still serves and is still named here), and
DescribeEndpointConfig says when it was created (``CreationTime``). SageMaker API reference:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html and
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpointConfig.html.

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

from live_quality.window import ANCHOR_KEY, EndpointConfigAnchor

NOT_FOUND = "ValidationException"
ACCESS_DENIED = "AccessDeniedException"


class EndpointNotReadable(RuntimeError):
    """The endpoint or the endpoint config it serves cannot be described: the window's start is unknown."""


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
            # (constructs_lib/live_quality.py): while a deployment moves the endpoint to a new config,
            # or after the endpoint was changed outside the stack, the one it serves is another.
            raise EndpointNotReadable(
                f"endpoint {endpoint} serves endpoint config {name}, which this function may not describe "
                f"(DescribeEndpointConfig: {message}): it is allowed the config its stack deployed only, so "
                "a deployment is still moving the endpoint, or the endpoint was updated outside the stack. "
                "Nothing was read; the next run after the deployment reads it"
            ) from None
        raise
    created = config["CreationTime"]
    if not isinstance(created, datetime) or created.tzinfo is None:
        raise EndpointNotReadable(
            f"endpoint config {name} of endpoint {endpoint}: CreationTime is {created!r}, not a time with a zone"
        )
    return EndpointConfigAnchor(endpoint_config_name=name, created=created.astimezone(UTC))
