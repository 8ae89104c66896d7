"""The rollout judge: each rule, their order, and what the state machine does next."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from rollout.decision import Decision, Observation, judge, next_action
from rollout.plan import JudgeSettings, RolloutPlan, parse_plan

SETTINGS = JudgeSettings()
LIVE = {"Variant1": 1.0, "Variant2": 1.0}
ALARM = "churn-ab-Variant2-Invocation5XXErrors"


def observe(**changes: Any) -> Observation:
    """A healthy step: 1 % errors on both sides, 1000 candidate requests, p99 110 vs 100 ms."""
    healthy = Observation(
        candidate_requests=1000,
        candidate_errors=10,
        baseline_requests=9000,
        baseline_errors=90,
        step_candidate_requests=1000,
        candidate_p99_ms=110.0,
        baseline_p99_ms=100.0,
        alarms_in_alarm=(),
        srm_p_value=0.5,
    )
    return dataclasses.replace(healthy, **changes)


WORSE = {"candidate_errors": 60}  # 6 % against 1 %: the sequential test is sure at once
SLOW = {"candidate_p99_ms": 200.0}  # above 1.25 × 100 ms
MISMATCH = {"srm_p_value": 1e-6}
QUIET = {"step_candidate_requests": 100}


def plan(**raw: Any) -> RolloutPlan:
    return parse_plan({"candidate": "Variant2", **raw}, LIVE)


def decision(action: str) -> Decision:
    return Decision(action=action, reasons=(), always_valid_p=1.0, candidate_rate=0.0, baseline_rate=0.0)  # type: ignore[arg-type]


# --- each rule ---------------------------------------------------------------------------------


def test_healthy_step_is_promoted_with_the_checks_it_passed() -> None:
    result = judge(observe(), SETTINGS)
    assert result.action == "promote"
    assert result.candidate_rate == pytest.approx(0.01)
    assert result.baseline_rate == pytest.approx(0.01)
    assert result.always_valid_p == 1.0
    text = " ".join(result.reasons)
    assert "No alarm in ALARM." in text
    assert "1.00 % (10 of 1000 requests) vs baseline 1.00 % (90 of 9000)" in text
    assert "110.0 ms is within 1.25 × the baseline's 100.0 ms" in text
    assert "1000 requests in this step (minimum 500)" in text


def test_alarm_rolls_back() -> None:
    result = judge(observe(alarms_in_alarm=(ALARM, "other")), SETTINGS)
    assert result.action == "rollback"
    assert result.reasons == (f"Alarm(s) in ALARM: {ALARM}, other.",)


def test_worse_error_rate_rolls_back() -> None:
    result = judge(observe(**WORSE), SETTINGS)
    assert result.action == "rollback"
    (reason,) = result.reasons
    assert reason.startswith("The sequential test finds the candidate worse")
    assert "6.00 % (60 of 1000 requests) vs baseline 1.00 % (90 of 9000), +5.00 points" in reason
    assert "<= alpha 0.05" in reason
    assert result.always_valid_p <= 0.05
    assert result.candidate_rate == pytest.approx(0.06)


def test_a_small_difference_is_not_enough_evidence() -> None:
    # 1.2 % against 1 % on a thousand requests: could be noise, so no verdict yet.
    result = judge(observe(candidate_errors=12), SETTINGS)
    assert result.action == "promote"
    assert result.always_valid_p > 0.05


def test_better_candidate_is_promoted_and_said_to_be_better() -> None:
    result = judge(
        observe(candidate_requests=20000, candidate_errors=0, baseline_requests=20000, baseline_errors=600),
        SETTINGS,
    )
    assert result.action == "promote"
    assert any(reason.startswith("Error rate better") for reason in result.reasons)


def test_tolerated_error_rate_increase_is_not_rolled_back() -> None:
    tolerant = dataclasses.replace(SETTINGS, max_error_rate_increase=0.06)
    result = judge(observe(**WORSE), tolerant)
    assert result.action == "promote"
    assert any("higher but within tolerance" in reason for reason in result.reasons)


def test_increase_beyond_the_tolerance_rolls_back() -> None:
    tolerant = dataclasses.replace(SETTINGS, max_error_rate_increase=0.02)
    result = judge(observe(**WORSE), tolerant)
    assert result.action == "rollback"
    assert "more than the tolerated 2.00 points" in result.reasons[0]


def test_slow_candidate_rolls_back() -> None:
    result = judge(observe(**SLOW), SETTINGS)
    assert result.action == "rollback"
    assert result.reasons == (
        "Candidate p99 latency 200.0 ms is above 1.25 × the baseline's 100.0 ms (limit 125.0 ms).",
    )


def test_latency_exactly_at_the_limit_passes() -> None:
    assert judge(observe(candidate_p99_ms=125.0), SETTINGS).action == "promote"


@pytest.mark.parametrize("missing", ["candidate_p99_ms", "baseline_p99_ms"])
def test_latency_without_data_is_not_judged(missing: str) -> None:
    result = judge(observe(**{**SLOW, missing: None}), SETTINGS)
    assert result.action == "promote"
    assert any("p99 latency not judged" in reason for reason in result.reasons)


def test_latency_is_not_judged_on_too_few_step_requests() -> None:
    # A handful of slow requests is noise: hold for traffic instead of rolling back.
    result = judge(observe(**SLOW, **QUIET), SETTINGS)
    assert result.action == "hold"


def test_sample_ratio_mismatch_holds() -> None:
    result = judge(observe(**MISMATCH), SETTINGS)
    assert result.action == "hold"
    (reason,) = result.reasons
    assert "Sample-ratio mismatch in this step (p = 1e-06 < 0.001)" in reason
    assert "unsound" in reason


@pytest.mark.parametrize("p_value", [None, 0.001, 0.2])
def test_no_mismatch_at_or_above_the_threshold(p_value: float | None) -> None:
    assert judge(observe(srm_p_value=p_value), SETTINGS).action == "promote"


def test_srm_threshold_zero_turns_the_check_off() -> None:
    assert judge(observe(srm_p_value=0.0), dataclasses.replace(SETTINGS, srm_p_value=0.0)).action == "promote"


def test_not_enough_traffic_holds() -> None:
    result = judge(observe(**QUIET), SETTINGS)
    assert result.action == "hold"
    assert result.reasons == ("Not enough traffic yet: the candidate got 100 requests in this step, 500 needed.",)


def test_exactly_min_requests_is_enough() -> None:
    assert judge(observe(step_candidate_requests=500), SETTINGS).action == "promote"


def test_no_traffic_at_all_holds_without_a_verdict() -> None:
    empty = observe(
        candidate_requests=0, candidate_errors=0, step_candidate_requests=0, candidate_p99_ms=None, srm_p_value=None
    )
    result = judge(empty, SETTINGS)
    assert result.action == "hold"
    assert result.always_valid_p == 1.0


def test_previous_p_is_carried_and_never_grows() -> None:
    first = judge(observe(candidate_errors=20), SETTINGS)
    assert first.action == "promote"
    second = judge(observe(candidate_errors=10), SETTINGS, previous_p=first.always_valid_p)
    assert second.always_valid_p == first.always_valid_p


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="must not exceed"):
        judge(observe(candidate_errors=2000), SETTINGS)


def test_decisions_and_observations_are_frozen() -> None:
    result = judge(observe(), SETTINGS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.action = "rollback"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        observe().candidate_errors = 1  # type: ignore[misc]


# --- order of the rules ------------------------------------------------------------------------


def test_alarm_comes_first_and_every_rollback_reason_is_listed() -> None:
    result = judge(observe(alarms_in_alarm=(ALARM,), **WORSE, **SLOW, **MISMATCH), SETTINGS)
    assert result.action == "rollback"
    assert len(result.reasons) == 3
    assert result.reasons[0].startswith("Alarm(s) in ALARM")
    assert result.reasons[1].startswith("The sequential test finds the candidate worse")
    assert result.reasons[2].startswith("Candidate p99 latency 200.0 ms is above")


def test_statistic_comes_before_latency() -> None:
    result = judge(observe(**WORSE, **SLOW), SETTINGS)
    assert result.reasons[0].startswith("The sequential test")


@pytest.mark.parametrize("bad", [WORSE, SLOW, {"alarms_in_alarm": (ALARM,)}])
def test_rollbacks_come_before_a_mismatch_hold(bad: dict[str, Any]) -> None:
    # Errors and latency on a skewed split are still real: rolling back is safe, promoting is not.
    assert judge(observe(**bad, **MISMATCH), SETTINGS).action == "rollback"


def test_worse_error_rate_rolls_back_even_on_little_step_traffic() -> None:
    assert judge(observe(**WORSE, **QUIET), SETTINGS).action == "rollback"


def test_mismatch_comes_before_not_enough_traffic() -> None:
    result = judge(observe(**MISMATCH, **QUIET), SETTINGS)
    assert result.action == "hold"
    assert result.reasons[0].startswith("Sample-ratio mismatch")
    assert result.reasons[1].startswith("Not enough traffic yet")


# --- next_action: every path -------------------------------------------------------------------


def test_promote_moves_to_the_next_step() -> None:
    assert next_action(judge(observe(), SETTINGS), 0, plan(), 0) == "next_step"
    assert next_action(judge(observe(), SETTINGS), 0, plan(), 2) == "next_step"


def test_promote_at_100_percent_completes() -> None:
    assert next_action(judge(observe(), SETTINGS), 0, plan(), 3) == "complete"
    assert next_action(judge(observe(), SETTINGS), 0, plan(steps=[100]), 0) == "complete"


def test_hold_then_promote() -> None:
    rollout = plan()
    assert next_action(judge(observe(**QUIET), SETTINGS), 0, rollout, 0) == "judge_again"
    assert next_action(judge(observe(), SETTINGS), 1, rollout, 0) == "next_step"


def test_holds_within_the_limit_judge_again() -> None:
    hold = judge(observe(**QUIET), SETTINGS)
    assert [next_action(hold, holds, plan(), 1) for holds in range(3)] == ["judge_again"] * 3


def test_hold_limit_rolls_back_by_default() -> None:
    hold = judge(observe(**QUIET), SETTINGS)
    assert next_action(hold, 3, plan(), 1) == "rollback"


def test_hold_limit_stops_when_asked() -> None:
    hold = judge(observe(**MISMATCH), SETTINGS)
    assert next_action(hold, 3, plan(on_hold_limit="stop"), 1) == "stop"


def test_no_holds_allowed() -> None:
    hold = judge(observe(**QUIET), SETTINGS)
    assert next_action(hold, 0, plan(max_holds=0), 0) == "rollback"
    assert next_action(hold, 0, plan(max_holds=0, on_hold_limit="stop"), 0) == "stop"


def test_rollback_on_alarm() -> None:
    assert next_action(judge(observe(alarms_in_alarm=(ALARM,)), SETTINGS), 0, plan(), 1) == "rollback"


def test_rollback_on_the_statistic() -> None:
    assert next_action(judge(observe(**WORSE), SETTINGS), 0, plan(), 0) == "rollback"


def test_rollback_at_the_last_step_is_still_a_rollback() -> None:
    assert next_action(decision("rollback"), 0, plan(), 3) == "rollback"


@pytest.mark.parametrize(("holds", "step"), [(0, -1), (0, 4), (-1, 0)])
def test_next_action_refuses_impossible_positions(holds: int, step: int) -> None:
    with pytest.raises(ValueError, match=r"step_index|holds_so_far"):
        next_action(decision("promote"), holds, plan(), step)
