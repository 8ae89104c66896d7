"""The rollout state machine's Lambda steps: prepare, judge, and restore after a manual stop.

The state travels through the execution as one object (``$.rollout``)::

    {"endpoint": ..., "candidate": ..., "baselines": [...], "plan": {...the execution input...},
     "original_weights": {...}, "step_index": 0, "share": 10, "current_weights": {...},
     "bake_seconds": 600, "holds": 0, "started_at": ..., "step_started_at": ...,
     "applied": {"at": ...}, "weights_log": [{"at": ..., "weights": {...}}, ...],
     "action": "apply" | "next_step" | "judge_again" | "complete" | "rollback" | "stop",
     "decision": {...}, "reason": "..."}

Weights are applied by the set-weights Lambda (a task of the state machine), never here, so
every weight change goes through the one function that validates and waits.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from endpoint_weights.endpoint import RETRY_CONFIG, describe, sagemaker_client
from endpoint_weights.variant_metrics import invocations_per_variant
from rollout.decision import judge as judge_history
from rollout.observe import alarms_in_alarm, history
from rollout.plan import InvalidPlan, parse_plan, required_instances, step_weights

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


CAPACITY_LOOKBACK = timedelta(minutes=15)  # traffic rate used to size the candidate


def _capacity_setting(raw: Mapping[str, Any]) -> float | None:
    """``capacity.invocations_per_instance_per_minute`` from the execution input, if given."""
    capacity = raw.get("capacity")
    if capacity is None:
        return None
    if not isinstance(capacity, Mapping) or set(capacity) != {"invocations_per_instance_per_minute"}:
        raise RolloutRefused('capacity must be {"invocations_per_instance_per_minute": <number > 0>}')
    value = capacity["invocations_per_instance_per_minute"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise RolloutRefused(f"capacity.invocations_per_instance_per_minute must be a number > 0 (got {value!r})")
    return float(value)


def _traffic_per_minute(cloudwatch: Any, endpoint: str, variants: list[str], now: datetime) -> float:
    counts = invocations_per_variant(cloudwatch, endpoint, variants, now - CAPACITY_LOOKBACK, now)
    return sum(counts.values()) / (CAPACITY_LOOKBACK.total_seconds() / 60)


def capacity_for_step(state: Mapping[str, Any], share: float, cloudwatch: Any, now: datetime) -> dict[str, int]:
    """Instance count the candidate needs before it takes ``share`` % (empty: no change needed).

    Only with ``capacity`` in the execution input. SageMaker changes one variant's capacity per
    call; the set-weights Lambda does exactly that.
    """
    per_instance = _capacity_setting(state["plan"])
    if per_instance is None:
        return {}
    candidate = state["candidate"]
    current = int(state["current_instance_counts"].get(candidate) or 1)
    traffic = _traffic_per_minute(cloudwatch, state["endpoint"], [candidate, *state["baselines"]], now)
    needed = required_instances(traffic, share, per_instance, current)
    return {candidate: needed} if needed > current else {}


def prepare(
    event: dict[str, Any], context: Any, *, sagemaker: Any = None, stepfunctions: Any = None, cloudwatch: Any = None
) -> dict[str, Any]:
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
    sagemaker = sagemaker or sagemaker_client()
    original = _live_weights(sagemaker, endpoint_name)
    _capacity_setting(raw)
    try:
        plan = parse_plan({k: v for k, v in raw.items() if k != "capacity"}, original)
    except InvalidPlan as err:
        raise RolloutRefused(f"invalid rollout request: {err}") from err
    endpoint_state = describe(sagemaker, endpoint_name)
    counts = {name: v.current_instance_count for name, v in endpoint_state.variants.items()} if endpoint_state else {}
    now = _now()
    share = plan.steps[0]
    state: dict[str, Any] = {
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
        "started_at": now.isoformat(),
        "step_started_at": now.isoformat(),
        "action": "apply",
        "reason": f"rollout of {plan.candidate} starts at {share:g} %",
        "original_instance_counts": counts,
        "current_instance_counts": dict(counts),
    }
    state["instance_counts"] = capacity_for_step(
        state, share, cloudwatch or boto3.client("cloudwatch", config=RETRY_CONFIG), now
    )
    _note_capacity(state)
    LOG.info("rollout prepared", extra={"rollout": state})
    return state


def _note_capacity(state: dict[str, Any]) -> None:
    """Record a raised count, and what rollback must put back: only what the rollout raised."""
    raised = state["instance_counts"]
    state["current_instance_counts"].update(raised)
    restore = dict(state.get("restore_instance_counts") or {})
    for name in raised:
        original = state["original_instance_counts"].get(name)
        if original is not None:  # serverless variants have no instance count
            restore[name] = original
    state["restore_instance_counts"] = restore


def _weights_log(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The state's log of applied steps, with the step being judged added if it is new.

    Each entry is ``{"at": <when the weights went live>, "weights": {...}}``: "Mark step start"
    records ``applied.at`` after each weight change (a hold bakes again without one).
    """
    log = [dict(entry) for entry in state.get("weights_log") or []]
    applied = (state.get("applied") or {}).get("at") or state["step_started_at"]
    if not log or log[-1]["at"] != applied:
        log.append({"at": applied, "weights": dict(state["current_weights"])})
    return log


