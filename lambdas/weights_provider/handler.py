"""The weights custom resource: stack parameters → UpdateEndpointWeightsAndCapacities.

Runs under aws-cdk-lib's ``custom_resources.Provider``: ``on_event`` checks the request and
starts the change, ``is_complete`` is polled until DescribeEndpoint shows the endpoint
``InService`` with the desired weights. The framework speaks the CloudFormation response
protocol; nothing here sends responses by hand.

Resource properties (CloudFormation sends every value as a string):
  EndpointName        the endpoint whose weights to set
  Weights             {variant name: weight}, from the stack's weight parameters
  EndpointConfigName  the config the stack moved the endpoint to. A property so that CloudFormation
                      sends an Update, and the weights are re-applied, every time the endpoint config
                      is replaced (see constructs_lib/variant_weights.py); and checked: an endpoint
                      that ends InService on another config (a deployment guardrail rolled the
                      update back) fails the resource with weights unchanged. While a guarded
                      deployment is pending (PendingDeploymentSummary), is_complete waits.
  ShadowSampling      {shadow variant name: sampling percentage}, only beside a shadow: the stack parameter
                      <Shadow>SamplingPercentage. Its weight is shadow_weight(percentage, the production
                      weight) (endpoint_weights.shadow_sampling, H1). Once the production weights are in place,
                      on Create and Update alike, the weight is set in place (endpoint_weights.shadow_in_place)
                      unless the endpoint config just set it; a refusal by SageMaker (whether it takes a
                      shadow's name is UNVERIFIED, Q2) or a CurrentWeight that does not follow fails the request
                      with the way out, except where failing could not help. The rules and the invariant they
                      keep (the recorded percentage is the live one): weights_provider.shadow_request.
  ConfigSampling      {shadow variant name: the config's sampling_percentage}, beside ShadowSampling: what the
                      endpoint config carries. A shadow missing from DescribeEndpoint is a warning
                      (require_shadow_weights). Delete never calls SageMaker.

After a config change (Create, or an Update whose EndpointConfigName changed), the poll that finds the
weights in place records on the endpoint which config serves it alone and since when (the
``abtest:serving-since`` tag, ``endpoint_weights.serving_since``); so does a request that finds the
deployment rolled back, before it fails. The live-quality window starts there
(lambdas/live_quality/endpoint_anchor.py). A weight-only Update leaves the marker alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from endpoint_weights.declared_metric import publish_declared_weights
from endpoint_weights.endpoint import (
    BOUNDED_CALL_CONFIG,
    SINGLE_ATTEMPT_CONFIG,
    ConfigurationRolledBack,
    EndpointState,
    ShadowWeightNotTaken,
    converge,
    require_shadow_weights,
    sagemaker_client,
)
from endpoint_weights.serving_since import ServingSince, marker_moves, write_marker
from endpoint_weights.shadow_in_place import (
    ShadowSamplingRefused,
    apply_in_place,
    parse_sampling,
    wanted_shadow_weights,
)
from endpoint_weights.validation import InvalidRequest, parse_weights
from weights_provider import shadow_request
from weights_provider.stack_state import ROLLING_BACK, stack_rolling_back

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

# AWS calls per invocation, at most: DescribeEndpoint, then UpdateEndpointWeightsAndCapacities
# (the production weights; or, once they are in place, the shadow's), or AddTags (a
# rolled-back deployment), or (is_complete, weights in place) AddTags after a config change and
# PutMetricData. With the clients' configs below they bound each handler's run;
# constructs_lib/variant_weights.py gives the functions timeouts that cover them, and its tests
# check that against the template.
ON_EVENT_MAX_CALLS = 3  # beside a shadow, an Update first asks CloudFormation whether it is a rollback
IS_COMPLETE_MAX_CALLS = 3
# on_event runs once, inside a 1-minute timeout: a retry there is worth its seconds.
ON_EVENT_CALL_CONFIG = BOUNDED_CALL_CONFIG
# is_complete runs every 30 s: the next poll is the retry, so one attempt per call keeps each
# poll short, and the waiter's total bounded (see constructs_lib/waiter_budget.py).
IS_COMPLETE_CALL_CONFIG = SINGLE_ATTEMPT_CONFIG


def _physical_id(endpoint_name: str) -> str:
    # Stable per endpoint: a weight change is an in-place Update, never a replacement.
    return f"{endpoint_name}/weights"


def on_event(event: dict[str, Any], context: Any, client: Any = None, cloudformation: Any = None) -> dict[str, Any]:
    request = event["RequestType"]
    props = event["ResourceProperties"]
    endpoint_name = props["EndpointName"]
    LOG.info("weights request", extra={"request": request, "endpoint": endpoint_name, "weights": props.get("Weights")})
    if request == "Delete":
        # The weights go with the endpoint; there is nothing to undo and the endpoint may
        # already be gone, so Delete makes no call at all and never fails the stack.
        return {"PhysicalResourceId": event.get("PhysicalResourceId", _physical_id(endpoint_name))}

    weights = parse_weights(props.get("Weights"))
    _shadow_weights(props, weights)  # a malformed property fails before any change
    rolling_back = request == "Update" and "ShadowSampling" in props and stack_rolling_back(event, cloudformation)
    try:
        shadow_request.refuse_a_kept_parameter_through_a_config_edit(event)
    except InvalidRequest as refused:
        if not rolling_back:
            raise
        LOG.warning("%s (not refused: CloudFormation is rolling the stack back)", refused)
    # Fails here, before any change, for a missing or failed endpoint and for unknown
    # variants; applies at once when the endpoint is InService. While it is still
    # Creating/Updating, is_complete checks and applies once it is InService.
    _converge(client or sagemaker_client(ON_EVENT_CALL_CONFIG), endpoint_name, weights, props)
    # "Any other field included in the response will be passed through to isComplete" (aws-cdk-lib
    # custom-resources README, "Handling Lifecycle Events: onEvent"): is_complete reads the stack's state from here.
    return {"PhysicalResourceId": _physical_id(endpoint_name), ROLLING_BACK: rolling_back}


def _shadow_weights(props: Mapping[str, Any], weights: Mapping[str, float]) -> dict[str, float]:
    """The shadows' weights from the ShadowSampling property (percentages, strings); empty without a shadow.

    A ShadowWeights property (a weight, from templates before the sampling parameter) is ignored: read as a
    percentage it would ask for another weight."""
    raw = props.get("ShadowSampling")
    return {} if raw is None else wanted_shadow_weights(parse_sampling(raw), weights)


def _converge(client: Any, endpoint_name: str, weights: Mapping[str, float], props: Mapping[str, Any]) -> Any:
    """``converge``; a rolled-back deployment is marked on the endpoint before the request fails."""
    try:
        return converge(client, endpoint_name, weights, props.get("EndpointConfigName", ""))
    except ConfigurationRolledBack as err:
        problem = _mark_serving_since(client, err.state)
        if problem:
            raise ConfigurationRolledBack(f"{err}. {problem}", err.state) from err
        raise


def _mark_serving_since(client: Any, state: EndpointState) -> str | None:
    """Record that ``state``'s config serves alone from now on; say why not when the tag cannot be written.

    Now is when this request saw it: the deployment ended at most one poll earlier, so the window
    starts a little late rather than with traffic of a fleet that no longer serves.
    """
    marker = ServingSince(state.config_name, _now())
    try:
        write_marker(client, state.arn, marker)
    except (ClientError, BotoCoreError) as err:
        LOG.warning("serving-since marker not written", extra={"endpoint": state.name, "error": str(err)})
        return (
            f"The serving-since marker ({marker.value}) could not be written ({err}): live-quality runs cannot "
            "tell when this config began serving alone, and their window may include another fleet's captures "
            "(a manual run can name anchor_hour)"
        )
    LOG.info("serving-since marker written", extra={"endpoint": state.name, "marker": marker.value})
    return None


def _now() -> datetime:
    return datetime.now(UTC)


def _previous_config(event: Mapping[str, Any]) -> str | None:
    """The endpoint config the stack declared before this request; ``None`` on Create."""
    if event["RequestType"] == "Create":
        return None
    return str(event.get("OldResourceProperties", {}).get("EndpointConfigName", ""))


def _shadow_in_place(client: Any, state: EndpointState, wanted: Mapping[str, float], event: Mapping[str, Any]) -> bool:
    """``apply_in_place`` on Create and Update alike; True once the shadows' weights are in place.

    The rules, and the invariant they keep (the recorded percentage is the live weight after every request that
    succeeds): weights_provider.shadow_request. A failed Create is rolled back with a Delete, which makes no
    call (on_event; the Provider framework even drops the Delete that follows a failed Create,
    https://github.com/aws/aws-cdk/pull/5525).
    """
    request = shadow_request.read(event)
    to_apply = dict(wanted)
    trust = not request.fresh_fleet
    if request.fresh_fleet and request.config_sampling is not None:
        # The new endpoint config set each shadow's weight from the config's sampling: no call where the
        # parameter asks for the same. Elsewhere a DesiredWeight at the wanted value, which differs from the
        # config's, can only come from a call (unless SageMaker carries a shadow's DesiredWeight across a fleet
        # swap despite its exclusion from the retained properties: UNVERIFIED).
        to_apply = {name: w for name, w in wanted.items() if name not in request.as_configured}
        trust = True
    try:
        return apply_in_place(client, state, to_apply, trust_desired_weight=trust)
    except ShadowSamplingRefused as refused:
        if event.get(ROLLING_BACK) is True:
            # Failing a rollback could only end in UPDATE_ROLLBACK_FAILED; the warning names both weights.
            LOG.warning("shadow sampling left as it is (CloudFormation is rolling the stack back): %s", refused)
            return True
        if request.fresh_fleet or not request.sampling_unchanged:
            raise
        LOG.warning("shadow sampling left as it is (this request did not change it): %s", refused)
        return True


def is_complete(event: dict[str, Any], context: Any, client: Any = None, cloudwatch: Any = None) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    props = event["ResourceProperties"]
    endpoint_name = props["EndpointName"]
    weights = parse_weights(props.get("Weights"))
    shadow_weights = _shadow_weights(props, weights)
    client = client or sagemaker_client(IS_COMPLETE_CALL_CONFIG)
    state = _converge(client, endpoint_name, weights, props)
    if state is None:
        return {"IsComplete": False}
    if not _shadow_in_place(client, state, shadow_weights, event):
        # A change was just asked for (or SageMaker was busy): the next poll sees it taken, or fails.
        return {"IsComplete": False}
    try:
        require_shadow_weights(state, shadow_weights)
    except ShadowWeightNotTaken as mismatch:
        # Logged, not failed: a shadow missing from DescribeEndpoint (how it reports a shadow is itself
        # UNVERIFIED, design Q2), or a refusal let pass by _shadow_in_place.
        LOG.warning("%s", mismatch)
    if marker_moves(_previous_config(event), state.config_name):
        # Best effort, like the declared-weights metric: the deployment succeeded, and without a
        # marker for this config the plan falls back to its creation time and says so.
        _mark_serving_since(client, state)
    LOG.info("weights in place", extra={"endpoint": endpoint_name, "weights": state.current_weights})
    publish_declared_weights(
        endpoint_name, state.current_weights, cloudwatch=cloudwatch, config=IS_COMPLETE_CALL_CONFIG
    )
    return {"IsComplete": True, "Data": {"AppliedWeights": json.dumps(state.current_weights, sort_keys=True)}}
