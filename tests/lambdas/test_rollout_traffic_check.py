"""The start check's arithmetic on fixed inputs (``rollout.traffic_check``), and that its minute
count is the one the judge's history really has (``rollout.observe``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollout.observe import history
from rollout.plan import parse_plan
from rollout.traffic_check import first_shortfall, readable_minutes, refusal, traffic_window

LIVE = {"Variant1": 1.0, "Variant2": 1.0}


def plan(**raw: Any) -> Any:
    """The arithmetic is pinned at 10-minute bakes (the default before 15) unless a case sets its own."""
    return parse_plan({"candidate": "Variant2", "bake_seconds": 600, **raw}, LIVE)


@pytest.mark.parametrize(
    ("bake_seconds", "max_holds", "minutes"),
    [
        (900, 3, 56),  # the default plan: 60 minutes of bakes, less 3 not settled and 1 of the switch
        (600, 3, 36),
        (600, 0, 6),
        (90, 3, 2),  # 360 s = 6 minutes
        (60, 3, 0),  # 4 minutes: nothing of the step is ever read
        (60, 0, 0),  # never negative
    ],
)
def test_the_minutes_the_judge_reads_of_a_step(bake_seconds, max_holds, minutes):
    assert readable_minutes(bake_seconds, max_holds) == minutes


def test_a_one_percent_canary_at_a_thousand_a_minute_falls_short_at_its_first_step():
    shortfall = first_shortfall(plan(steps=[1, 5, 25, 100]), 1_000)
    assert shortfall is not None
    assert (shortfall.step, shortfall.share, shortfall.requests_per_minute) == (1, 1.0, 10.0)
    assert (shortfall.min_requests, shortfall.minutes) == (500, 36)  # 360 requests at most, 500 needed


def test_the_default_plan_at_a_thousand_a_minute_fits():
    assert first_shortfall(plan(), 1_000) is None  # 100 a minute × 36 minutes


def test_with_the_default_15_minute_bakes_a_one_percent_canary_at_a_thousand_a_minute_fits():
    default_bakes = parse_plan({"candidate": "Variant2", "steps": [1, 5, 25, 100]}, LIVE)
    assert first_shortfall(default_bakes, 1_000) is None  # 10 a minute × 56 minutes = 560 >= 500


@pytest.mark.parametrize(
    ("raw", "fits"),
    [
        # the advice's thresholds for the 1 % canary at 1,000 a minute, and one below each
        ({"steps": [1.39, 100]}, True),  # 13.9 a minute × 36 = 500.4
        ({"steps": [1.38, 100]}, False),  # 496.8
        ({"steps": [1, 100], "bake_seconds": 810}, True),  # 3,240 s = 54 minutes, 50 read: 500
        ({"steps": [1, 100], "bake_seconds": 809}, False),  # 53 minutes, 49 read
        ({"steps": [1, 100], "max_holds": 5}, True),  # 60 minutes, 56 read
        ({"steps": [1, 100], "max_holds": 4}, False),  # 50 minutes, 46 read
        ({"steps": [1, 100], "judge": {"min_requests": 360}}, True),
        ({"steps": [1, 100], "judge": {"min_requests": 361}}, False),
    ],
)
def test_the_boundary_is_exactly_min_requests(raw, fits):
    assert (first_shortfall(plan(**raw), 1_000) is None) is fits


def test_the_refusal_names_the_step_the_numbers_and_the_ways_out():
    reason = refusal(plan(steps=[1, 5, 25, 100]), 1_000)
    assert reason is not None
    for part in (
        "step 1 (1 %)",
        "at 1,000.0 requests a minute (candidate and baselines, over the 15 settled minutes before the start)",
        "about 10.0 a minute, 500 needed",
        "at most 36 minute(s)",
        "bake_seconds 600 × (max_holds 3 + 1) = 40 minute(s), less 3 not yet settled and 1 of the weight switch",
        "then rollback on no evidence",
        "a step 1 share of at least 1.39 %",
        "bake_seconds of at least 810",
        "max_holds of at least 5",
        "judge.min_requests of at most 360",
    ):
        assert part in reason, part


def test_no_share_is_advised_when_even_the_whole_pool_is_too_little():
    reason = refusal(plan(steps=[50, 100]), 10)  # 36 minutes of all 10 a minute: 360 < 500
    assert reason is not None and "share of at least" not in reason and "bake_seconds of at least" in reason


def test_no_traffic_is_refused_with_its_own_reason_unless_allowed():
    reason = refusal(plan(), 0)
    assert reason is not None and reason.startswith("no traffic to estimate from")
    assert refusal(plan(allow_without_traffic_estimate=True), 0) is None


def test_the_allowance_does_not_override_a_low_estimate():
    assert refusal(plan(steps=[1, 100], allow_without_traffic_estimate=True), 1_000) is not None


@pytest.mark.parametrize("value", ["true", 1, None])
def test_the_allowance_must_be_a_boolean(value):
    with pytest.raises(ValueError, match="allow_without_traffic_estimate: must be true or false"):
        plan(allow_without_traffic_estimate=value)


class _NoData:
    """A CloudWatch client with no datapoints: every minute of the history counts as idle."""

    def get_paginator(self, name: str) -> Any:
        return self

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return [{"MetricDataResults": []}]


@pytest.mark.parametrize("applied_second", [0, 20, 59])
@pytest.mark.parametrize(("bake_seconds", "max_holds"), [(600, 3), (600, 0), (90, 3), (300, 1)])
def test_the_judges_history_has_at_least_that_many_minutes_of_the_step_at_its_last_look(
    applied_second, bake_seconds, max_holds
):
    """A second step whose weights went live at 10:20:<applied_second>, judged for the last time
    (max_holds + 1) bakes later: rollout.observe's minutes with its weights are never fewer than
    readable_minutes, and as few when the switch is not on a minute boundary."""
    first = datetime(2026, 12, 3, 10, 0, 10, tzinfo=UTC)
    applied = datetime(2026, 12, 3, 10, 20, applied_second, tzinfo=UTC)
    log = [
        {"at": first.isoformat(), "weights": {"Variant1": 90.0, "Variant2": 10.0}},
        {
            "since": (applied - timedelta(seconds=40)).isoformat(),
            "at": applied.isoformat(),
            "weights": {"Variant1": 75.0, "Variant2": 25.0},
        },
    ]
    now = applied + timedelta(seconds=bake_seconds * (max_holds + 1))
    minutes = history(_NoData(), endpoint="e", variants=["Variant2", "Variant1"], weights_log=log, now=now)
    of_the_step = sum(m.weights == log[1]["weights"] for m in minutes)
    expected = readable_minutes(bake_seconds, max_holds)
    assert of_the_step >= expected
    if applied_second:
        assert of_the_step == expected


def test_the_traffic_window_is_the_15_settled_whole_minutes_before_the_start():
    start, end = traffic_window(datetime(2026, 12, 3, 9, 0, 30, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 12, 3, 8, 42, tzinfo=UTC), datetime(2026, 12, 3, 8, 57, tzinfo=UTC))
