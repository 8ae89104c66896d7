#!/usr/bin/env python3
"""The A/B lifecycle with the real CDK CLI against a local AWS, no account needed: ``make local-demo``.

Starts ``scripts/local_aws.py serve`` (moto's server on 127.0.0.1 with the adaptations listed
there), puts fake credentials and the server's address in the CLI's environment
(:func:`scripts.local_aws.cli_environment`), and runs the commands a platform team types:

1. ``npx cdk bootstrap``
2. ``npx cdk deploy AbTest-churn-ab``                          two variants, weights 1:1
   then what no ``cdk`` command does (``scripts/local_demo.py``'s steps, by ``main`` only): requests by
   weight and by ``TargetVariant``, the evaluation Lambda, and live quality (requests with
   ``InferenceId`` captured like SageMaker at the default config's 20 %, late labels, the plan's
   anchored window, the live-quality query on DuckDB)
3. ``npx cdk deploy ... --parameters ...WeightVariant1=25 ...WeightVariant2=75``
                                                               the custom resource gets the Update
4. ``npx cdk deploy ... --parameters ...=0 ...=0``              refused; the endpoint keeps 25/75
5. ``npx cdk deploy ... -c config=<config without Variant1>``  the endpoint follows the new config
6. ``npx cdk destroy AbTest-churn-ab --force``                 the custom resource gets Delete

After each command it prints what DescribeEndpoint shows and what CloudFormation recorded for
the weights custom resource, then what ``abtest status churn-ab`` (the operator command,
``scripts/abtest``) shows. The server stops at the end; nothing but 127.0.0.1 is contacted.
``tests/e2e/test_cli_lifecycle.py`` runs these same steps with assertions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from scripts.local_aws import cli_environment  # noqa: E402

STACK = "AbTest-churn-ab"
SERVER_START_SECONDS = 60.0
DEFAULT_CONFIG = ROOT / "config" / "default.json"


@contextmanager
def local_server(log: Path, without: Sequence[str] = (), runtime_url: str = "") -> Iterator[str]:
    """``scripts/local_aws.py serve`` in a subprocess on a free loopback port, its errors in
    ``log``; yields its URL and stops it (and only it) on exit. ``runtime_url``: see ``serve``."""
    command = [sys.executable, str(ROOT / "scripts" / "local_aws.py"), "serve"]
    if runtime_url:
        command += ["--sagemaker-runtime-url", runtime_url]
    for name in without:
        command += ["--without", name]
    with log.open("w") as errors:
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)  # noqa: S603
    try:
        assert server.stdout is not None
        line = server.stdout.readline().strip()  # "ready <url>", or EOF if it failed to start
        if not line.startswith("ready http://127.0.0.1:"):
            raise RuntimeError(f"the local server did not start: {log.read_text()[-2000:]}")
        yield line.split(" ", 1)[1]
    finally:
        server.terminate()
        try:
            server.wait(timeout=SERVER_START_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def without_variant(variant: str, outdir: Path, source: Path = DEFAULT_CONFIG) -> Path:
    """The config ``source`` (default: the default one) minus ``variant``: the file a team would commit to retire it."""
    config = json.loads(source.read_text())
    for endpoint in config["endpoints"]:
        endpoint["variants"] = [v for v in endpoint["variants"] if v["name"] != variant]
    path = outdir / f"without-{variant}.json"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


class CliLifecycle:
    """The six commands, each returning what it observed (the demo prints, the tests assert)."""

    def __init__(
        self,
        url: str,
        workdir: Path,
        say: Callable[[str], None] = print,
        *,
        show_status: bool = False,
        stack: str = STACK,
    ) -> None:
        self.url = url
        self.stack = stack  # the stack the commands deploy and observe (``AbTest-<endpoint>``)
        self.show_status = show_status
        self.workdir = workdir
        self.say = say
        self.env = {**os.environ, **cli_environment(url)}
        self.stack_id = ""
        self.endpoint = ""
        self.custom_events_seen = 0
        # The config file deploys use (``-c config=…``); None: cdk.json's, the default config.
        self.config: Path | None = None

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=self.env["AWS_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )

    def cdk(self, *arguments: str) -> dict[str, Any]:
        """Run ``npx cdk <arguments>`` as typed (plus ``--no-notices``, offline); what followed."""
        command = ["npx", "--no-install", "cdk", *arguments, "--no-notices", "--output", str(self.workdir / "cdk.out")]
        self.say("$ npx cdk " + " ".join(arguments))
        started = time.monotonic()
        completed = subprocess.run(  # noqa: S603 (the pinned CLI)
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        observed = {
            "returncode": completed.returncode,
            "seconds": round(time.monotonic() - started, 1),
            "output": completed.stdout + completed.stderr,
            **self.observe(),
        }
        verdict = "ok" if completed.returncode == 0 else f"refused (exit {completed.returncode})"
        self.say(
            f"  {verdict} in {observed['seconds']} s; stack {self.stack}: {observed['stack_status'] or 'not deployed'}"
        )
        self.say(f"  endpoint: {observed['endpoint']}")
        self.say(f"  weights custom resource: {'; '.join(observed['custom_resource']) or 'no event'}")
        if self.show_status and arguments[0] != "bootstrap":
            self.say(self.abtest_status())
        return observed

    def abtest_status(self) -> str:
        """``abtest status`` as an operator runs it, indented (an error, after destroy, included)."""
        command = [sys.executable, "-m", "scripts.abtest", "status", self.stack.removeprefix("AbTest-")]
        completed = subprocess.run(  # noqa: S603 (this repository's command)
            command, cwd=ROOT, env={**self.env, "COLUMNS": "110"}, capture_output=True, text=True, check=False
        )
        lines = ["$ abtest status " + command[-1], *(completed.stdout + completed.stderr).rstrip().splitlines()]
        return "\n".join("  " + line for line in lines)

    def observe(self) -> dict[str, Any]:
        """Stack status, DescribeEndpoint, and the custom resource's latest CloudFormation event."""
        cloudformation = self.client("cloudformation")
        stacks = [s for s in cloudformation.list_stacks()["StackSummaries"] if s["StackName"] == self.stack]
        if not stacks:
            return {"stack_status": None, "endpoint": None, "custom_resource": []}
        stack = stacks[0]  # the newest
        self.stack_id = stack["StackId"]
        described = cloudformation.describe_stacks(StackName=self.stack_id)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs") or []}
        self.endpoint = outputs.get("EndpointName", self.endpoint)
        events = cloudformation.describe_stack_events(StackName=self.stack_id)["StackEvents"]
        custom = [e for e in reversed(events) if e["ResourceType"].startswith("Custom::")]  # oldest first
        new, self.custom_events_seen = custom[self.custom_events_seen :], len(custom)
        return {
            "stack_status": stack["StackStatus"],
            "endpoint": self.describe_endpoint(),
            "custom_resource": [f"{e['ResourceStatus']} {e.get('ResourceStatusReason') or ''}".strip() for e in new],
        }

    def describe_endpoint(self) -> dict[str, Any] | None:
        if not self.endpoint:
            return None
        sagemaker = self.client("sagemaker")
        try:
            described = sagemaker.describe_endpoint(EndpointName=self.endpoint)
        except sagemaker.exceptions.ClientError:
            return None  # deleted
        observed = {
            "config": described["EndpointConfigName"],
            "weights": {v["VariantName"]: v.get("CurrentWeight") for v in described["ProductionVariants"]},
        }
        if described.get("ShadowProductionVariants"):  # listed apart from the production variants
            observed["shadow"] = {
                v["VariantName"]: v.get("CurrentWeight") for v in described["ShadowProductionVariants"]
            }
        return observed

    def commands(self) -> dict[str, list[str]]:
        """The lifecycle's commands by step name, in order (``npx cdk`` left out)."""

        def with_weights(first: int, second: int) -> list[str]:
            return [
                *("--parameters", f"{self.stack}:WeightVariant1={first}"),
                *("--parameters", f"{self.stack}:WeightVariant2={second}"),
            ]

        deploy = ["deploy", self.stack, "--require-approval", "never"]
        config = ["-c", f"config={self.config}"] if self.config else []
        retired = without_variant("Variant1", self.workdir, self.config or DEFAULT_CONFIG)
        return {
            "bootstrap": ["bootstrap"],
            "deploy": [*deploy, *config],
            "weights_25_75": [*deploy, *with_weights(25, 75), *config],
            "weights_0_0": [*deploy, *with_weights(0, 0), *config],
            "retire_variant1": [*deploy, "-c", f"config={retired}"],
            "destroy": ["destroy", self.stack, "--force"],
        }

    def run(self, steps: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """Run ``steps`` (default: all) in the lifecycle's order; what each observed."""
        return {name: self.cdk(*arguments) for name, arguments in self.commands().items() if not steps or name in steps}


def main() -> int:
    # The Python demo's steps run between the CLI's deploys; it imports this module, hence here.
    from scripts.local_demo import Lifecycle
    from scripts.stub_sagemaker_runtime import StubRuntime

    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="local-cli-") as tmp,
        StubRuntime("not-deployed-yet") as stub,
        local_server(Path(tmp) / "server.log", runtime_url=stub.url) as url,
        stub.capture_delivered(),
    ):
        print(f"Local AWS (moto + scripts/local_aws.py) on {url}, InvokeEndpoint stub on {stub.url};")
        print("nothing leaves 127.0.0.1.")
        print("CLI environment: " + " ".join(f"{k}={v}" for k, v in cli_environment(url).items()))
        cli = CliLifecycle(url, Path(tmp), show_status=True)
        cli.run(["bootstrap", "deploy"])
        print("What no cdk command does, on the deployed endpoint (scripts/local_demo.py's steps):")
        python_steps = Lifecycle(url, stub, Path(tmp), cli=cli, say=lambda line: print("  " + line))
        python_steps.adopt_deployment()
        python_steps.invoke()
        python_steps.evaluate()
        python_steps.live_quality()
        cli.run(["weights_25_75", "weights_0_0", "retire_variant1", "destroy"])
    print(f"Done in {time.monotonic() - started:.0f} s: server and stub stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
