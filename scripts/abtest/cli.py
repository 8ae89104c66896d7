"""The ``abtest`` command (Typer): ``python -m scripts.abtest --help``.

Every command takes the endpoint's name from the config (its stack is ``AbTest-<name>``), plus
``--region`` and ``--json``. Errors print one located message (``--json``: ``{"error": {...}}``
on stdout) and exit with the status :mod:`scripts.abtest.errors` documents; never a traceback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from endpoint_weights.endpoint import IN_SERVICE, EndpointState
from evaluate.runner import InvalidEvaluation, parse_request
from rollout.plan import InvalidPlan, RolloutPlan, parse_plan
from rollout.traffic_check import TRAFFIC_WINDOW_MINUTES, refusal, traffic_window
from scripts.abtest import render
from scripts.abtest.aws import Aws, Clients, Stack, make_clients
from scripts.abtest.errors import AbtestError, BadInput, NotFound, OperationFailed
from scripts.abtest.progress import progress
from scripts.abtest.shadow import refuse_in_shadow_stage
from scripts.abtest.status import gather, progress_json
from scripts.abtest.waiting import CHANGE_SET_DONE, CHANGE_SET_FAILED, Observation, stack_failed, wait_for_weights
from scripts.abtest.weights import (
    check_names,
    declared_weights,
    parameter_values,
    parse_assignments,
    same_split,
    target_weights,
)
from scripts.weights_file import WeightsFileError, check_recording, record_weights

# The weights custom resource polls for up to 23½ minutes before it fails the update
# (constructs_lib/waiter_budget.py); CloudFormation then rolls back. Wait a little longer.
DEFAULT_TIMEOUT_SECONDS = 1800.0
POLL_SECONDS = 5.0
ROLLOUT_OUTPUT = "RolloutStateMachineArn"
STOP_CAUSE = "stopped by an operator (abtest rollout stop)"
WEIGHTS_FILE = Path(__file__).resolve().parent.parent.parent / "config" / "weights.json"  # scripts/weights_file.py's


@dataclass
class Deps:
    """What the commands get from outside: tests pass their own (``CliRunner.invoke(obj=...)``)."""

    clients: Callable[[str | None], Clients] = make_clients
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = POLL_SECONDS


class Via(StrEnum):
    parameters = "parameters"
    lambda_ = "lambda"


app = typer.Typer(
    help="Watch and steer a deployed A/B endpoint: status, weights, rollouts, evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
weights_app = typer.Typer(help="Change the weights, or record the live ones as declared.", no_args_is_help=True)
rollout_app = typer.Typer(help="Start, watch and stop a guarded progressive rollout.", no_args_is_help=True)
app.add_typer(weights_app, name="weights")
app.add_typer(rollout_app, name="rollout")

EndpointArg = Annotated[str, typer.Argument(help="The endpoint's name in the config; its stack is AbTest-<name>.")]
RegionOpt = Annotated[
    str | None, typer.Option("--region", help="AWS region (default: the SDK's, from AWS_REGION or the profile).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON with stable keys instead of tables.")]
ExecutionOpt = Annotated[
    str | None, typer.Option("--execution", help="Execution ARN (default: the running rollout).", show_default=False)
]


def _console() -> Console:
    """stdout, long lines (ARNs, commands) kept whole so they can be copied."""
    return Console(soft_wrap=True, highlight=False)


def _deps(ctx: typer.Context) -> Deps:
    return ctx.obj if isinstance(ctx.obj, Deps) else Deps()


def _fail(as_json: bool, kind: str, message: str, exit_code: int, aws_code: str = "") -> typer.Exit:
    if as_json:
        render.print_json({"error": {"kind": kind, "message": message, "aws_code": aws_code or None}})
    else:
        Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(exit_code)


def _run(ctx: typer.Context, region: str | None, as_json: bool, action: Callable[[Aws, Deps], Any]) -> None:
    """Run ``action`` with the AWS layer; every failure becomes a message and an exit status."""
    deps = _deps(ctx)
    try:
        action(Aws(deps.clients(region)), deps)
    except AbtestError as err:
        raise _fail(as_json, err.kind, str(err), err.exit_code, err.aws_code) from None
    except ClientError as err:
        code = str(err.response.get("Error", {}).get("Code", ""))
        raise _fail(as_json, "aws_error", str(err), 1, code) from None
    except NoRegionError:
        raise _fail(as_json, "aws_error", "no AWS region: pass --region or set AWS_REGION", 1) from None
    except NoCredentialsError:
        raise _fail(
            as_json, "aws_error", "no AWS credentials found (environment, profile or instance role)", 1
        ) from None
    except BotoCoreError as err:
        raise _fail(as_json, "aws_error", str(err), 1) from None


# --- status ---------------------------------------------------------------------------------------


@app.command()
def status(ctx: typer.Context, endpoint: EndpointArg, region: RegionOpt = None, as_json: JsonOpt = False) -> None:
    """What the endpoint is doing: weights live and declared (DRIFT), split, alarms, SRM, rollout.

    Live weights and instances (DescribeEndpoint) beside the declared weight parameters, with
    DRIFT where they differ; the observed share per variant over the last hour; the alarm
    states of the stack's alarms; the latest SRM p-value; a running rollout and its step.
    """

    def action(aws: Aws, deps: Deps) -> None:
        report = gather(aws, endpoint, deps.now())
        if as_json:
            render.print_json(report)
        else:
            render.status(_console(), report)

    _run(ctx, region, as_json, action)


# --- weights --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeSet:
    """The change set a command executed: what the wait watches (its ExecutionStatus, then the stack)."""

    stack: Stack
    change_set_id: str


def _observe(aws: Aws, endpoint_name: str, change: ChangeSet | None) -> Callable[[], Observation]:
    def look() -> Observation:
        change_set_status, stack_status, reason = None, None, ""
        if change is not None:
            # The change set first, and the stack only once it has finished: a DescribeStacks right
            # after ExecuteChangeSet may still show the status from before (the stale read), e.g.
            # an UPDATE_ROLLBACK_COMPLETE this command never caused.
            change_set_status = aws.change_set_execution(change.change_set_id, change.stack.name)
            if change_set_status == CHANGE_SET_DONE or change_set_status in CHANGE_SET_FAILED:
                stack_status, reason = aws.stack_status(change.stack.stack_id)
                if change_set_status in CHANGE_SET_FAILED or stack_failed(stack_status):
                    reason = aws.latest_failure(change.stack.stack_id) or reason
        state = aws.endpoint(endpoint_name)  # after the change set: weights as of its end
        return Observation(
            state.status, state.current_weights, stack_status, reason, state.failure_reason, change_set_status
        )

    return look


def _wait(
    aws: Aws,
    deps: Deps,
    endpoint_name: str,
    target: dict[str, float],
    change: ChangeSet | None,
    timeout: float,
    quiet: bool,
) -> Observation:
    """Wait for ``target`` with a progress line on stderr (none with ``--json``)."""
    look = _observe(aws, endpoint_name, change)
    wanted = " ".join(f"{name}={weight:g}" for name, weight in target.items())
    if quiet:
        return wait_for_weights(
            look, target, timeout_seconds=timeout, poll_seconds=deps.poll_seconds, clock=deps.clock, sleep=deps.sleep
        )
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(f"waiting for {wanted}", total=None)

        def on_look(observation: Observation) -> None:
            bar.update(task, description=f"waiting for {wanted}: {observation.describe()}")

        return wait_for_weights(
            look,
            target,
            timeout_seconds=timeout,
            poll_seconds=deps.poll_seconds,
            on_look=on_look,
            clock=deps.clock,
            sleep=deps.sleep,
        )


def _context(aws: Aws, endpoint: str) -> tuple[Stack, str, EndpointState]:
    stack = aws.stack(endpoint)
    endpoint_name = stack.output("EndpointName")
    return stack, endpoint_name, aws.endpoint(endpoint_name)


def _rollout_machine(aws: Aws, stack: Stack, endpoint: str) -> str:
    """The stack's rollout state machine. A shadow-stage stack has none: BadInput naming the stage
    (DescribeEndpoint lists ShadowProductionVariants) rather than NotFound for a missing output."""
    if ROLLOUT_OUTPUT not in stack.outputs:
        refuse_in_shadow_stage(aws.endpoint(stack.output("EndpointName")), endpoint, "a rollout")
    return stack.output(ROLLOUT_OUTPUT)


def _refuse_during_rollout(aws: Aws, stack: Stack, endpoint: str, what: str) -> None:
    """BadInput while the stack's rollout state machine runs: the rollout sets the weights step by
    step and its end rule restores or keeps them; a weight change beside it would be overwritten at
    the next step, or be recorded as declared halfway through."""
    running = aws.executions(_rollout_machine(aws, stack, endpoint), status="RUNNING")
    if running:
        raise BadInput(
            f"a rollout is running on {endpoint} ({running[0]['name']}): {what} would fight it; "
            f"watch it with `abtest rollout status {endpoint}` or stop it with `abtest rollout stop {endpoint}` first"
        )


@weights_app.command("set")
def weights_set(
    ctx: typer.Context,
    endpoint: EndpointArg,
    assignments: Annotated[list[str], typer.Argument(help="VARIANT=WEIGHT ...; variants not named keep theirs.")],
    via: Annotated[
        Via,
        typer.Option(
            help="parameters: a stack update (declared and recorded in CloudFormation); "
            "lambda: the set-weights function (immediate, leaves the parameters as they are: drift)."
        ),
    ] = Via.parameters,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for DescribeEndpoint to show them.")] = (
        DEFAULT_TIMEOUT_SECONDS
    ),
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set weights and wait until DescribeEndpoint shows them. Checked against the live variants first."""

    def action(aws: Aws, deps: Deps) -> None:
        requested = parse_assignments(assignments)
        stack, endpoint_name, state = _context(aws, endpoint)
        refuse_in_shadow_stage(state, endpoint, "setting weights")
        declared, _ = declared_weights(stack.parameters, state.variants)
        if via is Via.parameters:
            check_names(requested, state.current_weights, endpoint=endpoint_name)
            values = parameter_values(stack.parameters, requested)
            # Unnamed variants keep their *declared* weight: the change set passes UsePreviousValue.
            target = target_weights(declared, requested, endpoint=endpoint_name)
            _refuse_during_rollout(aws, stack, endpoint, "changing the weights")
            change_set = None
            if _differs(stack.parameters, values):
                change_set = aws.update_parameters(
                    stack, values, f"abtest weights set {' '.join(f'{k}={v}' for k, v in values.items())}"
                )
            changed = change_set is not None
            if not changed and not same_split(target, {k: v for k, v in state.current_weights.items() if k in target}):
                raise BadInput(
                    f"the stack's parameters already declare {_text(target)}, but the endpoint shows "
                    f"{_text(state.current_weights)}; CloudFormation applies the parameters only when they change. "
                    f"Use --via lambda to apply them now, or `abtest weights record {endpoint}` to declare the "
                    "live ones"
                )
            if change_set is None:
                # Nothing changed and the endpoint already shows the split: no update to wait for.
                observed = Observation(state.status, state.current_weights)
            else:
                observed = _wait(aws, deps, endpoint_name, target, ChangeSet(stack, change_set), timeout, as_json)
        else:
            target = target_weights(state.current_weights, requested, endpoint=endpoint_name)
            _refuse_during_rollout(aws, stack, endpoint, "changing the weights")
            aws.invoke(stack.output("SetWeightsFunctionName"), {"weights": requested})
            observed = _wait(aws, deps, endpoint_name, target, None, timeout, as_json)
            changed = False
        result = {
            "endpoint": endpoint,
            "endpoint_name": endpoint_name,
            "via": via.value,
            "requested": requested,
            "weights": dict(observed.weights),
            "parameters_changed": changed,
            "drift": not same_split(
                {**declared, **(requested if via is Via.parameters else {})}, dict(observed.weights)
            ),
        }
        if as_json:
            render.print_json(result)
        else:
            render.weights_result(_console(), result)
            if result["drift"]:
                _console().print(
                    f"[yellow]note:[/] the stack's parameters still declare {_text(declared)}: the next parameter "
                    f"or endpoint-config change re-applies them. `abtest weights record {endpoint}` declares these."
                )

    _run(ctx, region, as_json, action)


