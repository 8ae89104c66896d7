"""The scheduled SRM check against moto: it publishes only results that mean something."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from scipy import stats

from srm_check.handler import handle
from tests.lambdas.conftest import ENDPOINT, REGION, create_endpoint, set_endpoint_status

NAMESPACE = "SageMakerABTesting"
LATER = timedelta(hours=3)  # "now" for the check: long after the endpoint was created


@pytest.fixture(autouse=True)
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ENDPOINT_NAME": ENDPOINT,
        "METRICS_NAMESPACE": NAMESPACE,
        "WINDOW_MINUTES": "60",
        "MIN_INVOCATIONS": "1000",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def cloudwatch() -> Any:
    return boto3.client("cloudwatch", region_name=REGION)


def put_invocations(cloudwatch: Any, counts: dict[str, int], when: datetime) -> None:
    """What SageMaker publishes: Invocations per variant, here spread over four minutes."""
    for variant, count in counts.items():
        for minute in range(4):
            cloudwatch.put_metric_data(
                Namespace="AWS/SageMaker",
                MetricData=[
                    {
                        "MetricName": "Invocations",
                        "Dimensions": [
                            {"Name": "EndpointName", "Value": ENDPOINT},
                            {"Name": "VariantName", "Value": variant},
                        ],
                        "Timestamp": when - timedelta(minutes=minute),
                        "Value": count / 4,
                        "Unit": "Count",
                    }
                ],
            )


def published(cloudwatch: Any) -> dict[tuple[str, str], float]:
    """Every datapoint the check published: (metric, variant or '') → value."""
    result = {}
    for listed in cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]:
        dims = {d["Name"]: d["Value"] for d in listed["Dimensions"]}
        stats = cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName=listed["MetricName"],
            Dimensions=listed["Dimensions"],
            StartTime=datetime(2000, 1, 1, tzinfo=UTC),
            EndTime=datetime(2100, 1, 1, tzinfo=UTC),
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        (point,) = stats
        result[(listed["MetricName"], dims.get("VariantName", ""))] = point["Maximum"]
    return result


def run_check(sagemaker: Any, cloudwatch: Any, counts: dict[str, int] | None, weights: dict[str, float]) -> dict:
    create_endpoint(sagemaker, weights)
    now = datetime.now(UTC) + LATER
    if counts:
        put_invocations(cloudwatch, counts, now - timedelta(minutes=10))
    return handle({}, None, client=sagemaker, cloudwatch=cloudwatch, now=now)


def test_a_split_that_matches_the_weights_publishes_a_high_p_value(sagemaker, cloudwatch):
    result = run_check(sagemaker, cloudwatch, {"Variant1": 2500, "Variant2": 2520}, {"Variant1": 1, "Variant2": 1})
    assert result["published"] is True and result["invocations"] == 5020
    metrics = published(cloudwatch)
    assert metrics[("SrmPValue", "")] > 0.5
    assert metrics[("SrmInvocations", "")] == 5020
    assert metrics[("ExpectedShare", "Variant1")] == pytest.approx(50.0)
    assert metrics[("ObservedShare", "Variant2")] == pytest.approx(100 * 2520 / 5020)


def test_a_split_that_differs_from_the_weights_publishes_a_tiny_p_value(sagemaker, cloudwatch):
    result = run_check(sagemaker, cloudwatch, {"Variant1": 1000, "Variant2": 3000}, {"Variant1": 1, "Variant2": 1})
    assert result["p_value"] < 1e-100
    assert published(cloudwatch)[("SrmPValue", "")] == result["p_value"]


def test_uneven_weights_set_the_expected_shares(sagemaker, cloudwatch):
    result = run_check(sagemaker, cloudwatch, {"Variant1": 750, "Variant2": 2250}, {"Variant1": 25, "Variant2": 75})
    assert result["expected_share"] == {"Variant1": 0.25, "Variant2": 0.75}
    assert result["p_value"] > 0.5


def test_too_little_traffic_publishes_nothing(sagemaker, cloudwatch):
    result = run_check(sagemaker, cloudwatch, {"Variant1": 300, "Variant2": 200}, {"Variant1": 1, "Variant2": 1})
    assert result == {
        "endpoint_name": ENDPOINT,
        "published": False,
        "reason": "not enough traffic",
        "invocations": 500,
        "min_invocations": 1000,
    }
    assert published(cloudwatch) == {}


def test_a_variant_expecting_two_requests_is_tested_exactly(sagemaker, cloudwatch):
    # 2000 requests pass the total gate (1000) and a 0.1 % variant expects 2 of them. The exact
    # binomial test is valid at any count, so there is no expected-count gate: 8 requests where 2
    # were expected is published with its exact p-value (scipy.stats.binomtest(8, 2000, 0.001)).
    weights = {"Variant1": 999, "Variant2": 1}
    result = run_check(sagemaker, cloudwatch, {"Variant1": 1992, "Variant2": 8}, weights)
    assert result["published"] is True and result["method"] == "exact binomial"
    assert result["p_value"] == pytest.approx(stats.binomtest(8, 2000, 0.001).pvalue, rel=1e-9)
    assert published(cloudwatch)[("SrmPValue", "")] == result["p_value"]


def test_a_zero_weight_variant_with_traffic_is_published_as_a_mismatch_beside_a_tiny_share(sagemaker, cloudwatch):
    # The cold review's case: Variant2 expects 2 requests (too few for chi-square, which the old
    # expected-count gate skipped), yet Variant3, weight 0, got 6. That is a certain mismatch.
    weights = {"Variant1": 999, "Variant2": 1, "Variant3": 0}
    result = run_check(sagemaker, cloudwatch, {"Variant1": 1990, "Variant2": 4, "Variant3": 6}, weights)
    assert (result["published"], result["p_value"]) == (True, 0.0)
    assert result["method"] == "zero-weight variant got requests"
    assert published(cloudwatch)[("SrmPValue", "")] == 0.0


def test_a_small_share_with_enough_expected_requests_is_tested(sagemaker, cloudwatch):
    result = run_check(sagemaker, cloudwatch, {"Variant1": 1980, "Variant2": 20}, {"Variant1": 99, "Variant2": 1})
    assert result["published"] is True and result["expected_share"]["Variant2"] == pytest.approx(0.01)


def test_no_traffic_at_all_publishes_nothing(sagemaker, cloudwatch):
    result = run_check(sagemaker, cloudwatch, None, {"Variant1": 1, "Variant2": 1})
    assert (result["published"], result["invocations"]) == (False, 0)
    assert published(cloudwatch) == {}


def test_a_missing_endpoint_is_logged_not_raised(sagemaker, cloudwatch):
    result = handle({}, None, client=sagemaker, cloudwatch=cloudwatch)
    assert result == {"endpoint_name": ENDPOINT, "published": False, "reason": "endpoint does not exist"}
    assert published(cloudwatch) == {}


def test_an_endpoint_that_is_updating_is_skipped(sagemaker, cloudwatch):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status("Updating")
    result = handle({}, None, client=sagemaker, cloudwatch=cloudwatch, now=datetime.now(UTC) + LATER)
    assert result["reason"] == "endpoint is Updating"
    assert published(cloudwatch) == {}


def test_weights_changed_inside_the_window_are_not_judged(sagemaker, cloudwatch):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    now = datetime.now(UTC) + timedelta(minutes=20)  # endpoint last modified 20 min ago, window 60 min
    put_invocations(cloudwatch, {"Variant1": 1000, "Variant2": 3000}, now - timedelta(minutes=5))
    result = handle({}, None, client=sagemaker, cloudwatch=cloudwatch, now=now)
    assert result["reason"] == "endpoint changed inside the window"
    assert published(cloudwatch) == {}
