"""Set an endpoint's traffic weights (and optionally instance counts) on demand.

Event::

    {"weights": {"Variant1": 25, "Variant2": 75}, "instance_counts": {"Variant2": 2}}

``weights`` may name some variants only (the others keep theirs); ``instance_counts`` is
optional. The request is checked against the endpoint's *live* variants before anything
changes. The function waits while the endpoint is busy, applies the change (one variant's
capacity per call, as SageMaker requires), waits for ``InService`` and returns the weights
the endpoint reports afterwards. The endpoint is the one in ``ENDPOINT_NAME``: the function's
IAM policy allows no other.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from botocore.exceptions import WaiterError

from endpoint_weights.endpoint import (
    EndpointUnavailable,
    describe,
    require_usable,
    sagemaker_client,
    update,
    validate_against,
)
from endpoint_weights.validation import InvalidRequest, parse_instance_counts, parse_weights, plan_updates

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

POLL_SECONDS = 15  # DescribeEndpoint interval while the endpoint updates
SAFETY_MARGIN_SECONDS = 20  # stop waiting this long before the Lambda's own timeout


def parse_request(event: Any) -> tuple[dict[str, float], dict[str, int]]:
    """The weights and instance counts asked for; unknown keys are an error, not ignored."""
    if not isinstance(event, dict):
        raise InvalidRequest(f'event must be an object like {{"weights": {{...}}}} (got {type(event).__name__})')
    unknown = sorted(set(event) - {"weights", "instance_counts"})
    if unknown:
        raise InvalidRequest(f"unknown key(s) {', '.join(unknown)}; allowed: weights, instance_counts")
    if "weights" not in event:
        raise InvalidRequest('"weights" is required, e.g. {"weights": {"Variant1": 25, "Variant2": 75}}')
    weights = parse_weights(event["weights"])
    counts = parse_instance_counts(event["instance_counts"]) if "instance_counts" in event else {}
    return weights, counts


def _wait_in_service(client: Any, endpoint_name: str, context: Any) -> None:
    remaining = context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS if context else 600
    attempts = max(1, int(remaining // POLL_SECONDS))
    try:
        client.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint_name, WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": attempts}
        )
    except WaiterError as err:
        state = describe(client, endpoint_name)
        status = state.status if state else "missing"
        raise EndpointUnavailable(
            f"endpoint {endpoint_name} did not become InService (status {status}): {err}"
        ) from err


def handle(event: Any, context: Any, client: Any = None) -> dict[str, Any]:
    endpoint_name = os.environ["ENDPOINT_NAME"]
    weights, counts = parse_request(event)
    client = client or sagemaker_client()

    require_usable(describe(client, endpoint_name), endpoint_name)
    _wait_in_service(client, endpoint_name, context)
    state = require_usable(describe(client, endpoint_name), endpoint_name)
    target = validate_against(state, weights, counts)
    LOG.info("set weights", extra={"endpoint": endpoint_name, "from": state.current_weights, "to": target})

    for call_weights, call_counts in plan_updates(target, counts):
        update(client, endpoint_name, call_weights, call_counts)
        _wait_in_service(client, endpoint_name, context)

    final = require_usable(describe(client, endpoint_name), endpoint_name)
    return {
        "endpoint_name": endpoint_name,
        "status": final.status,
        "weights": final.current_weights,
        "instance_counts": final.current_instance_counts,
    }
