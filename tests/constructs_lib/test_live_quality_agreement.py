"""Live quality beside a shadow (config/examples/shadow.json): the agreement query's Glue table, its step in the
state machine (a Parallel branch beside live quality's, its failure caught and counted in ShadowAgreementFailures,
the run succeeding: a shadow pages nobody), its alarm in the shadow's composite, its function's environment and
least privilege. The default app has none of it (the
default snapshot does not change: tests/stacks/test_snapshot.py)."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from constructs_lib import live_quality
from live_quality import agreement_text, tables
from tests.conftest import SHADOW_CONFIG, read_config
from tests.constructs_lib.test_live_quality import (
    _longest_waits,
    bucket_name,
    function,
    function_timeout,
    glue_table,
    listed,
    plan_attempts,
    statements_of,
)
from tests.live_quality_template import live_quality_definition as definition
from tests.policy_eval import Env
from tests.policy_eval import Template as Resolved
from tests.synth import only_template

ENDPOINT, PRODUCTION, SHADOW = "churn-shadow", "Current", "Candidate"
ENV = Env()
PARALLEL = "Live quality and shadow agreement"
COUNT_FAILURE = "Count agreement failure"
FAILURES_METRIC = "ShadowAgreementFailures"


@pytest.fixture(scope="module")
def template() -> Template:
    return only_template(read_config(SHADOW_CONFIG))


@pytest.fixture(scope="module")
def resolved(template: Template) -> Resolved:
    return Resolved(template.to_json(), ENV)


def test_the_shadow_capture_table_projects_production_and_shadow_and_live_qualitys_still_production_only(
    template, resolved
):
    shadow_table = resolved.resolve(
        glue_table(template, tables.ATHENA_SHADOW_CAPTURE_TABLE)[1]["Properties"]["TableInput"]
    )
    live_table = resolved.resolve(glue_table(template, tables.ATHENA_CAPTURE_TABLE)[1]["Properties"]["TableInput"])
    assert shadow_table["Parameters"]["projection.variant.values"] == f"{PRODUCTION},{SHADOW}"
    assert live_table["Parameters"]["projection.variant.values"] == PRODUCTION
    for key in ("projection.endpoint.values", "storage.location.template", "projection.hour.range"):
        assert shadow_table["Parameters"][key] == live_table["Parameters"][key], key
    assert [c["Name"] for c in shadow_table["PartitionKeys"]] == list(tables.CAPTURE_PARTITIONS)


def test_the_agreement_runs_beside_live_quality_and_a_failure_is_counted_not_a_failed_run(template):
    states = definition(template)["States"]
    assert states["Plan"]["Next"] == PARALLEL
    parallel = states[PARALLEL]
    assert parallel["Type"] == "Parallel" and parallel["ResultPath"] == "$.branches"
    live, agreement = parallel["Branches"]
    assert live["StartAt"] == "Query" and set(live["States"]) == {"Query", "Publish"}
    assert agreement["StartAt"] == "Agreement query"
    query = agreement["States"]["Agreement query"]
    assert query["Resource"].endswith(":states:::athena:startQueryExecution.sync")
    parameters = query["Parameters"]
    assert parameters["QueryString"] == agreement_text.athena_query(0.5)
    assert parameters["ExecutionParameters.$"] == "$.plan.agreement_execution_parameters"
    assert parameters["WorkGroup"] == live_quality.workgroup_name(ENDPOINT)
    publish = agreement["States"]["Publish agreement"]
    assert publish["Parameters"]["Payload"] == {
        "query_execution_id.$": "$.agreement_query.query_execution_id",
        "plan.$": "$.plan",
    }
    for name in ("Agreement query", "Publish agreement"):
        (catch,) = agreement["States"][name]["Catch"]
        assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.agreement_error", "Next": COUNT_FAILURE}
    count = agreement["States"][COUNT_FAILURE]
    assert count["Resource"].endswith(":states:::aws-sdk:cloudwatch:putMetricData")
    assert count["Parameters"] == {
        "Namespace": "SageMakerABTesting",
        "MetricData": [
            {
                "MetricName": FAILURES_METRIC,
                "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": SHADOW}],
                "Value": 1,
                "Unit": "Count",
            }
        ],
    }
    assert count["End"] is True and count["ResultPath"] is None and "Catch" not in count
    # The run ends with the Parallel: Succeeded whether or not the agreement failed (no Choice, no Fail state).
    assert parallel.get("End") is True and "Next" not in parallel
    every_state = [*states.values(), *(s for b in parallel["Branches"] for s in b["States"].values())]
    assert not [s for s in every_state if s["Type"] in ("Fail", "Choice")]


def test_a_failed_agreement_pages_nobody(template, resolved):
    """Its alarm is one of the shadow's (ShadowProblem, no action), not in the paging composite, and the state
    machine's role may put the count (the role takes no policy updates: the grant is explicit)."""
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    (failures_id,) = [lid for lid, a in alarms.items() if a["Properties"].get("MetricName") == FAILURES_METRIC]
    failures = alarms[failures_id]["Properties"]
    assert not failures.get("AlarmActions") and not failures.get("OKActions")
    assert {d["Name"]: resolved.resolve(d["Value"]) for d in failures["Dimensions"]} == {
        "EndpointName": ENDPOINT,
        "VariantName": SHADOW,
    }
    assert failures["TreatMissingData"] == "notBreaching" and failures["DatapointsToAlarm"] == 1
    # One run's interval plus a run's length and an hour: a failure counted late in one run and early in the next
    # never leaves an hour of OK between them (confirmation review's note).
    schedule_hours = read_config(SHADOW_CONFIG)["endpoints"][0].get("live_quality", {}).get("schedule_hours", 24)
    assert (failures["Period"], failures["EvaluationPeriods"]) == (
        3600,
        schedule_hours + live_quality.LIVE_QUALITY_RUN_TIMEOUT_HOURS + 1,
    )
    composites = template.find_resources("AWS::CloudWatch::CompositeAlarm")
    rules = {lid: json.dumps(c["Properties"]["AlarmRule"]) for lid, c in composites.items()}
    (shadow_problem,) = [lid for lid in rules if "ShadowProblem" in lid]
    assert failures_id in rules[shadow_problem]
    assert not composites[shadow_problem]["Properties"].get("AlarmActions")
    assert [lid for lid, rule in rules.items() if failures_id in rule] == [shadow_problem]

    machine = statements_of(resolved, "LiveQualityStateMachineRole")
    (metrics,) = [s for s in machine if "cloudwatch:PutMetricData" in listed(s["Action"])]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "SageMakerABTesting"}}


