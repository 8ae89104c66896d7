"""The plan's AWS layer: which endpoint config the endpoint serves, and when it was created (moto's SageMaker).

moto records an endpoint config's real creation time (``CreationTime``, milliseconds, as SageMaker
returns it; botocore gives it as an aware datetime), so these tests bracket it with the clock. What
moto cannot do is refuse a call for lack of permission: that case is driven with botocore's Stubber
and the error shape SageMaker answers with.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from endpoint_weights.endpoint import RETRY_CONFIG
from live_quality.endpoint_anchor import EndpointNotReadable, read_endpoint_anchor
from live_quality.window import anchor_hour_after
from tests.lambdas.conftest import ENDPOINT, REGION, create_endpoint


def test_the_anchor_is_the_served_configs_creation_as_moto_records_it(sagemaker: Any) -> None:
    before = datetime.now(UTC)
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    after = datetime.now(UTC)
    anchor = read_endpoint_anchor(sagemaker, ENDPOINT)
    assert anchor.endpoint_config_name == f"{ENDPOINT}-config"
    assert anchor.created.tzinfo == UTC
    # SageMaker's CreationTime has milliseconds: allow the truncation below ``before``.
    assert before - timedelta(milliseconds=1) <= anchor.created <= after
    assert anchor.hour in {anchor_hour_after(before - timedelta(milliseconds=1)), anchor_hour_after(after)}


def test_a_weight_change_keeps_the_anchor(sagemaker: Any) -> None:
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    first = read_endpoint_anchor(sagemaker, ENDPOINT)
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=ENDPOINT,
        DesiredWeightsAndCapacities=[
            {"VariantName": "Variant1", "DesiredWeight": 1},
            {"VariantName": "Variant2", "DesiredWeight": 3},
        ],
    )
    assert read_endpoint_anchor(sagemaker, ENDPOINT) == first


def test_a_missing_endpoint_is_named(sagemaker: Any) -> None:
    with pytest.raises(EndpointNotReadable, match=r"endpoint nope was not found \(DescribeEndpoint: Could not find"):
        read_endpoint_anchor(sagemaker, "nope")


def test_a_config_deleted_while_in_use_is_named_with_its_endpoint(sagemaker: Any) -> None:
    # SageMaker lets an endpoint config in use be deleted (the endpoint keeps serving); moto does too.
    create_endpoint(sagemaker, {"Variant1": 1})
    sagemaker.delete_endpoint_config(EndpointConfigName=f"{ENDPOINT}-config")
    with pytest.raises(
        EndpointNotReadable, match=rf"endpoint {ENDPOINT} serves endpoint config {ENDPOINT}-config, which cannot be"
    ):
        read_endpoint_anchor(sagemaker, ENDPOINT)


def _stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("sagemaker", region_name=REGION, config=RETRY_CONFIG)
    stub = Stubber(client)
    stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": ENDPOINT,
            "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{ENDPOINT}",
            "EndpointConfigName": "EndpointConfig-old",
            "EndpointStatus": "Updating",
            "CreationTime": datetime(2026, 10, 1, tzinfo=UTC),
            "LastModifiedTime": datetime(2026, 11, 3, tzinfo=UTC),
            "PendingDeploymentSummary": {"EndpointConfigName": "EndpointConfig-new"},
        },
        {"EndpointName": ENDPOINT},
    )
    return client, stub


def test_a_config_the_function_may_not_describe_says_a_deployment_may_be_moving_the_endpoint() -> None:
    """The plan function may describe only the config its stack deployed; mid-deployment the endpoint still
    names the old one (the new one is pending). moto enforces no IAM: the refusal is stubbed."""
    client, stub = _stubbed()
    stub.add_client_error(
        "describe_endpoint_config",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: sagemaker:DescribeEndpointConfig",
        http_status_code=400,
        expected_params={"EndpointConfigName": "EndpointConfig-old"},
    )
    with stub, pytest.raises(EndpointNotReadable, match="serves endpoint config EndpointConfig-old, which this"):
        read_endpoint_anchor(client, ENDPOINT)


def test_other_errors_propagate_unchanged() -> None:
    client, stub = _stubbed()
    stub.add_client_error("describe_endpoint_config", service_error_code="InternalFailure", http_status_code=500)
    with stub, pytest.raises(ClientError, match="InternalFailure"):
        read_endpoint_anchor(client, ENDPOINT)
