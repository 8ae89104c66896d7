"""Live quality's operations in the template: a schedule that cannot start a run pages, the retried error
names are the ones Step Functions reports, and the publish step knows the capture sampling percentage."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from aws_cdk.assertions import Template

from constructs_lib.config import parse_config
from constructs_lib.live_quality import ATHENA_THROTTLED
from constructs_lib.task_retries import LAMBDA_THROTTLED
from tests.conftest import read_config
from tests.live_quality_template import live_quality_definition as definition
from tests.synth import only_template

# CDK's default retry of a LambdaInvoke task: the transient errors of "Handle Lambda service exceptions"
# (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
}


@pytest.fixture(scope="module")
def template() -> Template:
    return only_template(read_config())


def alarm_on(template: Template, namespace: str, metric: str) -> tuple[str, dict[str, Any]]:
    found = [
        (lid, a["Properties"])
        for lid, a in template.find_resources("AWS::CloudWatch::Alarm").items()
        if a["Properties"].get("Namespace") == namespace and a["Properties"].get("MetricName") == metric
    ]
    assert len(found) == 1, found
    return found[0]


def test_a_schedule_that_cannot_start_a_run_alarms_through_the_composite(template: Template):
    (rule_id,) = [lid for lid in template.find_resources("AWS::Events::Rule") if lid.startswith("LiveQuality")]
    alarm_id, alarm = alarm_on(template, "AWS/Events", "FailedInvocations")
    assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": rule_id}}]
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 300, 0)
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    # EventBridge sends the metric only when it is not zero: no data is the healthy case.
    assert alarm["TreatMissingData"] == "notBreaching"
    assert "could not start its state machine" in alarm["AlarmDescription"]

    (composite,) = template.find_resources("AWS::CloudWatch::CompositeAlarm").values()
    assert alarm_id in json.dumps(composite["Properties"]["AlarmRule"])
    assert "live quality" in composite["Properties"]["AlarmDescription"]
    # Rolled up, so it has no action of its own (one page per incident).
    assert "AlarmActions" not in alarm


def test_the_tasks_retry_the_throttling_errors_step_functions_reports(template: Template):
    states = definition(template)["States"]
    for name in ("Plan", "Publish"):
        retried = [set(r["ErrorEquals"]) for r in states[name]["Retry"]]
        assert LAMBDA_SERVICE_ERRORS in retried, name
        assert {LAMBDA_THROTTLED} in retried, name
    assert [r["ErrorEquals"] for r in states["Query"]["Retry"]] == [[ATHENA_THROTTLED]]


@pytest.mark.parametrize(
    ("name", "service", "operation"),
    [(LAMBDA_THROTTLED, "lambda", "Invoke"), (ATHENA_THROTTLED, "athena", "StartQueryExecution")],
)
def test_each_retried_name_is_an_error_the_called_api_declares(name: str, service: str, operation: str):
    """Step Functions names a service error ``<Service>.<ErrorName>``; the ErrorName part must be one the
    operation can return, as the service's own model (botocore's) lists them."""
    prefix, _, error = name.partition(".")
    model = botocore.session.get_session().get_service_model(service)
    assert prefix.lower() == service
    assert error in {shape.name for shape in model.operation_model(operation).error_shapes}


def test_the_publish_step_knows_the_capture_sampling_percentage(template: Template):
    """Labels for requests capture did not sample are expected at that rate (live_quality.unsampled)."""
    (publish,) = [
        r
        for lid, r in template.find_resources("AWS::Lambda::Function").items()
        if lid.startswith("LiveQualityPublishFunction")
    ]
    sampling = parse_config(read_config(), "default").endpoints[0].data_capture.sampling_percentage
    assert publish["Properties"]["Environment"]["Variables"]["CAPTURE_SAMPLING_PERCENTAGE"] == str(sampling)


def test_the_publish_step_quotes_as_much_of_a_bad_line_as_the_config_says(template: Template):
    """Reports keep the query's whole excerpt by default; sample_excerpt_chars 0 keeps file and line only."""

    def excerpt_env(t: Template) -> str:
        (publish,) = [
            r for lid, r in t.find_resources("AWS::Lambda::Function").items() if lid.startswith("LiveQualityPublish")
        ]
        return str(publish["Properties"]["Environment"]["Variables"]["SAMPLE_EXCERPT_CHARS"])

    assert excerpt_env(template) == "200"
    data = read_config()
    data["endpoints"][0]["live_quality"] = {"sample_excerpt_chars": 0}
    assert excerpt_env(only_template(data)) == "0"
