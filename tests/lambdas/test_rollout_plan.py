"""The rollout plan: parsing with clear refusals, per-step weights, candidate capacity."""

from __future__ import annotations

from typing import Any

import pytest

from rollout.plan import (
    DEFAULT_BAKE_SECONDS,
    DEFAULT_STEPS,
    MAX_HISTORY_EVENTS,
    MAX_WAIT_SECONDS,
    InvalidPlan,
    JudgeSettings,
    RolloutPlan,
    TaskTimes,
    parse_plan,
    required_instances,
    step_weights,
    worst_case_history_events,
)

LIVE = {"Variant1": 1.0, "Variant2": 1.0}
THREE = {"A": 2.0, "B": 1.0, "C": 1.0}


def plan(raw: dict[str, Any] | None = None, live: dict[str, float] | None = None) -> RolloutPlan:
    return parse_plan({"candidate": "Variant2", **(raw or {})}, LIVE if live is None else live)


# --- parse_plan: defaults ---------------------------------------------------------------------


def test_defaults() -> None:
    parsed = plan()
    assert parsed == RolloutPlan(
        candidate="Variant2",
        baselines=("Variant1",),
        steps=(10.0, 25.0, 50.0, 100.0),
        bake_seconds=900,
        max_holds=3,
        on_hold_limit="rollback",
        judge=JudgeSettings(
            alpha=0.05, min_requests=500, latency_tolerance=1.25, max_error_rate_increase=None, srm_p_value=0.001
        ),
    )
    assert parsed.steps == DEFAULT_STEPS


def test_baselines_default_to_every_other_live_variant() -> None:
    assert parse_plan({"candidate": "B"}, THREE).baselines == ("A", "C")


def test_every_setting_given() -> None:
    parsed = parse_plan(
        {
            "candidate": "B",
            "baselines": ["A"],
            "steps": [5, "20", 100],
            "bake_seconds": "300",
            "max_holds": 0,
            "on_hold_limit": "stop",
            "judge": {
                "alpha": 0.01,
                "min_requests": 1000,
                "latency_tolerance": 1.5,
                "max_error_rate_increase": 0.002,
                "srm_p_value": 0,
            },
        },
        THREE,
    )
    assert parsed.baselines == ("A",)
    assert parsed.steps == (5.0, 20.0, 100.0)
    assert (parsed.bake_seconds, parsed.max_holds, parsed.on_hold_limit) == (300, 0, "stop")
    assert parsed.judge == JudgeSettings(0.01, 1000, 1.5, 0.002, 0.0)


def test_a_single_step_straight_to_100_is_allowed() -> None:
    assert plan({"steps": [100]}).steps == (100.0,)


# --- parse_plan: one refusal each ---------------------------------------------------------------


def test_unknown_candidate() -> None:
    with pytest.raises(InvalidPlan, match=r"candidate: 'Variant9' is not a variant of the endpoint; its variants"):
        plan({"candidate": "Variant9"})


def test_missing_candidate() -> None:
    with pytest.raises(InvalidPlan, match="candidate: required"):
        parse_plan({}, LIVE)


def test_unknown_baseline() -> None:
    with pytest.raises(InvalidPlan, match=r"baselines: 'Variant9' is not a variant"):
        plan({"baselines": ["Variant9"]})


def test_candidate_also_listed_as_baseline() -> None:
    with pytest.raises(InvalidPlan, match="candidate 'Variant2' cannot also be a baseline"):
        plan({"baselines": ["Variant1", "Variant2"]})


def test_empty_baselines() -> None:
    with pytest.raises(InvalidPlan, match="baselines: must name at least one variant"):
        plan({"baselines": []})


def test_no_other_live_variant_to_default_to() -> None:
    with pytest.raises(InvalidPlan, match="no variant besides the candidate"):
        plan(live={"Variant2": 1.0})


def test_duplicate_baselines() -> None:
    with pytest.raises(InvalidPlan, match="listed more than once: A"):
        parse_plan({"candidate": "B", "baselines": ["A", "A"]}, THREE)


def test_steps_not_strictly_increasing() -> None:
    with pytest.raises(InvalidPlan, match=r"strictly increasing; steps\[2\] = 25 follows 50"):
        plan({"steps": [10, 50, 25, 100]})


def test_repeated_step_is_not_increasing() -> None:
    with pytest.raises(InvalidPlan, match="strictly increasing"):
        plan({"steps": [10, 10, 100]})


