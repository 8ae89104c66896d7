"""The rollout state machine's Lambda steps against moto, with the payloads Step Functions sends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import rollout.handler as rollout
from rollout import lock
from tests.lambdas.conftest import ENDPOINT, REGION, create_endpoint, live_weights, set_endpoint_status
from tests.lambdas.lock_table import create_lock_table

ROLE = "arn:aws:iam::123456789012:role/states"
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
LOCK_TABLE = "rollout-locks"
TIMEOUT = timedelta(days=7)
LEASE = timedelta(days=7, hours=2)
APPLY_MAX_SECONDS = 1_152  # what the construct derives: one 15-minute run plus the retriers' waits
RESTORE_MAX_SECONDS = 4_062  # four 15-minute runs (3 retries on a failed run) plus the waits
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:rollout:{}"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setenv("METRICS_NAMESPACE", "SageMakerABTesting")
    monkeypatch.setenv("VARIANT_ALARMS", json.dumps({"Variant2": ["v2-errors"], "Variant1": ["v1-errors"]}))
    monkeypatch.setenv("LOCK_TABLE", LOCK_TABLE)
    monkeypatch.setenv("ROLLOUT_TIMEOUT_SECONDS", str(int(TIMEOUT.total_seconds())))
    monkeypatch.setenv("LOCK_LEASE_SECONDS", str(int(LEASE.total_seconds())))
    monkeypatch.setenv("APPLY_MAX_SECONDS", str(APPLY_MAX_SECONDS))
    monkeypatch.setenv("RESTORE_MAX_SECONDS", str(RESTORE_MAX_SECONDS))


@pytest.fixture
def locks() -> Any:
    """The lock table as constructs_lib/rollout_lock.py declares it (key ``endpoint``)."""
    client = boto3.client("dynamodb", region_name=REGION)
    create_lock_table(client, LOCK_TABLE)
    return client


def holder(locks: Any) -> str | None:
    found = lock.holder_of(locks, LOCK_TABLE, ENDPOINT)
    return found[0] if found else None


@pytest.fixture
def stepfunctions() -> Any:
    return boto3.client("stepfunctions", region_name=REGION)


@pytest.fixture
def machine(stepfunctions: Any) -> str:
    return stepfunctions.create_state_machine(name="rollout", definition=DEFINITION, roleArn=ROLE)["stateMachineArn"]


@pytest.fixture(autouse=True)
def recent_traffic() -> None:
    """6,000 requests a minute over the start check's 15-minute window (45,000 per variant), in moto's
    CloudWatch: enough for any plan these tests start (``rollout.traffic_check``)."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    put_counts(cloudwatch, datetime.now(UTC) - timedelta(minutes=5), {"Variant1": (45_000, 0), "Variant2": (45_000, 0)})


def prepare_event(stepfunctions: Any, machine: str, execution_input: dict[str, Any]) -> dict[str, Any]:
    """Prepare's payload: {"input": $, "execution": $$.Execution.Id, "state_machine": $$.StateMachine.Id}."""
    execution = stepfunctions.start_execution(stateMachineArn=machine, input=json.dumps(execution_input))
    return {"input": execution_input, "execution": execution["executionArn"], "state_machine": machine}


# --- prepare ----------------------------------------------------------------------------------


def test_prepare_records_the_weights_from_before_and_plans_step_one(sagemaker, stepfunctions, machine, locks):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    state = rollout.prepare(
        prepare_event(stepfunctions, machine, {"candidate": "Variant2", "steps": [10, 50, 100], "bake_seconds": 300}),
        None,
        sagemaker=sagemaker,
        dynamodb=locks,
    )
    assert state["original_weights"] == {"Variant1": 1.0, "Variant2": 1.0}
    assert state["current_weights"] == {"Variant1": 90.0, "Variant2": 10.0}
    assert (state["step_index"], state["share"], state["bake_seconds"], state["action"]) == (0, 10, 300, "apply")
    assert state["baselines"] == ["Variant1"]
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}, "prepare changes nothing"
    assert holder(locks) == state_execution(stepfunctions, machine), "prepare holds the endpoint's lock"


def state_execution(stepfunctions: Any, machine: str) -> str:
    (execution,) = stepfunctions.list_executions(stateMachineArn=machine)["executions"]
    return str(execution["executionArn"])


@pytest.mark.parametrize(
    ("execution_input", "reason"),
    [
        ({"candidate": "Variant9"}, "Variant9"),
        ({"candidate": "Variant2", "baselines": ["Variant7"]}, "Variant7"),
        ({"candidate": "Variant2", "steps": [50, 25, 100]}, "increasing"),
        ({"candidate": "Variant2", "steps": [10, 150]}, "100"),
        ({"candidate": "Variant2", "bake_seconds": 0}, "bake_seconds"),
        ({"candidate": "Variant2", "plan": {}}, "plan"),
        ({"candidate": "Variant2", "bake_seconds": 100_000_000}, "Wait state"),
        ({"candidate": "Variant2", "max_holds": 1_000}, "history"),
        ({"candidate": "Variant2", "bake_seconds": 86_400, "max_holds": 1}, "timeout"),
        # 4 steps × 2 looks × 75,000 s bake = 600,000 s fits a week; with the weight changes it does not
        ({"candidate": "Variant2", "bake_seconds": 75_000, "max_holds": 1}, "weight changes and a restore"),
    ],
)
def test_bad_requests_are_refused_before_any_weight_changes(
    sagemaker, stepfunctions, machine, locks, execution_input, reason
):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    with pytest.raises(rollout.RolloutRefused, match=reason):
        rollout.prepare(
            prepare_event(stepfunctions, machine, execution_input),
            None,
            sagemaker=sagemaker,
            dynamodb=locks,
        )
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}
    assert holder(locks) is None, "a refused rollout leaves the endpoint's lock free"


