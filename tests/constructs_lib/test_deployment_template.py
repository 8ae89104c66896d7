"""What a ``deployment`` puts into the template: DeploymentConfig on the endpoint, new-fleet rollback alarms,
the permission to read them, and synth warnings. One bare stack per case (no cdk-nag; the gate runs on
config/examples/full.json's canary in tests/stacks)."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Annotations, Match, Template
from cfnlint.api import ManualArgs, lint

from constructs_lib.ab_endpoint import AbEndpoint
from constructs_lib.config import parse_config
from constructs_lib.encryption import EndpointKey
from constructs_lib.variant_weights import TOTAL_TIMEOUT, VariantWeights
from tests.conftest import read_config

CANARY = {"strategy": "canary", "size": {"type": "capacity_percent", "value": 25}}
ALL_AT_ONCE = {"strategy": "all_at_once", "wait_seconds": 300, "termination_wait_seconds": 120, "timeout_seconds": 1200}
LINEAR = {"strategy": "linear", "size": {"type": "instance_count", "value": 2}, "wait_seconds": 0}
ROLLING = {
    "strategy": "rolling",
    "size": {"type": "capacity_percent", "value": 25},
    "rollback_size": {"type": "instance_count", "value": 2},
    "wait_seconds": 120,
    "timeout_seconds": 3600,
}


@functools.lru_cache(maxsize=16)
def _synth(deployment_json: str, counts: tuple[int, ...], with_weights: bool) -> tuple[dict[str, Any], list[str]]:
    data = read_config()
    endpoint = data["endpoints"][0]
    deployment = json.loads(deployment_json)
    if deployment is not None:
        endpoint["deployment"] = deployment
    endpoint["variants"] = [
        dict(v, initial_instance_count=c) for v, c in zip(endpoint["variants"], counts, strict=False)
    ]
    spec = parse_config(data, "test.json").endpoints[0]
    stack = Stack(App(), "S")
    key = EndpointKey(stack, "Key", key_arn=None, alias_name="alias/x").key
    ab = AbEndpoint(stack, "Endpoint", spec=spec, key=key)
    if with_weights:
        VariantWeights(stack, "Weights", endpoint=ab, weights={v.name: 1.0 for v in spec.variants}, key=key)
    warnings = [str(m.entry.data) for m in Annotations.from_stack(stack).find_warning("*", Match.any_value())]
    return Template.from_stack(stack).to_json(), warnings


def synth(
    deployment: Any, counts: tuple[int, ...] = (4, 4), *, with_weights: bool = False
) -> tuple[dict[str, Any], list[str]]:
    return _synth(json.dumps(deployment, sort_keys=True), counts, with_weights)


def of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def endpoint_properties(template: dict[str, Any]) -> dict[str, Any]:
    ((_, endpoint),) = of_type(template, "AWS::SageMaker::Endpoint").items()
    return endpoint["Properties"]


def deployment_alarms(template: dict[str, Any]) -> dict[str, Any]:
    return {k: r for k, r in of_type(template, "AWS::CloudWatch::Alarm").items() if "DeploymentAlarms" in k}


def rollback(template: dict[str, Any]) -> dict[str, Any]:
    """The AutoRollbackConfiguration naming every rollback alarm, in the endpoint's order (per variant)."""
    named = endpoint_properties(template)["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert sorted(a["AlarmName"]["Ref"] for a in named) == sorted(deployment_alarms(template))
    return {"AutoRollbackConfiguration": {"Alarms": named}}


# --- DeploymentConfig, one strategy at a time --------------------------------------------------------


def test_without_a_deployment_the_endpoint_has_no_deployment_config_and_no_rollback_alarms():
    template, warnings = synth(None)
    assert "DeploymentConfig" not in endpoint_properties(template)
    assert not deployment_alarms(template)
    assert not warnings


def test_all_at_once_bakes_and_rolls_back():
    template, _ = synth(ALL_AT_ONCE)
    assert endpoint_properties(template)["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
            "TerminationWaitInSeconds": 120,
            "MaximumExecutionTimeoutInSeconds": 1200,
        },
        **rollback(template),
    }


def test_canary():
    template, _ = synth(CANARY)
    assert endpoint_properties(template)["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 600,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            },
        },
        **rollback(template),
    }


def test_linear_in_instances():
    template, _ = synth(LINEAR)
    routing = endpoint_properties(template)["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {
        "Type": "LINEAR",
        "WaitIntervalInSeconds": 0,
        "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 2},
    }


def test_rolling_with_a_rollback_batch():
    template, _ = synth(ROLLING, counts=(4,))
    assert endpoint_properties(template)["DeploymentConfig"] == {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            "WaitIntervalInSeconds": 120,
            "MaximumExecutionTimeoutInSeconds": 3600,
            "RollbackMaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 2},
        },
        **rollback(template),
    }


def test_without_auto_rollback_there_are_no_alarms_to_name_and_no_permission():
    template, _ = synth({**CANARY, "auto_rollback": False})
    assert "AutoRollbackConfiguration" not in endpoint_properties(template)["DeploymentConfig"]
    assert not deployment_alarms(template)
    assert "cloudwatch:DescribeAlarms" not in json.dumps(template)


