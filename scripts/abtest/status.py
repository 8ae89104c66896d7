"""``abtest status``: what the endpoint is doing, gathered into one JSON-ready report.

The stack and the endpoint are required (their absence is the error). Everything else is a
section that may be unavailable on its own, say for lack of a permission: its ``error`` says why
and the rest of the report still stands. Keys are stable; pipelines may read them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from scripts.abtest.aws import Aws, error_code, error_message
from scripts.abtest.errors import AbtestError
from scripts.abtest.progress import progress
from scripts.abtest.shadow import NOTE as SHADOW_NOTE
from scripts.abtest.shadow import in_shadow_stage, shadow_rows
from scripts.abtest.weights import LiveVariant, declared_weights, variant_rows

TRAFFIC_WINDOW = timedelta(hours=1)
# The SRM check publishes every srm_schedule_minutes (default 5) over srm_window_minutes
# (default 60): its newest value within the last two hours is the current one.
SRM_LOOKBACK = timedelta(hours=2)


def _section(fetch: Callable[[], dict[str, Any]], empty: dict[str, Any]) -> dict[str, Any]:
    """``fetch()`` plus ``"error": None``, or ``empty`` with the reason it is unavailable."""
    try:
        return {**fetch(), "error": None}
    except ClientError as err:
        return {**empty, "error": f"{error_code(err)}: {error_message(err)}"}
    except (AbtestError, BotoCoreError) as err:
        return {**empty, "error": str(err)}


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def gather(aws: Aws, endpoint: str, now: datetime) -> dict[str, Any]:
    """The report for endpoint ``endpoint`` (the config's name; the stack is ``AbTest-<name>``)."""
    stack = aws.stack(endpoint)
    endpoint_name = stack.output("EndpointName")
    state = aws.endpoint(endpoint_name)
    live = [
        LiveVariant(v.name, v.current_weight, v.desired_weight, v.current_instance_count, v.desired_instance_count)
        for v in state.variants.values()
    ]
    declared, orphans = declared_weights(stack.parameters, state.variants)

    invocations: dict[str, float] = {}

    def traffic() -> dict[str, Any]:
        invocations.update(aws.invocations(endpoint_name, list(state.variants), now - TRAFFIC_WINDOW, now))
        return {"window_minutes": int(TRAFFIC_WINDOW.total_seconds() // 60), "invocations": sum(invocations.values())}

    traffic_section = _section(
        traffic, {"window_minutes": int(TRAFFIC_WINDOW.total_seconds() // 60), "invocations": None}
    )
    rows = variant_rows(live, declared, invocations)
    shadow = in_shadow_stage(state)
    if shadow:
        # No weight parameter on a shadow stack: nothing is declared, so nothing can drift.
        rows = [replace(row, drift=False) for row in rows]

    def alarms() -> dict[str, Any]:
        items = aws.alarm_states(aws.alarm_names(stack.stack_id))
        return {"items": [{**asdict(a), "updated": _iso(a.updated)} for a in items]}

    def srm() -> dict[str, Any]:
        point = aws.latest_srm_p_value(endpoint_name, now - SRM_LOOKBACK, now)
        return {"p_value": point.value if point else None, "at": _iso(point.at) if point else None}

    def rollout() -> dict[str, Any]:
        machine = stack.output("RolloutStateMachineArn")
        running = []
        for execution in aws.executions(machine, status="RUNNING"):
            described, history = aws.execution(execution["executionArn"])
            running.append(progress_json(progress(described, history)))
        return {"running": running}

    return {
        "endpoint": endpoint,
        "stack": {"name": stack.name, "status": stack.status},
        "endpoint_name": endpoint_name,
        "endpoint_status": state.status,
        "variants": [asdict(row) for row in rows],
        # A weight parameter no live variant has changes no traffic: listed, not drift. (CloudFormation
        # lists only the template's parameters; local mode keeps those of a template's earlier version.)
        "drift": any(row.drift for row in rows),
        "orphan_parameters": orphans,
        "traffic": traffic_section,
        "alarms": _section(alarms, {"items": []}),
        # Beside a shadow the stack has no sample-ratio check and no rollout state machine: both are
        # skipped (not errors), and "shadow" says why.
        "srm": {"p_value": None, "at": None, "error": None} if shadow else _section(srm, {"p_value": None, "at": None}),
        "rollout": {"running": [], "error": None} if shadow else _section(rollout, {"running": []}),
        "shadow": {"variants": shadow_rows(state), "note": SHADOW_NOTE} if shadow else None,
    }


def progress_json(item: Any) -> dict[str, Any]:
    data = asdict(item)
    data["steps"] = list(data["steps"])
    data["weights"] = dict(data["weights"])
    return data
