"""The rollout state machine's Lambda steps against moto, with the payloads Step Functions sends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import rollout.handler as rollout
from tests.lambdas.conftest import ENDPOINT, REGION, create_endpoint, live_weights, set_endpoint_status

ROLE = "arn:aws:iam::123456789012:role/states"
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setenv("METRICS_NAMESPACE", "SageMakerABTesting")
    monkeypatch.setenv("VARIANT_ALARMS", json.dumps({"Variant2": ["v2-errors"], "Variant1": ["v1-errors"]}))


@pytest.fixture
def stepfunctions() -> Any:
    return boto3.client("stepfunctions", region_name=REGION)


@pytest.fixture
def machine(stepfunctions: Any) -> str:
    return stepfunctions.create_state_machine(name="rollout", definition=DEFINITION, roleArn=ROLE)["stateMachineArn"]


def prepare_event(stepfunctions: Any, machine: str, execution_input: dict[str, Any]) -> dict[str, Any]:
    """Prepare's payload: {"input": $, "execution": $$.Execution.Id, "state_machine": $$.StateMachine.Id}."""
    execution = stepfunctions.start_execution(stateMachineArn=machine, input=json.dumps(execution_input))
    return {"input": execution_input, "execution": execution["executionArn"], "state_machine": machine}


# --- prepare ----------------------------------------------------------------------------------


def test_prepare_records_the_weights_from_before_and_plans_step_one(sagemaker, stepfunctions, machine):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    state = rollout.prepare(
        prepare_event(stepfunctions, machine, {"candidate": "Variant2", "steps": [10, 50, 100], "bake_seconds": 60}),
        None,
        sagemaker=sagemaker,
        stepfunctions=stepfunctions,
    )
    assert state["original_weights"] == {"Variant1": 1.0, "Variant2": 1.0}
    assert state["current_weights"] == {"Variant1": 90.0, "Variant2": 10.0}
    assert (state["step_index"], state["share"], state["bake_seconds"], state["action"]) == (0, 10, 60, "apply")
    assert state["baselines"] == ["Variant1"]
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}, "prepare changes nothing"


@pytest.mark.parametrize(
    ("execution_input", "reason"),
    [
        ({"candidate": "Variant9"}, "Variant9"),
        ({"candidate": "Variant2", "baselines": ["Variant7"]}, "Variant7"),
        ({"candidate": "Variant2", "steps": [50, 25, 100]}, "increasing"),
        ({"candidate": "Variant2", "steps": [10, 150]}, "100"),
        ({"candidate": "Variant2", "bake_seconds": 0}, "bake_seconds"),
        ({"candidate": "Variant2", "plan": {}}, "plan"),
    ],
)
def test_bad_requests_are_refused_before_any_weight_changes(sagemaker, stepfunctions, machine, execution_input, reason):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    with pytest.raises(rollout.RolloutRefused, match=reason):
        rollout.prepare(
            prepare_event(stepfunctions, machine, execution_input),
            None,
            sagemaker=sagemaker,
            stepfunctions=stepfunctions,
        )
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}


def test_a_second_rollout_on_the_same_endpoint_is_refused(sagemaker, stepfunctions, machine):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    prepare_event(stepfunctions, machine, {"candidate": "Variant2"})  # still RUNNING
    with pytest.raises(rollout.RolloutRefused, match="another rollout is running"):
        rollout.prepare(
            prepare_event(stepfunctions, machine, {"candidate": "Variant2"}),
            None,
            sagemaker=sagemaker,
            stepfunctions=stepfunctions,
        )


@pytest.mark.parametrize("status", ["Updating", "Failed"])
def test_an_endpoint_not_in_service_is_refused(sagemaker, stepfunctions, machine, status):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status(status)
    with pytest.raises(rollout.RolloutRefused, match=f"is {status}, not InService"):
        rollout.prepare(
            prepare_event(stepfunctions, machine, {"candidate": "Variant2"}),
            None,
            sagemaker=sagemaker,
            stepfunctions=stepfunctions,
        )


# --- judge ------------------------------------------------------------------------------------


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


def judge_state(started: datetime, step_index: int = 0, holds: int = 0) -> dict[str, Any]:
    return {
        "endpoint": ENDPOINT,
        "candidate": "Variant2",
        "baselines": ["Variant1"],
        "plan": {"candidate": "Variant2", "steps": [50, 100], "bake_seconds": 60, "judge": {"min_requests": 200}},
        "original_weights": {"Variant1": 1.0, "Variant2": 1.0},
        "step_index": step_index,
        "share": [50, 100][step_index],
        "current_weights": {"Variant1": 50.0, "Variant2": 50.0},
        "bake_seconds": 60,
        "holds": holds,
        "previous_p": 1.0,
        "started_at": started.isoformat(),
        "step_started_at": started.isoformat(),
        "action": "apply",
        "original_instance_counts": {"Variant1": 1, "Variant2": 1},
        "current_instance_counts": {"Variant1": 1, "Variant2": 1},
        "instance_counts": {},
        "restore_instance_counts": {},
    }


