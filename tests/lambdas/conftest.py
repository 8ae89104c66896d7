"""Lambda tests run against moto's in-process SageMaker, with the event shapes AWS really sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from endpoint_weights.endpoint import RETRY_CONFIG

REGION = "us-east-1"
ENDPOINT = "churn-ab"
ROLE_ARN = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sagemaker-execution"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-1-cpu-py3"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region, so nothing can reach a real account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def sagemaker() -> Any:
    """The client the handlers get injected: same retry settings as in Lambda."""
    return boto3.client("sagemaker", region_name=REGION, config=RETRY_CONFIG)


def create_endpoint(
    client: Any, weights: dict[str, float], name: str = ENDPOINT, counts: int = 1, config_name: str = ""
) -> None:
    """An InService endpoint with one variant per entry of ``weights``, on endpoint config ``config_name``
    (default ``<name>-config``)."""
    config_name = config_name or f"{name}-config"
    variants = []
    for variant, weight in weights.items():
        model = f"{name}-{variant}".lower()
        client.create_model(
            ModelName=model,
            ExecutionRoleArn=ROLE_ARN,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://models/{variant}/model.tar.gz"},
        )
        variants.append(
            {
                "VariantName": variant,
                "ModelName": model,
                "InitialInstanceCount": counts,
                "InstanceType": "ml.m5.xlarge",
                "InitialVariantWeight": weight,
            }
        )
    client.create_endpoint_config(EndpointConfigName=config_name, ProductionVariants=variants)
    client.create_endpoint(EndpointName=name, EndpointConfigName=config_name)


def live_weights(client: Any, name: str = ENDPOINT) -> dict[str, float]:
    described = client.describe_endpoint(EndpointName=name)
    # moto omits CurrentWeight for a variant *created* with weight 0; AWS reports 0.0.
    return {v["VariantName"]: v.get("CurrentWeight", 0.0) for v in described["ProductionVariants"]}


def set_endpoint_status(status: str, name: str = ENDPOINT) -> None:
    """moto's endpoints are InService at once and never Creating/Updating/Failed.

    Real endpoints pass through those states, so the tests drive the status themselves
    in moto's backend to exercise the waiting and failure paths.
    """
    from moto.sagemaker.models import sagemaker_backends

    sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].endpoints[name].endpoint_status = status


class LambdaContext:
    """The part of Lambda's context object the handlers read."""

    def __init__(self, remaining_ms: int = 900_000):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Any]]:
    """A SageMaker client under botocore's Stubber, with every queued answer consumed by the test's end."""
    client = boto3.client("sagemaker", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect_describe(stubber: Stubber, answer: dict[str, Any]) -> None:
    """Queue DescribeEndpoint's ``answer`` for the tests' endpoint."""
    stubber.add_response("describe_endpoint", answer, {"EndpointName": ENDPOINT})
