"""The rollout state machine's definition: every path, and what it may touch."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
import pytest
from aws_cdk import App
from aws_cdk.assertions import Match, Template
from moto import mock_aws

from app import build_app
from constructs_lib import rollout_lock
from constructs_lib.config import parse_config
from constructs_lib.python_function import SCHEDULED_DLQ_REASON, SYNCHRONOUS_DLQ_REASON
from constructs_lib.rollout import worst_case_task_seconds
from rollout import lock, plan, settle
from tests.conftest import read_config
from tests.lambdas.lock_table import create_lock_table
from tests.stacks.test_ab_test_stack import joined_text
from tests.synth import only_template


@pytest.fixture(scope="module")
def template() -> Template:
    return only_template(read_config())


def rollout_machines(template: Template) -> dict[str, Any]:
    """The rollout's state machine (the stack has others: the weights waiter, live quality)."""
    return {
        lid: r
        for lid, r in template.find_resources("AWS::StepFunctions::StateMachine").items()
        if lid.startswith("Rollout")
    }


@pytest.fixture(scope="module")
def definition(template: Template) -> dict[str, Any]:
    machines = rollout_machines(template)
    (machine,) = machines.values()
    # Tokens (function ARNs, topic) sit inside JSON strings; dropping them keeps the JSON valid.
    return json.loads(joined_text(machine["Properties"]["DefinitionString"]))


def test_each_step_applies_its_weights_and_any_capacity_it_needs(definition):
    assert definition["States"]["Apply step"]["Parameters"]["Payload"] == {
        "weights.$": "$.rollout.current_weights",
        "instance_counts.$": "$.rollout.instance_counts",
    }


def test_the_happy_path_is_prepare_apply_bake_judge_announce_notify_route(definition):
    states = definition["States"]
    assert definition["StartAt"] == "Prepare"
    path, name = [], "Prepare"
    while name != "Route":
        path.append(name)
        name = states[name]["Next"]
    assert path == ["Prepare", "Check lock", "Apply step", "Mark step start", "Bake", "Judge", "Announce", "Notify"]


def test_the_step_window_starts_when_the_weights_are_live(definition):
    assert definition["States"]["Mark step start"] == {
        "Type": "Pass",
        "Parameters": {"at.$": "$$.State.EnteredTime"},
        "ResultPath": "$.rollout.applied",
        "Next": "Bake",
    }


def test_a_lost_notification_does_not_undo_a_decision(definition):
    states = definition["States"]
    assert [c["Next"] for c in states["Announce"]["Catch"]] == ["Notify"]
    assert [c["Next"] for c in states["Notify"]["Catch"]] == ["Route"]


def test_restores_are_retried_and_a_failed_restore_fails_distinctly(definition):
    states = definition["States"]
    for name in ("Restore weights", "Restore weights after an error"):
        assert ["States.TaskFailed"] in [r["ErrorEquals"] for r in states[name]["Retry"]]
        assert [c["Next"] for c in states[name]["Catch"]] == ["Restore failed"]
    assert states["Restore failed"]["Error"] == "RestoreFailed"


def test_bake_is_a_wait_state_not_a_waiting_lambda(definition):
    assert definition["States"]["Bake"] == {"Type": "Wait", "SecondsPath": "$.rollout.bake_seconds", "Next": "Judge"}
    assert definition["States"]["Route"]["Choices"][1]["Next"] == "Bake", "a hold bakes again without re-applying"


def test_route_covers_every_action(definition):
    route = definition["States"]["Route"]
    targets = {c["StringEquals"]: c["Next"] for c in route["Choices"]}
    assert targets == {
        "next_step": "Check lock",
        "judge_again": "Bake",
        "complete": "Release lock (promoted)",
        "rollback": "Restore weights",
    }
    assert route["Default"] == "Release lock (hold limit)"
    assert definition["States"]["Release lock (hold limit)"]["Next"] == "Hold limit reached"
    assert definition["States"]["Hold limit reached"]["Type"] == "Fail"


