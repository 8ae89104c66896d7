"""The weights custom resource times out in the Provider framework, not in CloudFormation.

When CloudFormation's ServiceTimeout ends first, the stack rolls back with a generic message
while the framework's waiter keeps polling and may apply the new weights after the rollback.
The framework's own timeout fails the resource with "Operation timed out" and ends the waiter.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from constructs_lib import variant_weights
from constructs_lib.ab_endpoint import AbEndpoint
from constructs_lib.encryption import EndpointKey
from constructs_lib.variant_weights import SERVICE_TIMEOUT, VariantWeights
from constructs_lib.waiter_budget import (
    FRAMEWORK_WORK_SECONDS,
    LAMBDA_INIT_LIMIT_SECONDS,
    REINVOKE_RESERVE_SECONDS,
    longest_total_timeout_seconds,
    worst_case_seconds,
)
from endpoint_weights.call_bounds import worst_case_call_seconds
from tests.constructs_lib.test_constructs import spec
from weights_provider import handler as weights_provider

# CloudFormation accepts ServiceTimeout from 1 to 3600 s (AWS::CloudFormation::CustomResource,
# ServiceTimeout); aws-cdk-lib refuses anything longer at synth.
CLOUDFORMATION_MAX_SERVICE_TIMEOUT = 3600


def _synth() -> dict[str, Any]:
    stack = Stack(App(), "S")
    key = EndpointKey(stack, "Key", key_arn=None, alias_name="alias/x").key
    endpoint = AbEndpoint(stack, "Endpoint", spec=spec(), key=key)
    VariantWeights(stack, "Weights", endpoint=endpoint, weights={"Variant1": 1, "Variant2": 1}, key=key)
    return Template.from_stack(stack).to_json()["Resources"]


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return _synth()


def _one(resources: dict[str, Any], resource_type: str, *, where: str = "") -> dict[str, Any]:
    found = [r for k, r in resources.items() if r["Type"] == resource_type and where in k]
    assert len(found) == 1, (resource_type, where, len(found))
    return found[0]


def _waiter_states(resources: dict[str, Any]) -> dict[str, Any]:
    """The waiter state machine's states, from its definition (a Fn::Join of strings and ARNs)."""
    definition = _one(resources, "AWS::StepFunctions::StateMachine")["Properties"]["DefinitionString"]
    parts = definition["Fn::Join"][1] if isinstance(definition, dict) else [definition]
    text = "".join(part if isinstance(part, str) else "ARN" for part in parts)
    return json.loads(text)["States"]


def _waiter_retry(resources: dict[str, Any]) -> tuple[int, int]:
    """The waiter's (IntervalSeconds, MaxAttempts) for is_complete, checking the shape the budget assumes:
    one Task retried on every error at a fixed interval, caught by the timeout handler."""
    states = _waiter_states(resources)
    task = states["framework-isComplete-task"]
    (retry,) = task["Retry"]
    assert retry["ErrorEquals"] == ["States.ALL"]
    assert retry.get("BackoffRate", 2.0) == 1, "a growing interval would need another budget"
    assert "MaxDelaySeconds" not in retry and "JitterStrategy" not in retry
    ((catch),) = task["Catch"]
    assert catch["Next"] == "framework-onTimeout-task" and "framework-onTimeout-task" in states
    return int(retry["IntervalSeconds"]), int(retry["MaxAttempts"])


def _timeout(resources: dict[str, Any], handler: str) -> int:
    return int(_one(resources, "AWS::Lambda::Function", where=handler)["Properties"]["Timeout"])


def _service_timeout(resources: dict[str, Any]) -> int:
    custom = _one(resources, "Custom::VariantWeights")
    # Absent, CloudFormation's default applies: the most it allows. CloudFormation passes
    # custom-resource properties as strings; aws-cdk-lib writes it as one.
    return int(custom["Properties"].get("ServiceTimeout", CLOUDFORMATION_MAX_SERVICE_TIMEOUT))