def _differs(current: Mapping[str, str], values: Mapping[str, str]) -> bool:
    """Whether setting ``values`` changes a parameter ("25" and "25.0" are the same weight)."""
    return any(key not in current or float(current[key]) != float(value) for key, value in values.items())


def _text(weights: Mapping[str, float]) -> str:
    return " ".join(f"{name}={weight:g}" for name, weight in weights.items())


@weights_app.command("record")
def weights_record(
    ctx: typer.Context,
    endpoint: EndpointArg,
    environment: Annotated[
        str | None,
        typer.Option(help="Also write the live weights to this environment of the weights file (e.g. prod)."),
    ] = None,
    weights_file: Annotated[
        Path,
        typer.Option("--weights-file", help="The pipeline's weights file.", show_default="config/weights.json"),
    ] = WEIGHTS_FILE,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the stack update.")] = DEFAULT_TIMEOUT_SECONDS,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Declare the live weights: the stack's weight parameters (and the weights file) become what
    DescribeEndpoint shows."""

    def action(aws: Aws, deps: Deps) -> None:
        stack, endpoint_name, state = _context(aws, endpoint)
        refuse_in_shadow_stage(state, endpoint, "recording weights")
        live = state.current_weights
        if state.status != IN_SERVICE:
            # Updating / SystemUpdating: the weights are mid-change; Failed / OutOfService: not serving.
            raise BadInput(
                f"endpoint {endpoint_name} is {state.status}, not {IN_SERVICE}: its weights are not settled "
                "enough to record; wait until it is InService (`abtest status`)"
            )
        _refuse_during_rollout(aws, stack, endpoint, "recording its step's weights as declared")
        values = parameter_values(stack.parameters, live)
        if environment is not None:
            # Validated whole first, written only after the stack update succeeded: a file the pipeline
            # cannot deploy (unknown environment, a variant the config lacks) stops here with nothing
            # changed, and a failed update leaves the file as it was.
            try:
                check_recording(weights_file, environment, endpoint, live)
            except WeightsFileError as err:
                raise BadInput(str(err)) from err
        change_set = (
            aws.update_parameters(stack, values, f"abtest weights record: {_text(live)}")
            if _differs(stack.parameters, values)
            else None
        )
        changed = change_set is not None
        if change_set is not None:
            _wait(aws, deps, endpoint_name, live, ChangeSet(stack, change_set), timeout, as_json)
        if environment is not None:
            try:
                record_weights(weights_file, environment, endpoint, live)
            except WeightsFileError as err:
                raise OperationFailed(
                    f"the stack's parameters now declare {_text(live)}, but writing {weights_file} failed: {err}"
                ) from err
        result = {
            "endpoint": endpoint,
            "endpoint_name": endpoint_name,
            "weights": live,
            "parameters": values,
            "parameters_changed": changed,
            "weights_file": None if environment is None else {"path": str(weights_file), "environment": environment},
        }
        if as_json:
            render.print_json(result)
        else:
            verb = "recorded" if changed else "already declared"
            _console().print(f"[green]{verb}[/]: stack {stack.name} parameters {_text(live)}")
            if environment is not None:
                _console().print(f"[green]written[/]: {weights_file} environment {environment}; commit it")

    _run(ctx, region, as_json, action)


# --- rollout --------------------------------------------------------------------------------------


def _plan(
    plan_file: Path | None,
    candidate: str | None,
    baselines: list[str] | None,
    steps: str | None,
    bake_seconds: int | None,
    max_holds: int | None,
    on_hold_limit: str | None,
) -> dict[str, Any]:
    """The execution input: the file's object (if any), then every option given on top."""
    plan: dict[str, Any] = {}
    if plan_file is not None:
        try:
            loaded = json.loads(plan_file.read_text())
        except (OSError, ValueError) as err:
            raise BadInput(f"{plan_file}: {err}") from err
        if not isinstance(loaded, dict):
            raise BadInput(f"{plan_file}: must hold a JSON object (the rollout plan)")
        plan.update(loaded)
    if steps is not None:
        try:
            plan["steps"] = [float(s) if "." in s else int(s) for s in steps.split(",")]
        except ValueError as err:
            raise BadInput(f"--steps: expected numbers separated by commas, e.g. 10,25,50,100 (got {steps!r})") from err
    given = {
        "candidate": candidate,
        "baselines": baselines or None,
        "bake_seconds": bake_seconds,
        "max_holds": max_holds,
        "on_hold_limit": on_hold_limit,
    }
    plan.update({key: value for key, value in given.items() if value is not None})
    if "candidate" not in plan:
        raise BadInput('name the candidate: --candidate VARIANT (or "candidate" in --plan)')
    return plan


@rollout_app.command("start")
def rollout_start(
    ctx: typer.Context,
    endpoint: EndpointArg,
    candidate: Annotated[str | None, typer.Option(help="The variant that gains traffic.")] = None,
    baseline: Annotated[
        list[str] | None, typer.Option(help="A variant it takes traffic from (repeat; default: all others).")
    ] = None,
    steps: Annotated[str | None, typer.Option(help="Candidate shares in percent, e.g. 10,25,50,100.")] = None,
    bake_seconds: Annotated[int | None, typer.Option(help="Wait after each step before judging (900).")] = None,
    max_holds: Annotated[int | None, typer.Option(help="Holds per step before on-hold-limit applies (3).")] = None,
    on_hold_limit: Annotated[str | None, typer.Option(help="rollback (default) or stop.")] = None,
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="JSON file with the whole plan (judge, capacity); options override.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Execution name (default: generated).")] = None,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start the stack's rollout state machine; the plan is checked against the live variants first."""

    def action(aws: Aws, deps: Deps) -> None:
        plan = _plan(plan_file, candidate, baseline, steps, bake_seconds, max_holds, on_hold_limit)
        stack, endpoint_name, state = _context(aws, endpoint)
        refuse_in_shadow_stage(state, endpoint, "a rollout")
        try:
            # The Prepare function's own check (it also checks capacity and the execution timeout).
            parsed = parse_plan({k: v for k, v in plan.items() if k != "capacity"}, state.current_weights)
        except InvalidPlan as err:
            raise BadInput(f"invalid rollout plan: {err}") from err
        _refuse_without_traffic(aws, endpoint_name, parsed, deps.now())
        machine = stack.output(ROLLOUT_OUTPUT)
        running = aws.executions(machine, status="RUNNING")
        if running:
            raise BadInput(
                f"a rollout is already running on {endpoint}: {running[0]['name']}; "
                f"watch it with `abtest rollout status {endpoint}` or stop it with `abtest rollout stop {endpoint}`"
            )
        arn = aws.start_execution(machine, plan, name)
        result = {"endpoint": endpoint, "execution_arn": arn, "plan": plan}
        if as_json:
            render.print_json(result)
        else:
            _console().print(f"[green]started[/] {arn}\n  watch: abtest rollout status {endpoint}")

    _run(ctx, region, as_json, action)


