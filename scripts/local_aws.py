"""A local AWS for trying the stacks without an account: moto's server on 127.0.0.1, plus the
few adaptations it needs, all here and each documented with the AWS behaviour it stands in for.

Pinned emulator: moto 5.2.5 (requirements-dev.txt). What differs from AWS, and what we do:

1. **CDK bootstrap.** The template's ``BootstrapVersion`` parameter reads an SSM parameter and
   its assets live in the bootstrap bucket. We create both (:meth:`LocalAws.bootstrap`) and
   upload each asset the way ``cdk deploy`` does: directories zipped, keys from the manifest.
2. **Resource types moto cannot model** (CloudWatch alarms and composite alarms, SNS topic
   policies and subscriptions, S3 bucket policies, Application Auto Scaling) are removed before CreateStack, and
   references to them are replaced by placeholder ARNs (:func:`prepare_template`). moto would
   skip them anyway, but a dashboard's ``Fn::GetAtt`` on a skipped alarm fails the stack.
3. **Lambda functions.** moto runs Lambdas only in Docker (absent here). Functions are run
   from their packaged asset (the zip uploaded to S3) in a subprocess with their configured
   handler, environment and timeout, and with ``AWS_ENDPOINT_URL`` pointing at the emulator:
   what the Lambda service would do (:meth:`LocalAws.invoke`).
4. **Custom resources.** moto sends the Create event to the service-token function and waits
   for a response it will never get (the function needs Docker). We capture that event, play
   the aws-cdk-lib Provider framework (the user ``on_event`` function once, then
   ``is_complete`` until it says so, both run as in 3) and answer moto's response URL.
   CloudFormation sends every property as a string; moto passes numbers through, so the
   bridge converts them. moto never sends Update or Delete events: callers build them in
   CloudFormation's exact shape with :func:`custom_resource_event` and run them here.
5. **UpdateEndpoint.** When an update replaces an endpoint config, CloudFormation calls
   UpdateEndpoint and SageMaker moves the endpoint to the new config, keeping live weights and
   counts as ``RetainAllVariantProperties``/``ExcludeRetainedVariantProperties`` say. moto
   implements neither, and leaves the endpoint on the old config. After UpdateStack, the
   endpoint is moved here with exactly those documented rules (:func:`move_endpoint_to_config`).
6. **Names.** moto ignores ``EndpointName`` and names the endpoint itself: read it from the
   stack's ``EndpointName`` output, as a pipeline would.

What the local mode therefore does not reproduce is listed in the README ("Local mode").
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
from moto.server import ThreadedMotoServer

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
BOOTSTRAP_QUALIFIER = "hnb659fds"
BOOTSTRAP_BUCKET = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{ACCOUNT}-{REGION}"
KEYS = {"aws_access_key_id": "local", "aws_secret_access_key": "local", "region_name": REGION}
UNSUPPORTED_TYPES = frozenset(
    {
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::CompositeAlarm",
        "AWS::SNS::TopicPolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::Subscription",
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
    }
)
PROVIDER_POLL_SECONDS = 0.2  # the Provider framework's query interval, shortened for local runs

_LAMBDA_RUNNER = """
import importlib, json, sys, time
module_name, function_name = sys.argv[1].rsplit(".", 1)
deadline = time.monotonic() + float(sys.argv[2])
class Context:
    def get_remaining_time_in_millis(self):
        return int((deadline - time.monotonic()) * 1000)
event = json.load(sys.stdin)
try:
    result = getattr(importlib.import_module(module_name), function_name)(event, Context())
    print(json.dumps({"ok": True, "result": result}, default=str))
except Exception as err:
    print(json.dumps({"ok": False, "errorType": type(err).__name__, "errorMessage": str(err)}))
"""


class LambdaError(RuntimeError):
    """The function raised; the message is the function's error, as Lambda would report it."""


def _placeholder_arn(logical_id: str, resource_type: str) -> str:
    service = resource_type.split("::")[1].lower()
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:local-placeholder:{logical_id}"


