#!/usr/bin/env python3
"""What the CDK CLI cannot show, on the same local server: ``make local-demo-python``.

``make local-demo`` runs the lifecycle as ``npx cdk`` commands. This demo deploys the same way
(the CLI against ``scripts/local_aws.py serve``) and then does what no ``cdk`` command does:

1. deploy the default app (two variants, weights 1:1) with ``npx cdk deploy``;
2. invoke the endpoint by weight and with ``TargetVariant`` (a stub InvokeEndpoint server that
   scores rows with two real models: moto's InvokeEndpoint returns canned bodies);
3. invoke the evaluation Lambda on a generated labelled data set (Lambda Invoke on the server,
   which runs the packaged function);
4. live quality: requests with ``InferenceId`` (generated rows whose true labels are known), captured
   by the stub as SageMaker's data capture does where the deployed config says; labels for a share of
   them in SageMaker's ground-truth format under ``ground-truth/``; the live-quality query on DuckDB
   over copies of both prefixes, and the report's summary. The deployed config captures 20 % of
   requests (the default), so about four labels in five name a request that was never captured: the
   report counts them as labels for requests not captured, against what 20 % sampling explains;
5. shift traffic to 25/75 with ``npx cdk deploy --parameters``, then to 0/100 with the
   set-weights Lambda;
6. remove ``Variant1`` with a config change (``npx cdk deploy -c config=…``): the endpoint ends
   with the declared weight.

Everything runs on 127.0.0.1; the server and the stub stop at the end. ``tests/e2e/test_lifecycle.py``
runs these same steps with assertions.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from live_quality.endpoint_anchor import read_endpoint_anchor  # noqa: E402
from scripts import local_live_quality as live  # noqa: E402
from scripts.generate_churn_data import generate, to_csv  # noqa: E402
from scripts.local_cli_demo import (  # noqa: E402
    DEFAULT_CONFIG,
    STACK,
    CliLifecycle,
    local_server,
    without_variant,
)
from scripts.stub_capture import CaptureSettings, DataCapture, DeployedCaptureConfig  # noqa: E402
from scripts.stub_sagemaker_runtime import StubRuntime  # noqa: E402

NAMESPACE = "SageMakerABTesting"
LAMBDA_READ_TIMEOUT = 900  # seconds: the evaluation function's own timeout (15 minutes)


class LambdaError(RuntimeError):
    """The function raised; the message is Lambda's ``errorType: errorMessage``."""


