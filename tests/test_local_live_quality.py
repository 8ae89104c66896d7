"""The local demo's live-quality pieces that need no server: the window, the labelled share, labels to S3 and back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from live_quality.query import QueryWindow
from scripts.local_live_quality import (
    Sent,
    choose_labelled,
    download_prefix,
    plan_query_publish,
    upload_labels,
    window_for,
)


def test_the_window_covers_the_capture_hours_and_the_labels_hour_ends_excluded() -> None:
    hours = window_for(
        datetime(2026, 12, 2, 9, 59, 58, tzinfo=UTC),
        datetime(2026, 12, 2, 10, 0, 3, tzinfo=UTC),
        datetime(2026, 12, 2, 10, 0, 5, tzinfo=UTC),
    )
    assert hours == {
        "capture_start_hour": "2026/12/02/09",
        "capture_end_hour": "2026/12/02/11",
        "label_end_hour": "2026/12/02/11",
    }
    QueryWindow("e", **hours)  # a valid window for the query


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
    hours = window_for(collected, collected, collected)
    report = plan_query_publish("churn-ab", ["Variant1", "Variant2"], hours, tmp_path / "capture", tmp_path / "labels")
    assert report["issues"]["label_for_unknown_id"]["count"] == 2
    assert {v["status"] for v in report["variants"].values()} == {"no_captured_traffic"}
