"""The offline rollout replay: each built-in scenario's outcome, file input, and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollout.decision import Observation
from rollout.plan import InvalidPlan
from scripts.rollout_replay import DEFAULT_LIVE_WEIGHTS, DEFAULT_PLAN, SCENARIOS, main, replay

RESTORED = {"Variant1": 1.0, "Variant2": 1.0}
TAKEN_OVER = {"Variant1": 0.0, "Variant2": 100.0}


def run(scenario: str) -> list[dict]:
    return replay(DEFAULT_PLAN, DEFAULT_LIVE_WEIGHTS, SCENARIOS[scenario])


def judged(records: list[dict]) -> list[tuple[int, str, str]]:
    """(step, decision, next) per judge round."""
    return [(r["step"], r["decision"], r["next"]) for r in records if r["event"] == "judge"]


def test_healthy_completes_through_every_step() -> None:
    records = run("healthy")
    assert judged(records) == [
        (1, "promote", "next_step"),
        (2, "promote", "next_step"),
        (3, "promote", "next_step"),
        (4, "promote", "complete"),
    ]
    assert [r["weights"]["Variant2"] for r in records[:-1]] == [10.0, 25.0, 50.0, 100.0]
    assert records[-1] == {"event": "outcome", "outcome": "complete", "weights": TAKEN_OVER, "rounds": 4}


def test_worse_errors_rolls_back_at_the_first_look() -> None:
    records = run("worse_errors")
    assert judged(records) == [(1, "rollback", "rollback")]
    assert "sequential test finds the candidate worse" in records[0]["reasons"][0]
    assert records[-1]["outcome"] == "rollback"
    assert records[-1]["weights"] == RESTORED


def test_slow_candidate_rolls_back() -> None:
    records = run("slow_candidate")
    assert judged(records) == [(1, "rollback", "rollback")]
    assert "p99 latency 250.0 ms" in records[0]["reasons"][0]
    assert records[-1]["outcome"] == "rollback"


def test_alarm_rolls_back_at_the_second_step() -> None:
    records = run("alarm")
    assert judged(records) == [(1, "promote", "next_step"), (2, "rollback", "rollback")]
    assert records[1]["reasons"] == ["Alarm(s) in ALARM: churn-ab-Variant2-Invocation5XXErrors."]
    assert records[-1] == {"event": "outcome", "outcome": "rollback", "weights": RESTORED, "rounds": 2}


def test_not_enough_traffic_holds_then_completes() -> None:
    records = run("not_enough_traffic_then_ok")
    assert judged(records) == [
        (1, "hold", "judge_again"),
        (1, "promote", "next_step"),
        (2, "promote", "next_step"),
        (3, "promote", "next_step"),
        (4, "promote", "complete"),
    ]
    assert records[0]["reasons"][0].startswith("Not enough traffic yet")
    assert [r["holds"] for r in records[:-1]] == [0, 1, 0, 0, 0]
    assert records[-1]["outcome"] == "complete"


def test_every_scenario_is_tested() -> None:
    assert set(SCENARIOS) == {"healthy", "worse_errors", "slow_candidate", "alarm", "not_enough_traffic_then_ok"}


def test_hold_limit_stops_and_keeps_the_step_weights() -> None:
    quiet = SCENARIOS["not_enough_traffic_then_ok"][0]
    records = replay({**DEFAULT_PLAN, "max_holds": 1, "on_hold_limit": "stop"}, DEFAULT_LIVE_WEIGHTS, [quiet] * 3)
    assert judged(records) == [(1, "hold", "judge_again"), (1, "hold", "stop")]
    assert records[-1] == {
        "event": "outcome",
        "outcome": "stop",
        "weights": {"Variant1": 90.0, "Variant2": 10.0},
        "rounds": 2,
    }


def test_a_stream_that_ends_early_is_incomplete() -> None:
    records = replay(DEFAULT_PLAN, DEFAULT_LIVE_WEIGHTS, SCENARIOS["healthy"][:2])
    assert records[-1] == {
        "event": "outcome",
        "outcome": "incomplete",
        "weights": {"Variant1": 50.0, "Variant2": 50.0},
        "rounds": 2,
    }


def test_observation_objects_are_accepted() -> None:
    stream = [Observation(**{**raw, "alarms_in_alarm": ()}) for raw in SCENARIOS["healthy"]]
    assert replay(DEFAULT_PLAN, DEFAULT_LIVE_WEIGHTS, stream)[-1]["outcome"] == "complete"


def test_a_bad_plan_is_refused() -> None:
    with pytest.raises(InvalidPlan, match="last step must be 100"):
        replay({**DEFAULT_PLAN, "steps": [10, 50]}, DEFAULT_LIVE_WEIGHTS, SCENARIOS["healthy"])


def test_a_bad_observation_is_refused() -> None:
    with pytest.raises(ValueError, match=r"observations\[0\]: unknown key\(s\) candidate_errs"):
        replay(DEFAULT_PLAN, DEFAULT_LIVE_WEIGHTS, [{"candidate_errs": 1}])


def test_main_prints_steps_decisions_and_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alarm"]) == 0
    out = capsys.readouterr().out
    assert "Step 1/4: candidate at 10 %; weights Variant1 90, Variant2 10" in out
    assert "round 2: rollback → rollback" in out
    assert "- Alarm(s) in ALARM: churn-ab-Variant2-Invocation5XXErrors." in out
    assert out.rstrip().endswith("Outcome after 2 judge round(s): ROLLBACK; weights Variant1 1, Variant2 1")


def test_main_reads_a_file_and_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "stream.json"
    path.write_text(
        json.dumps(
            {
                "plan": {"candidate": "B", "steps": [50, 100]},
                "live_weights": {"A": 1, "B": 0},
                "observations": SCENARIOS["healthy"][2:],
            }
        )
    )
    assert main(["--file", str(path), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records[-1] == {"event": "outcome", "outcome": "complete", "weights": {"A": 0.0, "B": 100.0}, "rounds": 2}


def test_main_reads_a_bare_list_of_observations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "stream.json"
    path.write_text(json.dumps(SCENARIOS["worse_errors"]))
    assert main(["--file", str(path)]) == 0
    assert "ROLLBACK" in capsys.readouterr().out


def test_main_reports_unusable_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "stream.json"
    path.write_text(json.dumps({"plan": {"candidate": "Nope"}, "observations": []}))
    assert main(["--file", str(path)]) == 2
    assert "candidate: 'Nope' is not a variant" in capsys.readouterr().err