def prepare_as(execution: str, sagemaker: Any, locks: Any) -> dict[str, Any]:
    """Prepare for an execution that ListExecutions may not list yet (it is eventually consistent)."""
    event = {"input": {"candidate": "Variant2"}, "execution": execution, "state_machine": "unused"}
    return rollout.prepare(event, None, sagemaker=sagemaker, dynamodb=locks)


def test_of_two_racing_rollouts_on_one_endpoint_the_second_is_refused(sagemaker, locks):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    prepare_as(EXECUTION.format("first"), sagemaker, locks)
    with pytest.raises(rollout.RolloutRefused, match=r"another rollout holds endpoint churn-ab: .*:first until"):
        prepare_as(EXECUTION.format("second"), sagemaker, locks)
    assert holder(locks) == EXECUTION.format("first"), "the refused rollout does not release the other's lock"


def test_a_retried_prepare_of_the_same_execution_keeps_its_lock(sagemaker, locks):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    prepare_as(EXECUTION.format("first"), sagemaker, locks)
    prepare_as(EXECUTION.format("first"), sagemaker, locks)  # Step Functions retried the Lambda
    assert holder(locks) == EXECUTION.format("first")


def test_an_expired_lock_is_taken_over(sagemaker, locks, monkeypatch):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    taken = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for when in (taken, taken + LEASE):  # traffic before each start (recent_traffic is in the present)
        put_counts(cloudwatch, when - timedelta(minutes=5), {"Variant1": (45_000, 0), "Variant2": (45_000, 0)})
    monkeypatch.setattr(rollout, "_now", lambda: taken)
    prepare_as(EXECUTION.format("lost"), sagemaker, locks)  # its release never came
    monkeypatch.setattr(rollout, "_now", lambda: taken + LEASE - timedelta(seconds=1))
    with pytest.raises(rollout.RolloutRefused, match="lost"):
        prepare_as(EXECUTION.format("early"), sagemaker, locks)
    monkeypatch.setattr(rollout, "_now", lambda: taken + LEASE + timedelta(seconds=1))
    prepare_as(EXECUTION.format("later"), sagemaker, locks)
    assert holder(locks) == EXECUTION.format("later")


@pytest.mark.parametrize("status", ["Updating", "Failed"])
def test_an_endpoint_not_in_service_is_refused(sagemaker, stepfunctions, machine, locks, status):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status(status)
    with pytest.raises(rollout.RolloutRefused, match=f"is {status}, not InService"):
        rollout.prepare(
            prepare_event(stepfunctions, machine, {"candidate": "Variant2"}),
            None,
            sagemaker=sagemaker,
            dynamodb=locks,
        )


# --- judge ------------------------------------------------------------------------------------
# moto 5.2 cannot serve the judge's GetMetricData: it returns None for percentile statistics (p50,
# p99) and then fails to serialize the response. So CloudWatch is a botocore Stubber here, answering
# with the response shape CloudWatch documents (Timestamps newest first, ModelLatency in µs).


def put_counts(cloudwatch: Any, when: datetime, counts: dict[str, tuple[int, int]]) -> None:
    """Invocations and 5XX errors per variant, as SageMaker publishes them."""
    for variant, (requests, errors) in counts.items():
        dims = [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": variant}]
        cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": when, "Value": requests},
                {"MetricName": "Invocation5XXErrors", "Dimensions": dims, "Timestamp": when, "Value": errors},
            ],
        )


STARTED = datetime(2026, 11, 26, 10, 0, 20, tzinfo=UTC)  # weights live at 10:00:20 → first whole minute 10:01


def judge_state(step_index: int = 0, holds: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "endpoint": ENDPOINT,
        "candidate": "Variant2",
        "baselines": ["Variant1"],
        "plan": {"candidate": "Variant2", "steps": [50, 100], "bake_seconds": 60, "judge": {"min_requests": 200}},
        "original_weights": {"Variant1": 1.0, "Variant2": 1.0},
        "step_index": step_index,
        "share": [50, 100][step_index],
        "current_weights": [{"Variant1": 50.0, "Variant2": 50.0}, {"Variant1": 0.0, "Variant2": 100.0}][step_index],
        "bake_seconds": 60,
        "holds": holds,
        "previous_p": 1.0,
        "started_at": STARTED.isoformat(),
        "step_started_at": STARTED.isoformat(),
        "applied": {"at": "2026-11-26T10:00:20.125Z"},
        "action": "apply",
        "original_instance_counts": {"Variant1": 1, "Variant2": 1},
        "current_instance_counts": {"Variant1": 1, "Variant2": 1},
        "instance_counts": {},
        "restore_instance_counts": {},
        **extra,
    }


