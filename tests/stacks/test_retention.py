"""How long the stack's buckets keep what the app writes: S3 lifecycle rules where the stack owns the bucket,
a synth warning where it does not (constructs_lib/retention.py).

The default app is synthesized once (the rules as CloudFormation gets them, with the prefixes the endpoint
config and the Athena workgroup really use); the other configs only build the construct tree and resolve
the buckets' LifecycleConfiguration, which needs no synth.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib.config import parse_config
from stacks.ab_test_stack import AbTestStack
from tests.conftest import read_config
from tests.policy_eval import Env
from tests.policy_eval import Template as Resolved
from tests.synth import CDK_CONTEXT, only_template


@pytest.fixture(scope="module")
def template() -> Template:
    return only_template(read_config())


def rules_by_id(bucket: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["Id"]: r for r in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])}


def buckets(template: Template) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the evaluation bucket, its access-log bucket)."""
    found = template.find_resources("AWS::S3::Bucket")
    (logged,) = [b for b in found.values() if "LoggingConfiguration" in b["Properties"]]
    (logs,) = [b for b in found.values() if "LoggingConfiguration" not in b["Properties"]]
    return logged, logs


def test_the_evaluation_bucket_expires_captures_athena_results_old_versions_and_stale_uploads(template: Template):
    resolved = Resolved(template.to_json(), Env())
    bucket, _ = buckets(template)
    rules = rules_by_id(bucket)
    assert set(rules) == {
        "AbortIncompleteUploads",
        "DeleteNoncurrentVersions",
        "ExpireCaptures",
        "ExpireAthenaResults",
        "ExpireLiveQualityReports",
    }
    assert all(r["Status"] == "Enabled" for r in rules.values())

    # The prefixes are where SageMaker writes the captures and where the workgroup puts its results.
    (config,) = resolved.of_type("AWS::SageMaker::EndpointConfig").values()
    capture_uri = resolved.resolve(config["Properties"]["DataCaptureConfig"]["DestinationS3Uri"])
    (workgroup,) = resolved.of_type("AWS::Athena::WorkGroup").values()
    results_uri = resolved.resolve(
        workgroup["Properties"]["WorkGroupConfiguration"]["ResultConfiguration"]["OutputLocation"]
    )
    bucket_name = capture_uri.removeprefix("s3://").split("/")[0]
    assert results_uri.startswith(f"s3://{bucket_name}/")

    captures, results = rules["ExpireCaptures"], rules["ExpireAthenaResults"]
    assert f"s3://{bucket_name}/{captures['Prefix']}" == capture_uri + "/"
    assert f"s3://{bucket_name}/{results['Prefix']}" == results_uri
    # Default: the live-quality window (lookback_days, 42) plus a day; athena-results after a week.
    lookback = parse_config(read_config(), "default").endpoints[0].live_quality.lookback_days
    assert captures["ExpirationInDays"] == lookback + 1
    assert results["ExpirationInDays"] == 7
    # Versioned bucket: an expired object hides behind a delete marker; its version goes a day later.
    assert captures["NoncurrentVersionExpiration"] == results["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}

    assert "Prefix" not in rules["AbortIncompleteUploads"] and "Prefix" not in rules["DeleteNoncurrentVersions"]
    assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    # The reports the publish step writes (their issue samples can quote request data) go after 90 days.
    (publish,) = [
        r for lid, r in resolved.of_type("AWS::Lambda::Function").items() if lid.startswith("LiveQualityPublish")
    ]
    report_prefix = resolved.resolve(publish["Properties"]["Environment"]["Variables"]["REPORT_PREFIX"])
    reports = rules["ExpireLiveQualityReports"]
    assert reports["Prefix"] == report_prefix == "live-quality/"
    assert reports["ExpirationInDays"] == 90
    assert reports["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert rules["DeleteNoncurrentVersions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


def test_the_access_logs_expire_after_a_year_by_default(template: Template):
    _, logs = buckets(template)
    assert rules_by_id(logs) == {
        "ExpireAccessLogs": {
            "Id": "ExpireAccessLogs",
            "Status": "Enabled",
            "ExpirationInDays": 365,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        }
    }


# --- other configs: the construct tree only ---------------------------------------------------------------


def built(data: dict[str, Any]) -> tuple[dict[str, dict[str, dict[str, Any]]], list[str]]:
    """Construct path of each bucket the stack creates → its rules by id; and the stack's warnings. The
    stack alone, without app.py's compliance gate (the default app's synth above has it)."""
    (spec,) = parse_config(data, "retention.json").endpoints
    stack = AbTestStack(App(context=CDK_CONTEXT), spec.stack_name, spec=spec)
    resources = Template.from_stack(stack).find_resources("AWS::S3::Bucket")
    rules = {}
    for bucket in stack.node.find_all():
        if isinstance(bucket, s3.Bucket):
            body = resources[stack.get_logical_id(bucket.node.default_child)]  # type: ignore[arg-type]
            rules[bucket.node.path] = rules_by_id(body)
    warnings = [
        str(entry.data)
        for node in stack.node.find_all()
        for entry in node.node.metadata
        if entry.type == "aws:cdk:warning"
    ]
    return rules, warnings


def evaluation_rules(rules: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    (path,) = [p for p in rules if p.endswith("EvaluationBucket/Bucket")]
    return rules[path]


def test_configured_retentions_are_the_rules_days():
    data = read_config()
    endpoint = data["endpoints"][0]
    endpoint["data_capture"] = {"retention_days": 60}
    endpoint["evaluation"] = {"access_log_retention_days": 30}
    endpoint["live_quality"] = {"report_retention_days": 14}
    rules, warnings = built(data)
    assert evaluation_rules(rules)["ExpireCaptures"]["ExpirationInDays"] == 60
    assert evaluation_rules(rules)["ExpireLiveQualityReports"]["ExpirationInDays"] == 14
    (logs,) = [r for p, r in rules.items() if p.endswith("EvaluationBucket/AccessLogs")]
    assert logs["ExpireAccessLogs"]["ExpirationInDays"] == 30
    assert not [w for w in warnings if "not expired" in w]


def test_buckets_the_stack_does_not_create_get_no_rules_and_synth_names_what_to_expire():
    """A named report bucket (athena-results/ there) and captures in yet another bucket."""
    data = read_config()
    endpoint = data["endpoints"][0]
    endpoint["evaluation"] = {"report_bucket_name": "team-ml-bucket"}
    endpoint["data_capture"] = {"destination_s3_uri": "s3://capture-bucket/churn", "retention_days": 50}
    rules, warnings = built(data)
    assert rules == {}  # the stack creates no bucket
    expired = sorted(w for w in warnings if "not expired" in w)
    assert len(expired) == 3
    assert "Athena query results under s3://team-ml-bucket/athena-results/" in expired[0]
    assert "expiring prefix athena-results/ after 7 days" in expired[0]
    assert "Captured requests and responses under s3://capture-bucket/churn/" in expired[1]
    assert "expiring prefix churn/ after 50 days" in expired[1]
    assert "Live-quality reports under s3://team-ml-bucket/live-quality/" in expired[2]
    assert "expiring prefix live-quality/ after 90 days" in expired[2]