def test_rollback_restores_the_original_weights_then_fails_with_the_reason(definition):
    restore = definition["States"]["Restore weights"]
    assert restore["Parameters"]["Payload"] == {
        "weights.$": "$.rollout.original_weights",
        "instance_counts.$": "$.rollout.restore_instance_counts",
    }
    assert restore["Next"] == "Release lock (rolled back)"
    assert definition["States"]["Release lock (rolled back)"]["Next"] == "Rolled back"
    assert definition["States"]["Rolled back"] == {
        "Type": "Fail",
        "Error": "RolledBack",
        "CausePath": "$.rollout.reason",
    }


def test_errors_after_weights_changed_restore_them(definition):
    states = definition["States"]
    for name in ("Apply step", "Judge"):
        (catch,) = states[name]["Catch"]
        assert catch["Next"] == "Restore weights after an error", name
    assert states["Restore weights after an error"]["Parameters"]["Payload"] == {
        "weights.$": "$.rollout.original_weights",
        "instance_counts.$": "$.rollout.restore_instance_counts",
    }


def test_prepare_fails_the_execution_before_any_weight_changes(definition):
    prepare = definition["States"]["Prepare"]
    assert "Catch" not in prepare
    assert prepare["Parameters"]["Payload"] == {
        "input.$": "$",
        "execution.$": "$$.Execution.Id",
        "state_machine.$": "$$.StateMachine.Id",
    }


def test_weights_change_only_through_the_set_weights_function(template: Template, definition):
    (set_weights_id,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "set_weights.handler.handle"}}
    )
    machine = rollout_machines(template)
    body = json.dumps(next(iter(machine.values()))["Properties"]["DefinitionString"])
    for name in ("Apply step", "Restore weights", "Restore weights after an error"):
        assert definition["States"][name]["Resource"].endswith(":states:::lambda:invoke")
    assert set_weights_id in body


def test_every_decision_goes_to_eventbridge_and_sns(definition):
    announce = definition["States"]["Announce"]
    assert announce["Resource"].endswith(":states:::events:putEvents")
    (entry,) = announce["Parameters"]["Entries"]
    assert entry["Source"] == "sagemaker-ab.rollout"
    assert entry["Detail"]["action.$"] == "$.rollout.action"
    assert definition["States"]["Notify"]["Resource"].endswith(":states:::sns:publish")


def test_state_machine_logs_everything_and_traces(template: Template):
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": True}),
        },
    )


def test_every_end_of_an_execution_is_settled(template: Template):
    """A FAILED execution (e.g. the 25,000-event history limit) left weights half-shifted when the
    rule matched only ABORTED and TIMED_OUT; SUCCEEDED is matched too, to release a lost lock."""
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {
                    "status": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"],
                    "stateMachineArn": [Match.any_value()],
                },
            }
        },
    )
    template.has_resource_properties("AWS::Lambda::Function", {"Handler": "rollout.handler.restore_after_end"})


def test_nothing_relies_on_list_executions_any_more(template: Template):
    assert "states:ListExecutions" not in json.dumps(template.find_resources("AWS::IAM::Policy"))


def test_judge_knows_each_variants_alarms(template: Template):
    (judge,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "rollout.handler.judge"}}
    ).values()
    alarms = judge["Properties"]["Environment"]["Variables"]["VARIANT_ALARMS"]
    assert '"Variant1":[' in joined_text(alarms) and '"Variant2":[' in joined_text(alarms)


def test_output_names_the_state_machine(template: Template):
    assert "RolloutStateMachineArn" in template.to_json()["Outputs"]


# --- throttling -------------------------------------------------------------------------------

CDK_SERVICE_EXCEPTIONS = {
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
}


def lambda_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in definition["States"].items() if s.get("Resource", "").endswith(":states:::lambda:invoke")}


