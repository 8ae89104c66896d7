"""The weight Lambdas on an endpoint with a shadow variant.

DescribeEndpoint lists the shadow apart, under ``ShadowProductionVariants`` (DescribeEndpoint API
reference). moto 5.2.5 drops shadow variants altogether (design Appendix A), so the answers are played
with botocore's Stubber, which checks each canned response against SageMaker's model and fails on any
call not queued: a test that queues no UpdateEndpointWeightsAndCapacities proves none was made.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import set_weights.handler as set_weights
from endpoint_weights.endpoint import converge, describe
from endpoint_weights.validation import InvalidRequest
from evaluate.aws_io import variant_lister
from tests.lambdas.conftest import ENDPOINT, REGION, LambdaContext

CONFIG = "AbEndpointConfig-Shadow01"
WHEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PRODUCTION_WEIGHT = 1.0  # constructs_lib.ab_endpoint.SHADOW_PRODUCTION_WEIGHT
SHADOW_WEIGHT = 0.2  # 20 % under hypothesis H1


def summary(name: str, weight: float) -> dict[str, Any]:
    """A ProductionVariantSummary: the shape of both lists."""
    return {
        "VariantName": name,
        "CurrentWeight": weight,
        "DesiredWeight": weight,
        "CurrentInstanceCount": 1,
        "DesiredInstanceCount": 1,
    }


def described(production_weight: float = PRODUCTION_WEIGHT, status: str = "InService") -> dict[str, Any]:
    return {
        "EndpointName": ENDPOINT,
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{ENDPOINT}",
        "EndpointConfigName": CONFIG,
        "ProductionVariants": [summary("Current", production_weight)],
        "ShadowProductionVariants": [summary("Candidate", SHADOW_WEIGHT)],
        "EndpointStatus": status,
        "CreationTime": WHEN,
        "LastModifiedTime": WHEN,
    }


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client("sagemaker", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect_describe(stubber: Stubber, answer: dict[str, Any]) -> None:
    stubber.add_response("describe_endpoint", answer, {"EndpointName": ENDPOINT})


def test_the_shadow_is_read_apart_from_the_production_variants(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described())
    state = describe(client, ENDPOINT)
    assert state is not None
    assert list(state.variants) == ["Current"]
    assert list(state.shadow_variants) == ["Candidate"]
    assert state.shadow_variants["Candidate"].current_weight == SHADOW_WEIGHT


def test_the_custom_resource_finds_the_fixed_production_weight_in_place_and_changes_nothing(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described())
    state = converge(client, ENDPOINT, {"Current": PRODUCTION_WEIGHT}, CONFIG)
    assert state is not None and state.current_weights == {"Current": PRODUCTION_WEIGHT}


def test_a_production_weight_moved_by_hand_is_put_back_without_naming_the_shadow(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described(production_weight=3.0))
    stubber.add_response(
        "update_endpoint_weights_and_capacities",
        {"EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{ENDPOINT}"},
        {
            "EndpointName": ENDPOINT,
            "DesiredWeightsAndCapacities": [{"VariantName": "Current", "DesiredWeight": PRODUCTION_WEIGHT}],
        },
    )
    assert converge(client, ENDPOINT, {"Current": PRODUCTION_WEIGHT}, CONFIG) is None  # applied, not confirmed


def test_a_request_naming_the_shadow_is_refused_before_any_change(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described())
    with pytest.raises(InvalidRequest, match="Candidate of endpoint churn-ab are its shadow"):
        converge(client, ENDPOINT, {"Current": PRODUCTION_WEIGHT, "Candidate": 0.5}, CONFIG)


@pytest.fixture
def set_weights_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)


@pytest.mark.usefixtures("set_weights_environment")
def test_set_weights_refuses_the_shadow_with_its_own_message(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described())
    with pytest.raises(InvalidRequest, match="sampling_percentage in the endpoint config"):
        set_weights.handle({"weights": {"Candidate": 1}}, LambdaContext(), client=client)


@pytest.mark.usefixtures("set_weights_environment")
def test_set_weights_refuses_to_move_the_production_weight_beside_a_shadow(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described())
    with pytest.raises(InvalidRequest, match="production weight is fixed"):
        set_weights.handle({"weights": {"Current": 2}}, LambdaContext(), client=client)


def test_the_evaluation_targets_production_variants_only(stubbed):
    """InvokeEndpoint's TargetVariant names "the production variant to send the inference request to"
    (InvokeEndpoint API reference): the shadow is never a target."""
    client, stubber = stubbed
    expect_describe(stubber, described())
    assert list(variant_lister(client)(ENDPOINT)) == ["Current"]
