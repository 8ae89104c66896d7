"""The rollout state machine's Lambda steps: prepare, judge, and the settling of every finished execution.

The state travels through the execution as one object (``$.rollout``)::

    {"endpoint": ..., "candidate": ..., "baselines": [...], "plan": {...the execution input...},
     "original_weights": {...}, "step_index": 0, "share": 10, "current_weights": {...},
     "bake_seconds": 900, "holds": 0, "started_at": ..., "step_started_at": ...,
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
from rollout import lock
from rollout.decision import judge as judge_history
from rollout.observe import alarms_in_alarm, history
from rollout.plan import InvalidPlan, TaskTimes, parse_plan, required_instances, step_weights
from rollout.settle import END_SETTLE_GRACE_SECONDS, ENDED, ended_deliberately, settle
from rollout.traffic_check import TRAFFIC_WINDOW_MINUTES, refusal, traffic_window

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
    """The pool's (``variants``') Invocations a minute over ``rollout.traffic_check.traffic_window``."""
    counts = invocations_per_variant(cloudwatch, endpoint, variants, *traffic_window(now))
    return sum(counts.values()) / TRAFFIC_WINDOW_MINUTES


def capacity_for_step(
    state: Mapping[str, Any], share: float, cloudwatch: Any, now: datetime, traffic: float | None = None
) -> dict[str, int]:
    """Instance count the candidate needs before it takes ``share`` % (empty: no change needed).

    Only with ``capacity`` in the execution input. SageMaker changes one variant's capacity per
    call; the set-weights Lambda does exactly that. ``traffic`` (default: read now) is the pool's
    requests a minute.
    """
    per_instance = _capacity_setting(state["plan"])
    if per_instance is None:
        return {}
    candidate = state["candidate"]
    current = int(state["current_instance_counts"].get(candidate) or 1)
    if traffic is None:
        traffic = _traffic_per_minute(cloudwatch, state["endpoint"], [candidate, *state["baselines"]], now)
    needed = required_instances(traffic, share, per_instance, current)
    return {candidate: needed} if needed > current else {}


def _task_times() -> TaskTimes:
    """The slowest an Apply step and a restore can take, from the environment the construct sets
    (``APPLY_MAX_SECONDS``, ``RESTORE_MAX_SECONDS``): part of the plan's duration check."""
    return TaskTimes(
        apply_seconds=float(os.environ["APPLY_MAX_SECONDS"]),
        restore_seconds=float(os.environ["RESTORE_MAX_SECONDS"]),
    )


def _lock_settings() -> tuple[str, timedelta, timedelta]:
    """The lock table, the rollout's timeout and the lock's lease, from the environment the
    construct sets (``LOCK_TABLE``, ``ROLLOUT_TIMEOUT_SECONDS``, ``LOCK_LEASE_SECONDS``)."""
    return (
        os.environ["LOCK_TABLE"],
        timedelta(seconds=float(os.environ["ROLLOUT_TIMEOUT_SECONDS"])),
        timedelta(seconds=float(os.environ["LOCK_LEASE_SECONDS"])),
    )


def prepare(
    event: dict[str, Any],
    context: Any,
    *,
    sagemaker: Any = None,
    dynamodb: Any = None,
    cloudwatch: Any = None,
    stepfunctions: Any = None,
) -> dict[str, Any]:
    """Take the endpoint's rollout lock, check everything before any weight changes, and return
    the rollout state for step 1. Among the checks: that every step can gather the judge's
    ``min_requests`` at the endpoint's recent traffic (``rollout.traffic_check``).

    Event: ``{"input": <execution input>, "execution": <execution ARN>, "state_machine": <ARN>}``.
    The lock comes first, so the weights recorded as "from before" cannot be another rollout's
    half-way weights; a refusal after it releases it again. A lock held by an execution that has
    already ended is settled first (its weights restored if its end needs it, the lock released).
    """
    endpoint_name = os.environ["ENDPOINT_NAME"]
    table, timeout, lease = _lock_settings()
    dynamodb = dynamodb or boto3.client("dynamodb", config=RETRY_CONFIG)
    execution = event["execution"]
    now = _now()
    try:
        lock.acquire(dynamodb, table, endpoint_name, execution, now, lease)
    except lock.LockHeld as err:
        # The holder may have ended without its end being settled (see rollout.settle): settle
        # it now and try once more. A holder that still runs keeps the endpoint.
        _settle_ended_holder(
            err, endpoint_name, table, dynamodb, stepfunctions=stepfunctions, sagemaker=sagemaker, context=context
        )
        now = _now()  # settling may have taken minutes: the lease starts now
        try:
            lock.acquire(dynamodb, table, endpoint_name, execution, now, lease)
        except lock.LockHeld as again:
            raise RolloutRefused(str(again)) from again
    try:
        state = _prepared_state(event.get("input") or {}, endpoint_name, timeout, sagemaker, cloudwatch, now)
    except BaseException:
        lock.release(dynamodb, table, endpoint_name, execution)
        raise
    LOG.info("rollout prepared", extra={"rollout": state})
    return state


