"""The offline rollout replay: each built-in scenario's outcome, file input, --judge-batch, the command line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rollout.plan import InvalidPlan
from scripts.rollout_replay import DEFAULT_LIVE_WEIGHTS, DEFAULT_PLAN, SCENARIOS, _bake, judge_batch, main, replay

ROOT = Path(__file__).resolve().parent.parent
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
        (4, "complete", "complete"),
    ]
    assert [r["weights"]["Variant2"] for r in records[:-1]] == [10.0, 25.0, 50.0, 100.0]
    assert records[-1] == {"event": "outcome", "outcome": "complete", "weights": TAKEN_OVER, "rounds": 4}


def test_worse_errors_rolls_back_at_the_first_look() -> None:
    records = run("worse_errors")
    assert judged(records) == [(1, "rollback", "rollback")]
    assert records[0]["rule"] == "errors" and "5XX rate is higher" in records[0]["reasons"][0]
    assert records[-1]["weights"] == RESTORED


def test_slow_candidate_rolls_back() -> None:
    records = run("slow_candidate")
    assert judged(records) == [(1, "rollback", "rollback")]
    # 2.5 × as slow at p99, corrected for the nearest-rank offsets of 100 against 900 requests
    # (rollout.rank_bias; σ̂ = log 4 / Φ⁻¹(0.99) from p50 = p99 / 4): 2.5 · exp(0.596 · (0.178 - 0.023)).
    assert "typical p99 ratio 2.74" in records[0]["reasons"][0]


def test_alarm_rolls_back_at_the_second_step() -> None:
    records = run("alarm")
    assert judged(records) == [(1, "promote", "next_step"), (2, "rollback", "rollback")]
    assert records[1]["reasons"] == ["Alarm(s) in ALARM: churn-ab-Variant2-Invocation5XXErrors."]
    assert records[-1] == {"event": "outcome", "outcome": "rollback", "weights": RESTORED, "rounds": 2}


def test_not_enough_traffic_holds_then_completes() -> None:
    records = run("not_enough_traffic_then_ok")
    assert [d for _, d, _ in judged(records)] == ["hold", "promote", "promote", "promote", "complete"]
    assert records[0]["reasons"][0].startswith("Not enough traffic yet")
    assert [r["holds"] for r in records[:-1]] == [0, 1, 0, 0, 0]


def test_every_scenario_is_tested() -> None:
    assert set(SCENARIOS) == {"healthy", "worse_errors", "slow_candidate", "alarm", "not_enough_traffic_then_ok"}


def test_hold_limit_stops_and_keeps_the_step_weights() -> None:
    quiet = SCENARIOS["not_enough_traffic_then_ok"][0]
    # bake_seconds 6,000 passes the start check at the quiet bake's traffic; the stream's bakes stay
    # 10 minutes long, as if traffic had fallen after the start.
    plan = {**DEFAULT_PLAN, "max_holds": 1, "on_hold_limit": "stop", "bake_seconds": 6_000}
    records = replay(plan, DEFAULT_LIVE_WEIGHTS, [quiet] * 3)
    assert judged(records) == [(1, "hold", "judge_again"), (1, "stop", "stop")]
    assert records[-1]["weights"] == {"Variant1": 90.0, "Variant2": 10.0}


def test_a_base_rate_rising_for_everyone_does_not_roll_back() -> None:
    # The endpoint's 5XX rate doubles each step for both variants alike.
    bakes = [_bake(s, candidate_error_rate=r, baseline_error_rate=r) for s, r in [(10, 0.01), (25, 0.02), (50, 0.04)]]
    bakes.append(_bake(100, candidate_error_rate=0.08))
    assert run_bakes(bakes)[-1]["outcome"] == "complete"


def run_bakes(bakes: list[dict]) -> list[dict]:
    return replay(DEFAULT_PLAN, DEFAULT_LIVE_WEIGHTS, bakes)


def test_a_bad_plan_is_refused() -> None:
    with pytest.raises(InvalidPlan, match="last step must be 100"):
        replay({**DEFAULT_PLAN, "steps": [10, 50]}, DEFAULT_LIVE_WEIGHTS, SCENARIOS["healthy"])


def test_a_bad_bake_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"bakes\[0\].minutes\[0\].Variant2.errors_5xx: 9 errors"):
        replay(DEFAULT_PLAN, DEFAULT_LIVE_WEIGHTS, [{"minutes": [{"Variant2": {"invocations": 5, "errors_5xx": 9}}]}])


# --- --judge-batch ----------------------------------------------------------------------------------


def request(bakes: list[dict], step_index: int, holds: int = 0, plan: dict | None = None) -> dict:
    """A --judge-batch request from bakes, with the weights each step had (as the Lambda records them)."""
    minutes = []
    for share, bake in bakes:
        for m in bake["minutes"]:
            minutes.append({"weights": {"Variant1": 100.0 - share, "Variant2": share}, "variants": m})
    return {"plan": plan or DEFAULT_PLAN, "step_index": step_index, "holds": holds, "minutes": minutes}


HEALTHY_10 = (10, _bake(10))
WORSE_10 = (10, _bake(10, candidate_error_rate=0.03))
QUIET_10 = (10, _bake(10, requests_per_minute=200))


def test_judge_batch_answers_each_request_in_order() -> None:
    answers = judge_batch(
        [
            request([HEALTHY_10], 0),
            request([WORSE_10], 0),
            request([QUIET_10], 0),
            request([QUIET_10], 0, holds=3),
            request([HEALTHY_10, (25, _bake(25)), (50, _bake(50)), (100, _bake(100))], 3),
        ]
    )
    assert [a["action"] for a in answers] == ["promote", "rollback", "hold", "rollback", "complete"]
    assert answers[3]["reason"].startswith("Hold limit reached (3 hold(s), max_holds 3): rollback.")
    assert all(set(a) == {"action", "reason"} for a in answers)


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        ({"plan": {}}, "stdin must be a JSON array"),
        ([{"plan": DEFAULT_PLAN, "minutes": [], "step": 0}], r"requests\[0\]: unknown key\(s\) step"),
        ([{"plan": {"candidate": "Nope"}, "minutes": [], "step_index": 0}], r"requests\[0\].plan: .*Nope"),
        ([{"plan": DEFAULT_PLAN, "minutes": "x"}], r"requests\[0\].minutes: must be a list"),
        ([{"plan": DEFAULT_PLAN, "minutes": [], "step_index": 9}], r"requests\[0\].step_index: the plan has 4 steps"),
        ([{"plan": DEFAULT_PLAN, "minutes": [], "holds": -1}], r"requests\[0\].holds: must be a whole number"),
    ],
)
def test_judge_batch_refuses_bad_requests_naming_the_field(requests, message) -> None:
    with pytest.raises(ValueError, match=message):
        judge_batch(requests)


def test_the_judge_batch_command_reads_stdin_and_writes_stdout(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps([request([WORSE_10], 0), request([HEALTHY_10], 0)])))
    assert main(["--judge-batch"]) == 0
    assert [a["action"] for a in json.loads(capsys.readouterr().out)] == ["rollback", "promote"]


def test_the_judge_batch_command_runs_as_one_process() -> None:
    batch = json.dumps([request([HEALTHY_10], 0)] * 3)
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "rollout_replay.py"), "--judge-batch"],
        input=batch, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [a["action"] for a in json.loads(done.stdout)] == ["promote"] * 3


def test_the_judge_batch_command_reports_unusable_input(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("[{"))
    assert main(["--judge-batch"]) == 2
    assert capsys.readouterr().err.startswith("rollout_replay: ")


# --- the command line -------------------------------------------------------------------------------


def test_main_prints_steps_decisions_and_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alarm"]) == 0
    out = capsys.readouterr().out
    assert "Step 1/4: candidate at 10 %; weights Variant1 90, Variant2 10" in out
    assert "round 2: rollback → rollback (alarm)" in out
    assert out.rstrip().endswith("Outcome after 2 judge round(s): ROLLBACK; weights Variant1 1, Variant2 1")


def test_main_reads_a_file_and_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "stream.json"
    bakes = [_bake(50), _bake(100)]
    for bake in bakes:  # a plan over variants A and B instead
        bake["minutes"] = [{"B": m["Variant2"], "A": m["Variant1"]} for m in bake["minutes"]]
    path.write_text(json.dumps({"plan": {"candidate": "B", "steps": [50, 100]}, "live_weights": {"A": 1, "B": 0},
                                "bakes": bakes}))  # fmt: skip
    assert main(["--file", str(path), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records[-1] == {"event": "outcome", "outcome": "complete", "weights": {"A": 0.0, "B": 100.0}, "rounds": 2}


def test_main_reports_unusable_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "stream.json"
    path.write_text(json.dumps({"plan": {"candidate": "Nope"}, "bakes": []}))
    assert main(["--file", str(path)]) == 2
    assert "candidate: 'Nope' is not a variant" in capsys.readouterr().err


def test_a_plan_the_first_bakes_traffic_cannot_support_is_refused_before_any_judge() -> None:
    # 1 % of 1,000 requests a minute: 10 a minute, at most 360 in the 36 minutes the judge reads of
    # 10-minute bakes (the default 15-minute bakes read 56 minutes: 560, enough).
    plan = {**DEFAULT_PLAN, "steps": [1, 5, 25, 100], "bake_seconds": 600}
    records = replay(plan, DEFAULT_LIVE_WEIGHTS, SCENARIOS["healthy"])
    assert [r["event"] for r in records] == ["outcome"]
    assert records[0]["outcome"] == "refused" and records[0]["weights"] == DEFAULT_LIVE_WEIGHTS
    assert records[0]["reason"].startswith("step 1 (1 %) cannot gather judge.min_requests")


def test_the_refusal_is_printed_with_exit_status_0(tmp_path: Path, capsys) -> None:
    stream = tmp_path / "quiet.json"
    stream.write_text(json.dumps([{"minutes": []}]))  # no traffic at all
    assert main(["--file", str(stream)]) == 0
    printed = capsys.readouterr().out
    assert "REFUSED" in printed and "no traffic to estimate from" in printed