def metric_results(per_minute: dict[str, list[tuple[int, int, float]]], first: datetime) -> list[dict[str, Any]]:
    """GetMetricData results for variants in query order: (requests, errors, p99 ms) per minute."""
    results = []
    for index, rows in enumerate(per_minute.values()):
        stamps = [first + timedelta(minutes=i) for i in range(len(rows))][::-1]
        for prefix, values in (
            ("inv", [float(r[0]) for r in rows]),
            ("err", [float(r[1]) for r in rows]),
            ("p50_", [r[2] * 250.0 for r in rows]),
            ("p99_", [r[2] * 1000.0 for r in rows]),
        ):
            results.append(
                {"Id": f"{prefix}{index}", "Label": prefix, "StatusCode": "Complete", "Timestamps": stamps,
                 "Values": values[::-1]}
            )  # fmt: skip
    return results


def run_judge(
    state: dict[str, Any], monkeypatch: pytest.MonkeyPatch, now: datetime, results: list[dict[str, Any]], alarm: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the judge with CloudWatch stubbed; return the new state and the GetMetricData requests made."""
    monkeypatch.setattr(rollout, "_now", lambda: now)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    requests: list[dict[str, Any]] = []
    cloudwatch.meta.events.register(
        "provide-client-params.cloudwatch.GetMetricData", lambda params, **_: requests.append(params)
    )
    with Stubber(cloudwatch) as stub:
        stub.add_response("get_metric_data", {"MetricDataResults": results})
        stub.add_response(
            "describe_alarms",
            {"MetricAlarms": [{"AlarmName": "v2-errors", "StateValue": alarm}], "CompositeAlarms": []},
            {"AlarmNames": ["v2-errors"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]},
        )
        new_state = rollout.judge(state, None, cloudwatch=cloudwatch)
        stub.assert_no_pending_responses()
    return new_state, requests


FIRST = datetime(2026, 11, 26, 10, 1, tzinfo=UTC)
# Ten settled minutes, 10:01 … 10:10: the three before now (10:11-10:13) may still be aggregating.
NOW = datetime(2026, 11, 26, 10, 14, 40, tzinfo=UTC)
HEALTHY = {"Variant2": [(500, 5, 100.0)] * 10, "Variant1": [(500, 5, 100.0)] * 10}


def test_the_history_is_read_per_minute_for_every_variant_from_the_first_whole_minute(monkeypatch):
    state, requests = run_judge(judge_state(), monkeypatch, NOW, metric_results(HEALTHY, FIRST), "OK")
    (request,) = requests
    assert (request["StartTime"], request["EndTime"]) == (FIRST, datetime(2026, 11, 26, 10, 11, tzinfo=UTC))
    queries = {q["Id"]: q["MetricStat"] for q in request["MetricDataQueries"]}
    assert {(q["Metric"]["MetricName"], q["Stat"], q["Period"]) for q in queries.values()} == {
        ("Invocations", "Sum", 60), ("Invocation5XXErrors", "Sum", 60), ("ModelLatency", "p50", 60),
        ("ModelLatency", "p99", 60),
    }  # fmt: skip
    assert queries["p99_0"]["Metric"]["Namespace"] == "AWS/SageMaker"
    assert queries["p99_0"]["Metric"]["Dimensions"] == [
        {"Name": "EndpointName", "Value": ENDPOINT},
        {"Name": "VariantName", "Value": "Variant2"},
    ]
    assert state["decision"]["minutes"] == 10 and state["decision"]["step_candidate_requests"] == 5000
    assert state["weights_log"] == [
        {
            "since": STARTED.isoformat(),
            "at": "2026-11-26T10:00:20.125Z",
            "weights": {"Variant1": 50.0, "Variant2": 50.0},
        }
    ]
    assert "previous_p" not in state


def test_a_healthy_step_is_promoted_to_the_next_share(monkeypatch):
    state, _ = run_judge(judge_state(), monkeypatch, NOW, metric_results(HEALTHY, FIRST), "OK")
    assert state["action"] == "next_step" and state["decision"]["rule"] == "passed"
    assert (state["step_index"], state["share"], state["holds"]) == (1, 100, 0)
    assert state["current_weights"] == {"Variant1": 0.0, "Variant2": 100.0}


def test_a_worse_candidate_is_rolled_back(monkeypatch):
    worse = {"Variant2": [(500, 25, 100.0)] * 10, "Variant1": [(500, 5, 100.0)] * 10}
    state, _ = run_judge(judge_state(), monkeypatch, NOW, metric_results(worse, FIRST), "OK")
    assert (state["action"], state["decision"]["rule"]) == ("rollback", "errors")
    assert "5XX rate is higher" in state["reason"]


def test_the_candidates_alarm_rolls_back(monkeypatch):
    state, _ = run_judge(judge_state(), monkeypatch, NOW, metric_results(HEALTHY, FIRST), "ALARM")
    assert (state["action"], state["reason"]) == ("rollback", "Alarm(s) in ALARM: v2-errors.")


def test_minutes_without_datapoints_count_as_no_traffic_and_hold(monkeypatch):
    quiet = {"Variant2": [(50, 0, 100.0)] * 2, "Variant1": [(50, 0, 100.0)] * 2}
    state, _ = run_judge(judge_state(), monkeypatch, NOW, metric_results(quiet, FIRST), "OK")
    assert (state["action"], state["holds"], state["step_index"]) == ("judge_again", 1, 0)
    assert state["decision"]["minutes"] == 10 and state["decision"]["step_candidate_requests"] == 100


def test_each_minute_carries_its_weights_and_the_minute_of_the_switch_is_left_out(monkeypatch):
    # Step 2 (100 %) was asked for at 10:10:10 and live at 10:10:30: 10:01-10:09 are the 50 % step,
    # 10:10 served both splits and is left out, 10:11-10:20 are the 100 % step (settled by 10:24).
    log = [{"at": "2026-11-26T10:00:20.125Z", "weights": {"Variant1": 50.0, "Variant2": 50.0}}]
    state = judge_state(
        step_index=1,
        weights_log=log,
        step_started_at="2026-11-26T10:10:10+00:00",
        applied={"at": "2026-11-26T10:10:30Z"},
    )
    rows = {"Variant2": [(500, 5, 100.0)] * 10 + [(1000, 10, 100.0)] * 10, "Variant1": [(500, 5, 100.0)] * 10}
    new_state, _ = run_judge(
        state, monkeypatch, datetime(2026, 11, 26, 10, 24, 5, tzinfo=UTC), metric_results(rows, FIRST), "OK"
    )
    assert [e["weights"]["Variant2"] for e in new_state["weights_log"]] == [50.0, 100.0]
    assert new_state["weights_log"][1]["since"] == "2026-11-26T10:10:10+00:00"
    assert new_state["decision"]["minutes"] == 19  # 10:01-10:20 less 10:10
    assert new_state["decision"]["step_candidate_requests"] == 10_000  # 10:11-10:20 only
    assert new_state["action"] == "complete"


def test_a_minute_whose_invocations_have_not_arrived_is_left_out(monkeypatch):
    # The baseline's 10:05 error count is in but its Invocations datapoint is not: read as 0 requests,
    # that minute would hand the candidate a share of errors it never had. It is left out instead.
    results = metric_results(HEALTHY, FIRST)
    late = datetime(2026, 11, 26, 10, 5, tzinfo=UTC)
    inv = next(r for r in results if r["Id"] == "inv1")
    keep = [i for i, t in enumerate(inv["Timestamps"]) if t != late]
    inv["Timestamps"], inv["Values"] = [inv["Timestamps"][i] for i in keep], [inv["Values"][i] for i in keep]
    state, _ = run_judge(judge_state(), monkeypatch, NOW, results, "OK")
    assert state["decision"]["minutes"] == 9 and state["decision"]["step_candidate_requests"] == 4500


# --- settling an ended execution --------------------------------------------------------------


def ended_event(arn: str, status: str, error: str | None = None) -> dict[str, Any]:
    """ "Step Functions Execution Status Change" with the fields the settler reads. ``error`` is
    given here when a test wants it; AWS's documented FAILED example carries none, so the settler
    falls back to the history (see the test without it)."""
    return {
        "version": "0",
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": arn,
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:rollout",
            "status": status,
            "error": error,
            "cause": "why" if error else None,
        },
    }


def history_events(*outputs: tuple[str, dict[str, Any]], failed_with: str | None = None) -> list[dict[str, Any]]:
    """An execution history, newest first (as read with reverseOrder): the ExecutionFailed event
    if ``failed_with``, then the states' exit events with their outputs, the latest first."""
    now = datetime.now(UTC)
    events: list[dict[str, Any]] = []
    if failed_with:
        events.append(
            {
                "timestamp": now,
                "type": "ExecutionFailed",
                "id": 99,
                "executionFailedEventDetails": {"error": failed_with, "cause": "why"},
            }
        )
    for index, (name, output) in enumerate(reversed(outputs)):
        events.append(
            {
                "timestamp": now,
                "type": "TaskStateExited",
                "id": 50 - index,
                "stateExitedEventDetails": {"name": name, "output": json.dumps(output)},
            }
        )
    events.append({"timestamp": now, "type": "ExecutionStarted", "id": 1})
    return events


PREPARED = ("Prepare", {"rollout": {"original_weights": {"Variant1": 1.0, "Variant2": 1.0}}})


def settle(
    arn: str, status: str, sagemaker: Any, locks: Any, history: list[dict[str, Any]] | None, error: str | None = None
) -> dict[str, Any]:
    """Run the end-settling function; moto keeps no real execution history, so the history is
    stubbed with the real response shape (None: the function must not read it)."""
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    stubber = Stubber(stepfunctions)
    if history is not None:
        stubber.add_response("get_execution_history", {"events": history}, {"executionArn": arn, "reverseOrder": True})
    with stubber:
        result = rollout.restore_after_end(
            ended_event(arn, status, error), None, stepfunctions=stepfunctions, sagemaker=sagemaker, dynamodb=locks
        )
        stubber.assert_no_pending_responses()
    return result


def take_lock(locks: Any, execution: str) -> None:
    lock.acquire(locks, LOCK_TABLE, ENDPOINT, execution, datetime.now(UTC), LEASE)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("ABORTED", None),  # stopped by hand
        ("TIMED_OUT", None),
        ("FAILED", "States.Runtime"),  # e.g. the 25,000-event history limit
        ("FAILED", "RestoreFailed"),  # the state machine's own restore gave up: try once more
    ],
)
def test_an_execution_that_ended_without_deciding_gets_its_original_weights_back(
    sagemaker, locks, monkeypatch, status, error
):
    create_endpoint(sagemaker, {"Variant1": 25, "Variant2": 75})  # mid-rollout
    monkeypatch.setattr("set_weights.handler.POLL_SECONDS", 0.01)
    arn = EXECUTION.format("abc")
    take_lock(locks, arn)
    result = settle(arn, status, sagemaker, locks, history_events(PREPARED), error)
    assert result == {"restored": True, "weights": {"Variant1": 1.0, "Variant2": 1.0}, "released": True}
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}
    assert holder(locks) is None


