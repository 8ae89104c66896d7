"""The judge's inputs, read from AWS: the per-minute history since the rollout began, and alarms.

The history comes from one paginated GetMetricData call at a 60 s period (SageMaker publishes its
endpoint metrics per minute): per variant, ``Invocations`` and ``Invocation5XXErrors`` (Sum) and
``ModelLatency`` p50 and p99 (microseconds, turned into ms). The weights in force each minute come
from the rollout state's log of applied steps, not from CloudWatch: a minute carries the weights
that were live when it began, so the minute in which weights changed counts with the old step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from endpoint_weights.variant_metrics import variant_query
from rollout.history import Minute, VariantMinute

PERIOD_SECONDS = 60
_MINUTE = timedelta(seconds=PERIOD_SECONDS)
# (query id prefix, metric, statistic): the four series the judge needs per variant.
_SERIES = (
    ("inv", "Invocations", "Sum"),
    ("err", "Invocation5XXErrors", "Sum"),
    ("p50_", "ModelLatency", "p50"),
    ("p99_", "ModelLatency", "p99"),
)


def alarms_in_alarm(cloudwatch: Any, alarm_names: Sequence[str]) -> tuple[str, ...]:
    if not alarm_names:
        return ()
    found = cloudwatch.describe_alarms(AlarmNames=list(alarm_names), AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    alarms = found.get("MetricAlarms", []) + found.get("CompositeAlarms", [])
    return tuple(sorted(a["AlarmName"] for a in alarms if a.get("StateValue") == "ALARM"))


def floor_minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


def ceil_minute(when: datetime) -> datetime:
    floored = floor_minute(when)
    return floored if floored == when else floored + _MINUTE


def _weights_at(minute: datetime, log: Sequence[tuple[datetime, Mapping[str, float]]]) -> Mapping[str, float] | None:
    current = None
    for applied, weights in log:
        if applied <= minute:
            current = weights
    return current


def history(
    cloudwatch: Any,
    *,
    endpoint: str,
    variants: Sequence[str],
    weights_log: Sequence[Mapping[str, Any]],
    now: datetime,
) -> tuple[Minute, ...]:
    """Every whole minute from the first applied step to ``now`` (the running minute left out).

    ``weights_log`` is the state's ``[{"at": <ISO time the weights went live>, "weights": {...}}, ...]``
    in order. A minute with no datapoint for a variant counts as no requests, no errors, no latency.
    Empty when no whole minute has passed yet.
    """
    log = [(datetime.fromisoformat(entry["at"]), entry["weights"]) for entry in weights_log]
    if not log:
        return ()
    start, end = ceil_minute(log[0][0]), floor_minute(now)
    if end <= start:
        return ()
    queries = [
        variant_query(f"{prefix}{index}", endpoint, variant, metric, stat, PERIOD_SECONDS)
        for index, variant in enumerate(variants)
        for prefix, metric, stat in _SERIES
    ]
    points: dict[str, dict[datetime, float]] = {q["Id"]: {} for q in queries}
    for page in cloudwatch.get_paginator("get_metric_data").paginate(
        MetricDataQueries=queries, StartTime=start, EndTime=end
    ):
        for series in page["MetricDataResults"]:
            for stamp, value in zip(series.get("Timestamps", []), series.get("Values", []), strict=False):
                points[series["Id"]][floor_minute(stamp)] = value
    minutes = []
    minute = start
    while minute < end:
        weights = _weights_at(minute, log)
        per_variant = {}
        for index, variant in enumerate(variants):
            p50, p99 = points[f"p50_{index}"].get(minute), points[f"p99_{index}"].get(minute)
            per_variant[variant] = VariantMinute(
                invocations=round(points[f"inv{index}"].get(minute, 0.0)),
                errors_5xx=round(points[f"err{index}"].get(minute, 0.0)),
                p50_ms=None if p50 is None else p50 / 1000,  # ModelLatency is in microseconds
                p99_ms=None if p99 is None else p99 / 1000,
            )
        minutes.append(Minute(weights=dict(weights or {}), variants=per_variant))
        minute += _MINUTE
    return tuple(minutes)
