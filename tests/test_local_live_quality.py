"""The local demo's live-quality pieces that need no server: the window, the labelled share, labels to S3 and back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from live_quality.events import plan_request, plan_window
from live_quality.settings import PlanSettings
from live_quality.window import EndpointConfigAnchor
from scripts.local_live_quality import (
    Sent,
    choose_labelled,
    download_prefix,
    plan_query_publish,
    run_event,
    upload_labels,
)

FIRST, LAST = datetime(2026, 12, 2, 9, 59, 58, tzinfo=UTC), datetime(2026, 12, 2, 10, 0, 3, tzinfo=UTC)


def _window(event: dict[str, str], anchor: EndpointConfigAnchor) -> tuple[str, str, str]:
    window, _ = plan_window(plan_request(event), PlanSettings("e", 42, 0.5), anchor)
    return window.capture_start_hour, window.capture_end_hour, window.label_end_hour


def test_requests_in_the_configs_own_hour_are_read_through_a_named_anchor_hour() -> None:
    """The demo deploys minutes before it sends: a scheduled run would leave the config's creation hour out."""
    anchor = EndpointConfigAnchor("EndpointConfig-1", datetime(2026, 12, 2, 9, 41, tzinfo=UTC))  # anchor 10:00
    event = run_event(anchor, FIRST, LAST)
    assert event == {"time": "2026-12-02T11:00:00+00:00", "anchor_hour": "2026/12/02/09"}
    assert _window(event, anchor) == ("2026/12/02/09", "2026/12/02/11", "2026/12/02/12")


def test_requests_after_the_configs_first_whole_hour_are_read_from_the_endpoint_configs_anchor() -> None:
    anchor = EndpointConfigAnchor("EndpointConfig-1", datetime(2026, 12, 2, 7, 30, tzinfo=UTC))  # anchor 08:00
    event = run_event(anchor, FIRST, LAST)
    assert event == {"time": "2026-12-02T11:00:00+00:00"}
    assert _window(event, anchor) == ("2026/12/02/08", "2026/12/02/11", "2026/12/02/12")


def test_the_labelled_share_is_seeded_and_checked() -> None:
    sent = [Sent(f"id-{n}", "Variant1", 0.5, n % 2) for n in range(100)]
    chosen = choose_labelled(sent, 0.7, seed=3)
    assert len(chosen) == 70
    assert chosen == choose_labelled(sent, 0.7, seed=3)
    with pytest.raises(ValueError, match="labelled share is 0"):
        choose_labelled(sent, 0, seed=3)


@mock_aws
def test_labels_go_up_in_ground_truth_format_and_come_back_for_the_query(tmp_path: Path) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="bucket")
    labelled = [Sent("order-1", "Variant1", 0.9, 1), Sent("order-2", "Variant2", 0.2, 0)]
    collected = datetime(2026, 12, 2, 14, 5, 6, tzinfo=UTC)
    table, uri = upload_labels(s3, "bucket", "churn-ab", labelled, tmp_path, collected)
    assert table.read_text().splitlines() == ["inference_id,label", "order-1,1", "order-2,0"]
    assert uri == "s3://bucket/ground-truth/churn-ab/2026/12/02/14/labels-20261202T140506Z.jsonl"
    copied = download_prefix(s3, "s3://bucket/ground-truth/churn-ab", tmp_path / "labels")
    assert copied == 1
    (path,) = (tmp_path / "labels").rglob("*.jsonl")
    assert path.relative_to(tmp_path / "labels").as_posix() == "2026/12/02/14/labels-20261202T140506Z.jsonl"
    first = json.loads(path.read_text().splitlines()[0])
    assert first == {
        "groundTruthData": {"data": "1", "encoding": "CSV"},
        "eventMetadata": {"eventId": "order-1"},
        "eventVersion": "0",
    }
    # No capture in the window: the labels are reported as for unknown ids, nothing fails.
    (tmp_path / "capture").mkdir()
    event = {
        "time": "2026-12-02T15:00:00Z",
        "capture_start_hour": "2026/12/02/14",
        "capture_end_hour": "2026/12/02/15",
        "label_end_hour": "2026/12/02/15",
    }
    report = plan_query_publish("churn-ab", ["Variant1", "Variant2"], event, tmp_path / "capture", tmp_path / "labels")
    assert report["window"]["start"]["start"] == "manual"
    assert report["issues"]["label_for_unknown_id"]["count"] == 2
    assert {v["status"] for v in report["variants"].values()} == {"no_captured_traffic"}