def _settle_ended_holder(
    held: lock.LockHeld,
    endpoint_name: str,
    table: str,
    dynamodb: Any,
    *,
    stepfunctions: Any,
    sagemaker: Any,
    context: Any,
) -> None:
    """Settle the lock's holder if it is no longer running; refuse the rollout while it runs."""
    holder = lock.holder_of(dynamodb, table, endpoint_name)
    if holder is None:
        return  # released in the meantime
    owner = holder[0]
    stepfunctions = stepfunctions or boto3.client("stepfunctions", config=RETRY_CONFIG)
    try:
        described = stepfunctions.describe_execution(executionArn=owner)
    except stepfunctions.exceptions.ExecutionDoesNotExist as err:
        raise RolloutRefused(
            f"{held}; Step Functions no longer knows that execution: wait for the lease to run out "
            "or delete the lock item by hand"
        ) from err
    status = described["status"]
    if status not in ENDED:
        raise RolloutRefused(f"{held} (it is {status})") from held
    stopped = described.get("stopDate")
    may_restore = not ended_deliberately(status, described.get("error"))
    if may_restore and stopped is not None and (_now() - stopped).total_seconds() < END_SETTLE_GRACE_SECONDS:
        ready = stopped + timedelta(seconds=END_SETTLE_GRACE_SECONDS)
        raise RolloutRefused(
            f"{held}: it ended ({status}) at {stopped.isoformat()} and its own end handler may still be "
            f"restoring the weights; start again after {ready.isoformat()}"
        ) from held
    LOG.info("settling a lock holder that already ended", extra={"holder": owner, "status": status})
    settle(
        owner,
        status,
        described.get("error"),
        endpoint=endpoint_name,
        table=table,
        dynamodb=dynamodb,
        stepfunctions=stepfunctions,
        sagemaker=sagemaker or sagemaker_client(),
        context=context,
    )


def _prepared_state(
    raw: dict[str, Any], endpoint_name: str, timeout: timedelta, sagemaker: Any, cloudwatch: Any, now: datetime
) -> dict[str, Any]:
    sagemaker = sagemaker or sagemaker_client()
    original = _live_weights(sagemaker, endpoint_name)
    _capacity_setting(raw)
    try:
        plan = parse_plan(
            {k: v for k, v in raw.items() if k != "capacity"},
            original,
            max_duration_seconds=timeout.total_seconds(),
            task_times=_task_times(),
        )
    except InvalidPlan as err:
        raise RolloutRefused(f"invalid rollout request: {err}") from err
    cloudwatch = cloudwatch or boto3.client("cloudwatch", config=RETRY_CONFIG)
    traffic = _traffic_per_minute(cloudwatch, endpoint_name, [plan.candidate, *plan.baselines], now)
    too_little = refusal(plan, traffic)
    if too_little is not None:
        # Before any weight changes: the caller releases the lock, and the execution fails with
        # RolloutRefused and no Prepare output, which settling reads as "nothing changed".
        raise RolloutRefused(f"not enough traffic for this plan: {too_little}")
    endpoint_state = describe(sagemaker, endpoint_name)
    counts = {name: v.current_instance_count for name, v in endpoint_state.variants.items()} if endpoint_state else {}
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
        "started_at": now.isoformat(),
        "step_started_at": now.isoformat(),
        "action": "apply",
        "reason": f"rollout of {plan.candidate} starts at {share:g} %",
        "original_instance_counts": counts,
        "current_instance_counts": dict(counts),
    }
    state["instance_counts"] = capacity_for_step(state, share, cloudwatch, now, traffic)
    _note_capacity(state)
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

    Each entry is ``{"since": <when the change was asked for>, "at": <when the weights went live>,
    "weights": {...}}``: the step starts (``step_started_at``) before set-weights runs, and "Mark
    step start" records ``applied.at`` after it (a hold bakes again without one). Minutes between
    the two served both splits; ``rollout.observe`` leaves them out.
    """
    log = [dict(entry) for entry in state.get("weights_log") or []]
    applied = (state.get("applied") or {}).get("at") or state["step_started_at"]
    if not log or log[-1]["at"] != applied:
        since = min(state["step_started_at"], applied, key=datetime.fromisoformat)
        log.append({"since": since, "at": applied, "weights": dict(state["current_weights"])})
    return log


def judge(event: dict[str, Any], context: Any, *, cloudwatch: Any = None, sagemaker: Any = None) -> dict[str, Any]:
    """Judge the step that just baked on the per-minute history since the rollout began; return the
    state with the next action (``rollout.decision`` decides; this only gathers and acts)."""
    state = dict(event)
    state.pop("previous_p", None)  # written by executions started before the judge kept no state
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


def restore_after_end(
    event: dict[str, Any], context: Any, *, stepfunctions: Any = None, sagemaker: Any = None, dynamodb: Any = None
) -> dict[str, Any]:
    """EventBridge: a rollout execution ended. Settle it (:func:`rollout.settle.settle`): put the
    weights back unless it ended on purpose, then release the endpoint's rollout lock.

    If the restore fails the lock stays, so no rollout starts on half-shifted weights; the
    invocation is retried and then lands in the dead-letter queue, whose alarm notifies.
    """
    detail = event["detail"]
    execution, status, error = detail["executionArn"], detail["status"], detail.get("error")
    result = settle(
        execution,
        status,
        error,
        endpoint=os.environ["ENDPOINT_NAME"],
        table=os.environ["LOCK_TABLE"],
        dynamodb=dynamodb or boto3.client("dynamodb", config=RETRY_CONFIG),
        stepfunctions=stepfunctions or boto3.client("stepfunctions", config=RETRY_CONFIG),
        sagemaker=sagemaker,
        context=context,
    )
    return result
