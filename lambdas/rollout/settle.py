"""Settle a rollout execution that has ended: put the weights back unless it ended on purpose,
then release the endpoint's lock.

Two callers run this, because the end event alone is not enough:

* ``restore_after_end``, on the execution's "Step Functions Execution Status Change" event;
* ``prepare``, when the lock it needs is held by an execution that is no longer running.
  EventBridge delivers Step Functions' status-change events on a "best effort" basis
  (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-states.html), and a stop within
  seconds of the start can let that execution's Prepare take the lock *after* its end event was
  handled. Either way the lock would stay held until its lease runs out; the next Prepare settles it.

Settling twice is harmless: set-weights sets absolute weights, and the release is conditional on
the owner.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rollout import lock

LOG = logging.getLogger()

# The state machine's own Fail states (constructs_lib/rollout.py) after which the weights are
# where the rollout meant to leave them: settling must not touch them.
# tests/constructs_lib/test_rollout.py checks this against the synthesized definition.
SETTLED_ERRORS: dict[str, str] = {
    "RolledBack": "rolled back: the state machine restored the weights itself",
    "RolloutError": "ended on an error after the state machine restored the weights itself",
    "HoldLimitReached": 'stopped at the hold limit (on_hold_limit "stop"): the weights stay for a person to decide',
    "LockNotHeld": "found the lock no longer its own (e.g. redriven after its end) and changed nothing",
}
# DescribeExecution's statuses of an execution that will not change weights any more
# (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html).
# PENDING_REDRIVE is not among them: a redrive is about to run it again.
ENDED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
# How long after an execution's end its own end-event settler may still be restoring weights: the
# end event may wait in EventBridge's and Lambda's retries up to their maximum event age
# (constructs_lib.rollout.SETTLE_MAX_EVENT_AGE, 1 h) and its last attempt may then run for the
# function's timeout (SETTLE_TIMEOUT, 15 min); a test keeps these in step. A Prepare that finds the
# lock still held by such an execution leaves it to that settler for this long (unless the end was
# deliberate and there is nothing to restore), so two settlers never restore at once and a late
# restore cannot land on the next rollout's first step. The normal path never waits: the settler
# releases the lock within minutes of the end.
END_SETTLE_GRACE_SECONDS = 80 * 60


def latest_rollout_state(stepfunctions: Any, execution: str) -> dict[str, Any] | None:
    """The last rollout state the execution recorded: Prepare's, or a later Judge's (with raised
    capacity). Read newest first, so a long history is not read to its end."""
    pages = stepfunctions.get_paginator("get_execution_history").paginate(executionArn=execution, reverseOrder=True)
    for page in pages:
        for history_event in page["events"]:
            details = history_event.get("stateExitedEventDetails")
            if details and details.get("name") in ("Prepare", "Judge"):
                return dict(json.loads(details["output"])["rollout"])
    return None


def ending_error(stepfunctions: Any, execution: str) -> str | None:
    """The error a FAILED execution ended with, from its history's last event (ExecutionFailed)."""
    newest = stepfunctions.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=1)["events"]
    details = newest[0].get("executionFailedEventDetails") if newest else None
    return details.get("error") if details else None


def ended_deliberately(status: str, error: str | None) -> bool:
    """An end that leaves the weights as they are (SUCCEEDED, or one of :data:`SETTLED_ERRORS`)."""
    return status == "SUCCEEDED" or error in SETTLED_ERRORS


def settle(
    execution: str,
    status: str,
    error: str | None,
    *,
    endpoint: str,
    table: str,
    dynamodb: Any,
    stepfunctions: Any,
    sagemaker: Any,
    context: Any,
) -> dict[str, Any]:
    """Settle ``execution``, which ended with ``status`` (and ``error``, when known, for FAILED).

    Acts only while ``execution`` still holds ``endpoint``'s lock: otherwise the state machine
    already released it at a deliberate end, or another rollout owns the endpoint now, and
    restoring would fight it. Ended on purpose: SUCCEEDED, or one of :data:`SETTLED_ERRORS`.
    Every other end (ABORTED, TIMED_OUT, FAILED for any other reason, such as the 25,000-event
    history limit or a failed restore) restores the weights from before the rollout, which the
    execution's last Prepare or Judge output records. If the restore fails the lock stays (and the
    error propagates), so no rollout starts on half-shifted weights.

    Returns ``{"restored": bool, "released": bool, "reason"?: str, "weights"?: {...}}``.
    """
    from set_weights.handler import handle as set_weights

    if not lock.held_by(dynamodb, table, endpoint, execution):
        LOG.info("lock not held by this execution: weights left alone", extra={"execution": execution})
        return {"restored": False, "released": False, "reason": "this execution no longer holds the endpoint's lock"}
    if status == "FAILED" and not error:
        # AWS documents no error or cause in the FAILED status-change event (its example has
        # neither), so the history's last event, ExecutionFailed, is what names the error.
        error = ending_error(stepfunctions, execution)
    if ended_deliberately(status, error):
        reason = "succeeded" if status == "SUCCEEDED" else SETTLED_ERRORS[str(error)]
        result: dict[str, Any] = {"restored": False, "reason": reason}
    else:
        latest = latest_rollout_state(stepfunctions, execution)
        if latest is None:
            result = {"restored": False, "reason": "ended before Prepare finished: no weight changed"}
        else:
            request = {
                "weights": latest["original_weights"],
                "instance_counts": latest.get("restore_instance_counts") or {},
            }
            applied = set_weights(request, context, client=sagemaker)
            result = {"restored": True, "weights": applied["weights"]}
    result["released"] = lock.release(dynamodb, table, endpoint, execution)
    LOG.info("rollout execution settled", extra={"execution": execution, "status": status, "result": result})
    return result
