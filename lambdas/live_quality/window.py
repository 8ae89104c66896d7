"""Which hours one run reads, from its start time and the window's anchor: pure, so a run can be re-planned.

The state machine passes ``$$.Execution.StartTime`` (ISO-8601 in UTC, e.g.
``2026-11-04T00:17:05.123Z``). The run's hour is that time floored to the hour, in UTC (SageMaker's
capture and ground-truth paths name UTC hours). A scheduled run reads:

* captures from the window's start to the run's hour: ``[start, run hour)``. The run's own hour is
  still being written, so it is left for the next run;
* labels collected up to and including the run's hour (``label_end_hour`` = run hour + 1, exclusive):
  every label that has arrived by now counts.

**Where the window starts.** At the *anchor*: the first whole UTC hour after the endpoint's current
endpoint config began to serve alone (``live_quality.endpoint_anchor``): the later of its creation and
the time the weights custom resource recorded on the endpoint after the deployment finished or was
rolled back (the ``abtest:serving-since`` tag; without one for this config, the creation alone, and
the plan says so). A new endpoint config is a new set of variants, models or fleet, so requests
served before it belong to another experiment, and a config is created before its fleet serves (and
an old config serves again after a rollback); a weight
change keeps the config (UpdateEndpointWeightsAndCapacities) and so keeps the anchor, and the
comparison's within-day strata already handle a split that changes. The anytime-valid p-values
(``live_quality.anytime``) hold over every run whose window has the same start: each run then looks
at a growing sample, which is what Ville's inequality covers. A window that drops its oldest
requests is not one growing sample (a statistical review measured 7 % false winners over 60 daily
looks of a 7-day sliding window, 13.5 % over 120, at alpha 5 %).

**The longest window** (``lookback_days``) caps how far back a run reads, because Athena bills what
it scans: the start is ``max(anchor, run hour - lookback_days)``. Once the cap cuts the window, the
oldest requests are dropped run after run, the looks are no longer one growing sample, and each
run's p-values are valid for that run alone; :class:`WindowStart` records which case a run is in
and the report says so.

A manual run may name the three hours itself (all three or none), in ``yyyy/mm/dd/hh``, or only the
anchor (``anchor_hour``), which then replaces the endpoint config's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from live_quality.formats import InvalidRecord, check_hour, hour_of
from live_quality.query import QueryWindow
from live_quality.settings import InvalidLiveRun

OVERRIDE_KEYS = ("capture_start_hour", "capture_end_hour", "label_end_hour")
ANCHOR_KEY = "anchor_hour"
WINDOW_KEYS = ("endpoint", *OVERRIDE_KEYS, "threshold")
# WindowStart.start: anchored at the anchor; cut at the longest window; named by hand (three hours).
START_ANCHOR, START_HORIZON, START_MANUAL = "anchor", "horizon", "manual"
# WindowStart.anchor_source: the endpoint config's creation; the serving-since marker of that config
# (later than its creation); or named by a manual run's anchor_hour.
SOURCE_ENDPOINT_CONFIG, SOURCE_SERVING_SINCE, SOURCE_EVENT = "endpoint_config", "serving_since", "event"
START_KEYS = (
    "start",
    "anchor_hour",
    "anchor_source",
    "endpoint_config_name",
    "endpoint_config_created",
    "serving_since",
    "anchor_note",
    "lookback_days",
    "cut_at_horizon",
)


class NothingToReadYet(RuntimeError):
    """The window's anchor is not before the run's hour: not one whole hour of captures to read yet.

    The state machine catches it by this class name (constructs_lib/live_quality.NOTHING_TO_READ_YET) and
    ends the run as succeeded: every config change would otherwise page once."""


@dataclass(frozen=True)
class EndpointConfigAnchor:
    """The endpoint config the endpoint serves, when it was created (DescribeEndpoint, DescribeEndpointConfig)
    and, from the endpoint's serving-since marker about this config, since when it serves alone."""

    endpoint_config_name: str
    created: datetime  # aware
    serving_since: datetime | None = None  # aware; None: no marker about this config
    note: str | None = None  # why the marker was not used, when it was not

    @property
    def source(self) -> str:
        """Where the anchor comes from: the marker when it is later than the creation, else the creation."""
        later = self.serving_since is not None and self.serving_since > self.created
        return SOURCE_SERVING_SINCE if later else SOURCE_ENDPOINT_CONFIG

    @property
    def start(self) -> datetime:
        return self.serving_since if self.source == SOURCE_SERVING_SINCE and self.serving_since else self.created

    @property
    def hour(self) -> str:
        return anchor_hour_after(self.start)

    def origin(self) -> str:
        if self.source == SOURCE_SERVING_SINCE:
            return (
                f"endpoint config {self.endpoint_config_name} serves alone since {_iso(self.start)} "
                "(its serving-since marker)"
            )
        return f"endpoint config {self.endpoint_config_name} was created at {_iso(self.created)}"


@dataclass(frozen=True)
class WindowStart:
    """Where a run's capture window starts and why (the plan's ``window_start``, the report's ``window.start``).

    ``start`` is :data:`START_ANCHOR` (the window starts at ``anchor_hour``: verdicts hold over every
    run since it), :data:`START_HORIZON` (cut at ``lookback_days`` before the run's hour, after the
    anchor: each run's p-values hold for that run alone) or :data:`START_MANUAL` (a manual run named
    the three hours; no anchor). ``cut_at_horizon`` says the same as ``start == "horizon"`` (``None``
    for a manual window), for readers of the JSON.
    """

    start: str
    anchor_hour: str | None = None
    anchor_source: str | None = None
    endpoint_config_name: str | None = None
    endpoint_config_created: str | None = None  # ISO-8601, UTC
    serving_since: str | None = None  # ISO-8601, UTC: the marker's time, when it names this config
    anchor_note: str | None = None  # why the marker was not used (none, another config's)
    lookback_days: int | None = None
    cut_at_horizon: bool | None = None

    def fields(self) -> dict[str, Any]:
        return asdict(self)


