"""scripts/deploy_weights.py, the pipeline's one command: it prints the exact `cdk deploy` argv and runs
that argv, or refuses bad input with exit code 2 before running anything.

The CDK CLI is replaced by a recorder here (what ran, where); tests/e2e/test_deploy_weights.py runs
the real `npx cdk` against local mode.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from scripts.deploy_weights import main
from scripts.weights_file import CDK
from tests.conftest import ROOT

TWO_ENDPOINTS = "config/examples/two-endpoints.json"


class Recorder:
    """Stands in for subprocess.run: records each call and answers with ``returncode``."""

    def __init__(self, returncode: int = 0) -> None:
        self.returncode = returncode
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, command: list[str], **options: Any) -> SimpleNamespace:
        self.calls.append((command, options))
        return SimpleNamespace(returncode=self.returncode)


@pytest.fixture
def two_endpoints(tmp_path: Path) -> Path:
    path = tmp_path / "weights.json"
    endpoints = {"churn-ab": {"Variant1": 1, "Variant2": 3}, "upsell-ab": {"control": 90, "treatment": 10}}
    path.write_text(json.dumps({"environments": {"prod": {"config": TWO_ENDPOINTS, "endpoints": endpoints}}}))
    return path


def printed_command(out: str) -> list[str]:
    (line,) = [line for line in out.splitlines() if line.startswith("$ ")]
    return shlex.split(line[2:])


def test_it_prints_the_exact_command_it_runs_in_the_project_root(two_endpoints, capsys):
    run = Recorder()
    assert main(["--environment", "prod", "--file", str(two_endpoints)], run=run) == 0
    out = capsys.readouterr().out
    ((command, options),) = run.calls
    assert printed_command(out) == command
    assert options == {"cwd": ROOT, "check": False}
    assert command[: len(CDK) + 3] == [*CDK, "deploy", "AbTest-churn-ab", "AbTest-upsell-ab"]
    assert "AbTest-upsell-ab:Weighttreatment=10" in command
    assert "  AbTest-churn-ab: Variant1=1  Variant2=3" in out


def test_the_clis_exit_code_is_the_commands(two_endpoints):
    assert main(["--environment", "prod", "--file", str(two_endpoints)], run=Recorder(returncode=1)) == 1


def test_dry_run_prints_and_runs_nothing(two_endpoints, capsys):
    run = Recorder()
    assert main(["--environment", "prod", "--file", str(two_endpoints), "--dry-run"], run=run) == 0
    assert run.calls == []
    out = capsys.readouterr().out
    assert printed_command(out)[len(CDK)] == "deploy"
    assert "Dry run: nothing deployed." in out


@pytest.mark.parametrize(
    ("narrowing", "expected"),
    [([], "AbTest-churn-ab\nAbTest-upsell-ab\n"), (["--endpoint", "upsell-ab"], "AbTest-upsell-ab\n")],
)
def test_stack_names_prints_only_the_stacks_and_runs_nothing(two_endpoints, capsys, narrowing, expected):
    """What the pipeline's wait step reads: one stack a line, nothing else on stdout."""
    run = Recorder()
    assert main(["--environment", "prod", "--file", str(two_endpoints), *narrowing, "--stack-names"], run=run) == 0
    assert run.calls == []
    assert capsys.readouterr().out == expected


def test_stack_names_refuses_bad_input_like_a_deploy(two_endpoints, capsys):
    argv = ["--environment", "prod", "--file", str(two_endpoints), "--endpoint", "nope", "--stack-names"]
    assert main(argv, run=Recorder()) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "nope" in captured.err


