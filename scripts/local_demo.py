#!/usr/bin/env python3
"""What the CDK CLI cannot show, on the same local server: ``make local-demo-python``.

``make local-demo`` runs the lifecycle as ``npx cdk`` commands. This demo deploys the same way
(the CLI against ``scripts/local_aws.py serve``) and then does what no ``cdk`` command does:

1. deploy the default app (two variants, weights 1:1) with ``npx cdk deploy``;
2. invoke the endpoint by weight and with ``TargetVariant`` (a stub InvokeEndpoint server that
   scores rows with two real models: moto's InvokeEndpoint returns canned bodies);
3. invoke the evaluation Lambda on a generated labelled data set (Lambda Invoke on the server,
   which runs the packaged function);
4. shift traffic to 25/75 with ``npx cdk deploy --parameters``, then to 0/100 with the
   set-weights Lambda;
5. remove ``Variant1`` with a config change (``npx cdk deploy -c config=…``): the endpoint ends
   with the declared weight.

Everything runs on 127.0.0.1; the server and the stub stop at the end. ``tests/e2e/test_lifecycle.py``
runs these same steps with assertions.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from scripts.generate_churn_data import generate, to_csv  # noqa: E402
from scripts.local_cli_demo import STACK, CliLifecycle, local_server, without_variant  # noqa: E402
from scripts.stub_sagemaker_runtime import StubRuntime  # noqa: E402

NAMESPACE = "SageMakerABTesting"
LAMBDA_READ_TIMEOUT = 900  # seconds: the evaluation function's own timeout (15 minutes)


class LambdaError(RuntimeError):
    """The function raised; the message is Lambda's ``errorType: errorMessage``."""


