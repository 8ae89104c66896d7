"""The weights custom resource times out in the Provider framework, not in CloudFormation.

When CloudFormation's ServiceTimeout ends first, the stack rolls back with a generic message
while the framework's waiter keeps polling and may apply the new weights after the rollback.
The framework's own timeout fails the resource with "Operation timed out" and ends the waiter.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from constructs_lib.ab_endpoint import AbEndpoint
from constructs_lib.encryption import EndpointKey
from constructs_lib.variant_weights import SERVICE_TIMEOUT, VariantWeights
from tests.constructs_lib.test_constructs import spec

# CloudFormation accepts ServiceTimeout from 1 to 3600 s (AWS::CloudFormation::CustomResource,
# ServiceTimeout); aws-cdk-lib refuses anything longer at synth.
CLOUDFORMATION_MAX_SERVICE_TIMEOUT = 3600
# Time the waiter's retry count does not see: on_event before the waiter starts, the run time
# of every is_complete call (retries count only the waits between calls), the timeout handler.
# Allowed per is_complete call; a DescribeEndpoint and a metric call take about a second.
PER_CALL_SECONDS = 5


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    stack = Stack(App(), "S")
    key = EndpointKey(stack, "Key", key_arn=None, alias_name="alias/x").key
    endpoint = AbEndpoint(stack, "Endpoint", spec=spec(), key=key)
    VariantWeights(stack, "Weights", endpoint=endpoint, weights={"Variant1": 1, "Variant2": 1}, key=key)
    return Template.from_stack(stack).to_json()["Resources"]


def _one(resources: dict[str, Any], resource_type: str, *, where: str = "") -> dict[str, Any]:
    found = [r for k, r in resources.items() if r["Type"] == resource_type and where in k]
    assert len(found) == 1, (resource_type, where, len(found))
    return found[0]


def _waiter_retry(resources: dict[str, Any]) -> tuple[int, int]:
    """The waiter's (IntervalSeconds, MaxAttempts) for is_complete; it retries at a fixed interval."""
    waiter = json.dumps(_one(resources, "AWS::StepFunctions::StateMachine")["Properties"]["DefinitionString"])
    ((interval, attempts, backoff),) = re.findall(
        r'\\"IntervalSeconds\\":(\d+),\\"MaxAttempts\\":(\d+),\\"BackoffRate\\":([\d.]+)', waiter
    )
    assert float(backoff) == 1
    return int(interval), int(attempts)


def test_cloudformation_waits_the_longest_it_allows(resources):
    custom = _one(resources, "Custom::VariantWeights")
    # CloudFormation passes custom-resource properties as strings; aws-cdk-lib writes it as one.
    assert int(custom["Properties"]["ServiceTimeout"]) == CLOUDFORMATION_MAX_SERVICE_TIMEOUT
    assert SERVICE_TIMEOUT.to_seconds() == CLOUDFORMATION_MAX_SERVICE_TIMEOUT


def test_the_framework_times_out_before_cloudformation_does(resources):
    custom = _one(resources, "Custom::VariantWeights")
    # Absent, CloudFormation's default applies: the most it allows.
    service_timeout = int(custom["Properties"].get("ServiceTimeout", CLOUDFORMATION_MAX_SERVICE_TIMEOUT))
    interval, attempts = _waiter_retry(resources)
    on_event = _one(resources, "AWS::Lambda::Function", where="OnEvent")
    waits = interval * attempts
    outside_the_waits = on_event["Properties"]["Timeout"] + (attempts + 1) * PER_CALL_SECONDS
    assert waits + outside_the_waits < service_timeout, (waits, outside_the_waits, service_timeout)


def test_the_waiter_still_polls_every_30_seconds_for_most_of_the_hour(resources):
    interval, attempts = _waiter_retry(resources)
    assert interval == 30
    assert interval * attempts >= 30 * 60, "long enough for an endpoint update to finish"