def test_everything_a_run_may_take_still_fits_in_its_timeout(template):
    """As for live quality alone (test_live_quality.py), with the two queries side by side: the plan, then the
    longer branch."""
    states = definition(template)["States"]
    timeout = functools.partial(function_timeout, template)
    plan_runs = plan_attempts(states)
    live, agreement = (b["States"] for b in states[PARALLEL]["Branches"])
    dml = live_quality.ATHENA_DML_QUERY_TIMEOUT.to_seconds()

    def branch(query: dict[str, Any], publish: dict[str, Any], handler: str) -> float:
        return dml + _longest_waits(query["Retry"]) + timeout(handler) + _longest_waits(publish["Retry"])

    # The agreement branch may end with its failure's count: every try up to its timeout, and the waits between.
    count = agreement[COUNT_FAILURE]
    count_tries = 1 + sum(r["MaxAttempts"] for r in count["Retry"])
    counting = count_tries * count["TimeoutSeconds"] + _longest_waits(count["Retry"])

    longest = (
        plan_runs * timeout("live_quality.handler.plan")
        + _longest_waits(states["Plan"]["Retry"])
        + max(
            branch(live["Query"], live["Publish"], "live_quality.handler.publish"),
            branch(
                agreement["Agreement query"],
                agreement["Publish agreement"],
                "live_quality.handler.publish_agreement",
            )
            + counting,
        )
    )
    assert longest <= definition(template)["TimeoutSeconds"] == live_quality.RUN_TIMEOUT.to_seconds()