def test_a_failed_execution_without_the_error_in_the_event_is_judged_by_its_history(sagemaker, locks, monkeypatch):
    create_endpoint(sagemaker, {"Variant1": 25, "Variant2": 75})
    monkeypatch.setattr("set_weights.handler.POLL_SECONDS", 0.01)
    arn = EXECUTION.format("abc")
    take_lock(locks, arn)
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    stubber = Stubber(stepfunctions)
    newest = history_events(PREPARED, failed_with="RolledBack")[:1]
    stubber.add_response(
        "get_execution_history", {"events": newest}, {"executionArn": arn, "reverseOrder": True, "maxResults": 1}
    )
    with stubber:
        result = rollout.restore_after_end(
            ended_event(arn, "FAILED"), None, stepfunctions=stepfunctions, sagemaker=sagemaker, dynamodb=locks
        )
    assert result["restored"] is False and "rolled back" in result["reason"]
    assert live_weights(sagemaker) == {"Variant1": 25.0, "Variant2": 75.0}


@pytest.mark.parametrize(
    ("status", "error"),
    [("SUCCEEDED", None), ("FAILED", "RolledBack"), ("FAILED", "RolloutError"), ("FAILED", "HoldLimitReached")],
)
def test_a_deliberate_end_whose_release_was_lost_only_releases_the_lock(sagemaker, locks, status, error):
    create_endpoint(sagemaker, {"Variant1": 25, "Variant2": 75})  # what the rollout left, on purpose
    arn = EXECUTION.format("abc")
    take_lock(locks, arn)
    result = settle(arn, status, sagemaker, locks, history=None, error=error)
    assert (result["restored"], result["released"]) == (False, True)
    assert live_weights(sagemaker) == {"Variant1": 25.0, "Variant2": 75.0}
    assert holder(locks) is None