class Lifecycle:
    """The six steps, each returning what it observed (the demo prints, the tests assert).

    ``cli``: the CLI lifecycle to deploy with (``make local-demo`` shares its own); default a new one.
    The stub captures requests as SageMaker does, where the deployed endpoint config says.
    """

    def __init__(
        self,
        url: str,
        stub: StubRuntime,
        workdir: Path,
        say: Callable[[str], None] = print,
        *,
        cli: CliLifecycle | None = None,
    ) -> None:
        self.cli = cli or CliLifecycle(url, workdir, say=lambda line: say("   " + line))
        self.stub = stub
        self.workdir = workdir
        self.say = say
        self.outputs: dict[str, str] = {}
        self.capture_config = DeployedCaptureConfig(self.client("sagemaker"))
        if stub.capture is None:
            stub.capture = DataCapture(self.capture_config, self.client("s3"), seed=12)

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

    def _deploy(self, *extra: str, config: Path | None = None) -> dict[str, Any]:
        """``npx cdk deploy`` with ``config`` (default: the one the CLI lifecycle deploys, if any)."""
        config = config or self.cli.config
        step = self.cli.cdk(
            "deploy", STACK, "--require-approval", "never", *extra, *(("-c", f"config={config}") if config else ())
        )
        if step["returncode"] != 0:
            raise RuntimeError(f"cdk deploy failed: {step['output'][-2000:]}")
        self.adopt_deployment()
        return step

    def adopt_deployment(self) -> None:
        """Read the deployed stack's outputs; the stub answers for its endpoint (moto names it)."""
        stack = self.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        self.stub.endpoint_name = self.endpoint

    # --- 1 ---------------------------------------------------------------------------------------

    def deploy(self) -> dict[str, Any]:
        self.say("1. Deploy two variants with weights 1:1")
        bootstrap = self.cli.cdk("bootstrap")
        if bootstrap["returncode"] != 0:
            raise RuntimeError(f"cdk bootstrap failed: {bootstrap['output'][-2000:]}")
        step = self._deploy()
        return {"status": step["stack_status"], "weights": self.live_weights(), "outputs": self.outputs}

    # --- 2 ---------------------------------------------------------------------------------------

    def invoke(self, requests: int = 400) -> dict[str, Any]:
        self.say(f"2. Invoke the endpoint: {requests} requests by weight, {requests // 4} with TargetVariant=Variant2")
        runtime = self.runtime_client()
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

    # 6,000: at the default 20 % sampling and about 13 % churners, each variant then has about 80
    # captured, labelled positives, past the comparison's 30 per class ("not enough labels yet" below).
    def live_quality(self, requests: int = 6000, labelled_share: float = 0.8) -> dict[str, Any]:
        self.say(
            f"4. Live quality: {requests} requests with InferenceId, labels for {labelled_share:.0%} of them, "
            "the live-quality query on DuckDB"
        )
        settings = self.deployed_capture()
        self.say(f"   capture: {settings.sampling_percentage} % of requests to {settings.destination}")
        runtime = self.runtime_client()
        first = datetime.now(UTC)
        sent = live.invoke_with_ids(runtime, self.endpoint, generate(requests, seed=21), prefix="churn-live")
        last = datetime.now(UTC)
        # SageMaker delivers capture files within a couple of minutes; the demo asks the stub for them now.
        self.stub.flush_capture()
        labelled = live.choose_labelled(sent, labelled_share, seed=22)
        collected = datetime.now(UTC)
        bucket = self.outputs["EvaluationBucketName"]
        table, labels_uri = live.upload_labels(
            self.client("s3"), bucket, self.endpoint, labelled, self.workdir, collected
        )
        self.say(f"   labels: {len(labelled)} rows of {table.name} -> {labels_uri}")
        self.say(f"   (what `python scripts/labels_to_ground_truth.py {table.name} --out ground-truth/` writes)")
        capture_root, label_root = self.workdir / "live" / "capture", self.workdir / "live" / "labels"
        copied = live.download_prefix(self.client("s3"), settings.destination, capture_root)
        live.download_prefix(self.client("s3"), f"s3://{bucket}/{live.GROUND_TRUTH_PREFIX}/{self.endpoint}", label_root)
        # The window starts where the plan Lambda starts it: the endpoint config's creation, read from the
        # local server's DescribeEndpoint and DescribeEndpointConfig.
        sagemaker = self.client("sagemaker")
        anchor = read_endpoint_anchor(sagemaker, self.endpoint)
        event = live.run_event(anchor, first, last)
        self.say(
            f"   endpoint config {anchor.endpoint_config_name} created {anchor.created:%Y-%m-%d %H:%M:%S} UTC: "
            f"a scheduled run's window starts at {anchor.hour}"
            + (
                f"; the demo's requests are older, so it names anchor_hour {event['anchor_hour']}"
                if "anchor_hour" in event
                else ""
            )
        )
        report = live.plan_query_publish(
            self.endpoint,
            self.variants(),
            event,
            capture_root,
            label_root,
            sagemaker=sagemaker,
            sampling_percentage=settings.sampling_percentage,
        )
        self.say(f"   {copied} capture objects:")
        for line in live.summary(report):
            self.say("   " + line)
        return {"capture": settings, "sent": sent, "labelled": labelled, "event": event, "report": report}

    def deployed_capture(self) -> CaptureSettings:
        """The deployed endpoint config's capture settings (on by default, at 20 %), as the stub captures."""
        settings = self.capture_config(self.endpoint)
        if settings is None:
            raise RuntimeError(
                f"endpoint {self.endpoint} captures nothing: the deployed config turned data_capture off"
            )
        return settings

    def variants(self) -> list[str]:
        """The endpoint's variants in config order (the first is the baseline), as DescribeEndpoint lists them."""
        described = self.client("sagemaker").describe_endpoint(EndpointName=self.endpoint)
        return [v["VariantName"] for v in described["ProductionVariants"]]

    def runtime_client(self) -> Any:
        return boto3.client(
            "sagemaker-runtime",
            endpoint_url=self.stub.url,
            region_name=self.cli.env["AWS_REGION"],
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 (a loopback stub)
        )

    # --- 5 ---------------------------------------------------------------------------------------

    def shift(self) -> dict[str, Any]:
        self.say("5. Shift traffic: 25/75 with the weight parameters, then 0/100 with the set-weights Lambda")
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

    # --- 6 ---------------------------------------------------------------------------------------

    def retire(self) -> dict[str, Any]:
        self.say("6. Retire Variant1: remove it from the config and deploy")
        step = self._deploy(config=without_variant("Variant1", self.workdir, self.cli.config or DEFAULT_CONFIG))
        weights = self.live_weights()
        self.say(f"   weights re-applied by the custom resource: {weights} (declared: 75)")
        config_name = self.client("sagemaker").describe_endpoint(EndpointName=self.endpoint)["EndpointConfigName"]
        return {"status": step["stack_status"], "weights": weights, "endpoint_config": config_name}


def main() -> int:
    with (
        tempfile.TemporaryDirectory(prefix="local-demo-") as tmp,
        StubRuntime("not-deployed-yet") as stub,
        local_server(Path(tmp) / "server.log", runtime_url=stub.url) as url,
        stub.capture_delivered(),
    ):
        print(f"Local AWS (moto + scripts/local_aws.py) on {url}, InvokeEndpoint stub on {stub.url}.")
        lifecycle = Lifecycle(url, stub, Path(tmp))
        lifecycle.deploy()
        lifecycle.invoke()
        lifecycle.evaluate()
        lifecycle.live_quality()
        lifecycle.shift()
        lifecycle.retire()
    print("Done: server and stub stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