def run_judge(state: dict[str, Any], monkeypatch: pytest.MonkeyPatch, now: datetime) -> dict[str, Any]:
    monkeypatch.setattr(rollout, "_now", lambda: now)
    return rollout.judge(state, None, cloudwatch=boto3.client("cloudwatch", region_name=REGION))


def test_a_healthy_step_is_promoted_to_the_next_share(monkeypatch):
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    started = datetime.now(UTC) - timedelta(minutes=30)
    put_counts(cloudwatch, started + timedelta(minutes=10), {"Variant1": (5000, 10), "Variant2": (5000, 9)})
    state = run_judge(judge_state(started), monkeypatch, started + timedelta(minutes=20))
    assert state["action"] == "next_step"
    assert (state["step_index"], state["share"]) == (1, 100)
    assert state["current_weights"] == {"Variant1": 0.0, "Variant2": 100.0}
    assert state["decision"]["observation"]["candidate_requests"] == 5000


def test_a_worse_candidate_is_rolled_back(monkeypatch):
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    started = datetime.now(UTC) - timedelta(minutes=30)
    put_counts(cloudwatch, started + timedelta(minutes=10), {"Variant1": (5000, 10), "Variant2": (5000, 150)})
    state = run_judge(judge_state(started), monkeypatch, started + timedelta(minutes=20))
    assert state["action"] == "rollback"
    assert state["previous_p"] < 0.05 and "error" in state["reason"].lower()


def test_too_little_traffic_holds_and_counts_the_hold(monkeypatch):
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    started = datetime.now(UTC) - timedelta(minutes=30)
    put_counts(cloudwatch, started + timedelta(minutes=10), {"Variant1": (50, 0), "Variant2": (50, 0)})
    state = run_judge(judge_state(started), monkeypatch, started + timedelta(minutes=20))
    assert (state["action"], state["holds"], state["step_index"]) == ("judge_again", 1, 0)


def test_promoting_the_last_step_completes_the_rollout(monkeypatch):
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    started = datetime.now(UTC) - timedelta(minutes=30)
    put_counts(cloudwatch, started + timedelta(minutes=10), {"Variant1": (5000, 10), "Variant2": (5000, 9)})
    state = run_judge(judge_state(started, step_index=1), monkeypatch, started + timedelta(minutes=20))
    assert state["action"] == "complete" and "ready to retire Variant1" in state["reason"]


# --- restore after a manual stop ----------------------------------------------------------------


def stopped_execution_event(arn: str) -> dict[str, Any]:
    return {
        "version": "0",
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"executionArn": arn, "status": "ABORTED"},
    }


def test_a_stopped_rollout_gets_its_original_weights_back(sagemaker, monkeypatch):
    create_endpoint(sagemaker, {"Variant1": 25, "Variant2": 75})  # mid-rollout
    monkeypatch.setattr("set_weights.handler.POLL_SECONDS", 0.01)
    arn = "arn:aws:states:us-east-1:123456789012:execution:rollout:abc"
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    stubber = Stubber(stepfunctions)  # moto keeps no real execution history: the real shape, by hand
    prepare_output = json.dumps({"rollout": {"original_weights": {"Variant1": 1.0, "Variant2": 1.0}}})
    stubber.add_response(
        "get_execution_history",
        {
            "events": [
                {"timestamp": datetime.now(UTC), "type": "ExecutionStarted", "id": 1},
                {
                    "timestamp": datetime.now(UTC),
                    "type": "TaskStateExited",
                    "id": 6,
                    "stateExitedEventDetails": {"name": "Prepare", "output": prepare_output},
                },
            ]
        },
        {"executionArn": arn},
    )
    with stubber:
        result = rollout.restore_after_stop(
            stopped_execution_event(arn), None, stepfunctions=stepfunctions, sagemaker=sagemaker
        )
    assert result == {"restored": True, "weights": {"Variant1": 1.0, "Variant2": 1.0}}
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}


