"""scripts/dashboard_simulation.py: a seeded, deterministic run that follows the declared weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scripts.dashboard_simulation import Phase, RunSettings, ab_phases, series_for, simulate

VARIANTS = ("Variant1", "Variant2")


@pytest.fixture(scope="module")
def run():
    return simulate(VARIANTS, settings=RunSettings(seed=11))


def test_same_seed_same_numbers_other_seed_other_numbers(run) -> None:
    again = simulate(VARIANTS, settings=RunSettings(seed=11))
    other = simulate(VARIANTS, settings=RunSettings(seed=12))
    for key, per_minute in run.datapoints.items():
        assert all(np.array_equal(a, b) for a, b in zip(per_minute, again.datapoints[key], strict=True)), key
    p99 = ("AWS/SageMaker", "ModelLatency", "Variant2", "p99", 60)
    assert not np.array_equal(run.statistic(*p99), other.statistic(*p99))


def test_phases_are_one_to_one_then_25_75_then_0_100(run) -> None:
    assert [p.weights for p in run.phases] == [(1.0, 1.0), (25.0, 75.0), (0.0, 100.0)]
    assert ab_phases(3)[1].weights == (25.0, 37.5, 37.5)
    assert run.weight_changes == (0, 120, 195)
    declared = run.statistic("SageMakerABTesting", "DeclaredWeight", "Variant2", "Maximum", 60)
    assert [(int(i), declared[i]) for i in np.flatnonzero(~np.isnan(declared))] == [(0, 1.0), (120, 75.0), (195, 100.0)]


def test_observed_share_follows_the_declared_weights_within_binomial_tolerance(run) -> None:
    inv = np.array([run.statistic("AWS/SageMaker", "Invocations", v, "Sum", 60) for v in VARIANTS])
    start = 0
    for phase in run.phases:
        window = slice(start, start + phase.minutes)
        start += phase.minutes
        share = phase.weights[1] / sum(phase.weights)
        n, k = inv[:, window].sum(axis=0), inv[1, window]
        if share in (0.0, 1.0):
            assert np.array_equal(k, n * share)  # a zero-weight variant gets nothing, exactly
            continue
        total = n.sum()
        assert abs(k.sum() / total - share) < 4 * math.sqrt(share * (1 - share) / total)
        z = (k - n * share) / np.sqrt(n * share * (1 - share))  # per minute
        assert abs(z.mean()) < 4 / math.sqrt(z.size) and 0.6 < z.std() < 1.4  # binomial spread, not a constant


def test_latency_percentiles_come_from_lognormal_samples(run) -> None:
    settings = RunSettings()
    p50 = run.statistic("AWS/SageMaker", "ModelLatency", "Variant1", "p50", 3600)[0]
    assert p50 == pytest.approx(1000 * settings.model_latency_median_ms[0], rel=0.05)
    p = {q: run.statistic("AWS/SageMaker", "ModelLatency", "Variant1", q, 60)[:60] for q in ("p50", "p90", "p99")}
    assert np.all(p["p50"] < p["p90"]) and np.all(p["p90"] < p["p99"])
    assert np.isnan(run.statistic("AWS/SageMaker", "ModelLatency", "Variant1", "p50", 60)[-1])  # no traffic, no latency


def test_one_incident_on_the_last_variant(run) -> None:
    p99_ms = run.statistic("AWS/SageMaker", "ModelLatency", "Variant2", "p99", 60) / 1000
    above = np.flatnonzero(p99_ms > 1000)
    assert above.size and above.min() >= 150 and above.max() < 162
    assert np.nanmax(run.statistic("AWS/SageMaker", "ModelLatency", "Variant1", "p99", 60) / 1000) < 1000


def test_srm_check_publishes_only_with_a_clean_window(run) -> None:
    p_values = run.statistic("SageMakerABTesting", "SrmPValue", None, "Minimum", 60)
    published = np.flatnonzero(~np.isnan(p_values)) + 1  # the check at the end of minute t
    assert published.size
    for end in published:
        assert end % 5 == 0 and end >= 60 and not any(end - 60 < change < end for change in run.weight_changes)
    assert np.all((p_values[~np.isnan(p_values)] >= 0) & (p_values[~np.isnan(p_values)] <= 1))


def test_series_for_matches_by_name_and_variant_only(run) -> None:
    dims = {"EndpointName": "<EndpointName>", "VariantName": "Variant1"}
    assert series_for(run, "AWS/SageMaker", "Invocations", dims, "Sum", 60) is not None
    assert series_for(run, "AWS/SageMaker", "Invocations", {**dims, "VariantName": "Nope"}, "Sum", 60) is None
    assert series_for(run, "AWS/Lambda", "Errors", {"FunctionName": "f"}, "Sum", 60) is None
    with pytest.raises(ValueError, match="statistic 'tm99'"):
        series_for(run, "AWS/SageMaker", "Invocations", dims, "tm99", 60)
    with pytest.raises(ValueError, match="1-minute resolution"):
        run.statistic("AWS/SageMaker", "Invocations", "Variant1", "Sum", 30)


def test_bad_runs_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 variants"):
        simulate(["Only"])
    with pytest.raises(ValueError, match="phase 0: 3 weights for 2 variants"):
        simulate(VARIANTS, phases=[Phase(10, (1, 1, 1))])
    with pytest.raises(ValueError, match=r"phase 1: .*not all 0"):
        simulate(VARIANTS, phases=[Phase(10, (1, 1)), Phase(10, (0, 0))])
