"""When a run's live metrics are dated in CloudWatch, and whether CloudWatch still takes that date (pure).

Each datum carries the run's own time, the end of its capture window (for a scheduled run the hour
it ran, ``window.capture_end_hour``), instead of no Timestamp (which CloudWatch reads as "when it
arrived"). A retried or late publish then lands on the same point: the same values at the same
timestamp, so the Maximum/Average the dashboard draws do not move; and a manual run over an old
window is drawn where its data is, not today.

CloudWatch accepts such timestamps only within limits: "You can specify time stamps that are as much
as two weeks before the current date, and as much as 2 hours after the current day and time"
(PutMetricData, CloudWatch API reference:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html). A datum
outside them is refused by the service after the reports were written; :func:`check_metric_time`
refuses it here, before anything is written, with the window and the limit named; and the plan
refuses such a window before Athena runs (:func:`check_plannable`), so a manual run over an old window
neither pays for the scan nor fails only at the end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from live_quality.formats import HOUR_FORMAT
from live_quality.query import QueryWindow
from live_quality.settings import InvalidLiveRun

# "two weeks before the current date" read as two weeks before the current time (the stricter reading).
MAX_METRIC_AGE = timedelta(weeks=2)
MAX_METRIC_LEAD = timedelta(hours=2)
# The longest from plan to publish: the state machine's timeout (constructs_lib/live_quality.RUN_TIMEOUT;
# a test keeps the two equal). A window the plan accepts is then still within the limit at publish.
PLAN_TO_PUBLISH = timedelta(hours=1)


def metric_time(window: QueryWindow) -> datetime:
    """The timestamp of the run's metrics: the end of its capture window (UTC, on the hour)."""
    return datetime.strptime(window.capture_end_hour, HOUR_FORMAT).replace(tzinfo=UTC)


def check_metric_time(stamp: datetime, now: datetime) -> None:
    """Refuse a timestamp CloudWatch would not take at ``now`` (both aware datetimes)."""
    if stamp < now - MAX_METRIC_AGE:
        raise InvalidLiveRun(
            f"the window ends at {stamp:%Y-%m-%dT%H:%MZ}, more than two weeks before now ({now:%Y-%m-%dT%H:%MZ}): "
            "CloudWatch takes metric timestamps at most two weeks old (PutMetricData). Nothing was written; "
            "run the window again with a later capture_end_hour, or read its report without metrics "
            "(scripts/live_quality.py)"
        )
    if stamp > now + MAX_METRIC_LEAD:
        raise InvalidLiveRun(
            f"the window ends at {stamp:%Y-%m-%dT%H:%MZ}, more than two hours after now ({now:%Y-%m-%dT%H:%MZ}): "
            "CloudWatch takes metric timestamps at most two hours ahead (PutMetricData). Nothing was written; "
            "a window cannot end in the future"
        )


def check_plannable(window: QueryWindow, now: datetime) -> None:
    """Refuse, in the plan, a window whose metrics CloudWatch would no longer take when publish runs
    (at most :data:`PLAN_TO_PUBLISH` after ``now``): before Athena scans anything."""
    stamp = metric_time(window)
    latest_publish = now + PLAN_TO_PUBLISH
    if stamp < latest_publish - MAX_METRIC_AGE:
        raise InvalidLiveRun(
            f"the window ends at {stamp:%Y-%m-%dT%H:%MZ}; its metrics would be more than two weeks old when "
            f"the run publishes (by {latest_publish:%Y-%m-%dT%H:%MZ}), and CloudWatch takes metric timestamps "
            "at most two weeks old (PutMetricData). Refused before the query: nothing was read or billed; run "
            "a window that ends later, or read this one without metrics (scripts/live_quality.py)"
        )
