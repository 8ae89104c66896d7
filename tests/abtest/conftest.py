"""A deployed A/B stack in moto's in-process AWS, and `abtest` run against it with Typer's CliRunner.

moto cannot deploy the real template in-process (no Lambda without Docker, no custom resources),
so the fixture builds what the command reads: the endpoint (SageMaker), a stack named
``AbTest-churn-ab`` with the app's weight parameters and outputs (CloudFormation), the rollout
state machine (Step Functions). Where moto lacks a behaviour the command depends on, the test
plays it with the project's real code (the weights custom resource, the set-weights Lambda).
The whole path through real CloudFormation and Lambda runs in tests/e2e/test_abtest_cli.py.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from typer.testing import CliRunner

from scripts.abtest.aws import Clients
from scripts.abtest.cli import Deps, app

REGION = "us-east-1"
ENDPOINT = "churn-ab"  # the config's name
ENDPOINT_NAME = "churn-ab-7f3a"  # the physical name, read from the stack's output
STACK = "AbTest-churn-ab"
SET_WEIGHTS = "AbTest-churn-ab-SetWeightsFunction"
EVALUATION = "AbTest-churn-ab-EvaluationFunction"
BUCKET = "abtest-churn-ab-evaluation"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/rollout"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-1-cpu-py3"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
# One session for every test: it caches the service models, which take most of a client's
# creation time (about 2 s for the six services here, each test). Credentials are read when a
# client is created, inside each test's moto.
SESSION = boto3.session.Session(region_name=REGION)


def template(state_machine_arn: str) -> str:
    """The parts of the app's template `abtest` reads: weight parameters and outputs."""
    return json.dumps(
        {
            "Parameters": {
                "WeightVariant1": {"Type": "Number", "Default": 1, "MinValue": 0},
                "WeightVariant2": {"Type": "Number", "Default": 1, "MinValue": 0},
            },
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                "EndpointName": {"Value": ENDPOINT_NAME},
                "SetWeightsFunctionName": {"Value": SET_WEIGHTS},
                "EvaluationFunctionName": {"Value": EVALUATION},
                "EvaluationBucketName": {"Value": BUCKET},
                "RolloutStateMachineArn": {"Value": state_machine_arn},
            },
        }
    )


class InProcessLambda:
    """Lambda Invoke answered by the project's own handlers, run in-process against moto.

    moto runs Lambda code only in Docker. This answers in Invoke's response shape: 200 with the
    result, or with ``FunctionError: Unhandled`` and ``{"errorType", "errorMessage"}`` when the
    handler raises; an unknown function is Lambda's ResourceNotFoundException.
    """

    def __init__(self, functions: dict[str, Callable[[Any], Any]]) -> None:
        self.functions = functions
        self.calls: list[tuple[str, Any]] = []
        self._errors = SESSION.client("lambda")

    def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:
        event = json.loads(Payload)
        self.calls.append((FunctionName, event))
        if FunctionName not in self.functions:
            return self._errors.invoke(FunctionName=FunctionName, Payload=Payload)  # moto: ResourceNotFound
        try:
            body, error = self.functions[FunctionName](event), None
        except Exception as err:
            body, error = {"errorType": type(err).__name__, "errorMessage": str(err)}, "Unhandled"
        answer: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(body, default=str).encode())}
        if error:
            answer["FunctionError"] = error
        return answer


class PlaysWeightsCustomResource:
    """moto's CloudFormation client, plus what CloudFormation does on ExecuteChangeSet that moto
    does not: sends the weights custom resource an Update with the new parameter values, as
    strings, and runs the project's real handler (lambdas/weights_provider) against moto."""

    def __init__(self, real: Any, sagemaker: Any) -> None:
        self._real = real
        self._sagemaker = sagemaker
        self.updates: list[dict[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def execute_change_set(self, **kwargs: Any) -> Any:
        from weights_provider.handler import on_event

        answer = self._real.execute_change_set(**kwargs)
        stack = self._real.describe_stacks(StackName=kwargs["StackName"])["Stacks"][0]
        weights = {
            p["ParameterKey"].removeprefix("Weight"): p["ParameterValue"]
            for p in stack["Parameters"]
            if p["ParameterKey"].startswith("Weight")
        }
        self.updates.append(weights)
        on_event(
            {"RequestType": "Update", "ResourceProperties": {"EndpointName": ENDPOINT_NAME, "Weights": weights}},
            None,
            client=self._sagemaker,
        )
        return answer


@dataclass
class Deployed:
    clients: Clients
    lambda_: InProcessLambda
    cloudformation: PlaysWeightsCustomResource
    state_machine_arn: str
    runner: CliRunner

    def run(self, *args: str) -> Any:
        deps = Deps(clients=lambda region: self.clients, now=lambda: NOW, sleep=lambda _: None, poll_seconds=0.01)
        return self.runner.invoke(app, list(args), obj=deps)

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, result.output + result.stderr
        return json.loads(result.stdout)

    def live_weights(self) -> dict[str, float]:
        described = self.clients.sagemaker.describe_endpoint(EndpointName=ENDPOINT_NAME)
        return {v["VariantName"]: v["CurrentWeight"] for v in described["ProductionVariants"]}

    def declared(self) -> dict[str, str]:
        stack = self.clients.cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
        return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region, moto in-process: nothing can reach a real account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield


def _endpoint(sagemaker: Any) -> None:
    variants = []
    for variant in ("Variant1", "Variant2"):
        model = f"{ENDPOINT_NAME}-{variant}".lower()
        sagemaker.create_model(
            ModelName=model,
            ExecutionRoleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sagemaker",
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://models/{variant}/model.tar.gz"},
        )
        variants.append(
            {
                "VariantName": variant,
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "InitialVariantWeight": 1.0,
            }
        )
    sagemaker.create_endpoint_config(EndpointConfigName=f"{ENDPOINT_NAME}-config", ProductionVariants=variants)
    sagemaker.create_endpoint(EndpointName=ENDPOINT_NAME, EndpointConfigName=f"{ENDPOINT_NAME}-config")


@pytest.fixture
def deployed(aws: None, monkeypatch: pytest.MonkeyPatch) -> Deployed:
    from set_weights.handler import handle as set_weights

    session = SESSION
    sagemaker = session.client("sagemaker")
    cloudwatch = session.client("cloudwatch")
    stepfunctions = session.client("stepfunctions")
    _endpoint(sagemaker)
    machine = stepfunctions.create_state_machine(
        name="RolloutStateMachine",
        definition=json.dumps({"StartAt": "Prepare", "States": {"Prepare": {"Type": "Pass", "End": True}}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(StackName=STACK, TemplateBody=template(machine))
    session.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setitem(os.environ, "ENDPOINT_NAME", ENDPOINT_NAME)  # the set-weights function's environment
    lambda_ = InProcessLambda(
        {SET_WEIGHTS: lambda event: set_weights(event, None, client=sagemaker, cloudwatch=cloudwatch)}
    )
    playing = PlaysWeightsCustomResource(cloudformation, sagemaker)
    clients = Clients(
        sagemaker=sagemaker,
        cloudformation=playing,
        cloudwatch=cloudwatch,
        stepfunctions=stepfunctions,
        lambda_=lambda_,
        s3=session.client("s3"),
    )
    return Deployed(clients, lambda_, playing, machine, CliRunner())