def test_the_endpoint_keeps_retaining_live_weights_and_never_reuses_a_previous_deployment_config():
    properties = endpoint_properties(synth(CANARY)[0])
    assert properties["RetainAllVariantProperties"] is True
    assert "RetainDeploymentConfig" not in properties


def test_a_deployment_changes_no_endpoint_config_and_no_model():
    """Adding or editing ``deployment`` must not replace the endpoint config (a fleet swap by itself)."""
    for deployment, counts in ((CANARY, (4, 4)), (ROLLING, (4,))):
        guarded, plain = synth(deployment, counts)[0], synth(None, counts)[0]
        for kind in ("AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Model"):
            assert of_type(guarded, kind) == of_type(plain, kind), kind


# --- the rollback alarms -------------------------------------------------------------------------------


def test_two_rollback_alarms_per_variant_watch_the_new_config_only():
    template, _ = synth(CANARY)
    alarms = deployment_alarms(template)
    ((config_id, _),) = of_type(template, "AWS::SageMaker::EndpointConfig").items()
    assert len(alarms) == 4
    seen = set()
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["TreatMissingData"] == "notBreaching"
        assert "AlarmActions" not in props  # the rollback is the action
        for query in props["Metrics"]:
            if "MetricStat" not in query:
                continue
            dimensions = {d["Name"]: d["Value"] for d in query["MetricStat"]["Metric"]["Dimensions"]}
            assert dimensions["EndpointConfigName"] == {"Fn::GetAtt": [config_id, "EndpointConfigName"]}
            assert dimensions["EndpointName"] == "churn-ab"  # a literal: the endpoint refers to these alarms
            seen.add((dimensions["VariantName"], query["MetricStat"]["Metric"]["MetricName"]))
    assert seen == {
        (v, m) for v in ("Variant1", "Variant2") for m in ("Invocations", "Invocation5XXErrors", "ModelLatency")
    }


def test_the_rollback_alarms_use_the_variant_alarms_thresholds():
    template, _ = synth(CANARY)
    thresholds = sorted(a["Properties"]["Threshold"] for a in deployment_alarms(template).values())
    assert thresholds == [5, 5, 1000, 1000]  # MonitoringSpec defaults: 5 % 5XX, 1000 ms p99


def test_the_execution_role_may_describe_exactly_the_rollback_alarms_before_the_endpoint_updates():
    template, _ = synth(CANARY)
    policies = {
        k: p for k, p in of_type(template, "AWS::IAM::Policy").items() if "cloudwatch:DescribeAlarms" in json.dumps(p)
    }
    ((policy_id, policy),) = policies.items()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "cloudwatch:DescribeAlarms"
    assert sorted(r["Fn::GetAtt"][0] for r in statement["Resource"]) == sorted(deployment_alarms(template))
    ((role_id, _),) = [
        (k, r) for k, r in of_type(template, "AWS::IAM::Role").items() if "sagemaker.amazonaws.com" in json.dumps(r)
    ]
    assert policy["Properties"]["Roles"] == [{"Ref": role_id}]
    ((_, endpoint),) = of_type(template, "AWS::SageMaker::Endpoint").items()
    assert policy_id in endpoint["DependsOn"]


@pytest.mark.parametrize(
    ("deployment", "counts"),
    [(ALL_AT_ONCE, (4, 4)), (CANARY, (4, 4)), (LINEAR, (4, 4)), (ROLLING, (4,))],
    ids=["all_at_once", "canary", "linear", "rolling"],
)
def test_cfn_lint_accepts_every_strategy(deployment: dict[str, Any], counts: tuple[int, ...]):
    template, _ = synth(deployment, counts)
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"], ignore_checks=["W3005"]))
    assert not matches, "\n".join(str(m) for m in matches)


# --- synth warnings (which ones: tests/constructs_lib/test_deployment_config.py) ----------------------


def test_the_endpoint_reports_every_warning_of_its_deployment():
    """A canary of 25 % on a 1-instance variant, baking 120 s: two of deployment_limits.warnings()."""
    _, warnings = synth({**CANARY, "wait_seconds": 120}, counts=(1, 4))
    assert any("25 % is less than one instance of Variant1 (1)" in w for w in warnings), warnings
    assert any("wait_seconds (120) is shorter than the rollback alarms need to fire" in w for w in warnings)
    assert len(warnings) == 2, warnings


def test_a_deployment_longer_than_the_weights_waiter_is_warned_about():
    budget = int(TOTAL_TIMEOUT.to_seconds())
    _, warnings = synth({**CANARY, "timeout_seconds": budget + 60}, with_weights=True)
    assert any(
        f"timeout_seconds ({budget + 60} s) exceed(s) the weights custom resource's {budget} s" in w for w in warnings
    )
    _, warnings = synth({**CANARY, "timeout_seconds": budget}, with_weights=True)
    assert not any("weights custom resource" in w for w in warnings)
