"""Alarms: thresholds from the config, a traffic guard, deliberate missing data, one composite."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.conftest import read_config
from tests.synth import only_template

MONITORING = {
    "error_rate_percent": 2.5,
    "p99_latency_ms": 250,
    "period_seconds": 120,
    "evaluation_periods": 4,
    "datapoints_to_alarm": 2,
    "min_invocations": 40,
    "notification_emails": ["ml-oncall@example.com", "ab-owner@example.com"],
    "srm_p_value": 0.0001,
    "srm_min_invocations": 5000,
    "srm_window_minutes": 30,
    "srm_schedule_minutes": 10,
}


@pytest.fixture(scope="module")
def template() -> Template:
    data = read_config()
    data["endpoints"][0]["monitoring"] = MONITORING
    return only_template(data)


def alarms(template: Template) -> dict[str, Any]:
    return template.find_resources("AWS::CloudWatch::Alarm")


def expressions_of(alarm: dict[str, Any]) -> list[str]:
    return [m["Expression"] for m in alarm["Properties"].get("Metrics", []) if "Expression" in m]


def test_two_alarms_per_variant_one_each_for_srm_rollout_settle_queue_live_quality_runs_and_schedule(
    template: Template,
):
    assert len(alarms(template)) == 2 * 2 + 1 + 1 + 1 + 1


def test_error_rate_alarm_uses_config_threshold_periods_and_a_traffic_guard(template: Template):
    found = [a for a in alarms(template).values() if any("errors / invocations" in e for e in expressions_of(a))]
    assert len(found) == 2
    for alarm in found:
        props = alarm["Properties"]
        assert expressions_of(alarm) == ["IF(invocations >= 40, 100 * errors / invocations, 0)"]
        assert props["Threshold"] == 2.5
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (4, 2)
        assert props["TreatMissingData"] == "notBreaching"
        periods = {m["MetricStat"]["Period"] for m in props["Metrics"] if "MetricStat" in m}
        assert periods == {120}


def test_latency_alarm_compares_p99_in_milliseconds(template: Template):
    found = [a for a in alarms(template).values() if any("latency / 1000" in e for e in expressions_of(a))]
    assert len(found) == 2
    for alarm in found:
        props = alarm["Properties"]
        assert props["Threshold"] == 250
        stats = {m["MetricStat"]["Stat"] for m in props["Metrics"] if "MetricStat" in m}
        assert stats == {"Sum", "p99"}
        assert props["TreatMissingData"] == "notBreaching"


def test_srm_alarm_fires_on_a_tiny_p_value(template: Template):
    (alarm,) = [a for a in alarms(template).values() if "Traffic split" in a["Properties"]["AlarmDescription"]]
    props = alarm["Properties"]
    assert (props["Threshold"], props["ComparisonOperator"]) == (0.0001, "LessThanThreshold")
    assert props["TreatMissingData"] == "notBreaching"
    (query,) = props["Metrics"]
    stat = query["MetricStat"]
    assert stat["Metric"]["MetricName"] == "SrmPValue"
    assert stat["Metric"]["Namespace"] == "SageMakerABTesting"
    assert (stat["Stat"], stat["Period"]) == ("Minimum", 600)


def settle_alarm_id(template: Template) -> str:
    """The rollout settle queue's alarm: the only alarm on an SQS metric."""
    (alarm_id,) = [lid for lid, a in alarms(template).items() if a["Properties"].get("Namespace") == "AWS/SQS"]
    return alarm_id


def test_composite_alarm_covers_every_alarm_but_the_settle_queues_and_notifies_the_topic(template: Template):
    (composite,) = template.find_resources("AWS::CloudWatch::CompositeAlarm").values()
    rule_text = str(composite["Properties"]["AlarmRule"])
    settle = settle_alarm_id(template)
    for logical_id in set(alarms(template)) - {settle}:
        assert logical_id in rule_text, logical_id
    assert settle not in rule_text, "an alarm that stays in ALARM for days would hold the composite there"
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    assert composite["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    assert composite["Properties"]["OKActions"] == [{"Ref": topic_id}]


def test_the_settle_queues_alarm_notifies_the_topic_itself_and_the_topic_admits_it(template: Template):
    settle = settle_alarm_id(template)
    props = alarms(template)[settle]["Properties"]
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    assert props["AlarmActions"] == props["OKActions"] == [{"Ref": topic_id}]
    (policy,) = template.find_resources("AWS::SNS::TopicPolicy").values()
    (allow,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    source_arns = allow["Condition"]["ArnLike"]["aws:SourceArn"]
    assert len(source_arns) == 2 and {"Fn::GetAtt": [settle, "Arn"]} in source_arns
    assert "AnyProblem" in str(source_arns), "and the composite"
    assert set(allow["Condition"]["StringEquals"]) == {"aws:SourceAccount"}


def test_topic_is_encrypted_and_ssl_only_with_the_configured_subscriptions(template: Template):
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )
    endpoints = sorted(s["Properties"]["Endpoint"] for s in template.find_resources("AWS::SNS::Subscription").values())
    assert endpoints == ["ab-owner@example.com", "ml-oncall@example.com"]


def test_srm_check_runs_on_the_configured_schedule_with_its_settings(template: Template):
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(10 minutes)"})
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "srm_check.handler.handle",
            "Environment": {
                "Variables": Match.object_like(
                    {"WINDOW_MINUTES": "30", "MIN_INVOCATIONS": "5000", "METRICS_NAMESPACE": "SageMakerABTesting"}
                )
            },
        },
    )


def test_metric_publishers_may_put_only_into_the_project_namespace(template: Template):
    statements = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "cloudwatch:PutMetricData"
    ]
    # set-weights, weights is_complete, SRM check, evaluation, rollout prepare and restore, live-quality publish
    assert len(statements) == 7
    for statement in statements:
        assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "SageMakerABTesting"}}
