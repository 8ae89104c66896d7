"""Both weight Lambdas publish the weights they applied as DeclaredWeight, best effort."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import set_weights.handler as set_weights
from endpoint_weights.declared_metric import publish_declared_weights
from tests.lambdas.conftest import ENDPOINT, REGION, LambdaContext, create_endpoint, live_weights
from tests.lambdas.test_srm_handler import NAMESPACE, published
from tests.lambdas.test_weights_provider import cfn_event, run_to_completion


@pytest.fixture(autouse=True)
def namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)


@pytest.fixture
def cloudwatch() -> Any:
    return boto3.client("cloudwatch", region_name=REGION)


def test_custom_resource_publishes_the_weights_once_they_are_in_place(sagemaker, cloudwatch, monkeypatch):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    monkeypatch.setattr("weights_provider.handler.publish_declared_weights", _with_client(cloudwatch))
    run_to_completion(cfn_event("Create", {"Variant1": "25", "Variant2": "75"}), sagemaker)
    assert published(cloudwatch) == {("DeclaredWeight", "Variant1"): 25.0, ("DeclaredWeight", "Variant2"): 75.0}


def test_set_weights_publishes_the_weights_it_applied(sagemaker, cloudwatch):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_weights.handle({"weights": {"Variant1": 0}}, LambdaContext(), client=sagemaker, cloudwatch=cloudwatch)
    assert published(cloudwatch) == {("DeclaredWeight", "Variant1"): 0.0, ("DeclaredWeight", "Variant2"): 1.0}


def test_a_cloudwatch_failure_does_not_fail_the_weight_change(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    broken = boto3.client("cloudwatch", region_name=REGION)
    stubber = Stubber(broken)
    stubber.add_client_error("put_metric_data", service_error_code="InternalServiceError", http_status_code=500)
    with stubber:
        result = set_weights.handle(
            {"weights": {"Variant1": 25, "Variant2": 75}}, LambdaContext(), client=sagemaker, cloudwatch=broken
        )
    assert result["weights"] == {"Variant1": 25.0, "Variant2": 75.0}
    assert live_weights(sagemaker) == {"Variant1": 25.0, "Variant2": 75.0}


def test_without_a_namespace_nothing_is_published(cloudwatch, monkeypatch):
    monkeypatch.delenv("METRICS_NAMESPACE")
    assert publish_declared_weights(ENDPOINT, {"Variant1": 1.0}, cloudwatch=cloudwatch) is False
    assert cloudwatch.list_metrics()["Metrics"] == []


def _with_client(cloudwatch: Any) -> Any:
    def publish(endpoint_name: str, weights: Any, **_: Any) -> bool:
        return publish_declared_weights(endpoint_name, weights, cloudwatch=cloudwatch)

    return publish
