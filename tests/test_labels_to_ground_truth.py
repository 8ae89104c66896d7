"""scripts/labels_to_ground_truth.py: CSV in, SageMaker's ground-truth JSON Lines out, bad rows by line number."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from live_quality.formats import CapturedRequest, capture_record, json_line
from scripts.labels_to_ground_truth import main


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "labels.csv"
    path.write_text(text)
    return path


def test_writes_the_merge_format_under_the_collection_hour(tmp_path, capsys):
    csv_path = write_csv(tmp_path, "inference_id,label\norder-1,1\norder-2,1\norder-1,0\n")
    assert main([str(csv_path), "--out", str(tmp_path / "gt"), "--collected-at", "2026-11-03T14:25:00Z"]) == 0
    (written,) = list((tmp_path / "gt").rglob("*.jsonl"))
    assert written.relative_to(tmp_path / "gt").as_posix() == "2026/11/03/14/labels-20261103T142500Z.jsonl"
    records = [json.loads(line) for line in written.read_text().splitlines()]
    assert records == [
        {
            "groundTruthData": {"data": "0", "encoding": "CSV"},
            "eventMetadata": {"eventId": "order-1"},
            "eventVersion": "0",
        },
        {
            "groundTruthData": {"data": "1", "encoding": "CSV"},
            "eventMetadata": {"eventId": "order-2"},
            "eventVersion": "0",
        },
    ]
    assert "1 repeated id(s) kept their last label" in capsys.readouterr().out


def test_bad_rows_are_listed_by_line_and_nothing_is_written(tmp_path, capsys):
    csv_path = write_csv(tmp_path, "order-1,1\norder-2,yes\n,1\norder-4,1,extra\n\n" + "x" * 65 + ",0\norder-7,0\n")
    assert main([str(csv_path), "--out", str(tmp_path / "gt"), "--collected-at", "2026-11-03T14:00:00Z"]) == 2
    err = capsys.readouterr().err
    for line, why in [(2, "0 or 1"), (3, "empty"), (4, "3 columns"), (5, "empty row"), (6, "65 characters")]:
        assert f"labels.csv:{line}: " in err and why in err
    assert "nothing written" in err
    assert not (tmp_path / "gt").exists()


def test_skip_bad_rows_writes_the_good_ones(tmp_path, capsys):
    csv_path = write_csv(tmp_path, "order-1,1\norder-2,maybe\n")
    out = tmp_path / "gt"
    assert main([str(csv_path), "--out", str(out), "--collected-at", "2026-11-03T14:00:00Z", "--skip-bad-rows"]) == 0
    (written,) = list(out.rglob("*.jsonl"))
    assert len(written.read_text().splitlines()) == 1
    assert "skipped 1 bad row(s)" in capsys.readouterr().out


def test_a_time_without_zone_and_an_existing_file_are_refused(tmp_path, capsys):
    csv_path = write_csv(tmp_path, "order-1,1\n")
    args = [str(csv_path), "--out", str(tmp_path / "gt"), "--collected-at", "2026-11-03T14:00:00Z"]
    assert main(args) == 0
    assert main(args) == 2
    assert "exists" in capsys.readouterr().err
    try:
        main([str(csv_path), "--out", str(tmp_path / "gt"), "--collected-at", "2026-11-03T14:00:00"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "time zone" in capsys.readouterr().err


def test_the_query_joins_what_the_command_writes_and_the_live_command_reports_it(tmp_path, capsys):
    from datetime import timedelta

    from scripts.live_quality import main as live_main
    from tests.lambdas.live_capture_data import ENDPOINT, START, Request, write_capture

    requests = [
        Request("Variant1", f"order-{i}", 0.9 if i % 3 else 0.2, None, START + timedelta(minutes=i), None)
        for i in range(12)
    ]
    write_capture(tmp_path / "capture", requests)
    csv_path = write_csv(tmp_path, "".join(f"order-{i},{int(i % 3 != 0)}\n" for i in range(0, 12, 2)))
    assert main([str(csv_path), "--out", str(tmp_path / "gt"), "--collected-at", "2026-11-02T09:30:00Z"]) == 0
    reports = tmp_path / "reports"
    args = ["--capture", str(tmp_path / "capture"), "--labels", str(tmp_path / "gt"), "--endpoint", ENDPOINT]
    args += [
        "--variants",
        "Variant1",
        "--start",
        "2026/11/01/00",
        "--end",
        "2026/11/02/00",
        "--label-end",
        "2026/11/03/00",
    ]
    assert live_main([*args, "--report-dir", str(reports)]) == 0
    (report_path,) = list(reports.rglob("report.json"))
    variant = json.loads(report_path.read_text())["variants"]["Variant1"]
    assert (variant["captured"], variant["labelled"]) == (12, 6)
    assert variant["metrics"]["accuracy"] == 1.0
    assert variant["label_delay_hours"] == {"p50": 33.0, "p90": 33.0}  # 2026-11-01T00 -> 2026-11-02T09
    assert "# Live quality of endpoint" in capsys.readouterr().out
    assert live_main([*args[:-6], "--start", "2026/11/02/00", "--end", "2026/11/01/00"]) == 2


def test_captured_keeps_only_labels_for_requests_data_capture_recorded(tmp_path, capsys):
    """At 20 % capture with labels for every request, about four labels in five name a request with no
    capture record; Athena scans them all the same. --captured reads the ids from a copy of the captures."""
    hour = tmp_path / "capture" / "churn-ab" / "Variant1" / "2026" / "11" / "03" / "14"
    hour.mkdir(parents=True)
    moment = datetime(2026, 11, 3, 14, 5, tzinfo=UTC)
    lines = [
        json_line(capture_record(CapturedRequest(f"e{i}", moment, "1,2", 0.4, inference_id=f"order-{i}")))
        for i in (1, 3)
    ]
    (hour / "capture-0.jsonl").write_text("".join(lines) + "not json\n")
    csv_path = write_csv(tmp_path, "order-1,1\norder-2,0\norder-3,0\norder-4,1\n")
    args = [str(csv_path), "--out", str(tmp_path / "gt"), "--collected-at", "2026-11-04T09:00:00Z"]
    assert main([*args, "--captured", str(tmp_path / "capture")]) == 0
    (written,) = list((tmp_path / "gt").rglob("*.jsonl"))
    ids = [json.loads(line)["eventMetadata"]["eventId"] for line in written.read_text().splitlines()]
    assert ids == ["order-1", "order-3"]
    captured = capsys.readouterr()
    assert "wrote 2 label(s)" in captured.out and "left out 2 label(s) for requests not captured" in captured.out
    assert "1 line(s) under" in captured.err
