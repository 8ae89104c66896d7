"""The weights custom resource's handlers, driven with the events CloudFormation sends.

CloudFormation passes every property as a string, sends Update with OldResourceProperties,
and sends Delete even when the endpoint is already gone. The Provider framework calls
``on_event`` once and ``is_complete`` until it says so.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from endpoint_weights.endpoint import EndpointUnavailable
from endpoint_weights.validation import InvalidRequest
from tests.lambdas.conftest import ENDPOINT, create_endpoint, live_weights, set_endpoint_status
from tests.lambdas.throttling import Throttle
from weights_provider import handler
from weights_provider.handler import is_complete, on_event

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/AbTest-churn-ab/5b6e1d40-0000-11ef-0000-0a1b2c3d4e5f"


def cfn_event(
    request_type: str,
    weights: dict[str, str],
    *,
    old_weights: dict[str, str] | None = None,
    endpoint: str = ENDPOINT,
    config_name: str = f"{ENDPOINT}-config",  # the config create_endpoint puts the endpoint on
) -> dict[str, Any]:
    """A custom resource event exactly as CloudFormation builds it (properties are strings)."""
    props = {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:AbTest-churn-ab-WeightsProviderOnEvent",
        "ServiceTimeout": "3600",  # a resource property like any other, also passed to the handler
        "EndpointName": endpoint,
        "EndpointConfigName": config_name,
        "Weights": weights,
    }
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": props["ServiceToken"],
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
        "StackId": STACK_ID,
        "RequestId": "6e1d40b5-1c2f-4b0a-9f3e-2f7c1d2e3f40",
        "LogicalResourceId": "WeightsResource1A2B3C4D",
        "ResourceType": "Custom::VariantWeights",
        "ResourceProperties": props,
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = f"{endpoint}/weights"
    if old_weights is not None:
        event["OldResourceProperties"] = dict(props, Weights=old_weights)
    return event


def run_to_completion(event: dict[str, Any], client: Any, max_polls: int = 5) -> dict[str, Any]:
    """What the Provider framework does: on_event once, then is_complete until complete."""
    response = on_event(event, None, client=client)
    polled = dict(event, PhysicalResourceId=response["PhysicalResourceId"])
    for _ in range(max_polls):
        result = is_complete(polled, None, client=client)
        if result["IsComplete"]:
            return result
    raise AssertionError(f"not complete after {max_polls} polls")


def test_create_applies_the_parameter_weights(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    result = run_to_completion(cfn_event("Create", {"Variant1": "25", "Variant2": "75"}), sagemaker)
    assert live_weights(sagemaker) == {"Variant1": 25.0, "Variant2": 75.0}
    assert json.loads(result["Data"]["AppliedWeights"]) == {"Variant1": 25.0, "Variant2": 75.0}


def test_physical_id_is_stable_per_endpoint_so_updates_are_in_place(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    created = on_event(cfn_event("Create", {"Variant1": "1", "Variant2": "1"}), None, client=sagemaker)
    updated = on_event(
        cfn_event("Update", {"Variant1": "0", "Variant2": "1"}, old_weights={"Variant1": "1", "Variant2": "1"}),
        None,
        client=sagemaker,
    )
    assert created["PhysicalResourceId"] == updated["PhysicalResourceId"] == f"{ENDPOINT}/weights"


def test_update_shifts_traffic_25_75_then_0_100(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    run_to_completion(
        cfn_event("Update", {"Variant1": "25", "Variant2": "75"}, old_weights={"Variant1": "1", "Variant2": "1"}),
        sagemaker,
    )
    assert live_weights(sagemaker) == {"Variant1": 25.0, "Variant2": 75.0}
    run_to_completion(
        cfn_event("Update", {"Variant1": "0", "Variant2": "100"}, old_weights={"Variant1": "25", "Variant2": "75"}),
        sagemaker,
    )
    assert live_weights(sagemaker) == {"Variant1": 0.0, "Variant2": 100.0}


def test_update_for_a_replaced_endpoint_config_applies_the_weights_to_all_live_variants(sagemaker):
    """After a config change adds a third variant, CloudFormation sends an Update whose
    EndpointConfigName changed (that it does is checked on the template, in
    tests/stacks/test_ab_test_stack.py). moto has no UpdateEndpoint and no weight retention,
    so the endpoint is built as it looks afterwards; the handler must set every variant,
    the new one included, to the declared weights."""
    # as after UpdateEndpoint
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1, "Variant3": 1}, config_name="AbEndpointConfig-new456")
    event = cfn_event(
        "Update",
        {"Variant1": "10", "Variant2": "30", "Variant3": "60"},
        old_weights={"Variant1": "10", "Variant2": "30"},
        config_name="AbEndpointConfig-new456",
    )
    event["OldResourceProperties"]["EndpointConfigName"] = "AbEndpointConfig-abc123"
    run_to_completion(event, sagemaker)
    assert live_weights(sagemaker) == {"Variant1": 10.0, "Variant2": 30.0, "Variant3": 60.0}


def test_unchanged_weights_complete_without_an_update_call(sagemaker, monkeypatch):
    create_endpoint(sagemaker, {"Variant1": 25, "Variant2": 75})
    calls = Throttle(sagemaker, "UpdateEndpointWeightsAndCapacities", times=0, monkeypatch=monkeypatch)
    run_to_completion(cfn_event("Create", {"Variant1": "25", "Variant2": "75"}), sagemaker)
    assert calls.sent == 0


def test_waits_while_the_endpoint_is_updating_then_applies(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status("Updating")
    event = cfn_event("Update", {"Variant1": "25", "Variant2": "75"}, old_weights={"Variant1": "1", "Variant2": "1"})
    response = on_event(event, None, client=sagemaker)
    polled = dict(event, PhysicalResourceId=response["PhysicalResourceId"])
    assert is_complete(polled, None, client=sagemaker) == {"IsComplete": False}
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}, "nothing applied while busy"
    set_endpoint_status("InService")
    assert is_complete(polled, None, client=sagemaker) == {"IsComplete": False}, "applied, not yet confirmed"
    assert is_complete(polled, None, client=sagemaker)["IsComplete"] is True
    assert live_weights(sagemaker) == {"Variant1": 25.0, "Variant2": 75.0}


@pytest.mark.parametrize("status", ["Creating", "SystemUpdating"])
def test_other_transient_statuses_also_wait(sagemaker, status):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status(status)
    event = cfn_event("Create", {"Variant1": "3", "Variant2": "1"})
    on_event(event, None, client=sagemaker)
    assert is_complete(event, None, client=sagemaker) == {"IsComplete": False}


def test_throttling_is_retried_with_backoff(sagemaker, monkeypatch):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    throttle = Throttle(sagemaker, "UpdateEndpointWeightsAndCapacities", times=2, monkeypatch=monkeypatch)
    run_to_completion(cfn_event("Create", {"Variant1": "25", "Variant2": "75"}), sagemaker)
    assert throttle.sent == 3, "two throttled attempts, then the one that went through"
    assert live_weights(sagemaker) == {"Variant1": 25.0, "Variant2": 75.0}


def test_throttling_beyond_the_retries_waits_for_the_next_poll(monkeypatch):
    # The client on_event uses in Lambda: two attempts, then "busy, the next poll applies".
    sagemaker = boto3.client("sagemaker", config=handler.ON_EVENT_CALL_CONFIG)
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    Throttle(sagemaker, "UpdateEndpointWeightsAndCapacities", times=2, monkeypatch=monkeypatch)
    event = cfn_event("Create", {"Variant1": "25", "Variant2": "75"})
    on_event(event, None, client=sagemaker)  # throttled to exhaustion: not an error
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}
    assert is_complete(event, None, client=sagemaker) == {"IsComplete": False}
    assert is_complete(event, None, client=sagemaker)["IsComplete"] is True


# --- bad input: a clear failure, weights left as they were --------------------------------------


@pytest.mark.parametrize(
    ("weights", "reason"),
    [
        ({"Variant1": "-1", "Variant2": "1"}, "negative for: Variant1"),
        ({"Variant1": "0", "Variant2": "0"}, "all weights would be 0"),
        ({"Variant1": "lots", "Variant2": "1"}, "weight of Variant1: must be a number"),
        ({"Variant1": "1", "Variant9": "1"}, "has no variant\\(s\\) Variant9"),
    ],
)
@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_bad_weights_fail_clearly_and_change_nothing(sagemaker, weights, reason, request_type):
    create_endpoint(sagemaker, {"Variant1": 40, "Variant2": 60})
    old = {"Variant1": "40", "Variant2": "60"} if request_type == "Update" else None
    with pytest.raises(InvalidRequest, match=reason):
        on_event(cfn_event(request_type, weights, old_weights=old), None, client=sagemaker)
    assert live_weights(sagemaker) == {"Variant1": 40.0, "Variant2": 60.0}


def test_unknown_variant_found_only_once_the_endpoint_is_in_service_still_changes_nothing(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 40, "Variant2": 60})
    set_endpoint_status("Updating")
    event = cfn_event("Create", {"Variant1": "1", "Variant9": "1"})
    on_event(event, None, client=sagemaker)  # cannot check variants yet: endpoint busy
    set_endpoint_status("InService")
    with pytest.raises(InvalidRequest, match="Variant9"):
        is_complete(event, None, client=sagemaker)
    assert live_weights(sagemaker) == {"Variant1": 40.0, "Variant2": 60.0}


@pytest.mark.parametrize("status", ["Failed", "OutOfService", "UpdateRollbackFailed", "Deleting"])
def test_endpoint_that_needs_a_person_fails_clearly(sagemaker, status):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status(status)
    event = cfn_event("Create", {"Variant1": "25", "Variant2": "75"})
    with pytest.raises(EndpointUnavailable, match=f"churn-ab is {status}"):
        on_event(event, None, client=sagemaker)
    with pytest.raises(EndpointUnavailable, match=f"churn-ab is {status}"):
        is_complete(event, None, client=sagemaker)


def test_throttled_describe_waits_for_the_next_poll(monkeypatch):
    sagemaker = boto3.client("sagemaker", config=handler.IS_COMPLETE_CALL_CONFIG)  # as in Lambda: one attempt
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    Throttle(sagemaker, "DescribeEndpoint", times=1, monkeypatch=monkeypatch)
    event = cfn_event("Create", {"Variant1": "25", "Variant2": "75"})
    assert is_complete(event, None, client=sagemaker) == {"IsComplete": False}
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}
    assert is_complete(event, None, client=sagemaker) == {"IsComplete": False}, "applied now"
    assert is_complete(event, None, client=sagemaker)["IsComplete"] is True


def test_endpoint_failing_during_the_wait_fails_clearly(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status("Updating")
    event = cfn_event("Create", {"Variant1": "25", "Variant2": "75"})
    on_event(event, None, client=sagemaker)
    set_endpoint_status("Failed")
    with pytest.raises(EndpointUnavailable, match="Failed"):
        is_complete(event, None, client=sagemaker)


def test_missing_endpoint_fails_create_clearly(sagemaker):
    with pytest.raises(EndpointUnavailable, match="endpoint churn-ab does not exist"):
        on_event(cfn_event("Create", {"Variant1": "1"}), None, client=sagemaker)


# --- delete ------------------------------------------------------------------------------------


def test_delete_succeeds_and_makes_no_call_when_the_endpoint_is_gone(sagemaker):
    calls: list[str] = []
    sagemaker.meta.events.register("before-call.sagemaker", lambda model, **_: calls.append(model.name))
    event = cfn_event("Delete", {"Variant1": "25", "Variant2": "75"})
    assert on_event(event, None, client=sagemaker) == {"PhysicalResourceId": f"{ENDPOINT}/weights"}
    assert is_complete(event, None, client=sagemaker) == {"IsComplete": True}
    assert calls == []


def test_delete_leaves_a_live_endpoint_alone(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 25, "Variant2": 75})
    on_event(cfn_event("Delete", {"Variant1": "0", "Variant2": "0"}), None, client=sagemaker)
    assert live_weights(sagemaker) == {"Variant1": 25.0, "Variant2": 75.0}


def test_delete_never_fails_even_with_garbage_properties(sagemaker):
    event = cfn_event("Delete", {"Variant1": "not a number"})
    assert on_event(event, None, client=sagemaker)["PhysicalResourceId"] == f"{ENDPOINT}/weights"


# --- each invocation's calls: what the functions' timeouts are sized for --------------------------


def count_calls(*clients: Any) -> list[str]:
    """Every API call (not attempt) the clients make, by operation name."""
    calls: list[str] = []
    for client in clients:
        client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    return calls


def test_each_invocation_makes_no_more_calls_than_its_timeout_is_sized_for(sagemaker, monkeypatch):
    """constructs_lib/variant_weights.py sizes the functions' timeouts for ON_EVENT_MAX_CALLS and
    IS_COMPLETE_MAX_CALLS calls; here every path through the handlers stays within them."""
    monkeypatch.setenv("METRICS_NAMESPACE", "AbTesting")  # as the stack sets it: is_complete publishes
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    cloudwatch = boto3.client("cloudwatch")
    calls = count_calls(sagemaker, cloudwatch)
    event = cfn_event("Create", {"Variant1": "25", "Variant2": "75"})

    on_event(event, None, client=sagemaker)  # describe, update
    assert calls == ["DescribeEndpoint", "UpdateEndpointWeightsAndCapacities"]
    assert len(calls) <= handler.ON_EVENT_MAX_CALLS

    polls: list[list[str]] = []
    set_endpoint_status("Updating")  # describe only
    for _ in range(2):
        calls.clear()
        is_complete(event, None, client=sagemaker, cloudwatch=cloudwatch)
        polls.append(list(calls))
        set_endpoint_status("InService")
    # Weights now differ again (a second change): describe, update; then describe, metric.
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=ENDPOINT,
        DesiredWeightsAndCapacities=[{"VariantName": "Variant1", "DesiredWeight": 1.0}],
    )
    for _ in range(2):
        calls.clear()
        is_complete(event, None, client=sagemaker, cloudwatch=cloudwatch)
        polls.append(list(calls))
    assert ["DescribeEndpoint", "UpdateEndpointWeightsAndCapacities"] in polls
    # Create: the endpoint's config serves from now on (the serving-since marker).
    assert ["DescribeEndpoint", "AddTags", "PutMetricData"] in polls
    assert max(len(poll) for poll in polls) <= handler.IS_COMPLETE_MAX_CALLS, polls


# --- the serving-since marker (endpoint_weights.serving_since) -------------------------------------------


def marker_value(client: Any) -> str | None:
    arn = client.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
    tags = {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=arn)["Tags"]}
    return tags.get("abtest:serving-since")


def test_create_marks_which_config_serves_and_since_when(sagemaker, monkeypatch):
    monkeypatch.setattr(handler, "_now", lambda: datetime(2026, 11, 1, 9, 40, 12, 345678, tzinfo=UTC))
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    run_to_completion(cfn_event("Create", {"Variant1": "25", "Variant2": "75"}), sagemaker)
    assert marker_value(sagemaker) == f"{ENDPOINT}-config@2026-11-01T09:40:12Z"


def test_a_weight_change_does_not_move_the_marker(sagemaker, monkeypatch):
    """A rollout shifts weights step by step on one fleet: the live-quality window must keep its start."""
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    monkeypatch.setattr(handler, "_now", lambda: datetime(2026, 11, 1, 9, 40, tzinfo=UTC))
    run_to_completion(cfn_event("Create", {"Variant1": "25", "Variant2": "75"}), sagemaker)
    monkeypatch.setattr(handler, "_now", lambda: datetime(2026, 11, 2, 9, 40, tzinfo=UTC))
    update = cfn_event("Update", {"Variant1": "50", "Variant2": "50"}, old_weights={"Variant1": "25", "Variant2": "75"})
    run_to_completion(update, sagemaker)
    assert live_weights(sagemaker) == {"Variant1": 50.0, "Variant2": 50.0}
    assert marker_value(sagemaker) == f"{ENDPOINT}-config@2026-11-01T09:40:00Z"


def test_a_config_change_moves_the_marker(sagemaker, monkeypatch):
    """moto has no UpdateEndpoint: the endpoint is already on the declared config, and the event says the
    stack moved it there from another one (OldResourceProperties), as CloudFormation sends it."""
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    monkeypatch.setattr(handler, "_now", lambda: datetime(2026, 11, 2, 9, 40, tzinfo=UTC))
    update = cfn_event("Update", {"Variant1": "1", "Variant2": "1"}, old_weights={"Variant1": "1", "Variant2": "1"})
    update["OldResourceProperties"]["EndpointConfigName"] = "EndpointConfig-previous"
    run_to_completion(update, sagemaker)
    assert marker_value(sagemaker) == f"{ENDPOINT}-config@2026-11-02T09:40:00Z"