def test_every_lambda_step_retries_throttling_and_service_errors_with_backoff(definition):
    states = lambda_states(definition)
    assert set(states) == {"Prepare", "Apply step", "Judge", "Restore weights", "Restore weights after an error"}
    for name, state in states.items():
        retriers = state["Retry"]
        covered = {error for retrier in retriers for error in retrier["ErrorEquals"]}
        assert {"Lambda.TooManyRequestsException", *CDK_SERVICE_EXCEPTIONS} <= covered, name
        (throttled,) = [r for r in retriers if "Lambda.TooManyRequestsException" in r["ErrorEquals"]]
        assert throttled["BackoffRate"] > 1 and throttled["MaxAttempts"] >= 3, name
        # Step Functions takes the first retrier that matches: a catch-all before it would decide instead.
        catch_alls = [i for i, r in enumerate(retriers) if {"States.ALL", "States.TaskFailed"} & set(r["ErrorEquals"])]
        assert all(retriers.index(throttled) < i for i in catch_alls), name


# --- the lock ---------------------------------------------------------------------------------


def lock_table_id(template: Template) -> str:
    (table_id,) = template.find_resources("AWS::DynamoDB::Table")
    return table_id


def test_the_lock_table_is_encrypted_with_the_stack_key_recoverable_and_on_demand(template: Template):
    (key_id,) = template.find_resources("AWS::KMS::Key")
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": lock.PARTITION_KEY, "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "SSESpecification": {
                "SSEEnabled": True,
                "SSEType": "KMS",
                "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
            },
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": lock.EXPIRES_AT, "Enabled": True},
        },
    )


def test_the_construct_and_the_lambda_agree_on_the_lock_item():
    assert (rollout_lock.PARTITION_KEY, rollout_lock.OWNER, rollout_lock.EXPIRES_AT) == (
        lock.PARTITION_KEY,
        lock.OWNER,
        lock.EXPIRES_AT,
    )


def table_actions(template: Template, handler: str) -> set[str]:
    """The DynamoDB actions the function of ``handler`` may take on the lock table, and only there."""
    (function,) = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": handler}}).values()
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    actions: set[str] = set()
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("dynamodb:") for a in listed):
                assert statement["Resource"] == {"Fn::GetAtt": [lock_table_id(template), "Arn"]}, statement
                actions |= set(listed)
    return actions


def test_prepare_and_the_end_settler_may_only_take_and_release_the_lock(template: Template):
    assert table_actions(template, "rollout.handler.prepare") == {
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:DeleteItem",
    }
    assert table_actions(template, "rollout.handler.restore_after_end") == {"dynamodb:GetItem", "dynamodb:DeleteItem"}


def role_statements(template: Template, handler: str) -> list[dict[str, Any]]:
    """Every statement of every AWS::IAM::Policy attached to the role of ``handler``'s function."""
    (function,) = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": handler}}).values()
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_prepare_can_settle_a_lock_holder_whose_end_was_lost(template: Template):
    """Prepare looks up the holder (DescribeExecution), reads its history and restores its weights,
    as the end settler would, with the same time to do it; on this state machine's executions only."""
    handlers = ("rollout.handler.prepare", "rollout.handler.restore_after_end")
    functions = {h: template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": h}}) for h in handlers}
    prepare, settler = (next(iter(functions[h].values()))["Properties"] for h in handlers)
    assert prepare["Timeout"] == settler["Timeout"]
    assert (
        prepare["Environment"]["Variables"]["METRICS_NAMESPACE"]
        == (settler["Environment"]["Variables"]["METRICS_NAMESPACE"])
    )
    by_action = {
        action: statement["Resource"]
        for statement in role_statements(template, "rollout.handler.prepare")
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    }
    (machine_id,) = rollout_machines(template)
    for action in ("states:DescribeExecution", "states:GetExecutionHistory"):
        assert ":execution:" in joined_text(by_action[action]), action
        assert {"Fn::GetAtt": [machine_id, "Name"]} in by_action[action]["Fn::Join"][1], action
    assert "sagemaker:UpdateEndpointWeightsAndCapacities" in by_action


def end_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in definition["States"].items() if s["Type"] in ("Succeed", "Fail")}