def judge(event: dict[str, Any], context: Any, *, cloudwatch: Any = None, sagemaker: Any = None) -> dict[str, Any]:
    """Judge the step that just baked on the per-minute history since the rollout began; return the
    state with the next action (``rollout.decision`` decides; this only gathers and acts)."""
    state = dict(event)
    state.pop("previous_p", None)  # the judge carries no statistic between looks any more
    cloudwatch = cloudwatch or boto3.client("cloudwatch", config=RETRY_CONFIG)
    live = describe(sagemaker or sagemaker_client(), state["endpoint"])
    if live is not None:  # autoscaling may have moved counts since the last look
        state["current_instance_counts"] = {n: v.current_instance_count for n, v in live.variants.items()}
    plan = parse_plan({k: v for k, v in state["plan"].items() if k != "capacity"}, state["original_weights"])
    alarms = json.loads(os.environ.get("VARIANT_ALARMS", "{}")).get(plan.candidate, [])
    now = _now()
    state["weights_log"] = _weights_log(state)
    minutes = history(
        cloudwatch,
        endpoint=state["endpoint"],
        variants=[plan.candidate, *plan.baselines],
        weights_log=state["weights_log"],
        now=now,
    )
    verdict = judge_history(
        minutes, plan, int(state["step_index"]), int(state["holds"]), alarms_in_alarm(cloudwatch, alarms)
    )
    action = verdict.next_action
    state.update(
        decision={
            "action": verdict.action,
            "rule": verdict.rule,
            "reasons": list(verdict.reasons),
            "minutes": len(minutes),
            "step_candidate_requests": verdict.step_candidate_requests,
            "srm_p_value": verdict.srm_p_value,
            "errors": asdict(verdict.errors),
            "latency": asdict(verdict.latency),
        },
        action=action,
        reason="; ".join(verdict.reasons),
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
        state["instance_counts"] = capacity_for_step(state, share, cloudwatch, now)
        _note_capacity(state)
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
    latest = None  # the last rollout state: Prepare's, or a later Judge's (with raised capacity)
    for page in stepfunctions.get_paginator("get_execution_history").paginate(executionArn=execution):
        for history_event in page["events"]:
            details = history_event.get("stateExitedEventDetails")
            if details and details.get("name") in ("Prepare", "Judge"):
                latest = json.loads(details["output"])["rollout"]
    if latest is None:
        LOG.info("stopped before Prepare finished: no weight was changed", extra={"execution": execution})
        return {"restored": False, "reason": "stopped before any weight changed"}
    request = {"weights": latest["original_weights"], "instance_counts": latest.get("restore_instance_counts") or {}}
    result = set_weights(request, context, client=sagemaker)
    LOG.info("weights restored after a stop", extra={"execution": execution, "weights": result["weights"]})
    return {"restored": True, "weights": result["weights"]}