def _replace_references(node: Any, removed: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in removed:
            return _placeholder_arn(node["Ref"], removed[node["Ref"]])
        if set(node) == {"Fn::GetAtt"} and node["Fn::GetAtt"][0] in removed:
            return _placeholder_arn(node["Fn::GetAtt"][0], removed[node["Fn::GetAtt"][0]])
        return {key: _replace_references(value, removed) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace_references(item, removed) for item in node]
    return node


def prepare_template(template: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The template without the resource types moto cannot model (gap 2); also returns them."""
    body = copy.deepcopy(dict(template))
    removed = {k: v["Type"] for k, v in body["Resources"].items() if v["Type"] in UNSUPPORTED_TYPES}
    for logical_id in removed:
        del body["Resources"][logical_id]
    for resource in body["Resources"].values():
        depends = resource.get("DependsOn")
        if depends:
            kept = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in removed]
            if kept:
                resource["DependsOn"] = kept
            else:
                del resource["DependsOn"]
    body.pop("Rules", None)  # the bootstrap-version rule: moto does not evaluate Rules
    return _replace_references(body, removed), removed


def _as_cloudformation_strings(value: Any) -> Any:
    """Every scalar as a string, as CloudFormation delivers resource properties."""
    if isinstance(value, dict):
        return {k: _as_cloudformation_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_cloudformation_strings(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def custom_resource_event(
    request_type: str,
    *,
    stack_id: str,
    logical_id: str,
    resource_type: str,
    properties: Mapping[str, Any],
    physical_id: str | None = None,
    old_properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A custom resource event exactly as CloudFormation sends it (gap 4)."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": properties["ServiceToken"],
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/local",
        "StackId": stack_id,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": _as_cloudformation_strings(properties),
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = _as_cloudformation_strings(old_properties)
    return event


def move_endpoint_to_config(endpoint_name: str, config_name: str, *, retain_all: bool, excluded: set[str]) -> bool:
    """UpdateEndpoint's documented effect, applied to moto's record of the endpoint (gap 5).

    Variants come from the new config. With ``retain_all``, a variant that existed before keeps
    its live weight and instance count, except the properties named in ``excluded``
    (``DesiredWeight``, ``DesiredInstanceCount``), which come from the new config. Returns
    whether anything moved.
    """
    from moto.sagemaker.models import sagemaker_backends

    backend = sagemaker_backends[ACCOUNT][REGION]
    endpoint = backend.endpoints[endpoint_name]
    if endpoint.endpoint_config_name == config_name:
        return False
    config = backend.endpoint_configs[config_name]
    before = {v["VariantName"]: v for v in endpoint.production_variants}
    variants = endpoint._process_production_variants(config.production_variants)
    if retain_all:
        for variant in variants:
            old = before.get(variant["VariantName"])
            if old is None:
                continue
            if "DesiredWeight" not in excluded:
                for key in ("CurrentWeight", "DesiredWeight"):
                    variant[key] = old.get(key, variant.get(key))
            if "DesiredInstanceCount" not in excluded:
                for key in ("CurrentInstanceCount", "DesiredInstanceCount"):
                    variant[key] = old.get(key, variant.get(key))
    endpoint.production_variants = variants
    endpoint.endpoint_config_name = config_name
    return True


class LocalAws:
    """moto's server on a free loopback port, with the adaptations above. A context manager."""

    def __init__(self, runtime_url: str | None = None) -> None:
        self.runtime_url = runtime_url  # where InvokeEndpoint goes (a stub), if not to moto
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._captured: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._original_invoke: Any = None
        self._original_settings: Any = None
        self._code_dirs: dict[str, Path] = {}
        self._workdir = tempfile.TemporaryDirectory(prefix="local-aws-")
        self.url = ""
        self.last_custom_resource_event: dict[str, Any] = {}

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalAws:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
        self._server.start()
        host, port = self._server.get_host_and_port()
        assert host == "127.0.0.1", host
        self.url = f"http://{host}:{port}"
        self._capture_lambda_invocations()
        # moto builds custom resources' ResponseURL from these; by default it probes for a
        # Docker host. Point it at this server instead, so the URL it sends is the real one.
        from moto import settings

        self._original_settings = (settings.moto_server_host, settings.moto_server_port)
        settings.moto_server_host = lambda: "http://127.0.0.1"  # type: ignore[assignment]
        settings.moto_server_port = lambda: str(port)
        return self

    def __exit__(self, *exc: object) -> None:
        from moto import settings
        from moto.awslambda.models import LambdaFunction

        if self._original_invoke is not None:
            LambdaFunction._invoke_lambda = self._original_invoke  # type: ignore[method-assign]
        settings.moto_server_host, settings.moto_server_port = self._original_settings
        self._server.stop()
        self._workdir.cleanup()

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, **KEYS)

    def _capture_lambda_invocations(self) -> None:
        """Gap 3/4: record what moto would run in Docker instead of trying to run it."""
        from moto.awslambda.models import LambdaFunction

        self._original_invoke = LambdaFunction._invoke_lambda
        captured, lock = self._captured, self._lock

        def capture(function: Any, event: Any = None) -> tuple[str, bool, str]:
            with lock:
                captured.append(json.loads(event) if isinstance(event, (str, bytes)) else dict(event or {}))
            return "", False, ""

        LambdaFunction._invoke_lambda = capture  # type: ignore[method-assign,assignment]

    # --- gap 1: bootstrap and assets ------------------------------------------------------------

    def bootstrap(self) -> None:
        self.client("ssm").put_parameter(
            Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version", Value="30", Type="String", Overwrite=True
        )
        self.client("s3").create_bucket(Bucket=BOOTSTRAP_BUCKET)

    def publish_assets(self, cloud_assembly: Path, stack_name: str) -> None:
        manifest = json.loads((cloud_assembly / f"{stack_name}.assets.json").read_text())
        s3 = self.client("s3")
        for asset in manifest.get("files", {}).values():
            source = cloud_assembly / asset["source"]["path"]
            if asset["source"].get("packaging") == "zip" or source.is_dir():
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                    for path in sorted(source.rglob("*")):
                        if path.is_file():
                            archive.write(path, path.relative_to(source).as_posix())
                body = buffer.getvalue()
            else:
                body = source.read_bytes()
            for destination in asset["destinations"].values():
                s3.put_object(Bucket=BOOTSTRAP_BUCKET, Key=destination["objectKey"], Body=body)

    # --- stacks ------------------------------------------------------------------------------------

    def create_stack(
        self, stack_name: str, template: Mapping[str, Any], parameters: Mapping[str, str]
    ) -> dict[str, Any]:
        """CreateStack, answering custom resources through their handlers; returns the stack."""
        body, _ = prepare_template(template)
        cloudformation = self.client("cloudformation")
        stack_id = cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(body),
            Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )["StackId"]
        self._answer_custom_resources(stack_id, body)
        return self.wait_for_stack(stack_name, "CREATE_COMPLETE")

    def update_stack(
        self, stack_name: str, template: Mapping[str, Any], parameters: Mapping[str, str]
    ) -> dict[str, Any]:
        body, _ = prepare_template(template)
        self.client("cloudformation").update_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(body),
            Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
        stack = self.wait_for_stack(stack_name, "UPDATE_COMPLETE")
        self._update_endpoints(stack_name, body)
        return stack

    def _update_endpoints(self, stack_name: str, template: Mapping[str, Any]) -> None:
        """Gap 5: what CloudFormation's UpdateEndpoint call would have done."""
        from moto.cloudformation import cloudformation_backends

        resources = cloudformation_backends[ACCOUNT][REGION].get_stack(stack_name).resource_map
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::SageMaker::Endpoint":
                continue
            config_ref = resource["Properties"]["EndpointConfigName"]["Fn::GetAtt"][0]
            endpoint: Any = resources[logical_id]
            config: Any = resources[config_ref]
            move_endpoint_to_config(
                endpoint.endpoint_name,
                config.endpoint_config_name,
                retain_all=bool(resource["Properties"].get("RetainAllVariantProperties")),
                excluded={
                    p["VariantPropertyType"] for p in resource["Properties"].get("ExcludeRetainedVariantProperties", [])
                },
            )

    def wait_for_stack(self, stack_name: str, status: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            stack = self.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
            if stack["StackStatus"] == status:
                return stack
            if stack["StackStatus"].endswith(("FAILED", "ROLLBACK_COMPLETE")) or time.monotonic() > deadline:
                raise RuntimeError(
                    f"stack {stack_name} is {stack['StackStatus']}: {stack.get('StackStatusReason', '')}"
                )
            time.sleep(0.1)

    def _answer_custom_resources(self, stack_id: str, template: Mapping[str, Any]) -> None:
        expected = sum(1 for r in template["Resources"].values() if r["Type"].startswith("Custom::"))
        deadline = time.monotonic() + 30
        answered = 0
        while answered < expected and time.monotonic() < deadline:
            with self._lock:
                pending = [e for e in self._captured if e.get("StackId") == stack_id and "ResponseURL" in e]
                for event in pending:
                    self._captured.remove(event)
            for event in pending:
                event["ResourceProperties"] = _as_cloudformation_strings(event["ResourceProperties"])
                response = self.run_custom_resource(event)
                self._respond(stack_id, event, response)
                self.last_custom_resource_event = event
                answered += 1
            time.sleep(0.05)
        if answered < expected:
            raise RuntimeError(f"moto sent {answered} of {expected} custom resource events")

    def _respond(self, stack_id: str, event: Mapping[str, Any], response: Mapping[str, Any]) -> None:
        body = json.dumps(
            {
                "Status": response["Status"],
                "Reason": response.get("Reason", "local"),
                "PhysicalResourceId": response.get("PhysicalResourceId", event["LogicalResourceId"]),
                "StackId": stack_id,
                "RequestId": event["RequestId"],
                "LogicalResourceId": event["LogicalResourceId"],
                "Data": response.get("Data", {}),
            }
        ).encode()
        url = event["ResponseURL"]
        if not url.startswith(self.url + "/"):
            raise RuntimeError(f"refusing to answer a custom resource anywhere but the emulator: {url}")
        request = urllib.request.Request(  # noqa: S310 (our own loopback server)
            url.replace(f"stack={stack_id}", f"stack={quote(stack_id, safe='')}"),
            data=body,
            method="PUT",
            headers={"Content-Type": ""},
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass

    def run_custom_resource(self, event: Mapping[str, Any], timeout: float = 120) -> dict[str, Any]:
        """Play the Provider framework for ``event``: on_event, then is_complete until done."""
        framework = self.client("lambda").get_function_configuration(FunctionName=event["ServiceToken"])
        variables = framework.get("Environment", {}).get("Variables", {})
        on_event, is_complete = variables["USER_ON_EVENT_FUNCTION_ARN"], variables.get("USER_IS_COMPLETE_FUNCTION_ARN")
        try:
            result = self.invoke(on_event, dict(event))
            physical_id = result.get("PhysicalResourceId", event.get("PhysicalResourceId"))
            data = dict(result.get("Data", {}))
            deadline = time.monotonic() + timeout
            while is_complete:
                polled = self.invoke(is_complete, {**event, "PhysicalResourceId": physical_id, "Data": data})
                if polled.get("IsComplete"):
                    data.update(polled.get("Data", {}))
                    break
                if time.monotonic() > deadline:
                    raise LambdaError("is_complete did not complete in time")
                time.sleep(PROVIDER_POLL_SECONDS)
        except LambdaError as err:
            return {"Status": "FAILED", "Reason": str(err), "PhysicalResourceId": event.get("PhysicalResourceId")}
        return {"Status": "SUCCESS", "PhysicalResourceId": physical_id, "Data": data}

    # --- gap 3: Lambda ------------------------------------------------------------------------------

    def _code_dir(self, function_name: str) -> Path:
        """The function's packaged code: the zip CloudFormation created it from, unpacked.

        moto's GetFunction does not hand the zip back, so it is read from moto's own record of
        the function (in this process), which holds the bytes it fetched from S3.
        """
        from moto.awslambda.models import lambda_backends

        function = lambda_backends[ACCOUNT][REGION].get_function(function_name)
        digest = function.code_digest
        if digest not in self._code_dirs:
            target = Path(self._workdir.name) / digest.replace("/", "_").replace("+", "-")
            with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
                archive.extractall(target)  # our own asset, built by this run's synth
            self._code_dirs[digest] = target
        return self._code_dirs[digest]

    def invoke(self, function_name: str, event: Mapping[str, Any]) -> Any:
        """Run a Python function from its packaged asset, as Lambda would; raise its error."""
        configuration = self.client("lambda").get_function_configuration(FunctionName=function_name)
        name = configuration["FunctionName"]
        if not configuration["Runtime"].startswith("python"):
            raise LambdaError(f"{name}: only Python functions run locally (runtime {configuration['Runtime']})")
        code = self._code_dir(name)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(code),
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_ACCESS_KEY_ID": KEYS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": KEYS["aws_secret_access_key"],
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            **configuration.get("Environment", {}).get("Variables", {}),
        }
        if self.runtime_url:
            env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = self.runtime_url
        timeout = configuration.get("Timeout", 3)
        completed = subprocess.run(  # noqa: S603 (our interpreter, our code)
            [sys.executable, "-c", _LAMBDA_RUNNER, configuration["Handler"], str(timeout)],
            cwd=code,
            env=env,
            input=json.dumps(event),
            capture_output=True,
            text=True,
            timeout=timeout + 30,
            check=False,
        )
        lines = completed.stdout.strip().splitlines()
        if completed.returncode != 0 or not lines:
            raise LambdaError(f"{name} crashed: {completed.stderr.strip()[-2000:]}")
        outcome = json.loads(lines[-1])
        if not outcome["ok"]:
            raise LambdaError(f"{outcome['errorType']}: {outcome['errorMessage']}")
        return outcome["result"]
