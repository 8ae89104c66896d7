"""Waiting until DescribeEndpoint shows the weights asked for. No AWS in here: ``look`` is injected.

A weight change is done when the endpoint is ``InService`` with exactly those weights, and, for
a change made through the stack's parameters, the stack update has completed (CloudFormation
reports the custom resource's answer only then; a refused change rolls back). Anything that
cannot end well by waiting ends the wait at once with its reason: a stack that rolled back, an
endpoint that is ``Failed`` or ``OutOfService``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from endpoint_weights.endpoint import BUSY_STATUSES, IN_SERVICE
from endpoint_weights.validation import weights_match
from scripts.abtest.errors import OperationFailed, TimedOut

# CloudFormation's stack statuses (DescribeStacks, StackStatus): the only successful end of an
# update is UPDATE_COMPLETE; every *ROLLBACK* and *_FAILED status means the change did not stay.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Stack.html
STACK_DONE = "UPDATE_COMPLETE"


def stack_failed(status: str) -> bool:
    return "ROLLBACK" in status or status.endswith("_FAILED")


@dataclass(frozen=True)
class Observation:
    """One look: the endpoint's status and live weights, and (parameters path) the stack's status."""

    endpoint_status: str
    weights: Mapping[str, float] = field(default_factory=dict)
    stack_status: str | None = None
    stack_reason: str = ""
    endpoint_reason: str = ""

    def describe(self) -> str:
        weights = ", ".join(f"{name}={weight:g}" for name, weight in self.weights.items())
        stack = f"stack {self.stack_status}; " if self.stack_status else ""
        return f"{stack}endpoint {self.endpoint_status}: {weights or 'no variants'}"


def settled(observation: Observation, target: Mapping[str, float]) -> bool:
    """True when the change is done (see the module docstring); raises when it cannot be."""
    if observation.stack_status is not None and stack_failed(observation.stack_status):
        reason = f": {observation.stack_reason}" if observation.stack_reason else ""
        raise OperationFailed(
            f"the stack update failed ({observation.stack_status}){reason}; CloudFormation rolled the weight "
            f"parameters back; the endpoint shows {observation.describe()}"
        )
    status = observation.endpoint_status
    if status != IN_SERVICE and status not in BUSY_STATUSES:
        reason = f": {observation.endpoint_reason}" if observation.endpoint_reason else ""
        raise OperationFailed(f"the endpoint is {status}{reason}; waiting cannot help")
    stack_done = observation.stack_status in (None, STACK_DONE)
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
