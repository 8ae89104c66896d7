#!/usr/bin/env python3
"""The whole A/B lifecycle on a local AWS emulator, no account needed: ``make local-demo``.

1. deploy the default app (two variants, weights 1:1) through CloudFormation;
2. invoke the endpoint by weight and with ``TargetVariant``;
3. evaluate both variants on a generated labelled data set;
4. shift traffic to 25/75 with the weight parameters, then to 0/100 with the set-weights Lambda;
5. remove ``Variant1`` with a config change and show that the remaining weights are the declared ones.

Everything runs on 127.0.0.1: moto's server (``scripts/local_aws.py`` lists what it does not
reproduce and how each gap is bridged) and a stub InvokeEndpoint server that scores rows with two
real models. Both stop at the end; no process is left behind. The e2e tests run these same steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

from scripts.generate_churn_data import generate, to_csv  # noqa: E402
from scripts.local_aws import KEYS, LocalAws, custom_resource_event  # noqa: E402
from scripts.stub_sagemaker_runtime import StubRuntime  # noqa: E402

STACK = "AbTest-churn-ab"
NAMESPACE = "SageMakerABTesting"


def synth(config: Mapping[str, Any], outdir: Path) -> dict[str, Any]:
    """``python app.py`` for ``config`` into ``outdir`` (as ``cdk synth`` runs it); the template."""
    config_path = outdir.with_suffix(".json")
    config_path.write_text(json.dumps(config))
    env = dict(
        os.environ,
        CDK_CONTEXT_JSON=json.dumps({**_cdk_context(), "config": str(config_path)}),
        CDK_OUTDIR=str(outdir),
        CDK_DISABLE_CLI_TELEMETRY="true",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads((outdir / f"{STACK}.template.json").read_text())


def _cdk_context() -> dict[str, Any]:
    return json.loads((ROOT / "cdk.json").read_text())["context"]


class Lifecycle:
    """The five steps, each returning what it observed (the demo prints, the tests assert)."""

    def __init__(self, local: LocalAws, workdir: Path, say: Callable[[str], None] = print) -> None:
        self.local = local
        self.workdir = workdir
        self.say = say
        self.stub: StubRuntime | None = None
        self.outputs: dict[str, str] = {}
        self.weights_resource: dict[str, Any] = {}
        self.parameters: dict[str, str] = {}

    def _config(self, drop: str | None = None) -> dict[str, Any]:
        config = json.loads((ROOT / "config" / "default.json").read_text())
        if drop:
            endpoint = config["endpoints"][0]
            endpoint["variants"] = [v for v in endpoint["variants"] if v["name"] != drop]
        return config

    @property
    def endpoint(self) -> str:
        return self.outputs["EndpointName"]

    def live_weights(self) -> dict[str, float]:
        described = self.local.client("sagemaker").describe_endpoint(EndpointName=self.endpoint)
        return {v["VariantName"]: v.get("CurrentWeight", 0.0) for v in described["ProductionVariants"]}

    # --- 1 ---------------------------------------------------------------------------------------

    def deploy(self) -> dict[str, Any]:
        self.say("1. Deploy two variants with weights 1:1")
        template = synth(self._config(), self.workdir / "cdk.out")
        self.local.bootstrap()
        self.local.publish_assets(self.workdir / "cdk.out", STACK)
        self.parameters = {"WeightVariant1": "1", "WeightVariant2": "1"}
        stack = self.local.create_stack(STACK, template, self.parameters)
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        self.weights_resource = self.local.last_custom_resource_event
        self.stub = StubRuntime(self.endpoint).start()
        self.local.runtime_url = self.stub.url
        weights = self.live_weights()
        self.say(f"   stack {stack['StackStatus']}; endpoint {self.endpoint}; weights {weights}")
        return {"status": stack["StackStatus"], "weights": weights, "outputs": self.outputs}

    # --- 2 ---------------------------------------------------------------------------------------

    def invoke(self, requests: int = 400) -> dict[str, Any]:
        assert self.stub is not None
        self.say(f"2. Invoke the endpoint: {requests} requests by weight, {requests // 4} with TargetVariant=Variant2")
        import boto3

        runtime = boto3.client("sagemaker-runtime", endpoint_url=self.stub.url, **KEYS)
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
        self.local.client("s3").put_object(
            Bucket=bucket, Key="datasets/churn.csv", Body=to_csv(generate(rows, seed=7)).encode()
        )
        result = self.local.invoke(
            self.outputs["EvaluationFunctionName"],
            {"data_uri": f"s3://{bucket}/datasets/churn.csv", "bootstrap_resamples": 200},
        )
        (verdict,) = result["verdicts"]
        self.say(f"   verdict: {verdict['winner'] or 'no winner'} ({verdict['reason'][:110]}...)")
        self.say(f"   report: {result['reports']['markdown']}")
        return result

    # --- 4 ---------------------------------------------------------------------------------------

    def shift(self) -> dict[str, Any]:
        self.say("4. Shift traffic: 25/75 with the weight parameters, then 0/100 with the set-weights Lambda")
        template = json.loads((self.workdir / "cdk.out" / f"{STACK}.template.json").read_text())
        old = dict(self.weights_resource["ResourceProperties"])
        self.parameters = {"WeightVariant1": "25", "WeightVariant2": "75"}
        stack = self.local.update_stack(STACK, template, self.parameters)
        new = {**old, "Weights": {"Variant1": "25", "Variant2": "75"}}
        self._update_weights_resource(old, new)
        after_parameters = self.live_weights()
        self.say(f"   stack {stack['StackStatus']}; weights {after_parameters}")
        result = self.local.invoke(
            self.outputs["SetWeightsFunctionName"], {"weights": {"Variant1": 0, "Variant2": 100}}
        )
        self.say(f"   set-weights Lambda returned {result['weights']}")
        return {
            "status": stack["StackStatus"],
            "after_parameters": after_parameters,
            "after_lambda": self.live_weights(),
        }

    def _update_weights_resource(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
        """moto never sends Update events: send CloudFormation's, with its exact shape."""
        event = custom_resource_event(
            "Update",
            stack_id=self.weights_resource["StackId"],
            logical_id=self.weights_resource["LogicalResourceId"],
            resource_type=self.weights_resource["ResourceType"],
            properties=new,
            physical_id=f"{self.endpoint}/weights",
            old_properties=old,
        )
        response = self.local.run_custom_resource(event)
        if response["Status"] != "SUCCESS":
            raise RuntimeError(f"weights custom resource failed: {response.get('Reason')}")
        self.weights_resource = {**self.weights_resource, "ResourceProperties": event["ResourceProperties"]}
        return response

    # --- 5 ---------------------------------------------------------------------------------------

    def retire(self) -> dict[str, Any]:
        self.say("5. Retire Variant1: remove it from the config and deploy")
        template = synth(self._config(drop="Variant1"), self.workdir / "cdk.out.retired")
        self.local.publish_assets(self.workdir / "cdk.out.retired", STACK)
        self.parameters = {"WeightVariant2": self.parameters["WeightVariant2"]}
        stack = self.local.update_stack(STACK, template, self.parameters)
        retained = self.live_weights()
        self.say(f"   endpoint moved to the new config, live weight retained: {retained}")
        config_name = self.local.client("sagemaker").describe_endpoint(EndpointName=self.endpoint)["EndpointConfigName"]
        old = dict(self.weights_resource["ResourceProperties"])
        new = {**old, "EndpointConfigName": config_name, "Weights": {"Variant2": self.parameters["WeightVariant2"]}}
        self._update_weights_resource(old, new)
        weights = self.live_weights()
        self.say(
            f"   stack {stack['StackStatus']}; weights re-applied by the custom resource: {weights} (declared: 75)"
        )
        return {
            "status": stack["StackStatus"],
            "retained": retained,
            "weights": weights,
            "endpoint_config": config_name,
        }

    def close(self) -> None:
        if self.stub:
            self.stub.stop()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="local-demo-") as tmp, LocalAws() as local:
        print(f"Local AWS (moto) on {local.url}; nothing leaves 127.0.0.1.")
        lifecycle = Lifecycle(local, Path(tmp))
        try:
            lifecycle.deploy()
            lifecycle.invoke()
            lifecycle.evaluate()
            lifecycle.shift()
            lifecycle.retire()
        finally:
            lifecycle.close()
    print("Done: emulator and stub stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
