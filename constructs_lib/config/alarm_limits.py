"""CloudWatch's limits on an alarm's period and evaluation window, and SageMaker's metric resolution.

From the PutMetricAlarm API reference (``Period``,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html; botocore's
CloudWatch service model carries the same text, and a test watches it):

    "Valid values are 10, 20, 30, and any multiple of 60. [...] An alarm's total current evaluation
    period can be no longer than seven days, so Period multiplied by EvaluationPeriods can't be more
    than 604,800 seconds. For alarms with a period of less than one hour (3,600 seconds), the total
    evaluation period can't be longer than one day (86,400 seconds)."

10, 20 and 30 s make a high-resolution alarm, which only sees data for metrics stored at 1-second
resolution. SageMaker publishes its endpoint invocation metrics at a 1-minute frequency ("Monitor
Amazon SageMaker AI with Amazon CloudWatch", https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html),
so such an alarm lapses into INSUFFICIENT_DATA and never fires: the loader refuses those periods too.
"""

from __future__ import annotations

HIGH_RESOLUTION_PERIODS = (10, 20, 30)
PERIOD_MULTIPLE_SECONDS = 60
SAGEMAKER_METRIC_PERIOD_SECONDS = 60  # SageMaker endpoint metrics are per minute
ONE_HOUR_SECONDS = 3_600
MAX_WINDOW_SHORT_PERIODS_SECONDS = 86_400  # periods under an hour: one day
MAX_WINDOW_SECONDS = 604_800  # any period: seven days


def period_problem(period_seconds: int) -> str | None:
    """What CloudWatch or SageMaker's metric resolution has against ``period_seconds``, or None."""
    if period_seconds in HIGH_RESOLUTION_PERIODS:
        return (
            f"{period_seconds} s is a high-resolution period, but SageMaker's metrics are per minute: "
            "the alarm would never see data; use a multiple of 60"
        )
    if period_seconds < SAGEMAKER_METRIC_PERIOD_SECONDS or period_seconds % PERIOD_MULTIPLE_SECONDS:
        return "must be a multiple of 60 (CloudWatch PutMetricAlarm Period; SageMaker metrics are per minute)"
    return None


def max_window_seconds(period_seconds: int) -> int:
    """The longest ``period × evaluation periods`` CloudWatch accepts for ``period_seconds``."""
    return MAX_WINDOW_SHORT_PERIODS_SECONDS if period_seconds < ONE_HOUR_SECONDS else MAX_WINDOW_SECONDS


def window_problem(period_seconds: int, evaluation_periods: int) -> str | None:
    """What CloudWatch has against this evaluation window, or None."""
    window = period_seconds * evaluation_periods
    limit = max_window_seconds(period_seconds)
    if window <= limit:
        return None
    scope = "for periods under an hour" if period_seconds < ONE_HOUR_SECONDS else "for any period"
    return (
        f"period_seconds × evaluation_periods = {period_seconds} × {evaluation_periods} = {window} s exceeds "
        f"CloudWatch's {limit:,} s {scope} (PutMetricAlarm)"
    )


MAX_HOURLY_EVALUATION_PERIODS = MAX_WINDOW_SECONDS // ONE_HOUR_SECONDS  # 168 one-hour periods: seven days


def hourly_periods_to_see_every(every_hours: int, *, late_hours: int) -> int | None:
    """One-hour periods an alarm on "no event in its window" needs when the event comes every ``every_hours``
    hours and up to ``late_hours`` late: twice the interval, and never fewer than ``every_hours + late_hours
    + 1`` (two events can then be ``every_hours + late_hours`` apart, and the hour the next one lands in may
    not be published yet), capped at CloudWatch's seven days. None when even seven days cannot be sure to
    hold one (the alarm would fire between healthy events)."""
    needed = every_hours + late_hours + 1
    if needed > MAX_HOURLY_EVALUATION_PERIODS:
        return None
    return min(max(2 * every_hours, needed), MAX_HOURLY_EVALUATION_PERIODS)
