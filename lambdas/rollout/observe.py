"""What the judge looks at, read from CloudWatch for one rollout step.

Error counts are cumulative since the rollout started (the sequential test is valid at every
look over the growing sample); request counts and p99 latency for the step come from the step's
own window, so an earlier step cannot hide a slow candidate now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from endpoint_weights.variant_metrics import metric_values, variant_query, window_period
from rollout.decision import Observation
from srm_check.srm_stats import srm_test


def alarms_in_alarm(cloudwatch: Any, alarm_names: Sequence[str]) -> tuple[str, ...]:
    if not alarm_names:
        return ()
    found = cloudwatch.describe_alarms(AlarmNames=list(alarm_names), AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    alarms = found.get("MetricAlarms", []) + found.get("CompositeAlarms", [])
    return tuple(sorted(a["AlarmName"] for a in alarms if a.get("StateValue") == "ALARM"))


def observe(
    cloudwatch: Any,
    *,
    endpoint: str,
    candidate: str,
    baselines: Sequence[str],
    started_at: datetime,
    step_started_at: datetime,
    now: datetime,
    alarm_names: Sequence[str] = (),
    step_weights: Mapping[str, float] | None = None,
    srm_min_requests: int = 1000,
) -> Observation:
    """The judge's :class:`Observation` for this step.

    With ``step_weights``, the step's split is also checked for sample-ratio mismatch (chi-square,
    the same test as the scheduled SRM check) once it holds ``srm_min_requests`` requests.
    """
    variants = [candidate, *baselines]
    total_period = window_period(started_at, now)
    step_period = window_period(step_started_at, now)
    cumulative = []
    for index, variant in enumerate(variants):
        cumulative.append(variant_query(f"inv{index}", endpoint, variant, "Invocations", "Sum", total_period))
        cumulative.append(variant_query(f"err{index}", endpoint, variant, "Invocation5XXErrors", "Sum", total_period))
    step = []
    for index, variant in enumerate(variants):
        step.append(variant_query(f"sinv{index}", endpoint, variant, "Invocations", "Sum", step_period))
        step.append(variant_query(f"p99_{index}", endpoint, variant, "ModelLatency", "p99", step_period))
    totals = metric_values(cloudwatch, cumulative, started_at, now)
    window = metric_values(cloudwatch, step, step_started_at, now)

    def total(query_id: str) -> int:
        return round(sum(totals[query_id]))

    def p99_ms(index: int) -> float | None:
        points = window[f"p99_{index}"]
        return max(points) / 1000 if points else None  # microseconds → ms; worst period counts

    baseline_p99 = [p for p in (p99_ms(i) for i in range(1, len(variants))) if p is not None]
    srm_p_value = None
    if step_weights:
        counts = {variant: sum(window[f"sinv{i}"]) for i, variant in enumerate(variants)}
        if sum(counts.values()) >= srm_min_requests:
            try:
                srm_p_value = srm_test(counts, {v: step_weights.get(v, 0.0) for v in variants}).p_value
            except ValueError:
                srm_p_value = None
    return Observation(
        candidate_requests=total("inv0"),
        candidate_errors=total("err0"),
        baseline_requests=sum(total(f"inv{i}") for i in range(1, len(variants))),
        baseline_errors=sum(total(f"err{i}") for i in range(1, len(variants))),
        step_candidate_requests=round(sum(window["sinv0"])),
        candidate_p99_ms=p99_ms(0),
        baseline_p99_ms=max(baseline_p99) if baseline_p99 else None,
        alarms_in_alarm=alarms_in_alarm(cloudwatch, alarm_names),
        srm_p_value=srm_p_value,
    )
