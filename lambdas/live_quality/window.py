"""Which hours one scheduled run reads, from its start time: a pure function, so a run can be re-planned.

The state machine passes ``$$.Execution.StartTime`` (ISO-8601 in UTC, e.g.
``2026-11-04T00:17:05.123Z``). The run's hour is that time floored to the hour, in UTC (SageMaker's
capture and ground-truth paths name UTC hours). The run reads:

* captures of the ``lookback_days * 24`` whole hours before the run's hour: ``[run hour - N days,
  run hour)``. The run's own hour is still being written, so it is left for the next run;
* labels collected up to and including the run's hour (``label_end_hour`` = run hour + 1, exclusive):
  every label that has arrived by now counts.

A manual run may name the three hours itself (all three or none), in ``yyyy/mm/dd/hh``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from live_quality.formats import InvalidRecord, check_hour, hour_of
from live_quality.query import QueryWindow
from live_quality.settings import InvalidLiveRun

OVERRIDE_KEYS = ("capture_start_hour", "capture_end_hour", "label_end_hour")
WINDOW_KEYS = ("endpoint", *OVERRIDE_KEYS, "threshold")


def run_time(value: Any) -> datetime:
    """The run's start as an aware UTC datetime; the zone must be given (a bare time is ambiguous)."""
    if not isinstance(value, str) or not value:
        raise InvalidLiveRun(
            f'"time" is {value!r}; give the run\'s start in ISO-8601 with a zone, e.g. "2026-11-04T00:17:05Z"'
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidLiveRun(f'"time" is {value!r}, not an ISO-8601 time such as "2026-11-04T00:17:05Z"') from None
    if moment.tzinfo is None:
        raise InvalidLiveRun(f'"time" is {value!r} without a zone; add "Z" for UTC (or an offset)')
    return moment.astimezone(UTC)


def scheduled_window(endpoint: str, moment: datetime, lookback_days: int, threshold: float) -> QueryWindow:
    """Captures ``[run hour - lookback_days, run hour)``, labels until the end of the run's hour."""
    hour = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return QueryWindow(
        endpoint=endpoint,
        capture_start_hour=hour_of(hour - timedelta(days=lookback_days)),
        capture_end_hour=hour_of(hour),
        label_end_hour=hour_of(hour + timedelta(hours=1)),
        threshold=threshold,
    )


def overridden_window(endpoint: str, overrides: Mapping[str, Any], threshold: float) -> QueryWindow:
    """The window a manual run names: all three hours, each ``yyyy/mm/dd/hh``, in the order QueryWindow requires."""
    given = [k for k in OVERRIDE_KEYS if k in overrides]
    if len(given) != len(OVERRIDE_KEYS):
        missing = [k for k in OVERRIDE_KEYS if k not in overrides]
        raise InvalidLiveRun(
            f"window override has {', '.join(given)} but not {', '.join(missing)}: give all of "
            f"{', '.join(OVERRIDE_KEYS)} or none"
        )
    for key in OVERRIDE_KEYS:
        try:
            check_hour(overrides[key])
        except InvalidRecord as err:
            raise InvalidLiveRun(f"{key}: {err}") from None
    try:
        return QueryWindow(
            endpoint=endpoint,
            capture_start_hour=overrides["capture_start_hour"],
            capture_end_hour=overrides["capture_end_hour"],
            label_end_hour=overrides["label_end_hour"],
            threshold=threshold,
        )
    except ValueError as err:
        raise InvalidLiveRun(f"window override: {err}") from None


def window_fields(window: QueryWindow) -> dict[str, Any]:
    """The window as the plan returns it (JSON, for the state machine and the publish step)."""
    return {key: getattr(window, key) for key in WINDOW_KEYS}


def window_from_fields(fields: Any) -> QueryWindow:
    """The window back from :func:`window_fields`' output, checked as QueryWindow checks a new one."""
    if not isinstance(fields, Mapping) or sorted(fields) != sorted(WINDOW_KEYS):
        got = sorted(fields) if isinstance(fields, Mapping) else type(fields).__name__
        raise InvalidLiveRun(f"plan.window must have exactly the keys {', '.join(WINDOW_KEYS)} (got {got})")
    threshold = fields["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise InvalidLiveRun(f"plan.window.threshold is {threshold!r}, not a number")
    for key in ("endpoint", *OVERRIDE_KEYS):
        if not isinstance(fields[key], str):
            raise InvalidLiveRun(f"plan.window.{key} is {fields[key]!r}, not a string")
    try:
        return QueryWindow(**{**fields, "threshold": float(threshold)})
    except ValueError as err:
        raise InvalidLiveRun(f"plan.window: {err}") from None
