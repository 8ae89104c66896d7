"""Where a rollout execution is, read from its Step Functions history. No AWS in here.

The state machine (constructs_lib/rollout.py) carries the whole rollout as ``$.rollout`` from
state to state (lambdas/rollout/handler.py: ``step_index``, ``share``, ``holds``, ``action``,
``reason``, ``current_weights``, ``plan``). The history's newest state-entered event names the
state the execution is in; the newest event whose input or output holds ``rollout`` says which
step it is at. Events are the GetExecutionHistory shape
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rollout.plan import DEFAULT_STEPS


@dataclass(frozen=True)
class RolloutProgress:
    """One execution's progress. ``step`` counts from 1; ``None`` before Prepare has run."""

    execution_arn: str
    name: str
    status: str
    started: str
    stopped: str | None = None
    state: str | None = None
    candidate: str | None = None
    step: int | None = None
    steps: tuple[float, ...] = DEFAULT_STEPS
    share: float | None = None
    holds: int | None = None
    last_action: str | None = None
    reason: str | None = None
    weights: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None
    cause: str | None = None


def _rollout_of(document: str | None) -> dict[str, Any] | None:
    if not document:
        return None
    try:
        data = json.loads(document)
    except ValueError:
        return None
    rollout = data.get("rollout") if isinstance(data, dict) else None
    return rollout if isinstance(rollout, dict) else None


def _steps(plan: Any) -> tuple[float, ...]:
    steps = plan.get("steps") if isinstance(plan, Mapping) else None
    if isinstance(steps, Sequence) and not isinstance(steps, str) and steps:
        try:
            return tuple(float(s) for s in steps)
        except (TypeError, ValueError):
            return DEFAULT_STEPS
    return DEFAULT_STEPS


def progress(execution: Mapping[str, Any], newest_first: Iterable[Mapping[str, Any]]) -> RolloutProgress:
    """``execution``: DescribeExecution's answer; ``newest_first``: its history, newest event first."""
    state: str | None = None
    rollout: dict[str, Any] | None = None
    for event in newest_first:
        entered = event.get("stateEnteredEventDetails")
        exited = event.get("stateExitedEventDetails")
        if state is None and entered:
            state = entered.get("name")
        if rollout is None:
            rollout = _rollout_of((exited or {}).get("output")) or _rollout_of((entered or {}).get("input"))
        if state is not None and rollout is not None:
            break
    started = execution.get("startDate")
    stopped = execution.get("stopDate")
    base = {
        "execution_arn": execution["executionArn"],
        "name": execution.get("name", execution["executionArn"].rsplit(":", 1)[-1]),
        "status": execution["status"],
        "started": started.isoformat() if isinstance(started, datetime) else str(started),
        "stopped": stopped.isoformat() if isinstance(stopped, datetime) else None,
        "state": state,
        "error": execution.get("error"),
        "cause": execution.get("cause"),
    }
    if rollout is None:
        plan = _plan_from_input(execution.get("input"))
        return RolloutProgress(**base, candidate=plan.get("candidate"), steps=_steps(plan))
    return RolloutProgress(
        **base,
        candidate=rollout.get("candidate"),
        step=int(rollout["step_index"]) + 1 if "step_index" in rollout else None,
        steps=_steps(rollout.get("plan")),
        share=float(rollout["share"]) if "share" in rollout else None,
        holds=int(rollout["holds"]) if "holds" in rollout else None,
        last_action=rollout.get("action"),
        reason=rollout.get("reason"),
        weights={k: float(v) for k, v in (rollout.get("current_weights") or {}).items()},
    )


def _plan_from_input(document: Any) -> dict[str, Any]:
    try:
        data = json.loads(document) if isinstance(document, str) else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