def test_step_zero() -> None:
    with pytest.raises(InvalidPlan, match=r"steps\[0\]: a candidate share must be > 0 and <= 100 percent \(got 0\)"):
        plan({"steps": [0, 50, 100]})


def test_negative_step() -> None:
    with pytest.raises(InvalidPlan, match=r"steps\[0\].*got -5"):
        plan({"steps": [-5, 100]})


def test_step_above_100() -> None:
    with pytest.raises(InvalidPlan, match=r"steps\[1\].*got 150"):
        plan({"steps": [50, 150]})


def test_last_step_must_be_100() -> None:
    with pytest.raises(InvalidPlan, match=r"last step must be 100.*got 50"):
        plan({"steps": [10, 25, 50]})


def test_empty_steps() -> None:
    with pytest.raises(InvalidPlan, match="steps: must be a non-empty list"):
        plan({"steps": []})


def test_step_not_a_number() -> None:
    with pytest.raises(InvalidPlan, match=r"steps\[1\]: must be a number \(got 'half'\)"):
        plan({"steps": [10, "half", 100]})


def test_bake_seconds_zero() -> None:
    with pytest.raises(InvalidPlan, match=r"bake_seconds: must be > 0 \(got 0\)"):
        plan({"bake_seconds": 0})


def test_bake_seconds_fractional() -> None:
    with pytest.raises(InvalidPlan, match="bake_seconds: must be a whole number"):
        plan({"bake_seconds": 1.5})


def test_negative_max_holds() -> None:
    with pytest.raises(InvalidPlan, match=r"max_holds: must be >= 0 \(got -1\)"):
        plan({"max_holds": -1})


def test_bake_seconds_beyond_what_a_wait_state_waits() -> None:
    assert plan({"bake_seconds": MAX_WAIT_SECONDS, "steps": [100], "max_holds": 0}).bake_seconds == MAX_WAIT_SECONDS
    with pytest.raises(InvalidPlan, match=r"bake_seconds: must be <= 99,999,999, the longest a Step Functions Wait"):
        plan({"bake_seconds": MAX_WAIT_SECONDS + 1, "steps": [100], "max_holds": 0})


def largest_max_holds_that_fit(step_count: int) -> int:
    """Found by search over the same worst case the parser uses, not copied from it."""
    holds = 0
    while worst_case_history_events(step_count, holds + 1) <= MAX_HISTORY_EVENTS:
        holds += 1
    return holds


@pytest.mark.parametrize("steps", [[100], [10, 25, 50, 100], [float(s) for s in range(5, 101, 5)]])
def test_max_holds_is_bounded_by_the_execution_history_limit(steps: list[float]) -> None:
    fits = largest_max_holds_that_fit(len(steps))
    assert plan({"steps": steps, "max_holds": fits}).max_holds == fits
    with pytest.raises(InvalidPlan, match=rf"max_holds: .* beyond Step Functions' limit of 25,000 .* at most {fits}$"):
        plan({"steps": steps, "max_holds": fits + 1})


def test_the_default_plan_is_far_from_the_history_limit() -> None:
    assert worst_case_history_events(len(DEFAULT_STEPS), 3) < MAX_HISTORY_EVENTS / 10


def test_too_many_steps_for_the_history_limit_even_without_holds() -> None:
    steps = [round(0.25 * i, 2) for i in range(1, 401)]  # 400 steps of 0.25 %
    with pytest.raises(InvalidPlan, match="use fewer steps"):
        plan({"steps": steps, "max_holds": 0})


def test_worst_case_history_grows_with_every_judgement() -> None:
    assert worst_case_history_events(4, 1) > worst_case_history_events(4, 0) > worst_case_history_events(3, 0)