@pytest.mark.parametrize("status", ["FAILED", "ABORTED", "TIMED_OUT"])
def test_an_end_whose_lock_another_rollout_holds_now_changes_nothing(sagemaker, locks, status):
    """A rolled-back execution released its lock itself; a new rollout took it before this late
    event arrived. Restoring now would fight the new rollout."""
    create_endpoint(sagemaker, {"Variant1": 90, "Variant2": 10})  # the new rollout's first step
    take_lock(locks, EXECUTION.format("new"))
    result = settle(EXECUTION.format("old"), status, sagemaker, locks, history=None, error="RolledBack")
    assert (result["restored"], result["released"]) == (False, False)
    assert live_weights(sagemaker) == {"Variant1": 90.0, "Variant2": 10.0}
    assert holder(locks) == EXECUTION.format("new")


def test_a_rollout_refused_by_the_lock_does_not_release_it(sagemaker, locks):
    create_endpoint(sagemaker, {"Variant1": 90, "Variant2": 10})
    take_lock(locks, EXECUTION.format("running"))
    result = settle(EXECUTION.format("refused"), "FAILED", sagemaker, locks, history=None, error="RolloutRefused")
    assert result["released"] is False and holder(locks) == EXECUTION.format("running")


def test_restoring_twice_is_harmless(sagemaker, locks, monkeypatch):
    """The state machine restored, then failed before releasing; the end event restores again."""
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})  # already restored
    monkeypatch.setattr("set_weights.handler.POLL_SECONDS", 0.01)
    arn = EXECUTION.format("abc")
    take_lock(locks, arn)
    result = settle(arn, "FAILED", sagemaker, locks, history_events(PREPARED), "States.Runtime")
    assert result["restored"] is True
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}


def test_an_execution_that_ended_before_prepare_finished_changes_nothing_and_releases(sagemaker, locks):
    create_endpoint(sagemaker, {"Variant1": 40, "Variant2": 60})
    arn = EXECUTION.format("early")
    take_lock(locks, arn)  # Prepare took the lock, then its Lambda timed out
    result = settle(arn, "FAILED", sagemaker, locks, history_events(), "States.Timeout")
    assert (result["restored"], result["released"]) == (False, True)
    assert live_weights(sagemaker) == {"Variant1": 40.0, "Variant2": 60.0}


def test_a_failed_restore_keeps_the_lock_and_raises_for_the_dead_letter_queue(sagemaker, locks):
    create_endpoint(sagemaker, {"Variant1": 25, "Variant2": 75})
    arn = EXECUTION.format("abc")
    take_lock(locks, arn)
    unknown = ("Prepare", {"rollout": {"original_weights": {"Variant1": 1.0, "Variant9": 1.0}}})
    with pytest.raises(ValueError, match="Variant9"):
        settle(arn, "ABORTED", sagemaker, locks, history_events(unknown))
    assert holder(locks) == arn, "no rollout may start on half-shifted weights"


