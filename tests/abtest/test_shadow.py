"""`abtest` on a shadow-stage endpoint: a shadow row instead of drift, SRM and rollout, and the weight and
rollout commands refused naming the stage.

moto's DescribeEndpoint does not return ShadowProductionVariants, so the fixture's SageMaker client adds
the shadow in the API's shape (DescribeEndpoint API reference: a list of ProductionVariantSummary, the
same fields as ProductionVariants). The stack is what a shadow config synthesizes: no weight parameter and
no RolloutStateMachineArn output (tests/stacks/test_shadow_stack.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from scripts.abtest.aws import Clients
from tests.abtest.conftest import ENDPOINT, ENDPOINT_NAME, IMAGE, SESSION, STACK, Deployed, InProcessLambda

PRODUCTION, SHADOW = "Current", "Candidate"
SHADOW_WEIGHT = 0.2  # beside production weight 1.0: 20 % under H1


class WithShadow:
    """moto's SageMaker client; DescribeEndpoint also lists the shadow variant."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def describe_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        answer = self._real.describe_endpoint(**kwargs)
        return {
            **answer,
            "ShadowProductionVariants": [
                {
                    "VariantName": SHADOW,
                    "CurrentWeight": SHADOW_WEIGHT,
                    "DesiredWeight": SHADOW_WEIGHT,
                    "CurrentInstanceCount": 1,
                    "DesiredInstanceCount": 1,
                }
            ],
        }


@pytest.fixture
def shadow_stage(aws: None) -> Deployed:
    from typer.testing import CliRunner

    sagemaker = SESSION.client("sagemaker")
    model = f"{ENDPOINT_NAME}-{PRODUCTION}".lower()
    sagemaker.create_model(
        ModelName=model,
        ExecutionRoleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sagemaker",
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://models/current/model.tar.gz"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{ENDPOINT_NAME}-config",
        ProductionVariants=[
            {
                "VariantName": PRODUCTION,
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "InitialVariantWeight": 1.0,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT_NAME, EndpointConfigName=f"{ENDPOINT_NAME}-config")
    cloudformation = SESSION.client("cloudformation")
    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(
            {
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"EndpointName": {"Value": ENDPOINT_NAME}, "SetWeightsFunctionName": {"Value": "f"}},
            }
        ),
    )
    lambda_ = InProcessLambda({})
    clients = Clients(
        sagemaker=WithShadow(sagemaker),
        cloudformation=cloudformation,
        cloudwatch=SESSION.client("cloudwatch"),
        stepfunctions=SESSION.client("stepfunctions"),
        lambda_=lambda_,
        s3=SESSION.client("s3"),
    )
    return Deployed(clients, lambda_, cloudformation, "", CliRunner())


def test_status_shows_the_shadow_row_and_skips_drift_srm_and_rollout(shadow_stage):
    report = shadow_stage.json("status", ENDPOINT)
    assert report["drift"] is False
    assert [(v["variant"], v["live_weight"], v["drift"]) for v in report["variants"]] == [(PRODUCTION, 1.0, False)]
    (shadow,) = report["shadow"]["variants"]
    assert (shadow["variant"], shadow["instances"], shadow["current_weight"]) == (SHADOW, 1, SHADOW_WEIGHT)
    assert shadow["sampling_percentage"] == pytest.approx(20.0)
    assert "shadow stage" in report["shadow"]["note"]
    assert report["rollout"] == {"running": [], "error": None}
    assert report["srm"] == {"p_value": None, "at": None, "error": None}


def test_status_on_a_terminal_shows_the_shadow_and_no_drift(shadow_stage):
    result = shadow_stage.run("status", ENDPOINT)
    assert result.exit_code == 0, result.output + result.stderr
    text = " ".join(result.stdout.split())
    assert "DRIFT" not in text
    assert SHADOW in text and "20 %" in text
    assert "shadow stage" in text
    assert "Rollout:" not in text and "SRM p-value" not in text


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["weights", "set", ENDPOINT, f"{PRODUCTION}=1"], "setting weights"),
        (["weights", "set", ENDPOINT, f"{PRODUCTION}=1", "--via", "lambda"], "setting weights"),
        (["weights", "record", ENDPOINT], "recording weights"),
        (["rollout", "start", ENDPOINT, "--candidate", SHADOW], "a rollout"),
        (["rollout", "status", ENDPOINT], "a rollout"),
        (["rollout", "stop", ENDPOINT], "a rollout"),
    ],
)
def test_weight_and_rollout_commands_refuse_naming_the_shadow_stage(shadow_stage, args, what):
    result = shadow_stage.run(*args)
    message = " ".join(result.stderr.split())
    assert result.exit_code == 2, result.output + result.stderr
    assert f"{ENDPOINT} is in the shadow stage (shadow variant {SHADOW}): {what} does not apply" in message
    assert not shadow_stage.lambda_.calls