def _refuse_without_traffic(aws: Aws, endpoint_name: str, plan: RolloutPlan, now: datetime) -> None:
    """The Prepare function's start check (``rollout.traffic_check``), with the same window and
    function, so a plan that could only end at the hold limit is refused here with exit 2."""
    counts = aws.invocations(endpoint_name, [plan.candidate, *plan.baselines], *traffic_window(now))
    reason = refusal(plan, sum(counts.values()) / TRAFFIC_WINDOW_MINUTES)
    if reason is not None:
        raise BadInput(f"not enough traffic for this plan: {reason}")


def _executions(aws: Aws, stack: Stack, endpoint: str, execution: str | None, *, running_only: bool) -> list[str]:
    if ROLLOUT_OUTPUT not in stack.outputs:
        _rollout_machine(aws, stack, endpoint)  # names the shadow stage if that is why
    if execution:
        return [execution]
    machine = stack.output(ROLLOUT_OUTPUT)
    running = aws.executions(machine, status="RUNNING")
    if running or running_only:
        return [e["executionArn"] for e in running]
    return [e["executionArn"] for e in aws.executions(machine, limit=1)]


@rollout_app.command("status")
def rollout_status(
    ctx: typer.Context,
    endpoint: EndpointArg,
    execution: ExecutionOpt = None,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The running rollout (or the latest one) and its step."""

    def action(aws: Aws, deps: Deps) -> None:
        stack = aws.stack(endpoint)
        items = [
            progress_json(progress(*aws.execution(arn)))
            for arn in _executions(aws, stack, endpoint, execution, running_only=False)
        ]
        if as_json:
            render.print_json({"endpoint": endpoint, "executions": items})
        else:
            render.rollout_table(_console(), items)

    _run(ctx, region, as_json, action)


@rollout_app.command("stop")
def rollout_stop(
    ctx: typer.Context,
    endpoint: EndpointArg,
    execution: ExecutionOpt = None,
    cause: Annotated[
        str, typer.Option(help="Recorded with the stop.")
    ] = "stopped by an operator (abtest rollout stop)",
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stop the running rollout; the stack's end rule then restores the weights from before it."""

    def action(aws: Aws, deps: Deps) -> None:
        stack = aws.stack(endpoint)
        arns = _executions(aws, stack, endpoint, execution, running_only=True)
        if not arns:
            raise NotFound(f"no rollout is running on {endpoint}")
        for arn in arns:
            aws.stop_execution(arn, cause)
        result = {"endpoint": endpoint, "stopped": arns}
        if as_json:
            render.print_json(result)
        else:
            _console().print(
                f"[green]stopped[/] {', '.join(arns)}\n  the end rule restores the weights from before the rollout; "
                f"check with `abtest status {endpoint}`"
            )

    _run(ctx, region, as_json, action)


# --- evaluate -------------------------------------------------------------------------------------


@app.command()
def evaluate(
    ctx: typer.Context,
    endpoint: EndpointArg,
    data: Annotated[str, typer.Option(help="Labelled CSV: s3://… or a local file (uploaded to the stack's bucket).")],
    variant: Annotated[list[str] | None, typer.Option(help="A variant to score (repeat; default: all).")] = None,
    label_column: Annotated[int, typer.Option(help="Index of the label column.")] = 0,
    max_rows: Annotated[int | None, typer.Option(help="Score at most this many rows.")] = None,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Invoke the stack's evaluation function on a labelled data set and print its verdicts."""

    def action(aws: Aws, deps: Deps) -> None:
        stack, endpoint_name, state = _context(aws, endpoint)
        local = Path(data)
        if not data.startswith("s3://") and not local.is_file():
            raise BadInput(f"--data {data}: no such file (give a local CSV or an s3:// URI)")
        request: dict[str, Any] = {"data_uri": data if data.startswith("s3://") else f"s3://upload/{local.name}"}
        if variant:
            request["variants"] = list(variant)
        if label_column:
            request["label_column"] = label_column
        if max_rows is not None:
            request["max_rows"] = max_rows
        try:
            parse_request(request, endpoint_name)  # the function's own check, before any upload
        except InvalidEvaluation as err:
            raise BadInput(str(err)) from err
        unknown = sorted(set(variant or []) - set(state.variants))
        if unknown:
            raise BadInput(
                f"endpoint {endpoint_name} has no variant(s) {', '.join(unknown)}; "
                f"its variants are {', '.join(state.variants)}"
            )
        function = stack.output("EvaluationFunctionName")
        if not data.startswith("s3://"):
            # The function may read only datasets/ of its bucket (constructs_lib/evaluation.py).
            request["data_uri"] = aws.upload(local, stack.output("EvaluationBucketName"), f"datasets/{local.name}")
        result = {"endpoint": endpoint, "data_uri": request["data_uri"], "result": aws.invoke(function, request)}
        if as_json:
            render.print_json(result)
        else:
            render.evaluation(_console(), result)

    _run(ctx, region, as_json, action)


def main() -> None:
    app()