def test_a_rollout_stopped_before_prepare_finished_changes_nothing(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 40, "Variant2": 60})
    arn = "arn:aws:states:us-east-1:123456789012:execution:rollout:early"
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    stubber = Stubber(stepfunctions)
    stubber.add_response(
        "get_execution_history",
        {"events": [{"timestamp": datetime.now(UTC), "type": "ExecutionStarted", "id": 1}]},
        {"executionArn": arn},
    )
    with stubber:
        result = rollout.restore_after_stop(
            stopped_execution_event(arn), None, stepfunctions=stepfunctions, sagemaker=sagemaker
        )
    assert result["restored"] is False
    assert live_weights(sagemaker) == {"Variant1": 40.0, "Variant2": 60.0}


# --- capacity ---------------------------------------------------------------------------------


def test_with_capacity_the_candidate_is_scaled_before_it_takes_its_share(sagemaker, stepfunctions, machine):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    # 15 minutes of 6,000 requests per minute across both variants
    put_counts(cloudwatch, datetime.now(UTC) - timedelta(minutes=5), {"Variant1": (45_000, 0), "Variant2": (45_000, 0)})
    request = {
        "candidate": "Variant2",
        "steps": [50, 100],
        "capacity": {"invocations_per_instance_per_minute": 1000},
    }
    state = rollout.prepare(
        prepare_event(stepfunctions, machine, request),
        None,
        sagemaker=sagemaker,
        stepfunctions=stepfunctions,
        cloudwatch=cloudwatch,
    )
    assert state["instance_counts"] == {"Variant2": 3}  # 50 % of 6,000/min at 1,000 per instance
    assert state["restore_instance_counts"] == {"Variant2": 1}


def test_without_capacity_no_instance_count_changes(sagemaker, stepfunctions, machine):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    state = rollout.prepare(
        prepare_event(stepfunctions, machine, {"candidate": "Variant2"}),
        None,
        sagemaker=sagemaker,
        stepfunctions=stepfunctions,
    )
    assert state["instance_counts"] == {} and state["restore_instance_counts"] == {}


def test_a_bad_capacity_setting_is_refused(sagemaker, stepfunctions, machine):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    request = {"candidate": "Variant2", "capacity": {"invocations_per_instance_per_minute": 0}}
    with pytest.raises(rollout.RolloutRefused, match="capacity"):
        rollout.prepare(
            prepare_event(stepfunctions, machine, request), None, sagemaker=sagemaker, stepfunctions=stepfunctions
        )


def test_the_step_window_starts_at_the_next_minute_after_the_weights_went_live():
    state = {"step_started_at": "2026-11-26T10:00:05+00:00", "applied": {"at": "2026-11-26T10:01:30.250Z"}}
    assert rollout._window_start(state) == datetime(2026, 11, 26, 10, 2, tzinfo=UTC)
    assert rollout._window_start({"step_started_at": "2026-11-26T10:00:00+00:00"}) == datetime(
        2026, 11, 26, 10, 0, tzinfo=UTC
    )


def test_a_stop_after_capacity_was_raised_restores_the_count_too(sagemaker, monkeypatch):
    create_endpoint(sagemaker, {"Variant1": 50, "Variant2": 50}, counts=3)
    monkeypatch.setattr("set_weights.handler.POLL_SECONDS", 0.01)
    arn = "arn:aws:states:us-east-1:123456789012:execution:rollout:raised"
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    stubber = Stubber(stepfunctions)
    prepare_output = {
        "rollout": {"original_weights": {"Variant1": 1.0, "Variant2": 1.0}, "restore_instance_counts": {}}
    }
    judge_output = {
        "rollout": {"original_weights": {"Variant1": 1.0, "Variant2": 1.0}, "restore_instance_counts": {"Variant2": 1}}
    }
    stubber.add_response(
        "get_execution_history",
        {
            "events": [
                {
                    "timestamp": datetime.now(UTC),
                    "type": "TaskStateExited",
                    "id": 6,
                    "stateExitedEventDetails": {"name": name, "output": json.dumps(output)},
                }
                for name, output in (("Prepare", prepare_output), ("Judge", judge_output))
            ]
        },
        {"executionArn": arn},
    )
    calls: list[Any] = []
    sagemaker.meta.events.register(
        "provide-client-params.sagemaker.UpdateEndpointWeightsAndCapacities",
        lambda params, **_: calls.append(params["DesiredWeightsAndCapacities"]),
    )
    with stubber:
        rollout.restore_after_stop(stopped_execution_event(arn), None, stepfunctions=stepfunctions, sagemaker=sagemaker)
    assert any({"VariantName": "Variant2", "DesiredWeight": 1.0, "DesiredInstanceCount": 1} in call for call in calls)
