"""A simulated A/B run, minute by minute, for drawing the dashboard without an AWS account.

Pure and seeded: the same arguments give the same numbers (numpy's PCG64 generator, no clock, no
I/O). The run follows the life of a test: equal weights, then 25/75, then 0/100 (with more than two
variants the first one is the incumbent and the others share the rest equally). What it produces
mirrors what CloudWatch would hold, as *datapoints per minute* that any statistic and period can be
taken from (:meth:`SimulatedRun.statistic`):

* ``AWS/SageMaker`` per variant: ``Invocations`` (each minute's requests split among the variants
  by the declared weights: multinomial, so binomial per variant), ``InvocationsPerInstance``,
  ``ModelLatency`` and ``OverheadLatency`` (one lognormal sample per request, in microseconds as
  SageMaker reports them, so p50/p90/p99 come from real samples), 4XX, 5XX and model errors
  (binomial per request);
* ``/aws/sagemaker/Endpoints`` per variant: CPU (following the load), memory and disk utilization;
* this project's metrics: ``DeclaredWeight`` (published when weights are applied, so sparse),
  ``SrmPValue``, ``SrmInvocations``, ``ObservedShare``, ``ExpectedShare`` (the scheduled check,
  run with the check's own test, ``srm_check.srm_stats.srm_test``, and its own skip rules), and the
  evaluation metrics (one run an hour).

One incident is built in: for :attr:`RunSettings.incident_minutes` the last variant slows down
(median ModelLatency ×14) and answers more 5XX, enough for its p99 latency alarm to go off once.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambdas"))

from srm_check.srm_stats import NotEnoughTraffic, srm_test

SAGEMAKER = "AWS/SageMaker"
INSTANCE = "/aws/sagemaker/Endpoints"
PROJECT = "SageMakerABTesting"

MetricKey = tuple[str, str, str | None]
"""(namespace, metric name, VariantName or ``None`` for endpoint-level metrics)."""

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class Phase:
    """``minutes`` of traffic under ``weights`` (one per variant, in variant order)."""

    minutes: int
    weights: tuple[float, ...]


def ab_phases(variant_count: int, minutes: Sequence[int] = (120, 75, 45)) -> tuple[Phase, ...]:
    """Equal weights, then 25 (first variant) / 75 (shared by the others), then 0 / 100."""
    if variant_count < 2:
        raise ValueError(f"an A/B run needs at least 2 variants (got {variant_count})")
    rest = variant_count - 1
    return (
        Phase(minutes[0], tuple([1.0] * variant_count)),
        Phase(minutes[1], (25.0, *[75.0 / rest] * rest)),
        Phase(minutes[2], (0.0, *[100.0 / rest] * rest)),
    )


@dataclass(frozen=True)
class RunSettings:
    """What the simulated endpoint does. Defaults describe a small, healthy endpoint.

    ``requests_per_minute`` is the mean of the whole endpoint's Poisson traffic (with a slow ±15 %
    swell); latency medians are per variant position (the last value repeats for more variants).
    The SRM check settings default to the config's defaults (``MonitoringSpec``).
    """

    seed: int = 7
    requests_per_minute: float = 300.0
    instances: int = 1
    model_latency_median_ms: tuple[float, ...] = (45.0, 32.0)
    model_latency_sigma: float = 0.45
    overhead_latency_median_ms: float = 2.5
    error_5xx_rate: float = 0.002
    error_4xx_rate: float = 0.004
    model_error_rate: float = 0.001
    incident_minutes: tuple[int, int] = (150, 162)
    incident_latency_factor: float = 14.0
    incident_5xx_rate: float = 0.03
    srm_schedule_minutes: int = 5
    srm_window_minutes: int = 60
    srm_min_invocations: int = 1000
    evaluation_every_minutes: int = 60
    evaluation_offset_minutes: int = 30
    quality: Mapping[str, tuple[float, ...]] = field(
        default_factory=lambda: {
            # Means per variant position, near the sample evaluation report's numbers.
            "Accuracy": (0.8685, 0.8770),
            "Precision": (0.52, 0.61),
            "Recall": (0.105, 0.235),
            "F1": (0.1755, 0.3387),
            "RocAuc": (0.7442, 0.8145),
        }
    )
    # The scheduled live-quality run (daily by default: one point per run on the dashboard's live row).
    live_run_minute: int = 150
    live_quality: Mapping[str, tuple[float, ...]] = field(
        default_factory=lambda: {
            # Live traffic: a little below the offline evaluation; 70 % / 55 % of captures labelled so far.
            "LiveAccuracy": (0.861, 0.872),
            "LiveF1": (0.16, 0.31),
            "LiveRocAuc": (0.731, 0.802),
            "LiveLabelCoverage": (0.70, 0.55),
            "LiveLabelDelayP50Hours": (31.0, 30.0),
            "LiveLabelDelayP90Hours": (142.0, 139.0),
        }
    )


@dataclass(frozen=True)
class SimulatedRun:
    """Datapoints per minute for every simulated metric, and what drove them."""

    variants: tuple[str, ...]
    phases: tuple[Phase, ...]
    minutes: int
    weight_changes: tuple[int, ...]
    datapoints: Mapping[MetricKey, tuple[np.ndarray, ...]]

    def weights_at(self, minute: int) -> tuple[float, ...]:
        """The declared weights in force at ``minute``."""
        start = 0
        for phase in self.phases:
            if minute < start + phase.minutes:
                return phase.weights
            start += phase.minutes
        return self.phases[-1].weights

    def has(self, namespace: str, name: str, variant: str | None) -> bool:
        return (namespace, name, variant) in self.datapoints

    def statistic(self, namespace: str, name: str, variant: str | None, stat: str, period_seconds: int) -> np.ndarray:
        """``stat`` over buckets of ``period_seconds`` (a multiple of 60), NaN where a bucket has no datapoint.

        Statistics: ``Sum``, ``Average``, ``Minimum``, ``Maximum``, ``SampleCount`` and percentiles
        ``pNN`` (numpy's linear interpolation over the pooled samples).

        :raises KeyError: the metric is not simulated.
        :raises ValueError: an unsupported statistic or period.
        """
        if period_seconds < 60 or period_seconds % 60:
            raise ValueError(f"period {period_seconds} s: the simulation has 1-minute resolution")
        reducer = _reducer(stat)
        per_minute = self.datapoints[(namespace, name, variant)]
        step = period_seconds // 60
        out = np.full(math.ceil(self.minutes / step), np.nan)
        for bucket in range(out.size):
            chunk = [values for values in per_minute[bucket * step : (bucket + 1) * step] if values.size]
            if chunk:
                out[bucket] = reducer(np.concatenate(chunk))
        return out


def _reducer(stat: str) -> Callable[[np.ndarray], float]:
    simple: dict[str, Callable[[np.ndarray], float]] = {
        "Sum": lambda values: float(np.sum(values)),
        "Average": lambda values: float(np.mean(values)),
        "Minimum": lambda values: float(np.min(values)),
        "Maximum": lambda values: float(np.max(values)),
        "SampleCount": lambda values: float(values.size),
    }
    if stat in simple:
        return simple[stat]
    match = _PERCENTILE.match(stat)
    if match and 0 <= float(match.group(1)) <= 100:
        q = float(match.group(1))
        return lambda values: float(np.percentile(values, q))
    raise ValueError(f"statistic {stat!r} is not simulated (Sum, Average, Minimum, Maximum, SampleCount, pNN)")


def _per_minute_scalar(values: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(np.array([v]) if not np.isnan(v) else np.empty(0) for v in values)


def simulate(
    variants: Sequence[str], *, phases: Sequence[Phase] | None = None, settings: RunSettings | None = None
) -> SimulatedRun:
    """Simulate the run for ``variants`` (default phases: :func:`ab_phases`; default :class:`RunSettings`).

    :raises ValueError: fewer than two variants, a phase whose weights do not match the variants or
        are all zero.
    """
    names = tuple(variants)
    settings = settings or RunSettings()
    plan = tuple(phases) if phases is not None else ab_phases(len(names))
    for index, phase in enumerate(plan):
        if len(phase.weights) != len(names):
            raise ValueError(f"phase {index}: {len(phase.weights)} weights for {len(names)} variants {names}")
        if phase.minutes < 1 or sum(phase.weights) <= 0 or min(phase.weights) < 0:
            raise ValueError(f"phase {index}: needs at least 1 minute and non-negative weights, not all 0")
    rng = np.random.Generator(np.random.PCG64(settings.seed))
    minutes = sum(p.minutes for p in plan)
    t = np.arange(minutes)
    shares = np.concatenate([np.tile(np.array(p.weights) / sum(p.weights), (p.minutes, 1)) for p in plan])
    changes = tuple(int(x) for x in np.cumsum([0, *[p.minutes for p in plan[:-1]]]))

    rate = settings.requests_per_minute * (1 + 0.15 * np.sin(2 * np.pi * t / 240))
    totals = rng.poisson(rate)
    counts = np.array([rng.multinomial(n, s) for n, s in zip(totals, shares, strict=True)])  # minutes × variants
    incident = np.zeros(minutes, dtype=bool)
    incident[settings.incident_minutes[0] : settings.incident_minutes[1]] = True

    data: dict[MetricKey, tuple[np.ndarray, ...]] = {}
    for v, name in enumerate(names):
        n = counts[:, v]
        is_incident = incident & (v == len(names) - 1)
        median_ms = settings.model_latency_median_ms[min(v, len(settings.model_latency_median_ms) - 1)]
        medians = np.repeat(np.where(is_incident, median_ms * settings.incident_latency_factor, median_ms), n)
        model_us = 1000 * medians * np.exp(settings.model_latency_sigma * rng.standard_normal(n.sum()))
        overhead_us = 1000 * settings.overhead_latency_median_ms * np.exp(0.3 * rng.standard_normal(n.sum()))
        splits = np.cumsum(n)[:-1]
        rate_5xx = np.where(is_incident, settings.incident_5xx_rate, settings.error_5xx_rate)
        per_instance = n / settings.instances
        data[(SAGEMAKER, "Invocations", name)] = _per_minute_scalar(n.astype(float))
        data[(SAGEMAKER, "InvocationsPerInstance", name)] = _per_minute_scalar(per_instance)
        data[(SAGEMAKER, "ModelLatency", name)] = tuple(np.split(model_us, splits))
        data[(SAGEMAKER, "OverheadLatency", name)] = tuple(np.split(overhead_us, splits))
        data[(SAGEMAKER, "Invocation5XXErrors", name)] = _per_minute_scalar(rng.binomial(n, rate_5xx).astype(float))
        data[(SAGEMAKER, "Invocation4XXErrors", name)] = _per_minute_scalar(
            rng.binomial(n, settings.error_4xx_rate).astype(float)
        )
        data[(SAGEMAKER, "InvocationModelErrors", name)] = _per_minute_scalar(
            rng.binomial(n, settings.model_error_rate).astype(float)
        )
        cpu = 4 + 0.09 * per_instance + rng.normal(0, 1.5, minutes) + 25 * is_incident
        data[(INSTANCE, "CPUUtilization", name)] = _per_minute_scalar(np.clip(cpu, 0, None))
        data[(INSTANCE, "MemoryUtilization", name)] = _per_minute_scalar(31 + 3 * v + rng.normal(0, 0.4, minutes))
        data[(INSTANCE, "DiskUtilization", name)] = _per_minute_scalar(9 + v + 0.004 * t)
        declared = np.full(minutes, np.nan)
        for start, phase in zip(changes, plan, strict=True):
            declared[start] = phase.weights[v]
        data[(PROJECT, "DeclaredWeight", name)] = _per_minute_scalar(declared)

    data.update(_srm_checks(names, counts, plan, changes, settings))
    data.update(_evaluations(names, minutes, settings, rng))
    data.update(_live_runs(names, minutes, settings))
    return SimulatedRun(names, plan, minutes, changes, data)


def _srm_checks(
    names: tuple[str, ...], counts: np.ndarray, plan: tuple[Phase, ...], changes: tuple[int, ...], settings: RunSettings
) -> dict[MetricKey, tuple[np.ndarray, ...]]:
    """The scheduled SRM check at the end of each ``srm_schedule_minutes``, with the handler's skip
    rules: no result when the weights changed inside the window (the endpoint's LastModifiedTime),
    when the window starts before the run, or holds fewer than ``srm_min_invocations`` requests."""
    minutes = counts.shape[0]
    p_value = np.full(minutes, np.nan)
    total = np.full(minutes, np.nan)
    observed = np.full((minutes, len(names)), np.nan)
    expected = np.full((minutes, len(names)), np.nan)
    window = settings.srm_window_minutes
    weights_by_minute = [p.weights for p in plan for _ in range(p.minutes)]
    for end in range(settings.srm_schedule_minutes, minutes + 1, settings.srm_schedule_minutes):
        start = end - window
        if start < 0 or any(start < change < end for change in changes):
            continue
        window_counts = counts[start:end].sum(axis=0)
        if window_counts.sum() < settings.srm_min_invocations:
            continue
        weights = weights_by_minute[end - 1]
        try:
            result = srm_test(
                dict(zip(names, window_counts.tolist(), strict=True)), dict(zip(names, weights, strict=True))
            )
        except NotEnoughTraffic:
            continue
        p_value[end - 1] = result.p_value
        total[end - 1] = result.total
        observed[end - 1] = [100 * result.observed_share[n] for n in names]
        expected[end - 1] = [100 * result.expected_share[n] for n in names]
    data: dict[MetricKey, tuple[np.ndarray, ...]] = {
        (PROJECT, "SrmPValue", None): _per_minute_scalar(p_value),
        (PROJECT, "SrmInvocations", None): _per_minute_scalar(total),
    }
    for v, name in enumerate(names):
        data[(PROJECT, "ObservedShare", name)] = _per_minute_scalar(observed[:, v])
        data[(PROJECT, "ExpectedShare", name)] = _per_minute_scalar(expected[:, v])
    return data


def _evaluations(
    names: tuple[str, ...], minutes: int, settings: RunSettings, rng: np.random.Generator
) -> dict[MetricKey, tuple[np.ndarray, ...]]:
    """One evaluation run an hour: each quality metric near its mean, a little noise, within 0..1."""
    runs = range(settings.evaluation_offset_minutes, minutes, settings.evaluation_every_minutes)
    data: dict[MetricKey, tuple[np.ndarray, ...]] = {}
    for metric, means in settings.quality.items():
        for v, name in enumerate(names):
            values = np.full(minutes, np.nan)
            mean = means[min(v, len(means) - 1)]
            for minute in runs:
                values[minute] = float(np.clip(mean + rng.normal(0, 0.006), 0, 1))
            data[(PROJECT, metric, name)] = _per_minute_scalar(values)
    return data


def _live_runs(names: tuple[str, ...], minutes: int, settings: RunSettings) -> dict[MetricKey, tuple[np.ndarray, ...]]:
    """One live-quality run's per-variant metrics at ``live_run_minute``, near their means (its own
    random stream: the other simulated series are unchanged by it)."""
    rng = np.random.Generator(np.random.PCG64(settings.seed + 1))
    data: dict[MetricKey, tuple[np.ndarray, ...]] = {}
    for metric, means in settings.live_quality.items():
        for v, name in enumerate(names):
            values = np.full(minutes, np.nan)
            if settings.live_run_minute < minutes:
                noisy = means[min(v, len(means) - 1)] * (1 + rng.normal(0, 0.01))
                values[settings.live_run_minute] = noisy if metric.endswith("Hours") else float(np.clip(noisy, 0, 1))
            data[(PROJECT, metric, name)] = _per_minute_scalar(values)
    return data


def series_for(
    run: SimulatedRun, namespace: str, name: str, dimensions: Mapping[str, str], stat: str, period_seconds: int
) -> np.ndarray | None:
    """The simulated series a dashboard or alarm query asks for, or ``None`` when it is not simulated.

    Matched by namespace, metric name and the ``VariantName`` dimension; ``EndpointName`` may hold
    anything (the template has a reference there), and any other dimension means "not simulated".
    """
    if set(dimensions) - {"EndpointName", "VariantName"}:
        return None
    variant = dimensions.get("VariantName")
    if not run.has(namespace, name, variant):
        return None
    return run.statistic(namespace, name, variant, stat, period_seconds)
