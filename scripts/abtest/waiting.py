"""Waiting until DescribeEndpoint shows the weights asked for. No AWS in here: ``look`` is injected.

A weight change is done when the endpoint is ``InService`` with exactly those weights, and, for
a change made through the stack's parameters, *that change set* has executed and the stack then
shows a completed status (CloudFormation reports the custom resource's answer only then; a
refused change rolls back). The change set's ExecutionStatus is watched rather than the stack's
status alone: right after ExecuteChangeSet, DescribeStacks may still show the status from before
the change (a stack that is UPDATE_ROLLBACK_COMPLETE from an earlier failure is healthy and
updatable; reading that as this update's failure would be wrong). Anything that cannot end well
by waiting ends the wait at once with its reason: a change set whose execution failed, an
endpoint that is ``Failed`` or ``OutOfService``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from endpoint_weights.endpoint import BUSY_STATUSES, IN_SERVICE
from endpoint_weights.validation import weights_match
from scripts.abtest.errors import OperationFailed, TimedOut

# A change set's ExecutionStatus (DescribeChangeSet): EXECUTE_COMPLETE once the update it started
# has completed; EXECUTE_FAILED when it failed (rolled back); OBSOLETE when the stack was updated
# by other means before it ran. UNAVAILABLE, AVAILABLE and EXECUTE_IN_PROGRESS: not yet.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html
CHANGE_SET_DONE = "EXECUTE_COMPLETE"
CHANGE_SET_FAILED = ("EXECUTE_FAILED", "OBSOLETE")


def stack_failed(status: str) -> bool:
    """Every *ROLLBACK* and *_FAILED stack status: the last change did not stay.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Stack.html"""
    return "ROLLBACK" in status or status.endswith("_FAILED")


def stack_settled(status: str) -> bool:
    """A stack at rest after a successful operation: any *_COMPLETE without ROLLBACK (CREATE_COMPLETE,
    UPDATE_COMPLETE, IMPORT_COMPLETE); *_IN_PROGRESS (including UPDATE_COMPLETE_CLEANUP_IN_PROGRESS) is not."""
    return status.endswith("_COMPLETE") and "ROLLBACK" not in status


@dataclass(frozen=True)
class Observation:
    """One look: the endpoint's status and live weights, and (parameters path) the change set's
    ExecutionStatus and the stack's status read after it."""

    endpoint_status: str
    weights: Mapping[str, float] = field(default_factory=dict)
    stack_status: str | None = None
    stack_reason: str = ""
    endpoint_reason: str = ""
    change_set_status: str | None = None

    def describe(self) -> str:
        weights = ", ".join(f"{name}={weight:g}" for name, weight in self.weights.items())
        change_set = f"change set {self.change_set_status}; " if self.change_set_status else ""
        stack = f"stack {self.stack_status}; " if self.stack_status else ""
        return f"{change_set}{stack}endpoint {self.endpoint_status}: {weights or 'no variants'}"


def settled(observation: Observation, target: Mapping[str, float]) -> bool:
    """True when the change is done (see the module docstring); raises when it cannot be."""
    if observation.change_set_status in CHANGE_SET_FAILED:
        reason = f": {observation.stack_reason}" if observation.stack_reason else ""
        stack = f", stack {observation.stack_status}" if observation.stack_status else ""
        raise OperationFailed(
            f"the change set's execution failed ({observation.change_set_status}{stack}){reason}; CloudFormation "
            f"rolled the weight parameters back; the endpoint shows {observation.describe()}"
        )
    status = observation.endpoint_status
    if status != IN_SERVICE and status not in BUSY_STATUSES:
        reason = f": {observation.endpoint_reason}" if observation.endpoint_reason else ""
        raise OperationFailed(f"the endpoint is {status}{reason}; waiting cannot help")
    # Without a change set (the Lambda path, or nothing to change) there is no stack update to wait for.
    stack_done = observation.change_set_status is None or (
        observation.change_set_status == CHANGE_SET_DONE
        and observation.stack_status is not None
        and stack_settled(observation.stack_status)
    )
    return stack_done and status == IN_SERVICE and weights_match(target, observation.weights)


def wait_for_weights(
    look: Callable[[], Observation],
    target: Mapping[str, float],
    *,
    timeout_seconds: float,
    poll_seconds: float,
    on_look: Callable[[Observation], None] = lambda _: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Observation:
    """Look every ``poll_seconds`` until :func:`settled`; :class:`TimedOut` after ``timeout_seconds``."""
    deadline = clock() + timeout_seconds
    while True:
        observation = look()
        on_look(observation)
        if settled(observation, target):
            return observation
        if clock() + poll_seconds > deadline:
            wanted = ", ".join(f"{name}={weight:g}" for name, weight in target.items())
            raise TimedOut(
                f"after {timeout_seconds:g} s the endpoint does not show {wanted} yet ({observation.describe()}); "
                "the change may still complete: check with `abtest status`"
            )
        sleep(poll_seconds)