def predecessors(definition: dict[str, Any], target: str) -> set[str]:
    return {
        name
        for name, state in definition["States"].items()
        if state.get("Next") == target
        or state.get("Default") == target
        or target in [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
    }


def test_every_end_state_releases_the_lock_first_except_a_failed_restore_and_a_lost_lock(definition):
    """A failed restore keeps the lock: the end rule restores again, and no rollout may start on
    half-shifted weights meanwhile."""
    for name in end_states(definition):
        before = predecessors(definition, name)
        if name in ("Restore failed", "Lock not held"):  # the second: the lock is not this execution's
            assert not any(s.startswith("Release lock") for s in before)
            continue
        assert before and all(s.startswith("Release lock") for s in before), (name, before)
        for release in before:
            state = definition["States"][release]
            assert state["Resource"].endswith(":states:::dynamodb:deleteItem")
            assert [c["Next"] for c in state["Catch"]] == [name], "a failed release still ends the execution"


def test_the_state_machine_releases_only_its_own_lock(definition):
    """Replays a release state's request from the synthesized definition against DynamoDB (moto)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_lock_table(client, "locks")
        parameters = definition["States"]["Release lock (promoted)"]["Parameters"]

        def release_as(execution: str) -> None:
            values = {
                k: {"S": execution}
                for k, v in parameters["ExpressionAttributeValues"].items()
                if v == {"S.$": "$$.Execution.Id"}
            }
            assert values, parameters
            with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
                client.delete_item(
                    TableName="locks",
                    Key={lock.PARTITION_KEY: {"S": "churn-ab"}},
                    ConditionExpression=parameters["ConditionExpression"],
                    ExpressionAttributeNames=parameters["ExpressionAttributeNames"],
                    ExpressionAttributeValues=values,
                )

        lock.acquire(client, "locks", "churn-ab", "arn:exec:new", datetime.now(UTC), timedelta(hours=1))
        release_as("arn:exec:old")
        assert lock.held_by(client, "locks", "churn-ab", "arn:exec:new"), "another execution's lock stays"
        release_as("arn:exec:new")
        assert lock.holder_of(client, "locks", "churn-ab") is None


def test_every_weight_step_is_preceded_by_the_lock_check(definition):
    """Prepare and the route's next_step both reach Apply only through "Check lock" (a redriven
    execution resumed before Apply must find the lock its own)."""
    states = definition["States"]
    assert predecessors(definition, "Apply step") == {"Check lock"}
    assert predecessors(definition, "Check lock") == {"Prepare", "Route"}
    check = states["Check lock"]
    assert check["Resource"].endswith(":states:::dynamodb:updateItem")
    (catch,) = check["Catch"]
    assert catch["ErrorEquals"] == ["DynamoDB.ConditionalCheckFailedException"]
    assert states[catch["Next"]] == {
        "Type": "Fail",
        "Error": "LockNotHeld",
        "Cause": states[catch["Next"]]["Cause"],
    }
    assert "redriven" in states[catch["Next"]]["Cause"]


def test_the_lock_check_passes_only_for_the_execution_that_holds_the_lock(definition):
    """Replays "Check lock"'s request from the synthesized definition against DynamoDB (moto)."""
    parameters = definition["States"]["Check lock"]["Parameters"]
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_lock_table(client, "locks")

        def check_as(execution: str) -> bool:
            context = {"$$.Execution.Id": execution, "$$.State.EnteredTime": "2026-12-02T10:00:00Z"}
            values = {k: {"S": context[v["S.$"]]} for k, v in parameters["ExpressionAttributeValues"].items()}
            try:
                client.update_item(
                    TableName="locks",
                    Key={lock.PARTITION_KEY: {"S": "churn-ab"}},
                    ConditionExpression=parameters["ConditionExpression"],
                    UpdateExpression=parameters["UpdateExpression"],
                    ExpressionAttributeNames=parameters["ExpressionAttributeNames"],
                    ExpressionAttributeValues=values,
                )
            except client.exceptions.ConditionalCheckFailedException:
                return False
            return True

        assert not check_as("arn:exec:redriven"), "no lock at all: released at the end, then redriven"
        lock.acquire(client, "locks", "churn-ab", "arn:exec:new", datetime.now(UTC), timedelta(hours=1))
        assert not check_as("arn:exec:redriven"), "another rollout's lock"
        assert check_as("arn:exec:new")
        assert lock.held_by(client, "locks", "churn-ab", "arn:exec:new"), "the check changes no owner"
        assert lock.holder_of(client, "locks", "churn-ab") is not None


