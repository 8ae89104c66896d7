"""What the CDK CLI cannot show, on the local server (`make local-demo-python`): traffic by weight
and by TargetVariant, the evaluation and set-weights Lambdas invoked by hand, and the declared-
weight history, between `npx cdk deploy` commands against `scripts/local_aws.py serve`.

Where moto differs from AWS, scripts/local_aws.py adapts it and says how. About 60–80 s on 2
cores (three CLI commands plus bootstrap, 500 stub requests, one evaluation).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.local_aws import custom_resource_event
from scripts.local_cli_demo import local_server
from scripts.local_demo import NAMESPACE, LambdaError, Lifecycle
from scripts.stub_sagemaker_runtime import StubRuntime

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run() -> Iterator[dict[str, Any]]:
    """One lifecycle, step by step; each test reads the step it is about."""
    observed: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="e2e-") as tmp,
        StubRuntime("not-deployed-yet") as stub,
        local_server(Path(tmp) / "server.log", runtime_url=stub.url) as url,
        stub.capture_delivered(),
    ):
        lifecycle = Lifecycle(url, stub, Path(tmp), say=lambda _: None)
        observed.update(lifecycle=lifecycle)
        observed["deploy"] = lifecycle.deploy()
        observed["metrics_after_deploy"] = declared_weights(lifecycle, lifecycle.endpoint)
        observed["invoke"] = lifecycle.invoke(requests=400)
        observed["evaluate"] = lifecycle.evaluate(rows=1000)
        observed["shift"] = lifecycle.shift()
        observed["retire"] = lifecycle.retire()
        observed["metrics_at_end"] = declared_weights(lifecycle, lifecycle.endpoint)
        observed["quality"] = quality_metrics(lifecycle, lifecycle.endpoint)
        yield observed


def declared_weights(local: Lifecycle, endpoint: str) -> dict[str, tuple[int, float]]:
    """(how many DeclaredWeight datapoints, their sum) per variant, over the last two hours.

    Count and sum identify the history (which weights were applied, how often) without
    depending on datapoints landing in separate seconds.
    """
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    cloudwatch = local.client("cloudwatch")
    history: dict[str, tuple[int, float]] = {}
    for variant in ("Variant1", "Variant2"):
        points = cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName="DeclaredWeight",
            Dimensions=[{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}],
            StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(hours=1),
            Period=7200,
            Statistics=["SampleCount", "Sum"],
        )["Datapoints"]
        history[variant] = (int(sum(p["SampleCount"] for p in points)), sum(p["Sum"] for p in points))
    return history


def quality_metrics(local: Lifecycle, endpoint: str) -> set[tuple[str, str]]:
    listed = local.client("cloudwatch").list_metrics(Namespace=NAMESPACE)["Metrics"]
    return {
        (m["MetricName"], {d["Name"]: d["Value"] for d in m["Dimensions"]}["VariantName"])
        for m in listed
        if m["MetricName"] != "DeclaredWeight"
        and {d["Name"]: d["Value"] for d in m["Dimensions"]}.get("EndpointName") == endpoint
    }


# --- 1. deploy ---------------------------------------------------------------------------------


def test_the_stack_deploys_with_both_variants_at_1_to_1(run):
    assert run["deploy"]["status"] == "CREATE_COMPLETE"
    assert run["deploy"]["weights"] == {"Variant1": 1.0, "Variant2": 1.0}
    assert {"EndpointName", "SetWeightsFunctionName", "EvaluationFunctionName", "DashboardUrl"} <= set(
        run["deploy"]["outputs"]
    )


def test_the_weights_custom_resource_published_the_declared_weights(run):
    assert run["metrics_after_deploy"] == {"Variant1": (1, 1.0), "Variant2": (1, 1.0)}


# --- 2. invoke -----------------------------------------------------------------------------------


def test_traffic_follows_the_weights_and_target_variant_overrides_them(run):
    by_weight = run["invoke"]["by_weight"]
    assert sum(by_weight.values()) == 400
    assert 150 <= by_weight["Variant1"] <= 250, by_weight  # 50/50 ± 5 standard deviations
    assert run["invoke"]["targeted"] == {"Variant2": 100}


# --- 3. evaluate -----------------------------------------------------------------------------------


def test_the_evaluation_names_the_better_model(run):
    result = run["evaluate"]
    assert result["complete"] is True
    (verdict,) = result["verdicts"]
    assert verdict["winner"] == "Variant2" and verdict["significant"] is True


def test_the_evaluation_wrote_its_reports_and_published_quality_metrics(run):
    local: Lifecycle = run["lifecycle"]
    bucket, key = run["evaluate"]["reports"]["json"][5:].split("/", 1)
    report = json.loads(local.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert report["rows"] == 1000 and report["variants"]["Variant1"]["status"] == "complete"
    assert run["quality"] == {
        (name, variant)
        for name in ("Accuracy", "Precision", "Recall", "F1", "RocAuc")
        for variant in ("Variant1", "Variant2")
    }


# --- 4. shift ------------------------------------------------------------------------------------


def test_weight_parameters_move_traffic_in_place(run):
    assert run["shift"]["status"] == "UPDATE_COMPLETE"
    assert run["shift"]["after_parameters"] == {"Variant1": 25.0, "Variant2": 75.0}


def test_the_set_weights_lambda_drains_variant1(run):
    assert run["shift"]["after_lambda"] == {"Variant1": 0.0, "Variant2": 100.0}


# --- 5. retire -----------------------------------------------------------------------------------


def test_after_the_config_change_the_weights_are_the_declared_ones(run):
    assert run["retire"]["status"] == "UPDATE_COMPLETE"
    assert run["retire"]["weights"] == {"Variant2": 75.0}


def test_every_application_of_weights_is_in_the_declared_weight_history(run):
    # deploy 1/1, parameters 25/75, Lambda 0/100, after retiring Variant1: 75
    assert run["metrics_at_end"] == {"Variant1": (3, 1.0 + 25 + 0), "Variant2": (4, 1.0 + 75 + 100 + 75)}


# --- by hand -----------------------------------------------------------------------------------------


def test_a_bad_request_to_the_deployed_set_weights_lambda_fails_and_changes_nothing(run):
    lifecycle: Lifecycle = run["lifecycle"]
    before = lifecycle.live_weights()
    with pytest.raises(LambdaError, match=r"InvalidRequest: .*has no variant\(s\) Variant1"):
        lifecycle.invoke_function(lifecycle.outputs["SetWeightsFunctionName"], {"weights": {"Variant1": 10}})
    assert lifecycle.live_weights() == before


def test_custom_resource_events_carry_string_properties_like_cloudformation():
    event = custom_resource_event(
        "Update",
        stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/S/1",
        logical_id="Weights",
        resource_type="Custom::VariantWeights",
        properties={"ServiceToken": "arn:fn", "Weights": {"Variant1": 25, "Variant2": 75.5}, "Flag": True},
        physical_id="ep/weights",
        old_properties={"ServiceToken": "arn:fn", "Weights": {"Variant1": 1}},
    )
    assert event["ResourceProperties"]["Weights"] == {"Variant1": "25", "Variant2": "75.5"}
    assert event["ResourceProperties"]["Flag"] == "true"
    assert event["OldResourceProperties"]["Weights"] == {"Variant1": "1"}
    assert event["PhysicalResourceId"] == "ep/weights"
