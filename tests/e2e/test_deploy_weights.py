"""The pipeline's command, `python scripts/deploy_weights.py`, against local mode: the real `npx cdk deploy
--parameters` it prints and runs reaches the endpoint (DescribeEndpoint shows the file's weights, then a
`--set` override's), and a bad file or override is refused before anything reaches CloudFormation.

The server, the CLI environment and the first deploy are test_cli_lifecycle.py's (scripts/local_cli_demo.py).
Four CLI commands of 10-20 s each (bootstrap, the first deploy, two weight deploys); the refusals take
about a second each. 172 s measured serially with other jobs on the 2 cores (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.local_cli_demo import STACK, CliLifecycle, local_server
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def weights_file(directory: Path, name: str, churn_ab: dict[str, Any]) -> Path:
    """A weights file whose staging environment deploys the default config with ``churn_ab``'s weights."""
    path = directory / name
    environment = {"config": "config/default.json", "endpoints": {"churn-ab": churn_ab}}
    path.write_text(json.dumps({"environments": {"staging": environment}}))
    return path


class Pipeline:
    """Runs the command as a pipeline step would, against the local server, and what it left behind."""

    def __init__(self, lifecycle: CliLifecycle, workdir: Path) -> None:
        self.lifecycle = lifecycle
        self.workdir = workdir

    def deploy_weights(self, *arguments: str) -> dict[str, Any]:
        before = self.cloudformation_trace()
        completed = subprocess.run(
            # Its own cdk.out (after `--`, passed to cdk deploy): e2e modules run in parallel in one checkout.
            [
                sys.executable,
                str(ROOT / "scripts" / "deploy_weights.py"),
                *arguments,
                "--",
                "--output",
                str(self.workdir / "cdk.out"),
            ],
            cwd=self.workdir,  # not the project root: the command finds it itself
            env=self.lifecycle.env,
            capture_output=True,
            text=True,
            check=False,
        )
        return {
            "returncode": completed.returncode,
            "stdout": completed.stdout,
            "stderr": completed.stderr,
            "cloudformation_before": before,
            "cloudformation_after": self.cloudformation_trace(),
            **self.lifecycle.observe(),
        }

    def cloudformation_trace(self) -> tuple[int, str]:
        """How many events the stack has and when it last changed: any deploy attempt moves both."""
        cloudformation = self.lifecycle.client("cloudformation")
        events = cloudformation.describe_stack_events(StackName=STACK)["StackEvents"]
        stack = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
        return len(events), str(stack.get("LastUpdatedTime", stack["CreationTime"]))


@pytest.fixture(scope="module")
def run() -> Iterator[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="e2e-weights-") as tmp:
        workdir = Path(tmp)
        with local_server(workdir / "server.log") as url:
            lifecycle = CliLifecycle(url, workdir, say=lambda _: None)
            observed: dict[str, Any] = lifecycle.run(["bootstrap", "deploy"])
            pipeline = Pipeline(lifecycle, workdir)
            good = weights_file(workdir, "weights.json", {"Variant1": 30, "Variant2": 70})
            staging = ("--environment", "staging", "--file", str(good))
            observed["from_file"] = pipeline.deploy_weights(*staging)
            observed["with_set"] = pipeline.deploy_weights(*staging, "--set", "Variant2=90,Variant1=10")
            all_zero = weights_file(workdir, "all-zero.json", {"Variant1": 0, "Variant2": 0})
            observed["all_zero_file"] = pipeline.deploy_weights("--environment", "staging", "--file", str(all_zero))
            unknown = weights_file(workdir, "unknown.json", {"Variant1": 1, "Variant2": 1, "Variant3": 5})
            observed["unknown_variant_file"] = pipeline.deploy_weights(
                "--environment", "staging", "--file", str(unknown)
            )
            observed["bad_set"] = pipeline.deploy_weights(*staging, "--set", "Variant1=-5")
        yield observed


def test_the_first_deploy_is_at_1_to_1(run):
    assert run["deploy"]["returncode"] == 0, run["deploy"]["output"][-2000:]
    assert run["deploy"]["endpoint"]["weights"] == {"Variant1": 1.0, "Variant2": 1.0}


def test_the_files_weights_reach_the_endpoint_in_place(run):
    step = run["from_file"]
    assert step["returncode"] == 0, (step["stdout"] + step["stderr"])[-3000:]
    assert step["stack_status"] == "UPDATE_COMPLETE"
    assert step["custom_resource"] == ["UPDATE_COMPLETE"]
    assert step["endpoint"]["weights"] == {"Variant1": 30.0, "Variant2": 70.0}
    assert step["endpoint"]["config"] == run["deploy"]["endpoint"]["config"], "a weight change rebuilt the fleet"


def test_it_printed_the_command_it_ran(run):
    stdout = run["from_file"]["stdout"]
    assert (
        "$ npx --no-install cdk deploy AbTest-churn-ab -c config=config/default.json --require-approval never "
        "--no-notices --parameters AbTest-churn-ab:WeightVariant1=30 --parameters AbTest-churn-ab:WeightVariant2=70 "
        "--output "
    ) in stdout
    assert "  AbTest-churn-ab: Variant1=30  Variant2=70" in stdout


def test_a_set_override_reaches_the_endpoint(run):
    step = run["with_set"]
    assert step["returncode"] == 0, (step["stdout"] + step["stderr"])[-3000:]
    assert step["endpoint"]["weights"] == {"Variant1": 10.0, "Variant2": 90.0}
    assert step["custom_resource"] == ["UPDATE_COMPLETE"]


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("all_zero_file", 'all-zero.json: environment "staging" > endpoint "churn-ab": all weights are 0'),
        (
            "unknown_variant_file",
            'unknown.json: environment "staging" > endpoint "churn-ab" > variant "Variant3": not a variant',
        ),
        ("bad_set", '--set: environment "staging" > endpoint "churn-ab" > variant "Variant1": must be >= 0 (got "-5")'),
    ],
)
def test_bad_input_is_refused_before_deploying_and_changes_nothing(run, step, message):
    refused = run[step]
    assert refused["returncode"] == 2
    assert message in refused["stderr"]
    assert "$ npx" not in refused["stdout"]  # no command was run
    assert refused["cloudformation_after"] == refused["cloudformation_before"]
    assert refused["custom_resource"] == []
    assert refused["stack_status"] == "UPDATE_COMPLETE"
    assert refused["endpoint"] == run["with_set"]["endpoint"]