# --- capacity ---------------------------------------------------------------------------------


def test_with_capacity_the_candidate_is_scaled_before_it_takes_its_share(sagemaker, stepfunctions, machine, locks):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)  # 6,000 requests a minute: recent_traffic
    request = {
        "candidate": "Variant2",
        "steps": [50, 100],
        "capacity": {"invocations_per_instance_per_minute": 1000},
    }
    state = rollout.prepare(
        prepare_event(stepfunctions, machine, request),
        None,
        sagemaker=sagemaker,
        dynamodb=locks,
        cloudwatch=cloudwatch,
    )
    assert state["instance_counts"] == {"Variant2": 3}  # 50 % of 6,000/min at 1,000 per instance
    assert state["restore_instance_counts"] == {"Variant2": 1}


def test_without_capacity_no_instance_count_changes(sagemaker, stepfunctions, machine, locks):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    state = rollout.prepare(
        prepare_event(stepfunctions, machine, {"candidate": "Variant2"}),
        None,
        sagemaker=sagemaker,
        dynamodb=locks,
    )
    assert state["instance_counts"] == {} and state["restore_instance_counts"] == {}


def test_a_bad_capacity_setting_is_refused(sagemaker, stepfunctions, machine, locks):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    request = {"candidate": "Variant2", "capacity": {"invocations_per_instance_per_minute": 0}}
    with pytest.raises(rollout.RolloutRefused, match="capacity"):
        rollout.prepare(prepare_event(stepfunctions, machine, request), None, sagemaker=sagemaker, dynamodb=locks)


def test_a_stop_after_capacity_was_raised_restores_the_count_too(sagemaker, locks, monkeypatch):
    create_endpoint(sagemaker, {"Variant1": 50, "Variant2": 50}, counts=3)
    monkeypatch.setattr("set_weights.handler.POLL_SECONDS", 0.01)
    arn = EXECUTION.format("raised")
    take_lock(locks, arn)
    prepare_output = {
        "rollout": {"original_weights": {"Variant1": 1.0, "Variant2": 1.0}, "restore_instance_counts": {}}
    }
    judge_output = {
        "rollout": {"original_weights": {"Variant1": 1.0, "Variant2": 1.0}, "restore_instance_counts": {"Variant2": 1}}
    }
    calls: list[Any] = []
    sagemaker.meta.events.register(
        "provide-client-params.sagemaker.UpdateEndpointWeightsAndCapacities",
        lambda params, **_: calls.append(params["DesiredWeightsAndCapacities"]),
    )
    history = history_events(("Prepare", prepare_output), ("Judge", judge_output))
    settle(arn, "ABORTED", sagemaker, locks, history)
    assert any({"VariantName": "Variant2", "DesiredWeight": 1.0, "DesiredInstanceCount": 1} in call for call in calls)


# --- a lock left by an execution whose end was never settled -----------------------------------


def described(
    arn: str, status: str, error: str | None = None, *, ended_ago: timedelta = timedelta(hours=2)
) -> dict[str, Any]:
    """DescribeExecution's answer (the fields the API reference marks required, stopDate once the
    execution ended, and error if FAILED)."""
    answer: dict[str, Any] = {
        "executionArn": arn,
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:rollout",
        "status": status,
        "startDate": datetime.now(UTC) - ended_ago - timedelta(minutes=30),
    }
    if status in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"):
        answer["stopDate"] = datetime.now(UTC) - ended_ago
    return {**answer, "error": error} if error else answer


def prepare_over(
    holder_arn: str,
    status: str,
    sagemaker: Any,
    locks: Any,
    history: list[dict[str, Any]] | None,
    error: str | None = None,
) -> dict[str, Any]:
    """Prepare a new rollout while ``holder_arn`` holds the lock and has ``status``; Step Functions
    is stubbed (moto keeps no execution history), with the real response shapes."""
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    stubber = Stubber(stepfunctions)
    stubber.add_response("describe_execution", described(holder_arn, status, error), {"executionArn": holder_arn})
    if history is not None:
        stubber.add_response(
            "get_execution_history", {"events": history}, {"executionArn": holder_arn, "reverseOrder": True}
        )
    event = {"input": {"candidate": "Variant2"}, "execution": EXECUTION.format("next"), "state_machine": "unused"}
    with stubber:
        state = rollout.prepare(event, None, sagemaker=sagemaker, dynamodb=locks, stepfunctions=stepfunctions)
        stubber.assert_no_pending_responses()
    return state


@pytest.mark.parametrize(("status", "error"), [("ABORTED", None), ("TIMED_OUT", None), ("FAILED", "States.Runtime")])
def test_a_lock_held_by_an_execution_whose_end_event_was_lost_is_settled_then_taken(
    sagemaker, locks, monkeypatch, status, error
):
    """Status-change events are best effort: the holder ended mid-rollout and nobody restored."""
    create_endpoint(sagemaker, {"Variant1": 25, "Variant2": 75})  # the ended rollout's half-way weights
    monkeypatch.setattr("set_weights.handler.POLL_SECONDS", 0.01)
    take_lock(locks, EXECUTION.format("lost-end"))
    state = prepare_over(EXECUTION.format("lost-end"), status, sagemaker, locks, history_events(PREPARED), error)
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}, "the ended rollout's weights are undone"
    assert state["original_weights"] == {"Variant1": 1.0, "Variant2": 1.0}, "not the half-way weights"
    assert holder(locks) == EXECUTION.format("next")


