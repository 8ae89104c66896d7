"""`abtest` commands against moto in-process (Typer's CliRunner), output and exit status included.

moto returns no CloudWatch data unless it is put: the tests put the Invocations and SrmPValue
datapoints that SageMaker and the SRM check would publish (same namespace, names, dimensions).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from scripts.abtest.aws import Aws
from tests.abtest.conftest import BUCKET, ENDPOINT, ENDPOINT_NAME, EVALUATION, NOW, SET_WEIGHTS, STACK
from tests.conftest import ROOT


def _put_invocations(deployed, counts: dict[str, float]) -> None:
    deployed.clients.cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": ENDPOINT_NAME},
                    {"Name": "VariantName", "Value": variant},
                ],
                "Timestamp": NOW - timedelta(minutes=10),
                "Value": count,
                "Unit": "None",
            }
            for variant, count in counts.items()
        ],
    )


# --- status ---------------------------------------------------------------------------------------


def test_status_reads_the_stack_outputs_and_shows_declared_and_live_in_agreement(deployed):
    report = deployed.json("status", ENDPOINT)
    assert report["stack"] == {"name": STACK, "status": "CREATE_COMPLETE"}
    assert (report["endpoint_name"], report["endpoint_status"]) == (ENDPOINT_NAME, "InService")
    assert [(v["variant"], v["declared_weight"], v["live_weight"], v["instances"]) for v in report["variants"]] == [
        ("Variant1", 1.0, 1.0, 1),
        ("Variant2", 1.0, 1.0, 1),
    ]
    assert report["drift"] is False
    assert report["rollout"] == {"running": [], "error": None}
    assert report["srm"] == {"p_value": None, "at": None, "error": None}


def test_status_json_keys_are_stable(deployed):
    report = deployed.json("status", ENDPOINT)
    assert sorted(report) == [
        "alarms",
        "drift",
        "endpoint",
        "endpoint_name",
        "endpoint_status",
        "orphan_parameters",
        "rollout",
        "shadow",
        "srm",
        "stack",
        "traffic",
        "variants",
    ]
    assert report["shadow"] is None  # an A/B endpoint (tests/abtest/test_shadow.py: the shadow stage)
    assert sorted(report["variants"][0]) == [
        "declared_share",
        "declared_weight",
        "desired_instances",
        "desired_weight",
        "drift",
        "instances",
        "invocations",
        "live_share",
        "live_weight",
        "observed_share",
        "parameter",
        "variant",
    ]


def test_status_shows_the_observed_share_of_the_last_hour(deployed):
    _put_invocations(deployed, {"Variant1": 300, "Variant2": 100})
    report = deployed.json("status", ENDPOINT)
    assert report["traffic"] == {"window_minutes": 60, "invocations": 400.0, "error": None}
    assert [(v["invocations"], v["observed_share"]) for v in report["variants"]] == [(300.0, 0.75), (100.0, 0.25)]
    table = deployed.run("status", ENDPOINT).stdout
    assert "75.0 % of 300" in table
    assert "25.0 % of 100" in table


def test_status_shows_the_latest_srm_p_value(deployed):
    for minutes_ago, value in ((20, 0.5), (5, 0.0004)):
        deployed.clients.cloudwatch.put_metric_data(
            Namespace="SageMakerABTesting",
            MetricData=[
                {
                    "MetricName": "SrmPValue",
                    "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT_NAME}],
                    "Timestamp": NOW - timedelta(minutes=minutes_ago),
                    "Value": value,
                }
            ],
        )
    srm = deployed.json("status", ENDPOINT)["srm"]
    assert srm["p_value"] == pytest.approx(0.0004)
    assert srm["at"].startswith((NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))


def test_status_shows_the_stacks_alarm_states(deployed, monkeypatch):
    cloudwatch = deployed.clients.cloudwatch
    cloudwatch.put_metric_alarm(
        AlarmName="AbTest-churn-ab-ErrorRateVariant2-X",
        MetricName="Invocation5XXErrors",
        Namespace="AWS/SageMaker",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(
        AlarmName="AbTest-churn-ab-ErrorRateVariant2-X", StateValue="ALARM", StateReason="5XX above 5 %"
    )
    cloudwatch.put_metric_alarm(
        AlarmName="AbTest-churn-ab-LatencyVariant2-Y",
        MetricName="ModelLatency",
        Namespace="AWS/SageMaker",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    # moto's CloudFormation has no model for AWS::CloudWatch::Alarm, so ListStackResources cannot
    # list the stack's alarms; the names stand in for what it returns (its shape: tests below).
    names = ["AbTest-churn-ab-ErrorRateVariant2-X", "AbTest-churn-ab-LatencyVariant2-Y", "AbTest-churn-ab-Gone"]
    monkeypatch.setattr(Aws, "alarm_names", lambda self, stack_id: names)
    alarms = deployed.json("status", ENDPOINT)["alarms"]
    assert [(a["name"], a["kind"], a["state"]) for a in alarms["items"]] == [
        ("AbTest-churn-ab-ErrorRateVariant2-X", "metric", "ALARM"),
        ("AbTest-churn-ab-LatencyVariant2-Y", "metric", "OK"),
        ("AbTest-churn-ab-Gone", "unknown", None),
    ]
    table = deployed.run("status", ENDPOINT).stdout
    assert "ALARM" in table
    assert "not in CloudWatch" in table


def test_alarm_names_come_from_list_stack_resources():
    import boto3
    from botocore.stub import Stubber

    cloudformation = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(cloudformation)
    summary = {"LastUpdatedTimestamp": NOW, "ResourceStatus": "CREATE_COMPLETE"}
    stub.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": "A",
                    "PhysicalResourceId": "alarm-a",
                    "ResourceType": "AWS::CloudWatch::Alarm",
                    **summary,
                },
                {
                    "LogicalResourceId": "T",
                    "PhysicalResourceId": "arn:topic",
                    "ResourceType": "AWS::SNS::Topic",
                    **summary,
                },
                {
                    "LogicalResourceId": "C",
                    "PhysicalResourceId": "AbTest-churn-ab-Alarms-AnyProblem",
                    "ResourceType": "AWS::CloudWatch::CompositeAlarm",
                    **summary,
                },
            ]
        },
        {"StackName": "stack-id"},
    )
    with stub:
        aws = Aws(type("C", (), {"cloudformation": cloudformation})())  # type: ignore[arg-type]
        assert aws.alarm_names("stack-id") == ["alarm-a", "AbTest-churn-ab-Alarms-AnyProblem"]


def test_a_missing_section_is_reported_and_the_rest_still_shown(deployed, monkeypatch):
    from botocore.exceptions import ClientError

    def denied(self, *args, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "GetMetricData")

    monkeypatch.setattr(Aws, "latest_srm_p_value", denied)
    report = deployed.json("status", ENDPOINT)
    assert report["srm"] == {"p_value": None, "at": None, "error": "AccessDenied: not allowed"}
    assert report["variants"][0]["live_weight"] == 1.0


# --- errors ---------------------------------------------------------------------------------------


def test_an_unknown_endpoint_exits_3_naming_the_stack(deployed):
    result = deployed.run("status", "nope")
    assert result.exit_code == 3
    assert "stack AbTest-nope does not exist" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    answer = json.loads(deployed.run("status", "nope", "--json").stdout)
    assert answer["error"]["kind"] == "not_found"
    assert answer["error"]["aws_code"] == "ValidationError"


def test_a_deleted_endpoint_exits_3(deployed):
    deployed.clients.sagemaker.delete_endpoint(EndpointName=ENDPOINT_NAME)
    result = deployed.run("weights", "set", ENDPOINT, "Variant1=2")
    assert result.exit_code == 3
    assert f"endpoint {ENDPOINT_NAME} does not exist" in result.stderr


def test_an_aws_error_exits_1_with_its_code(deployed, monkeypatch):
    from botocore.exceptions import ClientError

    def throttled(self, endpoint):
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeStacks")

    monkeypatch.setattr(Aws, "stack", throttled)
    answer = deployed.run("status", ENDPOINT, "--json")
    assert answer.exit_code == 1
    error = json.loads(answer.stdout)["error"]
    assert (error["kind"], error["aws_code"]) == ("aws_error", "Throttling")
    assert "DescribeStacks operation: Rate exceeded" in error["message"]


# --- weights set ----------------------------------------------------------------------------------


def test_weights_set_via_parameters_declares_them_and_waits_for_the_endpoint(deployed):
    result = deployed.json("weights", "set", ENDPOINT, "Variant1=25", "Variant2=75")
    assert result["weights"] == {"Variant1": 25.0, "Variant2": 75.0}
    assert (result["via"], result["parameters_changed"], result["drift"]) == ("parameters", True, False)
    assert deployed.declared() == {"WeightVariant1": "25", "WeightVariant2": "75"}
    assert deployed.live_weights() == {"Variant1": 25.0, "Variant2": 75.0}
    assert deployed.lambda_.calls == []


def test_weights_set_via_parameters_keeps_the_unnamed_variants_declared_weight(deployed):
    deployed.json("weights", "set", ENDPOINT, "Variant1=25", "Variant2=75")
    result = deployed.json("weights", "set", ENDPOINT, "Variant1=5")
    assert deployed.cloudformation.updates[-1] == {"Variant1": "5", "Variant2": "75"}  # UsePreviousValue
    assert result["weights"] == {"Variant1": 5.0, "Variant2": 75.0}


def test_weights_set_via_lambda_applies_now_and_reports_the_drift(deployed):
    result = deployed.json("weights", "set", ENDPOINT, "Variant1=0", "Variant2=100", "--via", "lambda")
    assert deployed.lambda_.calls == [(SET_WEIGHTS, {"weights": {"Variant1": 0.0, "Variant2": 100.0}})]
    assert result["weights"] == {"Variant1": 0.0, "Variant2": 100.0}
    assert (result["parameters_changed"], result["drift"]) == (False, True)
    assert deployed.declared() == {"WeightVariant1": "1", "WeightVariant2": "1"}

    status = deployed.json("status", ENDPOINT)
    assert status["drift"] is True
    assert [v["drift"] for v in status["variants"]] == [True, True]
    table = deployed.run("status", ENDPOINT).stdout
    assert "DRIFT: declared and live weights differ" in table
    assert "abtest weights record churn-ab" in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["VariantX=1"], "endpoint churn-ab-7f3a has no variant(s) VariantX; its variants are Variant1, Variant2"),
        (["Variant1=0", "Variant2=0"], "all weights would be 0"),
        (["Variant1:5"], "'Variant1:5': expected VARIANT=WEIGHT"),
        (["Variant1=-5"], "must be >= 0"),
    ],
)
@pytest.mark.parametrize("via", ["parameters", "lambda"])
def test_bad_weights_exit_2_before_anything_changes(deployed, args, message, via):
    result = deployed.run("weights", "set", ENDPOINT, *args, "--via", via)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert deployed.cloudformation.updates == []
    assert deployed.lambda_.calls == []
    assert deployed.declared() == {"WeightVariant1": "1", "WeightVariant2": "1"}
    assert deployed.live_weights() == {"Variant1": 1.0, "Variant2": 1.0}


def test_parameters_that_already_declare_the_weights_cannot_apply_them_and_say_what_to_do(deployed):
    deployed.json("weights", "set", ENDPOINT, "Variant1=0", "Variant2=100", "--via", "lambda")
    result = deployed.run("weights", "set", ENDPOINT, "Variant1=1", "Variant2=1")
    assert result.exit_code == 2
    text = " ".join(result.stderr.split())
    assert "already declare Variant1=1 Variant2=1, but the endpoint shows Variant1=0 Variant2=100" in text
    assert "--via lambda" in text
    assert deployed.cloudformation.updates == []


def test_weights_that_never_show_time_out_with_exit_4(deployed, monkeypatch):
    # A custom resource that never applies the parameters (CloudFormation still waiting on it).
    monkeypatch.setattr(
        type(deployed.cloudformation), "execute_change_set", lambda self, **kw: self._real.execute_change_set(**kw)
    )
    result = deployed.run("weights", "set", ENDPOINT, "Variant1=25", "Variant2=75", "--timeout", "0.05")
    assert result.exit_code == 4
    assert "does not show Variant1=25, Variant2=75 yet" in " ".join(result.stderr.split())


def test_a_function_error_exits_1_with_the_functions_message(deployed):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sagemaker.models import sagemaker_backends

    # moto's endpoints never leave InService by themselves; a broken one is set in its backend.
    sagemaker_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].endpoints[ENDPOINT_NAME].endpoint_status = "OutOfService"
    result = deployed.run("weights", "set", ENDPOINT, "Variant1=3", "--via", "lambda")
    assert result.exit_code == 1
    text = " ".join(result.stderr.split())
    assert f"function {SET_WEIGHTS} failed: EndpointUnavailable: endpoint {ENDPOINT_NAME} is OutOfService" in text


# --- weights record -------------------------------------------------------------------------------


def test_weights_record_declares_the_live_weights(deployed):
    deployed.json("weights", "set", ENDPOINT, "Variant1=0", "Variant2=100", "--via", "lambda")
    result = deployed.json("weights", "record", ENDPOINT)
    assert result["parameters"] == {"WeightVariant1": "0", "WeightVariant2": "100"}
    assert result["parameters_changed"] is True
    assert deployed.declared() == {"WeightVariant1": "0", "WeightVariant2": "100"}
    assert deployed.json("status", ENDPOINT)["drift"] is False
    assert deployed.json("weights", "record", ENDPOINT)["parameters_changed"] is False


# --- rollout --------------------------------------------------------------------------------------


# 6,000 requests a minute over the start check's 15 minutes: enough for the plans started here.
ENOUGH_TRAFFIC = {"Variant1": 45_000, "Variant2": 45_000}


def test_rollout_start_status_stop(deployed):
    _put_invocations(deployed, ENOUGH_TRAFFIC)
    started = deployed.json("rollout", "start", ENDPOINT, "--candidate", "Variant2", "--steps", "10,50,100")
    arn = started["execution_arn"]
    described = deployed.clients.stepfunctions.describe_execution(executionArn=arn)
    assert json.loads(described["input"]) == {"candidate": "Variant2", "steps": [10, 50, 100]}

    again = deployed.run("rollout", "start", ENDPOINT, "--candidate", "Variant2")
    assert again.exit_code == 2
    assert "a rollout is already running" in " ".join(again.stderr.split())

    status = deployed.json("rollout", "status", ENDPOINT)["executions"]
    assert [(e["execution_arn"], e["status"], e["candidate"]) for e in status] == [(arn, "RUNNING", "Variant2")]
    assert deployed.json("status", ENDPOINT)["rollout"]["running"][0]["execution_arn"] == arn

    stopped = deployed.json("rollout", "stop", ENDPOINT)
    assert stopped["stopped"] == [arn]
    assert deployed.clients.stepfunctions.describe_execution(executionArn=arn)["status"] == "ABORTED"
    nothing = deployed.run("rollout", "stop", ENDPOINT)
    assert nothing.exit_code == 3
    assert "no rollout is running on churn-ab" in nothing.stderr
    # With nothing running, status shows the latest execution.
    assert deployed.json("rollout", "status", ENDPOINT)["executions"][0]["status"] == "ABORTED"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--candidate", "VariantX"], "candidate: 'VariantX' is not a variant of the endpoint"),
        (["--candidate", "Variant2", "--steps", "10,50"], "the last step must be 100"),
        (["--candidate", "Variant2", "--steps", "ten"], "--steps: expected numbers"),
        (["--candidate", "Variant2", "--baseline", "Variant2"], "cannot also be a baseline"),
        ([], "name the candidate"),
    ],
)
def test_an_invalid_plan_exits_2_and_starts_nothing(deployed, args, message):
    result = deployed.run("rollout", "start", ENDPOINT, *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert (
        deployed.clients.stepfunctions.list_executions(stateMachineArn=deployed.state_machine_arn)["executions"] == []
    )


@pytest.mark.parametrize(
    ("traffic", "args", "message"),
    [
        # 1 % of 1,000 a minute: 10 a minute, and with 10-minute bakes the judge reads at most 36
        # minutes of a step (with the default 15-minute bakes, 56: 560 requests, enough)
        (
            {"Variant1": 15_000},
            ["--steps", "1,5,25,100", "--bake-seconds", "600"],
            "not enough traffic for this plan: step 1 (1 %) cannot gather judge.min_requests",
        ),
        ({}, [], "no traffic to estimate from"),
    ],
)
def test_a_plan_the_traffic_cannot_support_exits_2_and_starts_nothing(deployed, traffic, args, message):
    if traffic:
        _put_invocations(deployed, traffic)
    result = deployed.run("rollout", "start", ENDPOINT, "--candidate", "Variant2", *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert (
        deployed.clients.stepfunctions.list_executions(stateMachineArn=deployed.state_machine_arn)["executions"] == []
    )


def test_a_plan_file_with_options_on_top(deployed, tmp_path):
    _put_invocations(deployed, ENOUGH_TRAFFIC)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"candidate": "Variant1", "judge": {"alpha": 0.01}, "bake_seconds": 300}))
    arn = deployed.json("rollout", "start", ENDPOINT, "--plan", str(plan), "--candidate", "Variant2")["execution_arn"]
    sent = json.loads(deployed.clients.stepfunctions.describe_execution(executionArn=arn)["input"])
    assert sent == {"candidate": "Variant2", "judge": {"alpha": 0.01}, "bake_seconds": 300}


# --- evaluate -------------------------------------------------------------------------------------


def test_evaluate_uploads_a_local_file_to_datasets_and_invokes_the_function(deployed, tmp_path):
    data = tmp_path / "churn-test.csv"
    data.write_text("1,0.5,0.2\n0,0.1,0.9\n")
    seen = {}

    def evaluation(event):
        # What the function would read: the uploaded object, under datasets/ of its bucket.
        seen["body"] = deployed.clients.s3.get_object(Bucket=BUCKET, Key="datasets/churn-test.csv")["Body"].read()
        seen["event"] = event
        return {
            "reports": {"json": f"s3://{BUCKET}/reports/x/report.json"},
            "complete": True,
            "incomplete_variants": [],
            "verdicts": ["no significant difference from the baseline"],
        }

    deployed.lambda_.functions[EVALUATION] = evaluation
    result = deployed.json("evaluate", ENDPOINT, "--data", str(data), "--variant", "Variant1", "--variant", "Variant2")
    assert seen["body"] == data.read_bytes()
    assert seen["event"] == {"data_uri": f"s3://{BUCKET}/datasets/churn-test.csv", "variants": ["Variant1", "Variant2"]}
    assert result["result"]["verdicts"] == ["no significant difference from the baseline"]


def test_evaluate_refuses_an_unknown_variant_or_missing_file_before_uploading(deployed, tmp_path):
    data = tmp_path / "churn-test.csv"
    data.write_text("1,0.5\n")
    result = deployed.run("evaluate", ENDPOINT, "--data", str(data), "--variant", "VariantX")
    assert result.exit_code == 2
    assert "has no variant(s) VariantX" in " ".join(result.stderr.split())
    missing = deployed.run("evaluate", ENDPOINT, "--data", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    assert deployed.clients.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    assert deployed.lambda_.calls == []


def test_a_weight_parameter_without_a_live_variant_is_listed_but_not_drift(deployed):
    # A template that declares a weight for a variant the endpoint does not have.
    stack = deployed.clients.cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
    body = deployed.clients.cloudformation.get_template(StackName=STACK)["TemplateBody"]
    body = json.loads(body) if isinstance(body, str) else dict(body)
    body["Parameters"]["WeightVariant3"] = {"Type": "Number", "Default": 1}
    deployed.clients.cloudformation._real.update_stack(StackName=stack["StackId"], TemplateBody=json.dumps(body))
    report = deployed.json("status", ENDPOINT)
    assert report["orphan_parameters"] == ["WeightVariant3"]
    assert report["drift"] is False
    assert "weight parameters of variants the endpoint lacks: WeightVariant3" in deployed.run("status", ENDPOINT).stdout


def test_weights_record_also_writes_the_weights_file(deployed, tmp_path):
    from scripts.weights_file import load_weights_file

    weights_file = tmp_path / "weights.json"
    weights_file.write_text((ROOT / "config" / "weights.json").read_text())
    deployed.json("weights", "set", ENDPOINT, "Variant1=0", "Variant2=100", "--via", "lambda")
    result = deployed.json("weights", "record", ENDPOINT, "--environment", "prod", "--weights-file", str(weights_file))
    assert result["weights_file"] == {"path": str(weights_file), "environment": "prod"}
    assert load_weights_file(weights_file, "prod").endpoint(ENDPOINT).weights == {"Variant1": 0, "Variant2": 100}
    assert load_weights_file(weights_file, "staging").endpoint(ENDPOINT).weights == {"Variant1": 1, "Variant2": 1}
    assert deployed.declared() == {"WeightVariant1": "0", "WeightVariant2": "100"}


def test_weights_record_refuses_an_unknown_environment_and_changes_nothing(deployed, tmp_path):
    weights_file = tmp_path / "weights.json"
    original = (ROOT / "config" / "weights.json").read_text()
    weights_file.write_text(original)
    deployed.json("weights", "set", ENDPOINT, "Variant1=0", "Variant2=100", "--via", "lambda")
    result = deployed.run("weights", "record", ENDPOINT, "--environment", "qa", "--weights-file", str(weights_file))
    assert result.exit_code == 2
    assert 'environment "qa"' in result.stderr
    assert weights_file.read_text() == original
    assert deployed.declared() == {"WeightVariant1": "1", "WeightVariant2": "1"}


# --- review findings: waiting on the change set, rollouts, the weights file --------------------


def test_weights_set_with_nothing_to_change_on_a_create_complete_stack_returns_at_once(deployed):
    # The fixture's stack is CREATE_COMPLETE; the parameters already declare 1:1 and the endpoint
    # shows it. No change set is made, so there is nothing to wait for (it used to wait the whole
    # --timeout for UPDATE_COMPLETE and exit 4).
    result = deployed.run("weights", "set", ENDPOINT, "Variant1=1", "Variant2=1", "--timeout", "0.05", "--json")
    assert result.exit_code == 0, result.output + result.stderr
    answer = json.loads(result.stdout)
    assert (answer["parameters_changed"], answer["weights"]) == (False, {"Variant1": 1.0, "Variant2": 1.0})
    assert deployed.cloudformation.updates == []


class StaleReads:
    """What moto cannot show: moto runs ExecuteChangeSet synchronously (the stack is UPDATE_COMPLETE
    and the change set EXECUTE_COMPLETE by the time the call returns). Real CloudFormation answers
    ExecuteChangeSet at once; for a while DescribeChangeSet says EXECUTE_IN_PROGRESS and DescribeStacks
    may still show the status from before, here the UPDATE_ROLLBACK_COMPLETE an earlier failed update
    left (healthy and updatable). Both answers are replayed in their real shapes before moto's own."""

    def __init__(self, playing, change_set_reads: list[str], stack_reads: list[str]) -> None:
        self.playing = playing
        self.change_set_reads = change_set_reads
        self.stack_reads = stack_reads
        self.executed = False
        self.change_set_calls = 0

    def describe_stacks(self, **kwargs):
        answer = self.playing._real.describe_stacks(**kwargs)
        if not self.executed:
            status = "UPDATE_ROLLBACK_COMPLETE"
        elif self.stack_reads:
            status = self.stack_reads.pop(0)
        else:
            return answer
        answer["Stacks"][0]["StackStatus"] = status
        return answer

    def describe_change_set(self, **kwargs):
        answer = self.playing._real.describe_change_set(**kwargs)
        if self.executed:
            self.change_set_calls += 1
            if self.change_set_reads:
                answer["ExecutionStatus"] = self.change_set_reads.pop(0)
        return answer

    def execute_change_set(self, **kwargs):
        answer = type(self.playing).execute_change_set(self.playing, **kwargs)
        self.executed = True
        return answer

    def install(self, monkeypatch) -> None:
        for name in ("describe_stacks", "describe_change_set", "execute_change_set"):
            monkeypatch.setattr(self.playing, name, getattr(self, name), raising=False)


