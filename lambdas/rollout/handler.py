"""The rollout state machine's Lambda steps: prepare, judge, and restore after a manual stop.

The state travels through the execution as one object (``$.rollout``)::

    {"endpoint": ..., "candidate": ..., "baselines": [...], "plan": {...the execution input...},
     "original_weights": {...}, "step_index": 0, "share": 10, "current_weights": {...},
     "bake_seconds": 600, "holds": 0, "previous_p": 1.0, "started_at": ..., "step_started_at": ...,
     "action": "apply" | "next_step" | "judge_again" | "complete" | "rollback" | "stop",
     "decision": {...}, "reason": "..."}

Weights are applied by the set-weights Lambda (a task of the state machine), never here, so
every weight change goes through the one function that validates and waits.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import boto3

from endpoint_weights.endpoint import RETRY_CONFIG, describe, sagemaker_client
from rollout.decision import judge as judge_observation
from rollout.decision import next_action
from rollout.observe import observe
from rollout.plan import InvalidPlan, parse_plan, step_weights

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)


class RolloutRefused(RuntimeError):
    """The rollout cannot start; nothing was changed."""


def _now() -> datetime:
    return datetime.now(UTC)


def _live_weights(client: Any, endpoint_name: str) -> dict[str, float]:
    state = describe(client, endpoint_name)
    if state is None:
        raise RolloutRefused(f"endpoint {endpoint_name} does not exist")
    if state.status != "InService":
        raise RolloutRefused(f"endpoint {endpoint_name} is {state.status}, not InService: no rollout started")
    return state.current_weights


def prepare(event: dict[str, Any], context: Any, *, sagemaker: Any = None, stepfunctions: Any = None) -> dict[str, Any]:
    """Check everything before any weight changes; return the rollout state for step 1.

    Event: ``{"input": <execution input>, "execution": <execution ARN>, "state_machine": <ARN>}``.
    """
    endpoint_name = os.environ["ENDPOINT_NAME"]
    raw = event.get("input") or {}
    stepfunctions = stepfunctions or boto3.client("stepfunctions", config=RETRY_CONFIG)
    running = [
        e["executionArn"]
        for page in stepfunctions.get_paginator("list_executions").paginate(
            stateMachineArn=event["state_machine"], statusFilter="RUNNING"
        )
        for e in page["executions"]
        if e["executionArn"] != event["execution"]
    ]
    if running:
        raise RolloutRefused(f"another rollout is running on {endpoint_name}: {running[0]}; stop it first")
    original = _live_weights(sagemaker or sagemaker_client(), endpoint_name)
    try:
        plan = parse_plan(raw, original)
    except InvalidPlan as err:
        raise RolloutRefused(f"invalid rollout request: {err}") from err
    now = _now().isoformat()
    share = plan.steps[0]
    state = {
        "endpoint": endpoint_name,
        "candidate": plan.candidate,
        "baselines": list(plan.baselines),
        "plan": raw,
        "original_weights": original,
        "step_index": 0,
        "share": share,
        "current_weights": step_weights(original, plan, share),
        "bake_seconds": plan.bake_seconds,
        "holds": 0,
        "previous_p": 1.0,
        "started_at": now,
        "step_started_at": now,
        "action": "apply",
        "reason": f"rollout of {plan.candidate} starts at {share:g} %",
    }
    LOG.info("rollout prepared", extra={"rollout": state})
    return state


def judge(event: dict[str, Any], context: Any, *, cloudwatch: Any = None) -> dict[str, Any]:
    """Judge the step that just baked; return the state with the next action."""
    state = dict(event)
    plan = parse_plan(state["plan"], state["original_weights"])
    alarms = json.loads(os.environ.get("VARIANT_ALARMS", "{}")).get(plan.candidate, [])
    now = _now()
    observation = observe(
        cloudwatch or boto3.client("cloudwatch", config=RETRY_CONFIG),
        endpoint=state["endpoint"],
        candidate=plan.candidate,
        baselines=plan.baselines,
        started_at=datetime.fromisoformat(state["started_at"]),
        step_started_at=datetime.fromisoformat(state["step_started_at"]),
        now=now,
        alarm_names=alarms,
        step_weights=state["current_weights"],
    )
    decision = judge_observation(observation, plan.judge, previous_p=float(state["previous_p"]))
    action = next_action(decision, int(state["holds"]), plan, int(state["step_index"]))
    state.update(
        previous_p=decision.always_valid_p,
        decision={**asdict(decision), "observation": asdict(observation)},
        action=action,
        reason="; ".join(decision.reasons),
    )
    if action == "next_step":
        index = int(state["step_index"]) + 1
        share = plan.steps[index]
        state.update(
            step_index=index,
            share=share,
            holds=0,
            current_weights=step_weights(state["original_weights"], plan, share),
            step_started_at=now.isoformat(),
        )
    elif action == "judge_again":
        state["holds"] = int(state["holds"]) + 1
    elif action == "complete":
        state["reason"] = f"{plan.candidate} serves 100 %: ready to retire {', '.join(plan.baselines)}"
    LOG.info("rollout decision", extra={"action": action, "reason": state["reason"]})
    return state


def restore_after_stop(
    event: dict[str, Any], context: Any, *, stepfunctions: Any = None, sagemaker: Any = None
) -> dict[str, Any]:
    """EventBridge: an execution was stopped by hand (or timed out): put the weights back.

    The weights from before the rollout are in the output of the execution's Prepare state.
    """
    from set_weights.handler import handle as set_weights

    execution = event["detail"]["executionArn"]
    stepfunctions = stepfunctions or boto3.client("stepfunctions", config=RETRY_CONFIG)
    original = None
    for page in stepfunctions.get_paginator("get_execution_history").paginate(executionArn=execution):
        for history_event in page["events"]:
            details = history_event.get("stateExitedEventDetails")
            if details and details.get("name") == "Prepare":
                original = json.loads(details["output"])["rollout"]["original_weights"]
    if original is None:
        LOG.info("stopped before Prepare finished: no weight was changed", extra={"execution": execution})
        return {"restored": False, "reason": "stopped before any weight changed"}
    result = set_weights({"weights": original}, context, client=sagemaker)
    LOG.info("weights restored after a stop", extra={"execution": execution, "weights": result["weights"]})
    return {"restored": True, "weights": result["weights"]}