def test_a_lock_taken_by_a_prepare_that_outlived_its_stopped_execution_is_released_and_taken(sagemaker, locks):
    """Stopped within seconds: the end event found no lock, then the still-running Prepare took it.
    The history has no Prepare output, so no weight changed and there is nothing to restore."""
    create_endpoint(sagemaker, {"Variant1": 40, "Variant2": 60})
    stopped = EXECUTION.format("stopped-early")
    assert rollout.restore_after_end(ended_event(stopped, "ABORTED"), None, dynamodb=locks)["released"] is False
    take_lock(locks, stopped)  # its Prepare, still running, took the lock afterwards
    state = prepare_over(stopped, "ABORTED", sagemaker, locks, history_events())
    assert live_weights(sagemaker) == {"Variant1": 40.0, "Variant2": 60.0}
    assert state["original_weights"] == {"Variant1": 40.0, "Variant2": 60.0}
    assert holder(locks) == EXECUTION.format("next")


@pytest.mark.parametrize(("status", "error"), [("SUCCEEDED", None), ("FAILED", "RolledBack")])
def test_a_lock_left_by_a_deliberate_end_is_only_released(sagemaker, locks, status, error):
    create_endpoint(sagemaker, {"Variant1": 0, "Variant2": 100})  # promoted on purpose
    take_lock(locks, EXECUTION.format("promoted"))
    state = prepare_over(EXECUTION.format("promoted"), status, sagemaker, locks, history=None, error=error)
    assert live_weights(sagemaker) == {"Variant1": 0.0, "Variant2": 100.0}
    assert state["original_weights"] == {"Variant1": 0.0, "Variant2": 100.0}
    assert holder(locks) == EXECUTION.format("next")


@pytest.mark.parametrize("status", ["RUNNING", "PENDING_REDRIVE"])
def test_a_lock_held_by_a_running_execution_still_refuses(sagemaker, locks, status):
    create_endpoint(sagemaker, {"Variant1": 90, "Variant2": 10})
    take_lock(locks, EXECUTION.format("running"))
    with pytest.raises(rollout.RolloutRefused, match=f"another rollout holds endpoint churn-ab: .*:running .*{status}"):
        prepare_over(EXECUTION.format("running"), status, sagemaker, locks, history=None)
    assert live_weights(sagemaker) == {"Variant1": 90.0, "Variant2": 10.0}
    assert holder(locks) == EXECUTION.format("running")


def test_a_holder_that_ended_moments_ago_is_left_to_its_own_end_handler(sagemaker, locks):
    """Its end-event settler may be mid-restore (set-weights waits while the endpoint is busy): a
    second settler, and the next rollout's first step, would race it. Prepare refuses and changes
    nothing until the grace has passed."""
    create_endpoint(sagemaker, {"Variant1": 25, "Variant2": 75})
    take_lock(locks, EXECUTION.format("just-stopped"))
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    stubber = Stubber(stepfunctions)
    answer = described(EXECUTION.format("just-stopped"), "ABORTED", ended_ago=timedelta(minutes=2))
    stubber.add_response("describe_execution", answer, {"executionArn": EXECUTION.format("just-stopped")})
    event = {"input": {"candidate": "Variant2"}, "execution": EXECUTION.format("next"), "state_machine": "unused"}
    with stubber, pytest.raises(rollout.RolloutRefused, match="its own end handler may still be restoring"):
        rollout.prepare(event, None, sagemaker=sagemaker, dynamodb=locks, stepfunctions=stepfunctions)
    assert holder(locks) == EXECUTION.format("just-stopped")
    assert live_weights(sagemaker) == {"Variant1": 25.0, "Variant2": 75.0}


def test_the_grace_covers_the_end_handlers_timeout():
    from constructs_lib.rollout import SETTLE_TIMEOUT
    from rollout.settle import END_SETTLE_GRACE_SECONDS

    assert SETTLE_TIMEOUT.to_seconds() < END_SETTLE_GRACE_SECONDS


def test_a_lost_end_that_cannot_be_restored_keeps_the_lock_and_refuses(sagemaker, locks):
    create_endpoint(sagemaker, {"Variant1": 25, "Variant2": 75})
    take_lock(locks, EXECUTION.format("lost-end"))
    unknown = ("Prepare", {"rollout": {"original_weights": {"Variant1": 1.0, "Variant9": 1.0}}})
    with pytest.raises(ValueError, match="Variant9"):
        prepare_over(EXECUTION.format("lost-end"), "ABORTED", sagemaker, locks, history_events(unknown))
    assert holder(locks) == EXECUTION.format("lost-end"), "no rollout starts on half-shifted weights"


# --- the start check: enough traffic for the plan ----------------------------------------------

