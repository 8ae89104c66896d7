"""The two events of a live-quality run, checked before anything is read or written (pure).

``plan`` gets ``{"time": "<the run's start>"}`` and, for a manual run, either all three of
``capture_start_hour``, ``capture_end_hour``, ``label_end_hour`` or only the window's start,
``anchor_hour`` (``live_quality.window``). It returns the plan (:func:`plan_output`, with
``window_start``: where the window starts and why), which the state machine hands to Athena
(``execution_parameters``: the endpoint and the four hours; the threshold is written into the query's
text at synth) and then, with the query's id, to ``publish``: ``{"query_execution_id": "<id>", "plan": <the plan>}``.
Unknown keys are refused: a misspelt override would otherwise be ignored and the run would read
another window than the one asked for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from live_quality import agreement_text
from live_quality.query import QueryWindow
from live_quality.settings import InvalidLiveRun, PlanSettings
from live_quality.window import (
    ANCHOR_KEY,
    MANUAL_START,
    OVERRIDE_KEYS,
    EndpointConfigAnchor,
    WindowStart,
    anchored_window,
    checked_anchor_hour,
    overridden_window,
    run_time,
    window_fields,
    window_from_fields,
    window_start_from_fields,
)

PLAN_EVENT_KEYS = ("time", *OVERRIDE_KEYS, ANCHOR_KEY)
PLAN_KEYS = ("run_id", "window", "window_start", "execution_parameters")
# Beside a shadow only: the agreement query's ExecutionParameters (live_quality.agreement_text).
AGREEMENT_PARAMETERS_KEY = "agreement_execution_parameters"
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
    window_start: WindowStart


@dataclass(frozen=True)
class AgreementRequest:
    query_execution_id: str
    run_id: str
    window: QueryWindow
    execution_parameters: tuple[str, ...]


@dataclass(frozen=True)
class PlanRequest:
    """A checked plan event: the run's start, and a manual run's window or anchor (at most one of them)."""

    moment: datetime
    overrides: Mapping[str, Any] | None = None
    anchor_hour: str | None = None

    @property
    def needs_endpoint_anchor(self) -> bool:
        """Whether the window's start must be read from the endpoint (a scheduled run)."""
        return self.overrides is None and self.anchor_hour is None


def _object(event: Any, what: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise InvalidLiveRun(f"{what} must be a JSON object (got {type(event).__name__})")
    unknown = sorted(set(event) - set(allowed))
    if unknown:
        raise InvalidLiveRun(f"{what} has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return event


def plan_request(event: Any) -> PlanRequest:
    """The plan event, checked before anything is read from AWS."""
    event = _object(event, "the plan event", PLAN_EVENT_KEYS)
    moment = run_time(event.get("time"))
    manual_window = any(key in event for key in OVERRIDE_KEYS)
    if manual_window and ANCHOR_KEY in event:
        raise InvalidLiveRun(
            f"give either the window's three hours ({', '.join(OVERRIDE_KEYS)}) or its start ({ANCHOR_KEY}), not both"
        )
    if manual_window:
        return PlanRequest(moment, overrides=dict(event))
    if ANCHOR_KEY in event:
        return PlanRequest(moment, anchor_hour=checked_anchor_hour(event[ANCHOR_KEY]))
    return PlanRequest(moment)


def plan_window(
    request: PlanRequest, settings: PlanSettings, anchor: EndpointConfigAnchor | None
) -> tuple[QueryWindow, WindowStart]:
    """The window a run reads and where it starts: a pure function of the run's start, the anchor and the
    settings. ``anchor``: the endpoint config's (a scheduled run); ``None`` for a manual run."""
    if request.overrides is not None:
        return overridden_window(settings.endpoint, request.overrides, settings.threshold), MANUAL_START
    if request.anchor_hour is not None:
        hour, anchor = request.anchor_hour, None
    elif anchor is not None:
        hour = anchor.hour
    else:
        raise ValueError("a scheduled run needs the endpoint config's anchor")
    return anchored_window(
        settings.endpoint, request.moment, hour, settings.lookback_days, settings.threshold, anchor=anchor
    )


def plan_output(
    run_id: str, window: QueryWindow, start: WindowStart, agreement_variants: tuple[str, str] | None = None
) -> dict[str, Any]:
    output = {
        "run_id": run_id,
        "window": window_fields(window),
        "window_start": start.fields(),
        "execution_parameters": window.athena_execution_parameters(),
    }
    if agreement_variants is not None:
        output[AGREEMENT_PARAMETERS_KEY] = agreement_text.athena_execution_parameters(window, *agreement_variants)
    return output


def publish_request(event: Any, endpoint: str) -> PublishRequest:
    """The publish event, checked: a plan this function's ``plan`` could have made for ``endpoint``."""
    event = _object(event, "the publish event", PUBLISH_EVENT_KEYS)
    query_id = event.get("query_execution_id")
    if not isinstance(query_id, str) or not QUERY_EXECUTION_ID_PATTERN.match(query_id):
        raise InvalidLiveRun(f"query_execution_id is {query_id!r}; give the id StartQueryExecution returned")
    if "plan" not in event:
        raise InvalidLiveRun("the publish event has no plan; pass what the plan step returned")
    plan = _object(event["plan"], "plan", (*PLAN_KEYS, AGREEMENT_PARAMETERS_KEY))
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
    start = window_start_from_fields(plan["window_start"], window)
    return PublishRequest(query_id, run, window, tuple(parameters), start)


def agreement_request(event: Any, endpoint: str, production_variant: str, shadow_variant: str) -> AgreementRequest:
    """The agreement's publish event (the agreement query's id and the plan), checked as :func:`publish_request`
    checks live quality's, and that the plan's agreement parameters are this window's and these two variants'."""
    checked = publish_request(event, endpoint)
    given = event["plan"].get(AGREEMENT_PARAMETERS_KEY)
    expected = agreement_text.athena_execution_parameters(checked.window, production_variant, shadow_variant)
    if given != expected:
        raise InvalidLiveRun(
            f"plan.{AGREEMENT_PARAMETERS_KEY} is {given!r}, not the window's and variants' {expected!r}; was the "
            "plan edited, or made without PRODUCTION_VARIANT and SHADOW_VARIANT?"
        )
    return AgreementRequest(checked.query_execution_id, checked.run_id, checked.window, tuple(expected))