def _worst_case_from_template(resources: dict[str, Any]) -> float:
    interval, attempts = _waiter_retry(resources)
    return worst_case_seconds(
        on_event_timeout=_timeout(resources, "OnEvent"),
        is_complete_timeout=_timeout(resources, "IsComplete"),
        query_interval=interval,
        max_attempts=attempts,
    )


def test_cloudformation_waits_the_longest_it_allows(resources):
    assert _service_timeout(resources) == CLOUDFORMATION_MAX_SERVICE_TIMEOUT
    assert SERVICE_TIMEOUT.to_seconds() == CLOUDFORMATION_MAX_SERVICE_TIMEOUT


def test_the_framework_times_out_before_cloudformation_does(resources):
    """Every number from the template: the handlers' Timeouts, the waiter's Retry, ServiceTimeout."""
    worst = _worst_case_from_template(resources)
    assert worst < _service_timeout(resources), worst


def test_a_longer_is_complete_timeout_would_be_caught(monkeypatch):
    """The check above can fail: a minute-long is_complete (the old default) under the same waiter
    outlasts CloudFormation's hour by far."""
    monkeypatch.setattr(variant_weights, "IS_COMPLETE_TIMEOUT", variant_weights.ON_EVENT_TIMEOUT)
    resources = _synth()
    assert _timeout(resources, "IsComplete") == 60
    assert _worst_case_from_template(resources) > CLOUDFORMATION_MAX_SERVICE_TIMEOUT


def test_the_worst_case_counts_every_call_every_wait_and_every_framework_run():
    """The review's example, spelled out: on_event 60 s, 90 waits of 30 s, 91 is_complete calls of
    60 s, each Lambda with its Init phase on top and the framework's work, then onTimeout, plus one
    failed invoke the framework repeats."""
    init, work = LAMBDA_INIT_LIMIT_SECONDS, FRAMEWORK_WORK_SECONDS
    by_hand = (init + work + init + 60) + 91 * (init + work + init + 60) + 90 * 30 + (init + work)
    by_hand += REINVOKE_RESERVE_SECONDS
    assert worst_case_seconds(on_event_timeout=60, is_complete_timeout=60, query_interval=30, max_attempts=90) == (
        by_hand
    )


def test_the_total_timeout_is_the_most_polls_that_fit():
    total = longest_total_timeout_seconds(
        service_timeout=3600, on_event_timeout=60, is_complete_timeout=15, query_interval=30
    )
    assert total % 30 == 0

    def worst(attempts: int) -> float:
        return worst_case_seconds(on_event_timeout=60, is_complete_timeout=15, query_interval=30, max_attempts=attempts)

    assert worst(total // 30) < 3600 <= worst(total // 30 + 1)
    with pytest.raises(ValueError, match="no poll every 30 s fits"):
        longest_total_timeout_seconds(
            service_timeout=300, on_event_timeout=60, is_complete_timeout=300, query_interval=30
        )


def test_one_poll_fits_in_the_is_complete_timeout(resources):
    """is_complete's calls, each at its client's worst case, end before its Lambda timeout."""
    per_call = worst_case_call_seconds(weights_provider.IS_COMPLETE_CALL_CONFIG)
    assert weights_provider.IS_COMPLETE_MAX_CALLS * per_call < _timeout(resources, "IsComplete")


def test_on_event_fits_in_its_timeout(resources):
    per_call = worst_case_call_seconds(weights_provider.ON_EVENT_CALL_CONFIG)
    assert weights_provider.ON_EVENT_MAX_CALLS * per_call < _timeout(resources, "OnEvent")


def test_the_waiter_still_polls_every_30_seconds_for_20_minutes_or_more(resources):
    interval, attempts = _waiter_retry(resources)
    assert interval == 30
    assert interval * attempts >= 20 * 60, "long enough for a weight change or capacity update to finish"
