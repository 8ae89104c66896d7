"""Reading an endpoint's per-variant ``AWS/SageMaker`` metrics over a window: one query shape,
one paginated GetMetricData loop, shared by the SRM check and the rollout judge."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

SAGEMAKER_NAMESPACE = "AWS/SageMaker"


def window_period(start: datetime, end: datetime) -> int:
    """One period covering the whole window (CloudWatch wants a multiple of 60 s)."""
    return max(60, math.ceil((end - start).total_seconds() / 60) * 60)


def variant_query(query_id: str, endpoint: str, variant: str, metric: str, stat: str, period: int) -> dict[str, Any]:
    """A GetMetricData query for one variant's metric (dimensions EndpointName, VariantName)."""
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": SAGEMAKER_NAMESPACE,
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
            },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def metric_values(
    cloudwatch: Any, queries: list[dict[str, Any]], start: datetime, end: datetime
) -> dict[str, list[float]]:
    """Query id → every value GetMetricData returns for it between ``start`` and ``end``."""
    values: dict[str, list[float]] = {q["Id"]: [] for q in queries}
    for page in cloudwatch.get_paginator("get_metric_data").paginate(
        MetricDataQueries=queries, StartTime=start, EndTime=end
    ):
        for series in page["MetricDataResults"]:
            values[series["Id"]].extend(series.get("Values", []))
    return values


def invocations_per_variant(
    cloudwatch: Any, endpoint: str, variants: Sequence[str], start: datetime, end: datetime
) -> dict[str, float]:
    """Sum of ``Invocations`` per variant between ``start`` and ``end`` (one GetMetricData call)."""
    period = window_period(start, end)
    queries = [variant_query(f"v{i}", endpoint, v, "Invocations", "Sum", period) for i, v in enumerate(variants)]
    values = metric_values(cloudwatch, queries, start, end)
    return {variant: sum(values[f"v{i}"]) for i, variant in enumerate(variants)}
