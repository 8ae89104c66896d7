"""PutMetricData's limits (1,000 metrics and 1 MB a request), kept by evaluate.aws_io for every publisher."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import boto3
import botocore.session
import pytest
from botocore.serialize import create_serializer

from evaluate.aws_io import (
    PUT_METRIC_DATA_MAX_BYTES,
    PUT_METRIC_DATA_MAX_METRICS,
    _encoded_size,
    metric_data_batches,
    metric_publisher,
)
from tests.lambdas.conftest import REGION

NAMESPACE = "SageMakerABTesting"
PUT_METRIC_DATA = botocore.session.get_session().get_service_model("cloudwatch").operation_model("PutMetricData")


def query_body_bytes(data: list[Any]) -> int:
    """The request body botocore's query serializer makes (the most verbose of CloudWatch's protocols)."""
    request = create_serializer("query").serialize_to_request(
        {"Namespace": NAMESPACE, "MetricData": data}, PUT_METRIC_DATA
    )
    return len(urlencode(request["body"]).encode())


class CountingCloudWatch:
    """moto's CloudWatch, with every PutMetricData call's size kept."""

    def __init__(self) -> None:
        self.client = boto3.client("cloudwatch", region_name=REGION)
        self.calls: list[int] = []

    def put_metric_data(self, **kwargs: Any) -> Any:
        self.calls.append(len(kwargs["MetricData"]))
        return self.client.put_metric_data(**kwargs)


def test_1001_metrics_go_in_two_calls_and_all_arrive():
    cloudwatch = CountingCloudWatch()
    metric_publisher(cloudwatch, NAMESPACE, "churn-ab")("Variant1", {f"M{i:04d}": float(i) for i in range(1001)})
    assert cloudwatch.calls == [1000, 1]
    paginator = cloudwatch.client.get_paginator("list_metrics")
    names = {m["MetricName"] for page in paginator.paginate(Namespace=NAMESPACE) for m in page["Metrics"]}
    assert names == {f"M{i:04d}" for i in range(1001)}


def test_a_reports_few_metrics_are_one_call():
    cloudwatch = CountingCloudWatch()
    metric_publisher(cloudwatch, NAMESPACE, "churn-ab")("Variant1", {"LiveAccuracy": 0.9, "LiveF1": 0.8})
    assert cloudwatch.calls == [2]


def _datum(i: int, width: int) -> dict[str, Any]:
    return {
        "MetricName": f"Metric{i}",
        "Dimensions": [
            {"Name": "EndpointName", "Value": "é" * width},  # two bytes in UTF-8, six percent-encoded
            {"Name": "VariantName", "Value": f"Variant{i}"},
        ],
        "Value": 0.1 + i,
        "Unit": "None",
    }


def test_large_metrics_are_split_by_size_and_every_call_fits_in_1_mb():
    data = [_datum(i, 1000) for i in range(PUT_METRIC_DATA_MAX_METRICS)]
    assert query_body_bytes(data) > PUT_METRIC_DATA_MAX_BYTES  # one call would be refused
    batches = metric_data_batches(data)
    assert len(batches) > 1 and [d for b in batches for d in b] == data
    for batch in batches:
        assert query_body_bytes(batch) <= PUT_METRIC_DATA_MAX_BYTES


@pytest.mark.parametrize("width", [1, 50, 1000])
def test_the_size_estimate_is_never_below_the_real_body(width: int):
    for i in (0, 999):
        datum = _datum(i, width)
        alone = query_body_bytes([datum]) - query_body_bytes([])
        assert _encoded_size("", datum) >= alone


def test_a_metric_too_large_for_any_call_is_refused():
    with pytest.raises(ValueError, match="alone exceeds PutMetricData"):
        metric_data_batches([_datum(0, 1000)], max_bytes=2000)