def test_weights_set_on_a_rolled_back_stack_waits_for_its_own_change_set_through_stale_reads(deployed, monkeypatch):
    stale = StaleReads(
        deployed.cloudformation,
        change_set_reads=["EXECUTE_IN_PROGRESS", "EXECUTE_IN_PROGRESS"],
        stack_reads=["UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_IN_PROGRESS"],
    )
    stale.install(monkeypatch)
    result = deployed.run("weights", "set", ENDPOINT, "Variant1=25", "Variant2=75", "--json")
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads(result.stdout)["weights"] == {"Variant1": 25.0, "Variant2": 75.0}
    assert stale.change_set_calls >= 3  # it watched the change set until EXECUTE_COMPLETE


def test_a_change_set_whose_execution_failed_exits_1(deployed, monkeypatch):
    stale = StaleReads(
        deployed.cloudformation, change_set_reads=["EXECUTE_FAILED"], stack_reads=["UPDATE_ROLLBACK_COMPLETE"]
    )
    stale.install(monkeypatch)
    result = deployed.run("weights", "set", ENDPOINT, "Variant1=25", "Variant2=75")
    assert result.exit_code == 1
    assert "EXECUTE_FAILED, stack UPDATE_ROLLBACK_COMPLETE" in " ".join(result.stderr.split())