def test_bakes_longer_than_the_rollout_timeout_are_refused() -> None:
    week = 7 * 24 * 3600
    ok = {"steps": [50, 100], "max_holds": 1, "bake_seconds": week // 4}  # 2 × 2 × bake = one week
    assert parse_plan({"candidate": "Variant2", **ok}, LIVE, max_duration_seconds=week).bake_seconds == week // 4
    with pytest.raises(InvalidPlan, match=r"could bake for 604,804 s, longer than the rollout's timeout of 604,800 s"):
        parse_plan({"candidate": "Variant2", **ok, "bake_seconds": week // 4 + 1}, LIVE, max_duration_seconds=week)
    assert plan({**ok, "bake_seconds": week}).bake_seconds == week, "unchecked without a timeout"


def test_the_weight_changes_at_their_slowest_count_toward_the_rollout_timeout() -> None:
    week = 7 * 24 * 3600
    ok = {"candidate": "Variant2", "steps": [50, 100], "max_holds": 1, "bake_seconds": week // 4 - 1_000}
    slow = TaskTimes(apply_seconds=900, restore_seconds=2_500)  # 2 × 900 + 2,500 = 4,300 s > 4 × 1,000 s
    assert parse_plan(ok, LIVE, max_duration_seconds=week).bake_seconds == week // 4 - 1_000
    with pytest.raises(InvalidPlan, match=r"plus up to 4,300 s for its 2 weight changes and a restore"):
        parse_plan(ok, LIVE, max_duration_seconds=week, task_times=slow)
    fast = TaskTimes(apply_seconds=900, restore_seconds=2_200)  # 4,000 s: exactly fits
    assert parse_plan(ok, LIVE, max_duration_seconds=week, task_times=fast).bake_seconds == week // 4 - 1_000


def test_unknown_on_hold_limit() -> None:
    with pytest.raises(InvalidPlan, match="on_hold_limit: must be one of rollback, stop"):
        plan({"on_hold_limit": "continue"})


def test_unknown_keys() -> None:
    allowed = (
        "allow_without_traffic_estimate, bake_seconds, baselines, candidate, judge, max_holds, on_hold_limit, steps"
    )
    with pytest.raises(InvalidPlan, match=rf"rollout plan: unknown key\(s\) bake_time, step; allowed: {allowed}$"):
        plan({"bake_time": 60, "step": [100]})


def test_unknown_judge_keys() -> None:
    with pytest.raises(InvalidPlan, match=r"judge: unknown key\(s\) min_request"):
        plan({"judge": {"min_request": 10}})


@pytest.mark.parametrize(
    ("judge", "message"),
    [
        ({"alpha": 0}, "judge.alpha: must be > 0 and < 1"),
        ({"alpha": 1}, "judge.alpha"),
        ({"min_requests": 0}, "judge.min_requests: must be >= 1"),
        ({"latency_tolerance": 0.9}, "judge.latency_tolerance: must be >= 1"),
        ({"max_error_rate_increase": -0.1}, "judge.max_error_rate_increase: must be >= 0 and < 1"),
        ({"srm_p_value": 1}, "judge.srm_p_value: must be >= 0 and < 1"),
        ({"alpha": True}, r"judge.alpha: must be a number \(got True\)"),
        ({"alpha": float("nan")}, "judge.alpha: must be a finite number"),
    ],
)
def test_bad_judge_settings(judge: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidPlan, match=message):
        plan({"judge": judge})


def test_judge_must_be_an_object() -> None:
    with pytest.raises(InvalidPlan, match="judge: must be an object"):
        plan({"judge": [0.05]})


def test_plan_must_be_an_object() -> None:
    with pytest.raises(InvalidPlan, match="rollout plan: must be an object"):
        parse_plan(["Variant2"], LIVE)  # type: ignore[arg-type]


def test_no_traffic_to_shift() -> None:
    with pytest.raises(InvalidPlan, match="all have weight 0: there is no traffic to shift"):
        parse_plan({"candidate": "B", "baselines": ["C"]}, {"A": 1.0, "B": 0.0, "C": 0.0})


def test_invalid_plan_is_a_value_error() -> None:
    assert issubclass(InvalidPlan, ValueError)


# --- step_weights ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        (10, {"Variant1": 90.0, "Variant2": 10.0}),
        (25, {"Variant1": 75.0, "Variant2": 25.0}),
        (100, {"Variant1": 0.0, "Variant2": 100.0}),
        (0, {"Variant1": 100.0, "Variant2": 0.0}),
    ],
)
def test_two_variants(share: float, expected: dict[str, float]) -> None:
    assert step_weights(LIVE, plan(), share) == expected


def test_two_variants_from_an_unequal_start() -> None:
    original = {"Variant1": 3.0, "Variant2": 0.0}
    assert step_weights(original, plan(live=original), 10) == {"Variant1": 90.0, "Variant2": 10.0}


def test_baselines_split_in_proportion_to_their_original_weights() -> None:
    parsed = parse_plan({"candidate": "C"}, THREE)  # baselines A (2) and B (1)
    assert step_weights(THREE, parsed, 10) == {"A": 60.0, "B": 30.0, "C": 10.0}


def test_three_variants_equal_weights() -> None:
    original = {"A": 1.0, "B": 1.0, "C": 1.0}
    parsed = parse_plan({"candidate": "C"}, original)
    assert step_weights(original, parsed, 10) == {"A": 45.0, "B": 45.0, "C": 10.0}


def test_rounding_to_four_decimals() -> None:
    original = {"A": 1.0, "B": 1.0, "C": 1.0}
    parsed = parse_plan({"candidate": "C", "baselines": ["A"]}, original)
    assert step_weights(original, parsed, 50) == {"A": 33.3333, "B": 33.3333, "C": 33.3333}


def test_other_variants_keep_their_original_share() -> None:
    # A keeps half the traffic; the rollout moves only the half that B and C carry.
    parsed = parse_plan({"candidate": "C", "baselines": ["B"]}, THREE)
    assert step_weights(THREE, parsed, 10) == {"A": 50.0, "B": 45.0, "C": 5.0}
    assert step_weights(THREE, parsed, 100) == {"A": 50.0, "B": 0.0, "C": 50.0}


def test_equal_split_when_all_baselines_have_weight_zero() -> None:
    original = {"A": 0.0, "B": 0.0, "C": 4.0}
    parsed = parse_plan({"candidate": "C"}, original)
    assert step_weights(original, parsed, 50) == {"A": 25.0, "B": 25.0, "C": 50.0}


def test_zero_weight_candidate_starts_from_nothing() -> None:
    original = {"A": 0.0, "B": 5.0, "C": 0.0}
    parsed = parse_plan({"candidate": "C"}, original)
    assert step_weights(original, parsed, 25) == {"A": 0.0, "B": 75.0, "C": 25.0}


def test_weights_sum_to_100() -> None:
    parsed = parse_plan({"candidate": "C"}, THREE)
    for share in DEFAULT_STEPS:
        assert sum(step_weights(THREE, parsed, share).values()) == pytest.approx(100.0, abs=1e-3)


def test_step_weights_refuses_a_share_out_of_range() -> None:
    with pytest.raises(InvalidPlan, match="share_percent: must be >= 0 and <= 100"):
        step_weights(LIVE, plan(), 101)


def test_step_weights_refuses_weights_without_the_plan_variants() -> None:
    with pytest.raises(InvalidPlan, match="no weight for Variant2"):
        step_weights({"Variant1": 1.0}, plan(), 10)


def test_step_weights_refuses_negative_weights() -> None:
    with pytest.raises(InvalidPlan, match="weight of Variant1: must be a finite number >= 0"):
        step_weights({"Variant1": -1.0, "Variant2": 1.0}, plan(), 10)


# --- required_instances ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "share", "per_instance", "current", "expected"),
    [
        (1000, 10, 50, 1, 2),  # exactly 2: no spurious third instance from float noise
        (1000, 25, 50, 1, 5),
        (1000, 26, 50, 1, 6),  # 5.2 → 6
        (1000, 100, 300, 1, 4),
        (1000, 10, 50, 3, 3),  # never fewer than current
        (0, 50, 50, 0, 1),  # never fewer than 1
        (10, 10, 1000, 0, 1),
    ],
)
def test_required_instances(total: float, share: float, per_instance: float, current: int, expected: int) -> None:
    assert required_instances(total, share, per_instance, current) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1000, 10, 0, 1), "invocations_per_instance_per_minute: must be > 0"),
        ((-1, 10, 50, 1), "invocations_per_minute_total: must be >= 0"),
        ((1000, 120, 50, 1), "share_percent: must be >= 0 and <= 100"),
    ],
)
def test_required_instances_refuses_bad_input(args: tuple[float, float, float, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        required_instances(*args)


def test_the_default_plan_fits_the_state_machines_timeout_and_history() -> None:
    # 15-minute bakes (the judge's power needs them): 4 steps judged up to 4 times each bake for 4 hours
    # at most, far inside the 7-day execution timeout, with room for slow weight changes.
    week = 7 * 24 * 3600
    parsed = parse_plan({"candidate": "Variant2"}, LIVE, max_duration_seconds=week, task_times=TaskTimes(3600, 3600))
    assert parsed.bake_seconds == DEFAULT_BAKE_SECONDS == 900
    assert len(parsed.steps) * (parsed.max_holds + 1) * parsed.bake_seconds == 4 * 3600
    assert worst_case_history_events(len(parsed.steps), parsed.max_holds) <= MAX_HISTORY_EVENTS