def test_the_end_settler_leaves_alone_exactly_the_deliberate_fail_states(definition):
    """RolledBack and RolloutError come after the state machine's own restore, HoldLimitReached
    keeps the weights on purpose; only RestoreFailed (and any error not of this machine's making)
    needs the end rule's restore."""
    errors = {state["Error"] for state in end_states(definition).values() if state["Type"] == "Fail"}
    assert set(settle.SETTLED_ERRORS) == errors - {"RestoreFailed"}


# --- the execution history limit --------------------------------------------------------------


def history_events(state: dict[str, Any]) -> int:
    """At most how many history events one visit of ``state`` writes, retries included (a
    retrier without MaxAttempts retries 3 times, as the States Language defines)."""
    retries = sum(retrier.get("MaxAttempts", 3) for retrier in state.get("Retry", []))
    return len(plan.HISTORY_EVENTS_BY_STATE_TYPE[state["Type"]]) + retries * len(plan.HISTORY_EVENTS_PER_RETRY)


def path(definition: dict[str, Any], start: str, stop: str) -> list[str]:
    """States from ``start`` following Next, up to ``stop`` (excluded)."""
    names, name = [], start
    while name != stop:
        names.append(name)
        name = definition["States"][name]["Next"]
    return names


def longest_way_to_an_end(definition: dict[str, Any], name: str, loop: set[str]) -> int:
    state = definition["States"][name]
    onward = [state.get("Next"), state.get("Default")]
    onward += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
    rest = [longest_way_to_an_end(definition, n, loop) for n in onward if n and n not in loop]
    return history_events(state) + max(rest, default=0)


def test_the_plan_counts_the_history_events_of_the_synthesized_loops(definition):
    states = definition["States"]
    step = path(definition, "Check lock", "Bake")
    judgement = [*path(definition, "Bake", "Route"), "Route"]
    assert sum(history_events(states[n]) for n in step) == plan.HISTORY_EVENTS_PER_STEP
    assert sum(history_events(states[n]) for n in judgement) == plan.HISTORY_EVENTS_PER_JUDGEMENT
    loops = {*step, *judgement}
    # Every way out of the loops: the route's exits, and the catches of the loops' tasks.
    exits = [c["Next"] for c in states["Route"]["Choices"]] + [states["Route"]["Default"]]
    exits += [c["Next"] for n in loops for c in states[n].get("Catch", [])]
    longest_end = max(longest_way_to_an_end(definition, n, loops) for n in set(exits) - loops)
    assert (
        len(plan.HISTORY_EVENTS_TO_START) + history_events(states[definition["StartAt"]]) + longest_end
    ) == plan.HISTORY_EVENTS_OUTSIDE_LOOPS
    assert states[definition["StartAt"]]["Next"] == "Check lock"


def test_the_history_event_names_are_step_functions_own():
    enum = set(botocore.session.get_session().get_service_model("stepfunctions").shape_for("HistoryEventType").enum)
    named = {e for events in plan.HISTORY_EVENTS_BY_STATE_TYPE.values() for e in events}
    assert named | set(plan.HISTORY_EVENTS_PER_RETRY) | set(plan.HISTORY_EVENTS_TO_START) <= enum


def test_every_state_type_of_the_machine_is_counted(definition):
    assert {s["Type"] for s in definition["States"].values()} <= set(plan.HISTORY_EVENTS_BY_STATE_TYPE)


