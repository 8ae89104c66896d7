"""Live quality's schedule is switched by the config (a deploy never silently re-disables a rule the config
enables), and an enabled schedule gets an alarm when no run has succeeded for 2 × its interval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from constructs_lib import live_quality
from constructs_lib.config import ConfigError, alarm_limits, parse_config
from constructs_lib.config.loader import MAX_SCHEDULE_HOURS
from constructs_lib.config.model import LiveQualitySpec
from tests.conftest import read_config
from tests.synth import only_template

ENDPOINT = "churn-ab"
ROOT = Path(__file__).resolve().parents[2]


def config(**live_quality: Any) -> dict[str, Any]:
    data = read_config()
    data["endpoints"][0]["live_quality"] = live_quality
    return data


@pytest.fixture(scope="module")
def enabled() -> Template:
    return only_template(config(schedule_enabled=True))


def live_rule(template: Template) -> dict[str, Any]:
    (rule,) = [r for lid, r in template.find_resources("AWS::Events::Rule").items() if lid.startswith("LiveQuality")]
    return rule["Properties"]


def succeeded_alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        lid: a["Properties"]
        for lid, a in template.find_resources("AWS::CloudWatch::Alarm").items()
        if a["Properties"].get("MetricName") == "ExecutionsSucceeded"
    }


def test_the_schedule_is_enabled_exactly_when_the_config_says_so(enabled: Template):
    assert live_rule(enabled)["State"] == "ENABLED"
    default = only_template(read_config())
    assert live_rule(default)["State"] == "DISABLED"
    assert not succeeded_alarms(default), "no run is scheduled: nothing can stop succeeding"
    assert parse_config(read_config(), "default").endpoints[0].live_quality.schedule_enabled is False


def test_an_enabled_schedule_alarms_when_no_run_succeeded_for_two_intervals(enabled: Template):
    """Step Functions' ExecutionsSucceeded, dimension StateMachineArn (procedure-cw-metrics.html), in
    hourly periods: every one of 2 × 24 missing or zero fires it, and missing data is breaching because
    Step Functions sends nothing for an hour without a finished execution."""
    (alarm,) = succeeded_alarms(enabled).values()
    (machine_id,) = [lid for lid in enabled.find_resources("AWS::StepFunctions::StateMachine") if "LiveQuality" in lid]
    assert alarm["Namespace"] == "AWS/States"
    assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": machine_id}}]
    assert (alarm["Statistic"], alarm["Period"]) == ("Sum", 3600)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 48
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm_limits.window_problem(alarm["Period"], alarm["EvaluationPeriods"]) is None
    assert "has succeeded for 48 hours" in alarm["AlarmDescription"]["Fn::Join"][1][0]


def test_the_not_succeeded_alarm_notifies_the_topic_itself_not_through_the_composite(enabled: Template):
    """It stays in ALARM until a run succeeds: rolled up, it would hold the composite in ALARM and swallow
    every later page (as the settle queue's alarm would)."""
    ((alarm_id, alarm),) = succeeded_alarms(enabled).items()
    (topic_id,) = enabled.find_resources("AWS::SNS::Topic")
    assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}]
    (composite,) = enabled.find_resources("AWS::CloudWatch::CompositeAlarm").values()
    assert alarm_id not in str(composite["Properties"]["AlarmRule"])
    (policy,) = enabled.find_resources("AWS::SNS::TopicPolicy").values()
    assert alarm_id in str(policy["Properties"]["PolicyDocument"]), "the topic policy must let this alarm publish"


@pytest.mark.parametrize(
    ("schedule_hours", "periods"),
    [(1, 3), (2, 4), (6, 12), (24, 48), (84, 168), (100, 168), (166, 168)],
)
def test_the_window_is_twice_the_interval_within_cloudwatch_s_seven_days(schedule_hours: int, periods: int):
    """At least schedule_hours + 2: runs end up to an hour (the run timeout) after they start, and the hour the
    next success lands in may not be published yet."""
    spec = LiveQualitySpec(schedule_hours=schedule_hours, schedule_enabled=True)
    assert spec.not_succeeded_evaluation_periods == periods
    assert periods >= schedule_hours + 2
    assert alarm_limits.window_problem(alarm_limits.ONE_HOUR_SECONDS, periods) is None


def test_the_window_in_the_template_follows_schedule_hours():
    template = only_template(config(schedule_enabled=True, schedule_hours=6))
    ((_, alarm),) = succeeded_alarms(template).items()
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 12
    assert live_rule(template)["ScheduleExpression"] == "rate(6 hours)"


def test_an_enabled_schedule_too_long_for_any_alarm_window_is_refused_with_its_field():
    with pytest.raises(ConfigError) as refused:
        parse_config(config(schedule_enabled=True, schedule_hours=167), "config/mine.json")
    (problem,) = refused.value.problems
    assert problem.startswith(f'config/mine.json: endpoint "{ENDPOINT}" > live_quality > schedule_hours: ')
    assert "CloudWatch looks back at most 168 hours" in problem
    # Disabled, a weekly schedule is still fine (nothing to alarm on).
    parse_config(config(schedule_hours=MAX_SCHEDULE_HOURS), "config/mine.json")


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ({"schedule_enabled": "yes"}, "must be true or false"),
        ({"report_retention_days": 0}, "must be >= 1"),
        ({"sample_excerpt_chars": -1}, "must be >= 0"),
        ({"sample_excerpt_chars": 201}, "must be <= 200"),
    ],
)
def test_bad_operations_settings_are_named(value: dict[str, Any], says: str):
    with pytest.raises(ConfigError) as refused:
        parse_config(config(**value), "config/mine.json")
    (problem,) = refused.value.problems
    (field,) = value
    assert problem.startswith(f'config/mine.json: endpoint "{ENDPOINT}" > live_quality > {field}: ')
    assert says in problem


def test_the_not_succeeded_alarm_says_how_to_clear_it_right_after_the_schedule_is_enabled(enabled: Template):
    """Right after the switch every hourly period is missing (breaching): the alarm's description gives the
    command, with this state machine's ARN, that starts the run which clears it."""
    (alarm,) = succeeded_alarms(enabled).values()
    (machine_id,) = [lid for lid in enabled.find_resources("AWS::StepFunctions::StateMachine") if "LiveQuality" in lid]
    parts = alarm["AlarmDescription"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "<arn>" for p in parts)
    assert {"Ref": machine_id} in parts
    assert "expected until a first run succeeds" in text
    assert text.endswith("aws stepfunctions start-execution --state-machine-arn <arn>")
    output = enabled.to_json()["Outputs"][live_quality.STATE_MACHINE_OUTPUT]
    assert output["Value"] == {"Ref": machine_id}


DOCS_OF_THE_SWITCH = ("README.md", "docs/config-reference.md", "config/schema.json", "constructs_lib/live_quality.py")


@pytest.mark.parametrize("path", DOCS_OF_THE_SWITCH)
def test_the_docs_do_not_promise_that_any_deploy_re_disables_a_rule_enabled_by_hand(path: str):
    """CloudFormation "updates only the changed resources" (using-cfn-updating-stacks.html): a deploy that
    leaves the rule alone leaves a hand-set state alone too. Only a deploy that changes the rule writes the
    template's State."""
    text = " ".join((ROOT / path).read_text(encoding="utf-8").split())
    assert "disabled again by the next" not in text
    assert "until a deploy changes the rule" in text