MANUAL_START = WindowStart(START_MANUAL)


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


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def anchor_hour_after(created: datetime) -> str:
    """The first whole UTC hour that starts at or after ``created``: the hour in which the config was
    created still holds requests that an earlier config served (SageMaker moves traffic to the new
    fleet minutes after the config exists), so it is left out."""
    if created.tzinfo is None:
        raise ValueError(f"creation time {created!r} has no zone")
    hour = _floor_hour(created)
    return hour_of(hour if hour == created.astimezone(UTC) else hour + timedelta(hours=1))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def anchored_window(
    endpoint: str,
    moment: datetime,
    anchor_hour: str,
    lookback_days: int,
    threshold: float,
    *,
    anchor: EndpointConfigAnchor | None = None,
) -> tuple[QueryWindow, WindowStart]:
    """Captures ``[max(anchor, run hour - lookback_days), run hour)``, labels until the end of the run's hour.

    ``anchor``: the endpoint config the anchor comes from (``None``: a manual run's ``anchor_hour``).
    Raises :class:`NothingToReadYet` when the anchor is not before the run's hour.
    """
    hour = _floor_hour(moment)
    run_hour = hour_of(hour)
    horizon = hour_of(hour - timedelta(days=lookback_days))
    if anchor_hour >= run_hour:
        origin = anchor.origin() if anchor is not None else f"the run names {ANCHOR_KEY} {anchor_hour}"
        raise NothingToReadYet(
            f"endpoint {endpoint}: {origin}, so the live-quality window starts at {anchor_hour}; this run's hour "
            f"{run_hour} is not after it, so there is no whole hour of captures to read yet. Nothing was read; "
            f"the first run after {anchor_hour} ends reads from there."
        )
    cut = horizon > anchor_hour
    window = QueryWindow(
        endpoint=endpoint,
        capture_start_hour=horizon if cut else anchor_hour,
        capture_end_hour=run_hour,
        label_end_hour=hour_of(hour + timedelta(hours=1)),
        threshold=threshold,
    )
    start = WindowStart(
        start=START_HORIZON if cut else START_ANCHOR,
        anchor_hour=anchor_hour,
        anchor_source=SOURCE_EVENT if anchor is None else anchor.source,
        endpoint_config_name=None if anchor is None else anchor.endpoint_config_name,
        endpoint_config_created=None if anchor is None else _iso(anchor.created),
        serving_since=None if anchor is None or anchor.serving_since is None else _iso(anchor.serving_since),
        anchor_note=None if anchor is None else anchor.note,
        lookback_days=lookback_days,
        cut_at_horizon=cut,
    )
    return window, start


def checked_anchor_hour(value: Any) -> str:
    """A manual run's ``anchor_hour``, ``yyyy/mm/dd/hh``."""
    try:
        return check_hour(value)
    except InvalidRecord as err:
        raise InvalidLiveRun(f"{ANCHOR_KEY}: {err}") from None


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


def _is_hour(value: Any) -> bool:
    try:
        check_hour(value)
    except InvalidRecord:
        return False
    return True


def window_start_from_fields(fields: Any, window: QueryWindow) -> WindowStart:
    """:meth:`WindowStart.fields`' output back, checked against the window it describes: the report's
    sentence about the guarantee rests on it, so an edited plan must not change what it says."""
    if not isinstance(fields, Mapping) or sorted(fields) != sorted(START_KEYS):
        got = sorted(fields) if isinstance(fields, Mapping) else type(fields).__name__
        raise InvalidLiveRun(f"plan.window_start must have exactly the keys {', '.join(START_KEYS)} (got {got})")
    start = WindowStart(**fields)
    if start == MANUAL_START:
        return start
    problems = []
    if start.start not in (START_ANCHOR, START_HORIZON):
        problems.append(f"start is {start.start!r}, not {START_ANCHOR!r}, {START_HORIZON!r} or {START_MANUAL!r}")
    elif start.cut_at_horizon is not (start.start == START_HORIZON):
        problems.append(f"cut_at_horizon is {start.cut_at_horizon!r} with start {start.start!r}")
    anchor = start.anchor_hour
    if anchor is None or not _is_hour(anchor) or type(start.lookback_days) is not int:
        problems.append("an anchored start needs anchor_hour (yyyy/mm/dd/hh) and lookback_days (whole days)")
    elif start.start == START_ANCHOR and window.capture_start_hour != anchor:
        problems.append(f"anchored at {anchor}, but the window starts at {window.capture_start_hour}")
    elif start.start == START_HORIZON and not window.capture_start_hour > anchor:
        problems.append(f"cut at the horizon, but the window starts at or before the anchor {anchor}")
    sources = {SOURCE_ENDPOINT_CONFIG: True, SOURCE_SERVING_SINCE: True, SOURCE_EVENT: False}
    if start.anchor_source not in sources:
        problems.append(f"anchor_source is {start.anchor_source!r}")
    elif sources[start.anchor_source] != (start.endpoint_config_name is not None):
        problems.append("endpoint_config_name goes with anchor_source 'endpoint_config' or 'serving_since' only")
    elif start.anchor_source == SOURCE_SERVING_SINCE and start.serving_since is None:
        problems.append("anchor_source 'serving_since' needs serving_since")
    if problems:
        raise InvalidLiveRun(f"plan.window_start: {'; '.join(problems)}; was the plan edited?")
    return start
