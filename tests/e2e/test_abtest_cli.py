"""`abtest` (python -m scripts.abtest) against local mode after a real `npx cdk deploy`.

The stack is the app's own, deployed by the pinned CDK CLI to `scripts/local_aws.py serve`; the
command runs as a subprocess with the environment a user would have (fake credentials, the
server's address), and the assertions read DescribeEndpoint and DescribeStacks directly.

moto publishes no SageMaker metrics: the test puts the Invocations and SrmPValue datapoints
that SageMaker and the SRM check would publish (same namespace, names and dimensions).
Slow by nature: bootstrap and deploy take 30-40 s; each weight change a few seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scripts.local_cli_demo import ROOT, STACK, CliLifecycle
from tests.e2e.conftest import local_lifecycle

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def deployed() -> Iterator[CliLifecycle]:
    with local_lifecycle("e2e-abtest-", ["bootstrap", "deploy"]) as (lifecycle, observed):
        assert observed["deploy"]["returncode"] == 0, observed["deploy"]["output"][-2000:]
        yield lifecycle


def abtest(lifecycle: CliLifecycle, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.abtest", *args],
        cwd=ROOT,
        env=lifecycle.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def abtest_json(lifecycle: CliLifecycle, *args: str) -> Any:
    done = abtest(lifecycle, *args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def live(lifecycle: CliLifecycle) -> dict[str, Any]:
    described = lifecycle.client("sagemaker").describe_endpoint(EndpointName=lifecycle.endpoint)
    return {
        "config": described["EndpointConfigName"],
        "weights": {v["VariantName"]: v.get("CurrentWeight") for v in described["ProductionVariants"]},
    }


def declared(lifecycle: CliLifecycle) -> dict[str, str]:
    stack = lifecycle.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    return {
        p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"] if p["ParameterKey"].startswith("Weight")
    }


def test_status_after_deploy(deployed):
    now = datetime.now(UTC)
    cloudwatch = deployed.client("cloudwatch")
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": deployed.endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
                "Timestamp": now - timedelta(minutes=5),
                "Value": count,
            }
            for variant, count in (("Variant1", 480), ("Variant2", 520))
        ],
    )
    cloudwatch.put_metric_data(
        Namespace="SageMakerABTesting",
        MetricData=[
            {
                "MetricName": "SrmPValue",
                "Dimensions": [{"Name": "EndpointName", "Value": deployed.endpoint}],
                "Timestamp": now - timedelta(minutes=3),
                "Value": 0.21,
            }
        ],
    )
    report = abtest_json(deployed, "status", "churn-ab")
    assert report["stack"] == {"name": STACK, "status": "CREATE_COMPLETE"}
    assert (report["endpoint_name"], report["endpoint_status"]) == (deployed.endpoint, "InService")
    assert [(v["variant"], v["declared_weight"], v["live_weight"], v["drift"]) for v in report["variants"]] == [
        ("Variant1", 1.0, 1.0, False),
        ("Variant2", 1.0, 1.0, False),
    ]
    assert [v["observed_share"] for v in report["variants"]] == [0.48, 0.52]
    assert report["srm"]["p_value"] == pytest.approx(0.21)
    assert report["rollout"] == {"running": [], "error": None}
    # The stack's alarms are listed from CloudFormation; local mode records but does not create
    # them in CloudWatch (README, "What local mode does not reproduce").
    assert len(report["alarms"]["items"]) >= 5
    assert report["alarms"]["error"] is None


def test_weights_set_via_parameters_updates_the_stack_and_the_endpoint_in_place(deployed):
    before = live(deployed)
    result = abtest_json(deployed, "weights", "set", "churn-ab", "Variant1=25", "Variant2=75", "--via", "parameters")
    assert result["weights"] == {"Variant1": 25.0, "Variant2": 75.0}
    assert declared(deployed) == {"WeightVariant1": "25", "WeightVariant2": "75"}
    after = live(deployed)
    assert after["weights"] == {"Variant1": 25.0, "Variant2": 75.0}
    assert after["config"] == before["config"], "a weight change rebuilt the fleet"
    events = deployed.client("cloudformation").describe_stack_events(StackName=STACK)["StackEvents"]
    custom = [e for e in events if e["ResourceType"] == "Custom::VariantWeights"]
    assert custom[0]["ResourceStatus"] == "UPDATE_COMPLETE", "the custom resource applied the parameters"


def test_bad_weights_are_refused_before_anything_changes(deployed):
    done = abtest(deployed, "weights", "set", "churn-ab", "Variant1=0", "Variant2=0")
    assert done.returncode == 2
    assert "all weights would be 0" in done.stderr
    unknown = abtest(deployed, "weights", "set", "churn-ab", "Variant3=5", "--via", "lambda")
    assert unknown.returncode == 2
    assert "has no variant(s) Variant3" in unknown.stderr
    assert live(deployed)["weights"] == {"Variant1": 25.0, "Variant2": 75.0}
    assert declared(deployed) == {"WeightVariant1": "25", "WeightVariant2": "75"}


def test_weights_set_via_lambda_changes_live_weights_and_status_shows_the_drift(deployed):
    result = abtest_json(deployed, "weights", "set", "churn-ab", "Variant1=0", "Variant2=100", "--via", "lambda")
    assert result["weights"] == {"Variant1": 0.0, "Variant2": 100.0}
    assert live(deployed)["weights"] == {"Variant1": 0.0, "Variant2": 100.0}
    assert declared(deployed) == {"WeightVariant1": "25", "WeightVariant2": "75"}
    report = abtest_json(deployed, "status", "churn-ab")
    assert report["drift"] is True
    table = abtest(deployed, "status", "churn-ab").stdout
    assert "DRIFT: declared and live weights differ" in table
    assert "abtest weights record churn-ab" in table


def test_weights_record_declares_the_live_weights_in_the_stack_and_the_weights_file(deployed, tmp_path):
    from scripts.weights_file import load_weights_file

    weights_file = tmp_path / "weights.json"
    weights_file.write_text((ROOT / "config" / "weights.json").read_text())
    result = abtest_json(
        deployed, "weights", "record", "churn-ab", "--environment", "prod", "--weights-file", str(weights_file)
    )
    assert result["parameters_changed"] is True
    assert load_weights_file(weights_file, "prod").endpoint("churn-ab").weights == {"Variant1": 0, "Variant2": 100}
    assert declared(deployed) == {"WeightVariant1": "0", "WeightVariant2": "100"}
    assert live(deployed)["weights"] == {"Variant1": 0.0, "Variant2": 100.0}
    assert abtest_json(deployed, "status", "churn-ab")["drift"] is False
