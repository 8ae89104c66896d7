"""Where a rollout is, read from a Step Functions history in GetExecutionHistory's shape.

The events are what the rollout state machine writes (constructs_lib/rollout.py): the state
carries ``$.rollout`` (lambdas/rollout/handler.py), newest event first (``reverseOrder``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from scripts.abtest.progress import progress

ARN = "arn:aws:states:us-east-1:123456789012:execution:Rollout:first"
STARTED = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
PLAN = {"candidate": "Variant2", "steps": [5, 50, 100], "bake_seconds": 600}


def _execution(status: str = "RUNNING", **extra):
    return {
        "executionArn": ARN,
        "name": "first",
        "status": status,
        "startDate": STARTED,
        "input": json.dumps(PLAN),
        **extra,
    }


def _rollout(step_index: int, share: float, action: str, holds: int = 0) -> dict:
    return {
        "rollout": {
            "endpoint": "churn-ab",
            "candidate": "Variant2",
            "baselines": ["Variant1"],
            "plan": PLAN,
            "step_index": step_index,
            "share": share,
            "holds": holds,
            "action": action,
            "reason": f"reason at {share}",
            "current_weights": {"Variant1": 100 - share, "Variant2": share},
        }
    }


def _entered(event_id: int, kind: str, name: str, document: dict) -> dict:
    return {
        "id": event_id,
        "type": f"{kind}StateEntered",
        "timestamp": STARTED,
        "stateEnteredEventDetails": {"name": name, "input": json.dumps(document)},
    }


def _exited(event_id: int, kind: str, name: str, document: dict) -> dict:
    return {
        "id": event_id,
        "type": f"{kind}StateExited",
        "timestamp": STARTED,
        "stateExitedEventDetails": {"name": name, "output": json.dumps(document)},
    }


def test_a_rollout_baking_its_second_step():
    history = [  # newest first
        _entered(30, "Wait", "Bake", _rollout(1, 50, "next_step")),
        _exited(29, "Pass", "Mark step start", _rollout(1, 50, "next_step")),
        _exited(20, "Task", "Judge", _rollout(1, 50, "next_step")),
        _exited(5, "Task", "Prepare", _rollout(0, 5, "apply")),
        {"id": 1, "type": "ExecutionStarted", "timestamp": STARTED, "executionStartedEventDetails": {"input": "{}"}},
    ]
    seen = progress(_execution(), history)
    assert (seen.state, seen.step, seen.steps, seen.share, seen.holds) == ("Bake", 2, (5.0, 50.0, 100.0), 50.0, 0)
    assert seen.candidate == "Variant2"
    assert seen.last_action == "next_step"
    assert seen.weights == {"Variant1": 50.0, "Variant2": 50.0}
    assert seen.started == STARTED.isoformat()


def test_the_newest_state_wins_even_before_it_has_an_output():
    history = [
        {"id": 12, "type": "TaskScheduled", "timestamp": STARTED},
        _entered(11, "Task", "Judge", _rollout(0, 5, "judge_again", holds=1)),
        _exited(10, "Wait", "Bake", _rollout(0, 5, "judge_again", holds=1)),
    ]
    seen = progress(_execution(), history)
    assert seen.state == "Judge"
    assert seen.holds == 1
    assert seen.last_action == "judge_again"


def test_before_prepare_the_candidate_comes_from_the_input_and_no_step_is_claimed():
    history = [
        _entered(2, "Task", "Prepare", {"candidate": "Variant2"}),
        {"id": 1, "type": "ExecutionStarted", "timestamp": STARTED},
    ]
    seen = progress(_execution(), history)
    assert (seen.state, seen.step, seen.candidate, seen.steps) == ("Prepare", None, "Variant2", (5.0, 50.0, 100.0))


def test_an_ended_execution_keeps_its_error_and_cause():
    stopped = datetime(2025, 1, 1, 13, 0, tzinfo=UTC)
    seen = progress(
        _execution("FAILED", stopDate=stopped, error="RolledBack", cause="Variant2 5XX rate above baselines"),
        [_exited(40, "Task", "Restore weights", _rollout(1, 50, "rollback"))],
    )
    assert (seen.status, seen.error, seen.cause, seen.stopped) == (
        "FAILED",
        "RolledBack",
        "Variant2 5XX rate above baselines",
        stopped.isoformat(),
    )
    assert seen.last_action == "rollback"