def test_two_weight_changes_within_a_second_get_different_change_set_names(deployed, monkeypatch):
    import scripts.abtest.aws as aws_module

    names: list[str] = []
    real = deployed.cloudformation._real.create_change_set

    def create(**kwargs):
        names.append(kwargs["ChangeSetName"])
        return real(**kwargs)

    monkeypatch.setattr(deployed.cloudformation, "create_change_set", create, raising=False)
    monkeypatch.setattr(aws_module.time, "time", lambda: 1_750_000_000.0)
    deployed.json("weights", "set", ENDPOINT, "Variant1=25")
    deployed.json("weights", "set", ENDPOINT, "Variant1=30")
    assert len(names) == 2
    assert names[0] != names[1]


def _start_rollout(deployed) -> str:
    _put_invocations(deployed, ENOUGH_TRAFFIC)
    return deployed.json("rollout", "start", ENDPOINT, "--candidate", "Variant2", "--steps", "10,50,100")[
        "execution_arn"
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["weights", "set", ENDPOINT, "Variant1=25", "--via", "parameters"],
        ["weights", "set", ENDPOINT, "Variant1=25", "--via", "lambda"],
        ["weights", "record", ENDPOINT],
    ],
)
def test_weight_changes_are_refused_while_a_rollout_runs(deployed, args):
    deployed.json("weights", "set", ENDPOINT, "Variant1=0", "Variant2=100", "--via", "lambda")  # drift to record
    deployed.lambda_.calls.clear()
    _start_rollout(deployed)
    result = deployed.run(*args)
    assert result.exit_code == 2, result.output
    assert "a rollout is running on churn-ab" in " ".join(result.stderr.split())
    assert deployed.cloudformation.updates == []
    assert deployed.lambda_.calls == []
    assert deployed.declared() == {"WeightVariant1": "1", "WeightVariant2": "1"}