class Lifecycle:
    """The five steps, each returning what it observed (the demo prints, the tests assert)."""

    def __init__(self, url: str, stub: StubRuntime, workdir: Path, say: Callable[[str], None] = print) -> None:
        self.cli = CliLifecycle(url, workdir, say=lambda line: say("   " + line))
        self.stub = stub
        self.workdir = workdir
        self.say = say
        self.outputs: dict[str, str] = {}

    def client(self, service: str) -> Any:
        return self.cli.client(service)

    @property
    def endpoint(self) -> str:
        return self.outputs["EndpointName"]

    def live_weights(self) -> dict[str, float]:
        described = self.client("sagemaker").describe_endpoint(EndpointName=self.endpoint)
        return {v["VariantName"]: v.get("CurrentWeight", 0.0) for v in described["ProductionVariants"]}

    def invoke_function(self, name: str, event: dict[str, Any]) -> Any:
        """Lambda Invoke on the server (which runs the packaged function); its result or LambdaError."""
        client = boto3.client(
            "lambda",
            endpoint_url=self.cli.url,
            region_name=self.cli.env["AWS_REGION"],
            aws_access_key_id=self.cli.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.cli.env["AWS_SECRET_ACCESS_KEY"],
            config=Config(read_timeout=LAMBDA_READ_TIMEOUT, retries={"max_attempts": 1}),
        )
        answer = client.invoke(FunctionName=name, Payload=json.dumps(event).encode())
        payload = json.loads(answer["Payload"].read())
        if answer.get("FunctionError"):
            raise LambdaError(f"{payload['errorType']}: {payload['errorMessage']}")
        return payload

    def _deploy(self, *extra: str) -> dict[str, Any]:
        step = self.cli.cdk("deploy", STACK, "--require-approval", "never", *extra)
        if step["returncode"] != 0:
            raise RuntimeError(f"cdk deploy failed: {step['output'][-2000:]}")
        stack = self.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return step

    # --- 1 ---------------------------------------------------------------------------------------

    def deploy(self) -> dict[str, Any]:
        self.say("1. Deploy two variants with weights 1:1")
        bootstrap = self.cli.cdk("bootstrap")
        if bootstrap["returncode"] != 0:
            raise RuntimeError(f"cdk bootstrap failed: {bootstrap['output'][-2000:]}")
        step = self._deploy()
        self.stub.endpoint_name = self.endpoint  # moto names the endpoint; the stub answers for it
        return {"status": step["stack_status"], "weights": self.live_weights(), "outputs": self.outputs}

    # --- 2 ---------------------------------------------------------------------------------------

    def invoke(self, requests: int = 400) -> dict[str, Any]:
        self.say(f"2. Invoke the endpoint: {requests} requests by weight, {requests // 4} with TargetVariant=Variant2")
        runtime = boto3.client(
            "sagemaker-runtime",
            endpoint_url=self.stub.url,
            region_name=self.cli.env["AWS_REGION"],
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 (a loopback stub)
        )
        row = ",".join(str(v) for v in generate(1, seed=3)[0][1])
        by_weight: dict[str, int] = {}
        for _ in range(requests):
            answer = runtime.invoke_endpoint(EndpointName=self.endpoint, ContentType="text/csv", Body=row.encode())
            variant = answer["InvokedProductionVariant"]
            by_weight[variant] = by_weight.get(variant, 0) + 1
        targeted: dict[str, int] = {}
        for _ in range(requests // 4):
            answer = runtime.invoke_endpoint(
                EndpointName=self.endpoint, TargetVariant="Variant2", ContentType="text/csv", Body=row.encode()
            )
            variant = answer["InvokedProductionVariant"]
            targeted[variant] = targeted.get(variant, 0) + 1
        self.say(f"   by weight: {by_weight}; with TargetVariant: {targeted}")
        return {"by_weight": by_weight, "targeted": targeted}

    # --- 3 ---------------------------------------------------------------------------------------

    def evaluate(self, rows: int = 2000) -> dict[str, Any]:
        self.say(f"3. Evaluate both variants on {rows} generated labelled rows (evaluation Lambda)")
        bucket = self.outputs["EvaluationBucketName"]
        self.client("s3").put_object(
            Bucket=bucket, Key="datasets/churn.csv", Body=to_csv(generate(rows, seed=7)).encode()
        )
        result = self.invoke_function(
            self.outputs["EvaluationFunctionName"],
            {"data_uri": f"s3://{bucket}/datasets/churn.csv", "bootstrap_resamples": 200},
        )
        (verdict,) = result["verdicts"]
        self.say(f"   verdict: {verdict['winner'] or 'no winner'} ({verdict['reason'][:110]}...)")
        self.say(f"   report: {result['reports']['markdown']}")
        return dict(result)

    # --- 4 ---------------------------------------------------------------------------------------

    def shift(self) -> dict[str, Any]:
        self.say("4. Shift traffic: 25/75 with the weight parameters, then 0/100 with the set-weights Lambda")
        step = self._deploy(
            *("--parameters", f"{STACK}:WeightVariant1=25", "--parameters", f"{STACK}:WeightVariant2=75")
        )
        after_parameters = self.live_weights()
        result = self.invoke_function(
            self.outputs["SetWeightsFunctionName"], {"weights": {"Variant1": 0, "Variant2": 100}}
        )
        self.say(f"   set-weights Lambda returned {result['weights']}")
        return {
            "status": step["stack_status"],
            "after_parameters": after_parameters,
            "after_lambda": self.live_weights(),
        }

    # --- 5 ---------------------------------------------------------------------------------------

    def retire(self) -> dict[str, Any]:
        self.say("5. Retire Variant1: remove it from the config and deploy")
        step = self._deploy("-c", f"config={without_variant('Variant1', self.workdir)}")
        weights = self.live_weights()
        self.say(f"   weights re-applied by the custom resource: {weights} (declared: 75)")
        config_name = self.client("sagemaker").describe_endpoint(EndpointName=self.endpoint)["EndpointConfigName"]
        return {"status": step["stack_status"], "weights": weights, "endpoint_config": config_name}


def main() -> int:
    with (
        tempfile.TemporaryDirectory(prefix="local-demo-") as tmp,
        StubRuntime("not-deployed-yet") as stub,
        local_server(Path(tmp) / "server.log", runtime_url=stub.url) as url,
    ):
        print(f"Local AWS (moto + scripts/local_aws.py) on {url}, InvokeEndpoint stub on {stub.url}.")
        lifecycle = Lifecycle(url, stub, Path(tmp))
        lifecycle.deploy()
        lifecycle.invoke()
        lifecycle.evaluate()
        lifecycle.shift()
        lifecycle.retire()
    print("Done: server and stub stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