START_NOW = datetime(2026, 12, 3, 9, 0, 30, tzinfo=UTC)
WINDOW_START, WINDOW_END = datetime(2026, 12, 3, 8, 42, tzinfo=UTC), datetime(2026, 12, 3, 8, 57, tzinfo=UTC)


def cloudwatch_with_traffic(invocations: dict[str, float]) -> tuple[Any, Stubber]:
    """A CloudWatch client that answers Prepare's one GetMetricData: each variant's Invocations Sum
    over the 15 whole minutes that end 3 (not yet settled) before :data:`START_NOW`, in one 900 s
    period (empty for a variant without data)."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    stubber = Stubber(cloudwatch)
    queries = []
    results = []
    for index, (variant, total) in enumerate(invocations.items()):
        dims = [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": variant}]
        queries.append(
            {
                "Id": f"v{index}",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Dimensions": dims},
                    "Period": 900,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
        )
        stamps = [WINDOW_START] if total else []
        values = [total] if total else []
        results.append({"Id": f"v{index}", "Timestamps": stamps, "Values": values, "StatusCode": "Complete"})
    expected = {"MetricDataQueries": queries, "StartTime": WINDOW_START, "EndTime": WINDOW_END}
    stubber.add_response("get_metric_data", {"MetricDataResults": results}, expected)
    return cloudwatch, stubber


def prepare_at_traffic(
    request: dict[str, Any], invocations: dict[str, float], sagemaker: Any, stepfunctions: Any, machine: str, locks: Any
) -> dict[str, Any]:
    cloudwatch, stubber = cloudwatch_with_traffic(invocations)
    with stubber:
        state = rollout.prepare(
            prepare_event(stepfunctions, machine, request),
            None,
            sagemaker=sagemaker,
            dynamodb=locks,
            cloudwatch=cloudwatch,
        )
        stubber.assert_no_pending_responses()
    return state


@pytest.fixture
def at_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rollout, "_now", lambda: START_NOW)


# The benchmark's row: a 1 % canary at 1,000 requests a minute gets 10 a minute; min_requests 500 would
# take 50 minutes, and the judge reads at most 36 of a step (4 bakes of 10 minutes, less 3 + 1).
# 10-minute bakes: the judge reads at most 36 minutes of a step (the default 15-minute bakes read 56,
# and a 1 % step at 1,000 a minute would gather 560 requests, enough).
ONE_PERCENT = {"candidate": "Variant2", "steps": [1, 5, 25, 100], "bake_seconds": 600}
THOUSAND_A_MINUTE = {"Variant2": 0.0, "Variant1": 15_000.0}


def test_a_plan_that_cannot_gather_min_requests_is_refused_before_anything_changes(
    sagemaker, stepfunctions, machine, locks, at_now
):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    updates: list[Any] = []
    sagemaker.meta.events.register(
        "provide-client-params.sagemaker.UpdateEndpointWeightsAndCapacities", lambda params, **_: updates.append(params)
    )
    with pytest.raises(rollout.RolloutRefused) as refused:
        prepare_at_traffic(ONE_PERCENT, THOUSAND_A_MINUTE, sagemaker, stepfunctions, machine, locks)
    reason = str(refused.value)
    for part in ("step 1 (1 %)", "1,000.0 requests a minute", "about 10.0 a minute", "500 needed", "36 minute(s)"):
        assert part in reason
    assert "share of at least 1.39 %" in reason and "max_holds of at least 5" in reason
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0} and updates == []
    assert holder(locks) is None, "a refused rollout leaves the endpoint's lock free"


def test_the_refused_execution_ends_as_nothing_changed(sagemaker, stepfunctions, machine, locks, at_now):
    """Its end event (FAILED, RolloutRefused) finds no lock of its own: no restore, nothing released."""
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    with pytest.raises(rollout.RolloutRefused):
        prepare_at_traffic(ONE_PERCENT, THOUSAND_A_MINUTE, sagemaker, stepfunctions, machine, locks)
    arn = state_execution(stepfunctions, machine)
    result = settle(arn, "FAILED", sagemaker, locks, history=None, error="RolloutRefused")
    assert (result["restored"], result["released"]) == (False, False)
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}


def test_a_plan_that_can_gather_min_requests_starts(sagemaker, stepfunctions, machine, locks, at_now):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    request = {**ONE_PERCENT, "steps": [1.39, 5, 25, 100]}  # 13.9 a minute × 36 minutes ≥ 500
    state = prepare_at_traffic(request, THOUSAND_A_MINUTE, sagemaker, stepfunctions, machine, locks)
    assert state["share"] == 1.39 and holder(locks) == state_execution(stepfunctions, machine)


def test_without_any_traffic_the_rollout_is_refused_unless_the_plan_allows_it(
    sagemaker, stepfunctions, machine, locks, at_now
):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    silent = {"Variant2": 0.0, "Variant1": 0.0}
    with pytest.raises(rollout.RolloutRefused, match=r"no traffic to estimate from: .*allow_without_traffic_estimate"):
        prepare_at_traffic({"candidate": "Variant2"}, silent, sagemaker, stepfunctions, machine, locks)
    assert holder(locks) is None
    allowed = {"candidate": "Variant2", "allow_without_traffic_estimate": True}
    state = prepare_at_traffic(allowed, silent, sagemaker, stepfunctions, machine, locks)
    assert state["action"] == "apply"