def test_status_does_not_recommend_recording_while_a_rollout_runs(deployed):
    deployed.json("weights", "set", ENDPOINT, "Variant1=0", "Variant2=100", "--via", "lambda")
    _start_rollout(deployed)
    table = " ".join(deployed.run("status", ENDPOINT).stdout.split())
    assert "DRIFT: declared and live weights differ" in table
    assert "A rollout is running" in table
    assert "abtest weights record" not in table


def test_weights_record_refuses_an_endpoint_that_is_not_in_service(deployed):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sagemaker.models import sagemaker_backends

    # moto's endpoints never leave InService by themselves; the backend is set as SageMaker would be mid-update.
    sagemaker_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].endpoints[ENDPOINT_NAME].endpoint_status = "Updating"
    result = deployed.run("weights", "record", ENDPOINT)
    assert result.exit_code == 2
    assert f"endpoint {ENDPOINT_NAME} is Updating, not InService" in " ".join(result.stderr.split())
    assert deployed.cloudformation.updates == []


def test_weights_record_leaves_the_weights_file_unchanged_when_the_stack_update_fails(deployed, tmp_path, monkeypatch):
    weights_file = tmp_path / "weights.json"
    original = (ROOT / "config" / "weights.json").read_text()
    weights_file.write_text(original)
    deployed.json("weights", "set", ENDPOINT, "Variant1=0", "Variant2=100", "--via", "lambda")
    StaleReads(
        deployed.cloudformation, change_set_reads=["EXECUTE_FAILED"], stack_reads=["UPDATE_ROLLBACK_COMPLETE"]
    ).install(monkeypatch)
    result = deployed.run("weights", "record", ENDPOINT, "--environment", "prod", "--weights-file", str(weights_file))
    assert result.exit_code == 1, result.output
    assert weights_file.read_text() == original
    assert "EXECUTE_FAILED" in " ".join(result.stderr.split())


def test_alarm_states_follow_next_token():
    import boto3
    from botocore.stub import Stubber

    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(cloudwatch)
    request = {"AlarmNames": ["a", "b"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    stub.add_response(
        "describe_alarms", {"MetricAlarms": [{"AlarmName": "a", "StateValue": "OK"}], "NextToken": "t"}, request
    )
    stub.add_response(
        "describe_alarms",
        {"CompositeAlarms": [{"AlarmName": "b", "StateValue": "ALARM"}]},
        {**request, "NextToken": "t"},
    )
    with stub:
        aws = Aws(type("C", (), {"cloudwatch": cloudwatch})())  # type: ignore[arg-type]
        states = aws.alarm_states(["a", "b"])
    stub.assert_no_pending_responses()
    assert [(s.name, s.kind, s.state) for s in states] == [("a", "metric", "OK"), ("b", "composite", "ALARM")]