def test_worst_case_task_time_counts_every_run_and_every_backoff():
    state = {
        "Retry": [
            {"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 2, "MaxAttempts": 3},
            {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 30, "MaxAttempts": 2, "BackoffRate": 3},
        ]
    }
    # runs: 1 + 2 (the TaskFailed retries rerun the function); waits: 2+4+8 and 30+90
    assert worst_case_task_seconds(state, 100) == 3 * 100 + 14 + 120
    assert worst_case_task_seconds({"Retry": [{"ErrorEquals": ["States.ALL"]}]}, 10) == 4 * 10 + 1 + 2 + 4
    assert worst_case_task_seconds({}, 10) == 10


def test_prepare_counts_the_weight_changes_at_their_slowest_as_synthesized(template: Template, definition):
    (set_weights,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "set_weights.handler.handle"}}
    ).values()
    run_seconds = set_weights["Properties"]["Timeout"]
    (prepare,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "rollout.handler.prepare"}}
    ).values()
    env = prepare["Properties"]["Environment"]["Variables"]
    states = definition["States"]
    assert int(env["APPLY_MAX_SECONDS"]) == int(worst_case_task_seconds(states["Apply step"], run_seconds))
    for restore in ("Restore weights", "Restore weights after an error"):
        assert int(env["RESTORE_MAX_SECONDS"]) == int(worst_case_task_seconds(states[restore], run_seconds))
    assert int(env["RESTORE_MAX_SECONDS"]) >= 4 * run_seconds, "a failed restore is run again 3 times"


# --- failures of the end settler --------------------------------------------------------------


def test_the_end_settler_has_an_encrypted_dead_letter_queue_for_both_of_its_failure_paths(template: Template):
    (queue_id,) = template.find_resources("AWS::SQS::Queue", {"Properties": {"SqsManagedSseEnabled": True}})
    (function,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "rollout.handler.restore_after_end"}}
    ).values()
    assert function["Properties"]["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig", {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 2}
    )
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Targets": [
                Match.object_like(
                    {
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}},
                        "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 2},
                    }
                )
            ]
        },
    )


def test_a_message_in_the_dead_letter_queue_pages_on_its_own_not_through_the_composite(template: Template):
    """The queue keeps a message up to 14 days and its alarm stays in ALARM as long: rolled up, it
    would hold the composite in ALARM and later pages would reach nobody. It notifies the topic itself."""
    (queue_id,) = template.find_resources("AWS::SQS::Queue", {"Properties": {"SqsManagedSseEnabled": True}})
    alarms = template.find_resources(
        "AWS::CloudWatch::Alarm",
        {
            "Properties": {
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}],
                "ComparisonOperator": "GreaterThanThreshold",
                "Threshold": 0,
            }
        },
    )
    ((alarm_id, alarm),) = alarms.items()
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    (composite,) = template.find_resources("AWS::CloudWatch::CompositeAlarm").values()
    assert alarm_id not in json.dumps(composite["Properties"]["AlarmRule"])


def test_the_end_settler_is_not_acknowledged_as_a_read_only_function():
    """It changes weights: the dead-letter finding is answered with a queue, not with the
    acknowledgement for scheduled, read-only functions."""
    app = build_app(parse_config(read_config(), "test-config.json"), App())
    (function,) = [c for c in app.node.find_all() if c.node.path.endswith("/Rollout/RestoreAfterEnd/Function")]
    reasons = [json.dumps(entry.data) for entry in function.node.metadata if entry.type == "aws:cdk:acknowledged-rules"]
    assert reasons, "the function's other acknowledgements are recorded as metadata"
    assert not any("LambdaDLQ" in r or SCHEDULED_DLQ_REASON in r or SYNCHRONOUS_DLQ_REASON in r for r in reasons)


def test_the_lock_cannot_expire_while_its_execution_may_still_run_or_settle(template: Template, definition):
    (prepare,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "rollout.handler.prepare"}}
    ).values()
    env = prepare["Properties"]["Environment"]["Variables"]
    timeout = definition["TimeoutSeconds"]
    (rule,) = [r for r in template.find_resources("AWS::Events::Rule").values() if "EventPattern" in r["Properties"]]
    settling = rule["Properties"]["Targets"][0]["RetryPolicy"]["MaximumEventAgeInSeconds"]
    (invoke_config,) = template.find_resources("AWS::Lambda::EventInvokeConfig").values()
    settling += invoke_config["Properties"]["MaximumEventAgeInSeconds"]
    assert int(env["ROLLOUT_TIMEOUT_SECONDS"]) == timeout, "the plan's duration bound is the execution's timeout"
    assert int(env["LOCK_LEASE_SECONDS"]) >= timeout + settling