def test_endpoint_and_set_deploy_one_stack_with_the_override(two_endpoints, capsys):
    run = Recorder()
    argv = ["--environment", "prod", "--file", str(two_endpoints), "--endpoint", "upsell-ab", "--set", "control=50"]
    assert main([*argv, "--set", "treatment=50"], run=run) == 0
    ((command, _),) = run.calls
    assert command[len(CDK) + 1 : command.index("-c")] == ["AbTest-upsell-ab"]  # the stacks
    assert [command[i + 1] for i, a in enumerate(command) if a == "--parameters"] == [
        "AbTest-upsell-ab:Weightcontrol=50",
        "AbTest-upsell-ab:Weighttreatment=50",
    ]
    assert "--set overrides" in capsys.readouterr().out


def test_arguments_after_a_double_dash_go_to_cdk_deploy(two_endpoints):
    run = Recorder()
    main(
        ["--environment", "prod", "--file", str(two_endpoints), "--", "--output", "/tmp/o", "--role-arn", "r"], run=run
    )
    ((command, _),) = run.calls
    assert command[-4:] == ["--output", "/tmp/o", "--role-arn", "r"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--environment", "dev"], 'no environment "dev" (environments: prod)'),
        (["--environment", "prod", "--endpoint", "nope"], 'endpoint "nope": not in the file'),
        (["--environment", "prod", "--set", "Variant1=5"], "name the endpoint to override"),
        (
            ["--environment", "prod", "--endpoint", "churn-ab", "--set", "Variant9=5"],
            'variant "Variant9": not a variant',
        ),
        (["--environment", "prod", "--endpoint", "churn-ab", "--set", "Variant1=0,Variant2=0"], "all weights are 0"),
        (["--environment", "prod", "--endpoint", "churn-ab", "--set", "Variant1=-3"], "must be >= 0"),
        (["--environment", "prod", "--endpoint", "churn-ab", "--set", "Variant1=NaN"], "must be a finite number"),
        (["--environment", "prod", "--endpoint", "churn-ab", "--set", "Variant1"], "'Variant1' is not VARIANT=WEIGHT"),
    ],
)
def test_bad_input_is_refused_with_exit_code_2_before_anything_runs(two_endpoints, capsys, argv, message):
    run = Recorder()
    assert main([*argv, "--file", str(two_endpoints)], run=run) == 2
    assert run.calls == []
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Nothing was deployed." in captured.err
    assert "$ " not in captured.out


def test_a_bad_file_is_refused_with_its_location(tmp_path, capsys):
    path = tmp_path / "weights.json"
    path.write_text(
        json.dumps(
            {
                "environments": {
                    "prod": {"config": "config/default.json", "endpoints": {"churn-ab": {"Variant1": 0, "Variant2": 0}}}
                }
            }
        )
    )
    run = Recorder()
    assert main(["--environment", "prod", "--file", str(path)], run=run) == 2
    assert run.calls == []
    assert f'{path}: environment "prod" > endpoint "churn-ab": all weights are 0' in capsys.readouterr().err


def test_a_cli_that_cannot_start_is_reported(two_endpoints, capsys):
    def missing(*_: Any, **__: Any) -> None:
        raise FileNotFoundError(2, "No such file or directory")

    assert main(["--environment", "prod", "--file", str(two_endpoints)], run=missing) == 127
    assert "error: cannot run npx: No such file or directory" in capsys.readouterr().err


def test_the_environment_option_is_required():
    with pytest.raises(SystemExit) as exited:
        main([], run=Recorder())
    assert exited.value.code == 2


def test_the_script_runs_as_documented_from_another_folder(tmp_path):
    """`python scripts/deploy_weights.py` with the default file, started outside the project root."""
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "deploy_weights.py"), "--environment", "prod", "--dry-run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert printed_command(completed.stdout)[len(CDK) :] == [
        "deploy",
        "AbTest-churn-ab",
        *("-c", "config=config/default.json"),
        *("--require-approval", "never"),
        "--no-notices",
        *("--parameters", "AbTest-churn-ab:WeightVariant1=1"),
        *("--parameters", "AbTest-churn-ab:WeightVariant2=1"),
    ]