def test_the_functions_get_the_variants_of_the_pairing(template, resolved):
    plan = resolved.resolve(function(template, "live_quality.handler.plan")["Environment"]["Variables"])
    assert (plan["PRODUCTION_VARIANT"], plan["SHADOW_VARIANT"]) == (PRODUCTION, SHADOW)
    agreement = resolved.resolve(
        function(template, "live_quality.handler.publish_agreement")["Environment"]["Variables"]
    )
    assert agreement == {
        "ENDPOINT_NAME": plan["ENDPOINT_NAME"],
        "PRODUCTION_VARIANT": PRODUCTION,
        "SHADOW_VARIANT": SHADOW,
        "REPORT_BUCKET": bucket_name(resolved),
        "REPORT_PREFIX": "live-quality/",
        "METRICS_NAMESPACE": "SageMakerABTesting",
    }
    publish = resolved.resolve(function(template, "live_quality.handler.publish")["Environment"]["Variables"])
    assert json.loads(publish["VARIANTS"]) == [PRODUCTION]  # live quality reports production only, as before


def test_least_privilege_for_the_agreement(resolved):
    bucket = bucket_name(resolved)
    region, account = ENV.region, ENV.account
    agreement = statements_of(resolved, "LiveQualityAgreementFunctionRole")
    puts = {r for s in agreement if "s3:PutObject" in listed(s["Action"]) for r in listed(s["Resource"])}
    gets = {r for s in agreement if "s3:GetObject" in listed(s["Action"]) for r in listed(s["Resource"])}
    assert puts == {f"arn:aws:s3:::{bucket}/live-quality/*"}
    assert gets == {f"arn:aws:s3:::{bucket}/athena-results/*"}
    (results,) = [s for s in agreement if "athena:GetQueryResults" in listed(s["Action"])]
    assert listed(results["Resource"]) == [
        f"arn:aws:athena:{region}:{account}:workgroup/{live_quality.workgroup_name(ENDPOINT)}"
    ]
    (metrics,) = [s for s in agreement if "cloudwatch:PutMetricData" in listed(s["Action"])]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "SageMakerABTesting"}}
    assert not {a for s in agreement for a in listed(s["Action"]) if a.startswith(("glue:", "sagemaker:"))}

    machine = statements_of(resolved, "LiveQualityStateMachineRole")
    by_action: dict[str, set[str]] = {}
    for s in machine:
        for action in listed(s["Action"]):
            by_action.setdefault(action, set()).update(listed(s["Resource"]))
    database = live_quality.glue_database_name(ENDPOINT)
    assert (
        f"arn:aws:glue:{region}:{account}:table/{database}/{tables.ATHENA_SHADOW_CAPTURE_TABLE}"
        in (by_action["glue:GetTable"])
    )
    # The shadow's folder is under this endpoint's capture prefix, which the role reads already.
    assert by_action["s3:GetObject"] == {
        f"arn:aws:s3:::{bucket}/capture/{ENDPOINT}/*",
        f"arn:aws:s3:::{bucket}/ground-truth/{ENDPOINT}/*",
        f"arn:aws:s3:::{bucket}/athena-results/*",
    }
    assert by_action["lambda:InvokeFunction"] == {
        f"arn:aws:lambda:{region}:{account}:function:{resolved.physical_name(lid)}"
        for lid, r in resolved.of_type("AWS::Lambda::Function").items()
        if r["Properties"]["Handler"].startswith("live_quality.handler.")
    }
    assert len(by_action["lambda:InvokeFunction"]) == 3


def test_the_default_app_has_no_agreement():
    default = only_template(read_config())
    names = [r["Properties"]["TableInput"]["Name"] for r in default.find_resources("AWS::Glue::Table").values()]
    assert tables.ATHENA_SHADOW_CAPTURE_TABLE not in names
    handlers = [r["Properties"].get("Handler") for r in default.find_resources("AWS::Lambda::Function").values()]
    assert "live_quality.handler.publish_agreement" not in handlers
    assert PARALLEL not in definition(default)["States"]
