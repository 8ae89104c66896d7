"""Where a live-quality run's window starts: the anchor (the endpoint config's creation), the longest window,
and the plan's record of which one applied (pure; the AWS layer is tested in test_live_quality_anchor.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from live_quality.query import QueryWindow
from live_quality.settings import InvalidLiveRun
from live_quality.window import (
    MANUAL_START,
    EndpointConfigAnchor,
    NothingToReadYet,
    WindowStart,
    anchor_hour_after,
    anchored_window,
    window_start_from_fields,
)

ENDPOINT = "churn-ab"
RUN = datetime(2026, 11, 4, 0, 17, 5, tzinfo=UTC)  # the run's hour: 2026/11/04/00


def config(created: datetime, name: str = "EndpointConfig-abc123") -> EndpointConfigAnchor:
    return EndpointConfigAnchor(name, created)


@pytest.mark.parametrize(
    ("created", "hour"),
    [
        (datetime(2026, 10, 31, 22, 40, 1, tzinfo=UTC), "2026/10/31/23"),
        (datetime(2026, 10, 31, 23, 0, 0, tzinfo=UTC), "2026/10/31/23"),  # on the hour: that hour is whole
        (datetime(2026, 10, 31, 23, 0, 0, 1000, tzinfo=UTC), "2026/11/01/00"),  # a millisecond later: the next
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "2027/01/01/00"),
        # An offset is turned into UTC first (SageMaker's paths are UTC): 01:30+02:00 is 23:30 UTC.
        (datetime(2026, 11, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))), "2026/11/01/00"),
    ],
)
def test_the_anchor_is_the_first_whole_utc_hour_after_the_configs_creation(created: datetime, hour: str) -> None:
    assert anchor_hour_after(created) == hour
    assert config(created).hour == hour


def test_a_creation_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no zone"):
        anchor_hour_after(datetime(2026, 10, 31, 22, 40))


def test_a_window_younger_than_the_longest_starts_at_the_anchor() -> None:
    created = datetime(2026, 11, 1, 9, 12, 30, 250000, tzinfo=UTC)
    window, start = anchored_window(ENDPOINT, RUN, "2026/11/01/10", 3, 0.5, anchor=config(created))
    assert window == QueryWindow(ENDPOINT, "2026/11/01/10", "2026/11/04/00", "2026/11/04/01", 0.5)
    assert start == WindowStart(
        start="anchor",
        anchor_hour="2026/11/01/10",
        anchor_source="endpoint_config",
        endpoint_config_name="EndpointConfig-abc123",
        endpoint_config_created="2026-11-01T09:12:30.250Z",
        lookback_days=3,
        cut_at_horizon=False,
    )


def test_the_anchor_is_the_later_of_the_creation_and_the_serving_since_marker() -> None:
    created = datetime(2026, 11, 1, 9, 12, 30, 250000, tzinfo=UTC)
    served = EndpointConfigAnchor(
        "EndpointConfig-abc123", created, serving_since=datetime(2026, 11, 1, 13, 2, tzinfo=UTC)
    )
    assert (served.source, served.hour) == ("serving_since", "2026/11/01/14")
    window, start = anchored_window(ENDPOINT, RUN, served.hour, 3, 0.5, anchor=served)
    assert window.capture_start_hour == "2026/11/01/14"
    assert (start.anchor_source, start.serving_since) == ("serving_since", "2026-11-01T13:02:00.000Z")
    # A marker before the creation (clocks; a config re-created under its name) never moves the start back.
    early = EndpointConfigAnchor("EndpointConfig-abc123", created, serving_since=datetime(2026, 11, 1, 8, tzinfo=UTC))
    assert (early.source, early.hour) == ("endpoint_config", "2026/11/01/10")


def test_the_same_anchor_gives_a_growing_window_run_after_run() -> None:
    """What the anytime guarantee needs: the start stays, only the end moves (until the longest window)."""
    starts, ends = set(), []
    for day in range(3):
        window, start = anchored_window(ENDPOINT, RUN + timedelta(days=day), "2026/11/01/10", 7, 0.5)
        starts.add(window.capture_start_hour)
        ends.append(window.capture_end_hour)
        assert start.start == "anchor" and start.cut_at_horizon is False
    assert starts == {"2026/11/01/10"}
    assert ends == sorted(ends) and len(set(ends)) == 3


def test_an_anchor_older_than_the_longest_window_is_cut_there_and_says_so() -> None:
    window, start = anchored_window(ENDPOINT, RUN, "2026/10/20/05", 3, 0.5)
    assert (window.capture_start_hour, window.capture_end_hour) == ("2026/11/01/00", "2026/11/04/00")
    assert start.start == "horizon" and start.cut_at_horizon is True
    assert start.anchor_hour == "2026/10/20/05" and start.anchor_source == "event"
    assert start.endpoint_config_name is None and start.lookback_days == 3


def test_an_anchor_exactly_the_longest_window_back_is_not_a_cut() -> None:
    window, start = anchored_window(ENDPOINT, RUN, "2026/11/01/00", 3, 0.5)
    assert window.capture_start_hour == "2026/11/01/00"
    assert start.start == "anchor"


@pytest.mark.parametrize(
    "created",
    [
        datetime(2026, 11, 3, 23, 30, tzinfo=UTC),  # anchor 2026/11/04/00: the run's own hour
        datetime(2026, 11, 4, 0, 5, tzinfo=UTC),  # created after the run's hour began
        datetime(2026, 11, 4, 0, 20, tzinfo=UTC),  # after the run started (DescribeEndpoint comes later)
    ],
)
def test_no_whole_hour_since_the_anchor_reads_nothing_and_says_when_it_will(created: datetime) -> None:
    anchor = config(created)
    with pytest.raises(
        NothingToReadYet, match=rf"endpoint config EndpointConfig-abc123 was created at .*{anchor.hour}"
    ):
        anchored_window(ENDPOINT, RUN, anchor.hour, 3, 0.5, anchor=anchor)


def test_one_whole_hour_since_the_anchor_is_read() -> None:
    anchor = config(datetime(2026, 11, 3, 22, 59, 59, tzinfo=UTC))
    window, _ = anchored_window(ENDPOINT, RUN, anchor.hour, 3, 0.5, anchor=anchor)
    assert (window.capture_start_hour, window.capture_end_hour) == ("2026/11/03/23", "2026/11/04/00")


# ---- the plan's window_start, read back by publish -------------------------------------------------------

WINDOW, START = anchored_window(
    ENDPOINT, RUN, "2026/11/01/10", 3, 0.5, anchor=config(datetime(2026, 11, 1, 9, 5, tzinfo=UTC))
)
CUT_WINDOW, CUT_START = anchored_window(ENDPOINT, RUN, "2026/10/20/05", 3, 0.5)


def test_window_start_comes_back_as_it_was_planned() -> None:
    assert window_start_from_fields(START.fields(), WINDOW) == START
    assert window_start_from_fields(CUT_START.fields(), CUT_WINDOW) == CUT_START
    assert window_start_from_fields(MANUAL_START.fields(), WINDOW) == MANUAL_START


@pytest.mark.parametrize(
    ("change", "window", "message"),
    [
        ({"cut_at_horizon": True}, WINDOW, "cut_at_horizon is True with start 'anchor'"),
        ({"start": "horizon"}, WINDOW, "cut_at_horizon is False with start 'horizon'"),
        ({"anchor_hour": "2026/11/01/09"}, WINDOW, "anchored at 2026/11/01/09, but the window starts at 2026/11/01/10"),
        ({"start": "sliding"}, WINDOW, "start is 'sliding'"),
        ({"anchor_hour": "2026-11-01"}, WINDOW, "needs anchor_hour"),
        ({"lookback_days": "3"}, WINDOW, "needs anchor_hour .* and lookback_days"),
        ({"anchor_source": "event"}, WINDOW, "endpoint_config_name goes with anchor_source 'endpoint_config' or"),
        ({"anchor_source": "serving_since"}, WINDOW, "anchor_source 'serving_since' needs serving_since"),
        ({"anchor_hour": "2026/11/02/00"}, CUT_WINDOW, "cut at the horizon, but the window starts at or before"),
    ],
)
def test_an_edited_window_start_is_refused(change: dict[str, Any], window: QueryWindow, message: str) -> None:
    base = START if window is WINDOW else CUT_START
    with pytest.raises(InvalidLiveRun, match=message):
        window_start_from_fields({**base.fields(), **change}, window)


@pytest.mark.parametrize("fields", [None, [], {"start": "anchor"}, {**START.fields(), "extra": 1}])
def test_a_window_start_of_another_shape_is_refused(fields: Any) -> None:
    with pytest.raises(InvalidLiveRun, match=r"plan\.window_start must have exactly the keys"):
        window_start_from_fields(fields, WINDOW)
