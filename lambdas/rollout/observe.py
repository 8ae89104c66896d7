"""The judge's inputs, read from AWS: the per-minute history since the rollout began, and alarms.

The history comes from one paginated GetMetricData call at a 60 s period (SageMaker publishes its
endpoint metrics per minute): per variant, ``Invocations`` and ``Invocation5XXErrors`` (Sum) and
``ModelLatency`` p50 and p99 (microseconds, turned into ms). The weights in force each minute come
from the rollout state's log of applied steps, not from CloudWatch.

Three kinds of minute are left out, because their numbers are not final or not one split:

- the last :data:`SETTLE_MINUTES` minutes before now: CloudWatch may still be aggregating them, and
  a datapoint that has not arrived would read as 0 (a baseline's late error count would hand the
  candidate all of that minute's errors), and a re-read would revise a minute already judged;
- minutes that overlap a weight change, from the moment the change was asked for (``since``) to
  the moment the endpoint had applied it (``at``): both splits served in them;
- minutes where a variant has an error or latency datapoint but no ``Invocations`` one (a series
  that has not arrived in full).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from endpoint_weights.variant_metrics import variant_query
from rollout.history import Minute, VariantMinute

PERIOD_SECONDS = 60
_MINUTE = timedelta(seconds=PERIOD_SECONDS)
# Minutes before now that are not read yet. CloudWatch aggregates a minute's datapoints after the
# minute ends and makes no promise how soon they are complete ("Metrics are available ... after
# the data is published", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html);
# SageMaker publishes its invocation metrics at a 1-minute frequency
# (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html). Three minutes of
# margin, at the cost of judging each bake on its first seven minutes and the previous bake's last three.
SETTLE_MINUTES = 3
# Minutes of a step's own bake time lost to its weight switch: the minute in which the weights went
# live (``at``) served both splits and is left out (:func:`history`). The bake waits from ``at``
# (the state machine's "Mark step start"), so the time the change took costs no bake time; only
# the partial minute at ``at`` does, at most one. ``rollout.traffic_check`` counts with it.
SWITCH_MINUTES = 1
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


def _switching(minute: datetime, windows: Sequence[tuple[datetime, datetime]]) -> bool:
    """Whether ``minute`` overlaps a weight change: [since, at] of any log entry."""
    return any(minute < at and minute + _MINUTE > since for since, at in windows)


def history(
    cloudwatch: Any,
    *,
    endpoint: str,
    variants: Sequence[str],
    weights_log: Sequence[Mapping[str, Any]],
    now: datetime,
) -> tuple[Minute, ...]:
    """Every whole minute from the first applied step to :data:`SETTLE_MINUTES` before ``now``, less
    the minutes the module docstring leaves out.

    ``weights_log`` is the state's ``[{"at": <ISO time the weights went live>, "since": <ISO time
    they were asked for> (optional; default "at"), "weights": {...}}, ...]`` in order. A minute with
    no datapoint at all for a variant counts as no requests, no errors, no latency. Empty when no
    such minute has passed yet.
    """
    log = [(datetime.fromisoformat(entry["at"]), entry["weights"]) for entry in weights_log]
    if not log:
        return ()
    windows = [
        (datetime.fromisoformat(entry.get("since") or entry["at"]), datetime.fromisoformat(entry["at"]))
        for entry in weights_log
    ]
    start, end = ceil_minute(log[0][0]), floor_minute(now) - SETTLE_MINUTES * _MINUTE
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
        if not _switching(minute, windows) and not _incomplete(minute, points, len(variants)):
            minutes.append(_minute(minute, points, variants, _weights_at(minute, log)))
        minute += _MINUTE
    return tuple(minutes)


def _incomplete(minute: datetime, points: Mapping[str, Mapping[datetime, float]], count: int) -> bool:
    """A variant has some datapoint this minute but not its Invocations: the minute is not in yet."""
    for index in range(count):
        others = any(minute in points[f"{prefix}{index}"] for prefix in ("err", "p50_", "p99_"))
        if others and minute not in points[f"inv{index}"]:
            return True
    return False


def _minute(
    minute: datetime,
    points: Mapping[str, Mapping[datetime, float]],
    variants: Sequence[str],
    weights: Mapping[str, float] | None,
) -> Minute:
    per_variant = {}
    for index, variant in enumerate(variants):
        p50, p99 = points[f"p50_{index}"].get(minute), points[f"p99_{index}"].get(minute)
        per_variant[variant] = VariantMinute(
            invocations=round(points[f"inv{index}"].get(minute, 0.0)),
            errors_5xx=round(points[f"err{index}"].get(minute, 0.0)),
            p50_ms=None if p50 is None else p50 / 1000,  # ModelLatency is in microseconds
            p99_ms=None if p99 is None else p99 / 1000,
        )
    return Minute(weights=dict(weights or {}), variants=per_variant)
