"""The rollout state machine's definition: every path, and what it may touch."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.conftest import read_config
from tests.stacks.test_ab_test_stack import joined_text
from tests.synth import only_template


@pytest.fixture(scope="module")
def template() -> Template:
    return only_template(read_config())


@pytest.fixture(scope="module")
def definition(template: Template) -> dict[str, Any]:
    machines = template.find_resources(
        "AWS::StepFunctions::StateMachine", {"Properties": {"TracingConfiguration": Match.any_value()}}
    )
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
    assert path == ["Prepare", "Apply step", "Mark step start", "Bake", "Judge", "Announce", "Notify"]


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
        "next_step": "Apply step",
        "judge_again": "Bake",
        "complete": "Promoted",
        "rollback": "Restore weights",
    }
    assert route["Default"] == "Hold limit reached"
    assert definition["States"]["Hold limit reached"]["Type"] == "Fail"


def test_rollback_restores_the_original_weights_then_fails_with_the_reason(definition):
    restore = definition["States"]["Restore weights"]
    assert restore["Parameters"]["Payload"] == {
        "weights.$": "$.rollout.original_weights",
        "instance_counts.$": "$.rollout.restore_instance_counts",
    }
    assert restore["Next"] == "Rolled back"
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
    machine = template.find_resources(
        "AWS::StepFunctions::StateMachine", {"Properties": {"TracingConfiguration": Match.any_value()}}
    )
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


def test_a_manual_stop_restores_the_weights(template: Template):
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {"status": ["ABORTED", "TIMED_OUT"], "stateMachineArn": [Match.any_value()]},
            }
        },
    )
    template.has_resource_properties("AWS::Lambda::Function", {"Handler": "rollout.handler.restore_after_stop"})


def test_prepare_may_list_executions_of_this_state_machine_only(template: Template):
    (machine_id,) = template.find_resources(
        "AWS::StepFunctions::StateMachine", {"Properties": {"TracingConfiguration": Match.any_value()}}
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [{"Action": "states:ListExecutions", "Effect": "Allow", "Resource": {"Ref": machine_id}}]
            }
        },
    )


def test_judge_knows_each_variants_alarms(template: Template):
    (judge,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "rollout.handler.judge"}}
    ).values()
    alarms = judge["Properties"]["Environment"]["Variables"]["VARIANT_ALARMS"]
    assert '"Variant1":[' in joined_text(alarms) and '"Variant2":[' in joined_text(alarms)


def test_output_names_the_state_machine(template: Template):
    assert "RolloutStateMachineArn" in template.to_json()["Outputs"]
