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
import math
import os
import time
from collections.abc import Mapping
from typing import Any

from endpoint_weights.call_bounds import worst_case_call_seconds
from endpoint_weights.declared_metric import publish_declared_weights
from endpoint_weights.endpoint import (
    BOUNDED_CALL_CONFIG,
    SINGLE_ATTEMPT_CONFIG,
    Busy,
    EndpointState,
    EndpointUnavailable,
    describe,
    require_usable,
    sagemaker_client,
    update,
    validate_against,
)
from endpoint_weights.validation import (
    InvalidRequest,
    check_weights_fixed_beside_shadow,
    parse_instance_counts,
    parse_weights,
    plan_updates,
)

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

POLL_SECONDS = 15  # DescribeEndpoint interval while the endpoint updates
# While SageMaker refuses the update as busy although DescribeEndpoint says InService (an
# autoscaling action starting between look and call, again and again), wait this long before
# the next attempt, doubling each time up to POLL_SECONDS: a few calls per minute, not thousands.
FIRST_RETRY_SECONDS = 1.0
# Every SageMaker call starts before the deadline (checked before each one), so the margin
# between the deadline and the Lambda's own timeout must hold the one call that may run past
# it, the best-effort DeclaredWeight metric after the last one, and returning the answer.
SAGEMAKER_CALL_CONFIG = BOUNDED_CALL_CONFIG
METRIC_CALL_CONFIG = SINGLE_ATTEMPT_CONFIG  # best effort: one attempt
REPORT_SECONDS = 2  # logging and returning the result
SAFETY_MARGIN_SECONDS = (
    math.ceil(worst_case_call_seconds(SAGEMAKER_CALL_CONFIG) + worst_case_call_seconds(METRIC_CALL_CONFIG))
    + REPORT_SECONDS
)


class PartiallyApplied(RuntimeError):
    """Some of a multi-call change is live, the rest failed; the message says which is which."""


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
    # {} is "no capacity change" (the rollout state machine always sends the key).
    counts = parse_instance_counts(event["instance_counts"]) if event.get("instance_counts") else {}
    return weights, counts


def _deadline(context: Any) -> float:
    """When to stop waiting: the Lambda's remaining time less a margin to report the outcome."""
    remaining = context.get_remaining_time_in_millis() / 1000 if context else 600
    return time.monotonic() + remaining - SAFETY_MARGIN_SECONDS


def _wait_in_service(client: Any, endpoint_name: str, deadline: float) -> EndpointState:
    """Poll DescribeEndpoint until the endpoint is InService.

    Not boto3's ``endpoint_in_service`` waiter: it gives up early only on ``Failed`` and would
    sit out the whole timeout on ``OutOfService`` or ``UpdateRollbackFailed``; here every
    status that cannot recover fails at once, and a throttled look just waits for the next.
    """
    status = "not looked at yet"
    while True:
        # Before every look, not only before every sleep: a look can follow an update at once.
        if time.monotonic() > deadline:
            raise _not_in_service(endpoint_name, status)
        try:
            state = require_usable(describe(client, endpoint_name), endpoint_name)
            if state.ready:  # InService, and no guarded deployment pending
                return state
            status = state.status
        except Busy:
            status = "throttled"
        if time.monotonic() + POLL_SECONDS > deadline:
            raise _not_in_service(endpoint_name, status)
        time.sleep(POLL_SECONDS)


def _not_in_service(endpoint_name: str, status: str) -> EndpointUnavailable:
    return EndpointUnavailable(
        f"endpoint {endpoint_name} did not become InService before this function's time ran out "
        f"(status {status}); nothing more was changed"
    )


def _apply_when_ready(
    client: Any, endpoint_name: str, weights: Mapping[str, float], counts: Mapping[str, int], deadline: float
) -> None:
    """One update call; while SageMaker says busy, wait for InService, back off and try again.

    Every retry checks ``deadline`` first: an endpoint that keeps answering busy ends in
    :class:`EndpointUnavailable` naming the attempts and SageMaker's last answer, with nothing
    changed by this call, before the Lambda's own timeout cuts it off without a reason.
    """
    attempts = 0
    delay = FIRST_RETRY_SECONDS
    while True:
        # Checked before every update, the first one too: it can follow a look at once.
        if time.monotonic() > deadline:
            raise EndpointUnavailable(
                f"endpoint {endpoint_name}: this function's time ran out before applying "
                f"{_describe_call(weights, counts)}; nothing more was changed"
            )
        attempts += 1
        try:
            update(client, endpoint_name, weights, counts)
            return
        except Busy as err:
            last_answer = err
        # Waits (and checks the deadline) only while DescribeEndpoint shows an update running.
        _wait_in_service(client, endpoint_name, deadline)
        if time.monotonic() + delay > deadline:
            raise EndpointUnavailable(
                f"endpoint {endpoint_name} still answered busy after {attempts} attempts to apply "
                f"{_describe_call(weights, counts)} (last answer: {last_answer}); gave up before this "
                "function's time ran out; nothing more was changed"
            ) from last_answer
        time.sleep(delay)
        delay = min(delay * 2, POLL_SECONDS)


def handle(event: Any, context: Any, client: Any = None, cloudwatch: Any = None) -> dict[str, Any]:
    endpoint_name = os.environ["ENDPOINT_NAME"]
    weights, counts = parse_request(event)
    client = client or sagemaker_client(SAGEMAKER_CALL_CONFIG)
    deadline = _deadline(context)

    # Fails at once for a missing or broken endpoint; a throttled look waits like a busy one
    # (its client tries each call only twice, to stay inside the safety margin).
    state = _wait_in_service(client, endpoint_name, deadline)
    target = validate_against(state, weights, counts)
    check_weights_fixed_beside_shadow(weights, state.current_weights, state.shadow_variants, endpoint=endpoint_name)
    LOG.info("set weights", extra={"endpoint": endpoint_name, "from": state.current_weights, "to": target})

    applied: list[str] = []
    for call_weights, call_counts in plan_updates(target, counts):
        try:
            _apply_when_ready(client, endpoint_name, call_weights, call_counts, deadline)
            state = _wait_in_service(client, endpoint_name, deadline)
        except Exception as err:
            if not applied:
                raise
            # SageMaker takes one capacity change per call, so a request with several counts
            # is several calls: say exactly what is already live.
            raise PartiallyApplied(
                f"applied {'; '.join(applied)}, then failed on {_describe_call(call_weights, call_counts)}: {err}"
            ) from err
        applied.append(_describe_call(call_weights, call_counts))

    # The last wait's DescribeEndpoint shows the endpoint InService after the last change: what
    # it reports now. No further look, which could start after the deadline.
    final = state
    publish_declared_weights(endpoint_name, final.current_weights, cloudwatch=cloudwatch, config=METRIC_CALL_CONFIG)
    return {
        "endpoint_name": endpoint_name,
        "status": final.status,
        "weights": final.current_weights,
        "instance_counts": final.current_instance_counts,
    }


def _describe_call(weights: Mapping[str, float], counts: Mapping[str, int]) -> str:
    text = "weights " + ", ".join(f"{name}={weight:g}" for name, weight in sorted(weights.items()))
    return text + "".join(f" and {name} instance count {count}" for name, count in counts.items())
