"""The two events of a live-quality run, checked before anything is read or written (pure).

``plan`` gets ``{"time": "<the run's start>"}`` and, for a manual run, all three of
``capture_start_hour``, ``capture_end_hour``, ``label_end_hour``. It returns the plan
(:func:`plan_output`), which the state machine hands to Athena (``execution_parameters``: the endpoint
and the four hours; the threshold is written into the query's text at synth) and then,
with the query's id, to ``publish``: ``{"query_execution_id": "<id>", "plan": <the plan>}``.
Unknown keys are refused: a misspelt override would otherwise be ignored and the run would read
another window than the one asked for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from live_quality.query import QueryWindow
from live_quality.settings import InvalidLiveRun, PlanSettings
from live_quality.window import (
    OVERRIDE_KEYS,
    overridden_window,
    run_time,
    scheduled_window,
    window_fields,
    window_from_fields,
)

PLAN_EVENT_KEYS = ("time", *OVERRIDE_KEYS)
PLAN_KEYS = ("run_id", "window", "execution_parameters")
PUBLISH_EVENT_KEYS = ("query_execution_id", "plan")
# evaluate.aws_io.run_id's format; the id becomes part of the reports' S3 keys, so nothing else passes.
RUN_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z$")
# QueryExecutionId: 1 to 128 characters, no whitespace (botocore's athena model: min 1, max 128, \S+).
QUERY_EXECUTION_ID_PATTERN = re.compile(r"^\S{1,128}$")


@dataclass(frozen=True)
class PublishRequest:
    query_execution_id: str
    run_id: str
    window: QueryWindow
    execution_parameters: tuple[str, ...]


def _object(event: Any, what: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise InvalidLiveRun(f"{what} must be a JSON object (got {type(event).__name__})")
    unknown = sorted(set(event) - set(allowed))
    if unknown:
        raise InvalidLiveRun(f"{what} has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return event


def plan_window(event: Any, settings: PlanSettings) -> tuple[datetime, QueryWindow]:
    """The run's start (UTC) and the window it reads (scheduled, or the manual override)."""
    event = _object(event, "the plan event", PLAN_EVENT_KEYS)
    moment = run_time(event.get("time"))
    if any(key in event for key in OVERRIDE_KEYS):
        return moment, overridden_window(settings.endpoint, event, settings.threshold)
    return moment, scheduled_window(settings.endpoint, moment, settings.lookback_days, settings.threshold)


def plan_output(run_id: str, window: QueryWindow) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "window": window_fields(window),
        "execution_parameters": window.athena_execution_parameters(),
    }


def publish_request(event: Any, endpoint: str) -> PublishRequest:
    """The publish event, checked: a plan this function's ``plan`` could have made for ``endpoint``."""
    event = _object(event, "the publish event", PUBLISH_EVENT_KEYS)
    query_id = event.get("query_execution_id")
    if not isinstance(query_id, str) or not QUERY_EXECUTION_ID_PATTERN.match(query_id):
        raise InvalidLiveRun(f"query_execution_id is {query_id!r}; give the id StartQueryExecution returned")
    if "plan" not in event:
        raise InvalidLiveRun("the publish event has no plan; pass what the plan step returned")
    plan = _object(event["plan"], "plan", PLAN_KEYS)
    missing = [k for k in PLAN_KEYS if k not in plan]
    if missing:
        raise InvalidLiveRun(f"plan has no {', '.join(missing)}; pass what the plan step returned")
    run = plan["run_id"]
    if not isinstance(run, str) or not RUN_ID_PATTERN.match(run):
        raise InvalidLiveRun(f"plan.run_id is {run!r}; expected yyyymmddThhmmssZ")
    window = window_from_fields(plan["window"])
    if window.endpoint != endpoint:
        raise InvalidLiveRun(f"plan.window.endpoint is {window.endpoint!r}, but this function serves {endpoint!r}")
    parameters = plan["execution_parameters"]
    if parameters != window.athena_execution_parameters():
        raise InvalidLiveRun(
            f"plan.execution_parameters {parameters!r} are not the window's "
            f"{window.athena_execution_parameters()!r}; was the plan edited?"
        )
    return PublishRequest(query_id, run, window, tuple(parameters))
