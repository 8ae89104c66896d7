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
refuses it here, before anything is written, with the window and the limit named.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from live_quality.formats import HOUR_FORMAT
from live_quality.query import QueryWindow
from live_quality.settings import InvalidLiveRun

# "two weeks before the current date" read as two weeks before the current time (the stricter reading).
MAX_METRIC_AGE = timedelta(weeks=2)
MAX_METRIC_LEAD = timedelta(hours=2)


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
