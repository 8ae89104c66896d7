"""The live-quality query on the embedded engine: numbers against scikit-learn, every bad input reported."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn.metrics import confusion_matrix, roc_auc_score

from live_quality.formats import capture_key, ground_truth_key, ground_truth_record, json_line
from live_quality.local_engine import run_on_folders
from live_quality.query import QueryWindow
from live_quality.results import QueryResult, parse_rows
from tests.lambdas.live_capture_data import (
    ENDPOINT,
    START,
    Request,
    append_lines,
    random_requests,
    write_capture,
    write_labels,
)

WINDOW = QueryWindow(ENDPOINT, "2026/11/01/00", "2026/11/04/00", "2026/11/08/00", threshold=0.5)


def run(tmp_path: Path, window: QueryWindow = WINDOW) -> QueryResult:
    return parse_rows(run_on_folders(tmp_path / "capture", tmp_path / "gt", window, threads=1))


def placements(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's placement values, computed independently of the query (pairwise, ties 1/2)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return psi.mean(axis=1), psi.mean(axis=0)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Request], QueryResult]:
    root = tmp_path_factory.mktemp("live")
    requests = random_requests(7, {"Variant1": 700, "Variant2": 500})
    write_capture(root / "capture", requests)
    write_labels(root / "gt", requests)
    return root, requests, run(root)


def test_per_variant_metrics_match_scikit_learn(dataset):
    _, requests, result = dataset
    assert result.variants() == ["Variant1", "Variant2"]
    for variant in ("Variant1", "Variant2"):
        mine = [r for r in requests if r.variant == variant]
        labelled = [r for r in mine if r.label is not None]
        y = np.array([r.label for r in labelled])
        s = np.array([r.score for r in labelled])
        stats = result.overall(variant)
        assert stats is not None
        assert (stats.captured, stats.labelled) == (len(mine), len(labelled))
        tn, fp, fn, tp = confusion_matrix(y, (s >= 0.5).astype(int)).ravel()
        assert stats.confusion.as_dict() == {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
        assert (stats.positives, stats.negatives) == (int(y.sum()), int(len(y) - y.sum()))
        assert stats.roc_auc == pytest.approx(roc_auc_score(y, s), rel=1e-12)
        v10, v01 = placements(y, s)
        assert stats.v10_variance == pytest.approx(np.var(v10, ddof=1), rel=1e-9)
        assert stats.v01_variance == pytest.approx(np.var(v01, ddof=1), rel=1e-9)
        assert len(np.unique(s)) < len(s), "the data should have tied scores"


def test_each_inference_day_is_its_own_period_and_they_add_up(dataset):
    _, requests, result = dataset
    for variant in ("Variant1", "Variant2"):
        days = result.days(variant)
        assert [d.period for d in days] == ["2026/11/01", "2026/11/02", "2026/11/03"]
        for day in days:
            rows = [
                r
                for r in requests
                if r.variant == variant and r.inference_time.strftime("%Y/%m/%d") == day.period and r.label is not None
            ]
            y = np.array([r.label for r in rows])
            s = np.array([r.score for r in rows])
            assert day.labelled == len(rows)
            tn, fp, fn, tp = confusion_matrix(y, (s >= 0.5).astype(int)).ravel()
            assert day.confusion.as_dict() == {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
            # ROC AUC and DeLong's placement variances per day too: the comparison's strata
            assert day.roc_auc == pytest.approx(roc_auc_score(y, s), rel=1e-12)
            v10, v01 = placements(y, s)
            assert day.v10_variance == pytest.approx(np.var(v10, ddof=1), rel=1e-9)
            assert day.v01_variance == pytest.approx(np.var(v01, ddof=1), rel=1e-9)
        total = result.overall(variant)
        assert total is not None
        assert sum(d.captured for d in days) == total.captured
        assert sum(d.confusion.tp for d in days) == total.confusion.tp


def test_label_delay_histogram_counts_whole_hours_from_inference_hour_to_collection_hour(dataset):
    _, requests, result = dataset
    for variant in ("Variant1", "Variant2"):
        expected = Counter(
            int(
                (
                    r.label_time.replace(minute=0, second=0) - r.inference_time.replace(minute=0, second=0)
                ).total_seconds()
                // 3600
            )
            for r in requests
            if r.variant == variant and r.label_time is not None
        )
        assert result.delays[variant] == dict(expected)


def test_midrank_ties_are_half_counted_like_scikit_learn(tmp_path):
    requests = [
        Request("Variant1", f"id-{i}", score, label, START + timedelta(minutes=i), START + timedelta(hours=2))
        for i, (score, label) in enumerate([(0.5, 1), (0.5, 0), (0.5, 1), (0.2, 0), (0.9, 1), (0.2, 1), (0.9, 0)])
    ]
    write_capture(tmp_path / "capture", requests)
    write_labels(tmp_path / "gt", requests)
    stats = run(tmp_path).overall("Variant1")
    assert stats is not None
    y = [r.label for r in requests]
    s = [r.score for r in requests]
    assert stats.roc_auc == pytest.approx(roc_auc_score(y, s), rel=1e-12)
    assert rankdata(s).tolist()  # scipy agrees there are ties to average


def test_only_the_endpoint_and_hours_of_the_window_are_read(tmp_path):
    inside = Request("Variant1", "in", 0.9, 1, START + timedelta(hours=1), START + timedelta(hours=2))
    before = Request("Variant1", "before", 0.9, 1, START - timedelta(hours=1), START + timedelta(hours=2))
    after = Request("Variant1", "after", 0.9, 1, START + timedelta(days=3), START + timedelta(days=3, hours=2))
    late_label = Request("Variant1", "late", 0.9, 1, START + timedelta(hours=1), START + timedelta(days=7))
    write_capture(tmp_path / "capture", [inside, before, after, late_label])
    write_capture(tmp_path / "capture", [inside], endpoint="other-endpoint")
    write_labels(tmp_path / "gt", [inside, before, after, late_label])
    result = run(tmp_path)
    stats = result.overall("Variant1")
    assert stats is not None
    assert (stats.captured, stats.labelled) == (2, 1)  # "in" and "late" captured; only "in" labelled in time
    # labels for captures outside the window are reported, not silently dropped
    assert result.issue_counts[("label_for_unknown_id", None)] == 2


def test_empty_folders_give_no_rows(tmp_path):
    (tmp_path / "capture").mkdir()
    (tmp_path / "gt").mkdir()
    assert run_on_folders(tmp_path / "capture", tmp_path / "gt", WINDOW) == []


# --- bad input: every case is counted and reported with its file and line, and never stops the run ---


def _samples(result: QueryResult, issue: str) -> list[tuple[str | None, int | None, str | None]]:
    return [
        (Path(s.source_file).name if s.source_file else None, s.line_number, s.detail)
        for s in result.issue_samples
        if s.issue == issue
    ]


@pytest.fixture
def good(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two labelled requests on Variant1; returns (tmp_path, capture file, label file)."""
    requests = [
        Request("Variant1", "good-1", 0.8, 1, START + timedelta(minutes=5), START + timedelta(hours=3)),
        Request("Variant1", "good-2", 0.3, 0, START + timedelta(minutes=6), START + timedelta(hours=3)),
    ]
    files = write_capture(tmp_path / "capture", requests)
    write_labels(tmp_path / "gt", requests)
    label_file = tmp_path / "gt" / ground_truth_key("", "2026/11/01/03", "labels.jsonl")
    return tmp_path, next(iter(files)), label_file


def test_malformed_capture_lines_are_counted_with_file_and_line_and_the_rest_still_counts(good):
    root, capture_file, _ = good
    record = json.loads(capture_file.read_text().splitlines()[0])
    multi = json.loads(json.dumps(record))
    multi["captureData"]["endpointOutput"]["data"] = "0.1,0.2"
    multi["eventMetadata"]["inferenceId"] = "multi"
    no_output = json.loads(json.dumps(record))
    del no_output["captureData"]["endpointOutput"]
    no_output["eventMetadata"]["inferenceId"] = "no-output"
    version = json.loads(json.dumps(record))
    version["eventVersion"] = "1"
    nan = json.loads(json.dumps(record))
    nan["captureData"]["endpointOutput"]["data"] = "NaN"
    no_time = json.loads(json.dumps(record))
    del no_time["eventMetadata"]["inferenceTime"]
    no_id = json.loads(json.dumps(record))
    del no_id["eventMetadata"]["inferenceId"]
    del no_id["eventMetadata"]["eventId"]
    append_lines(
        capture_file,
        '{"captureData": {',  # line 3: truncated
        json.dumps(multi),  # 4
        json.dumps(no_output),  # 5
        json.dumps(version),  # 6
        json.dumps(nan),  # 7
        json.dumps(no_time),  # 8
        json.dumps(no_id),  # 9
        "",  # 10: an empty line is not a record
    )
    result = run(root)
    stats = result.overall("Variant1")
    assert stats is not None and (stats.captured, stats.labelled) == (2, 2)
    expected = {
        "capture_not_json": [3, 10],
        "capture_output_not_one_score": [4, 7],
        "capture_without_output": [5],
        "capture_unknown_event_version": [6],
        "capture_without_inference_time": [8],
        "capture_without_any_id": [9],
    }
    for issue, lines in expected.items():
        found = _samples(result, issue)
        assert [line for _, line, _ in found] == lines, issue
        assert {name for name, _, _ in found} == {capture_file.name}
        assert result.issue_counts[(issue, "Variant1")] == len(lines)


def test_malformed_label_lines_are_counted_with_file_and_line(good):
    root, _, label_file = good
    append_lines(
        label_file,
        "not json",  # 3
        json.dumps(
            {
                "groundTruthData": {"data": "2", "encoding": "CSV"},
                "eventMetadata": {"eventId": "x"},
                "eventVersion": "0",
            }
        ),
        json.dumps(
            {
                "groundTruthData": {"data": "1", "encoding": "JSON"},
                "eventMetadata": {"eventId": "x"},
                "eventVersion": "0",
            }
        ),
        json.dumps({"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {}, "eventVersion": "0"}),
        json.dumps({"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "x"}}),
    )
    result = run(root)
    assert result.overall("Variant1").labelled == 2  # type: ignore[union-attr]
    for issue, line in {
        "label_not_json": 3,
        "label_not_0_or_1": 4,
        "label_not_csv": 5,
        "label_without_event_id": 6,
        "label_unknown_event_version": 7,
    }.items():
        assert _samples(result, issue) == [(label_file.name, line, _samples(result, issue)[0][2])], issue
        assert result.issue_counts[(issue, None)] == 1


def test_labels_for_unknown_ids_are_reported(good):
    root, _, label_file = good
    append_lines(label_file, json_line(ground_truth_record("nobody-asked", "1")).strip())
    result = run(root)
    assert _samples(result, "label_for_unknown_id") == [(label_file.name, 3, "nobody-asked")]


def test_duplicate_labels_the_last_wins_and_the_replaced_ones_are_counted(good):
    root, _, _ = good
    # good-1 was labelled 1 at hour 03. A later hour says 0; inside that hour a later file says 1 again,
    # and inside that file a later line says 0: the last of all (0) wins.
    later = root / "gt" / ground_truth_key("", "2026/11/01/05", "a.jsonl")
    latest = root / "gt" / ground_truth_key("", "2026/11/01/05", "b.jsonl")
    append_lines(later, json_line(ground_truth_record("good-1", "0")).strip())
    append_lines(
        latest,
        json_line(ground_truth_record("good-1", "1")).strip(),
        json_line(ground_truth_record("good-1", "0")).strip(),
    )
    result = run(root)
    stats = result.overall("Variant1")
    assert stats is not None
    assert (stats.positives, stats.negatives) == (0, 2)
    assert result.issue_counts[("label_duplicate_superseded", None)] == 3
    superseded = sorted(_samples(result, "label_duplicate_superseded"))
    assert superseded == [("a.jsonl", 1, "good-1"), ("b.jsonl", 1, "good-1"), ("labels.jsonl", 1, "good-1")]
    assert result.delays["Variant1"] == {3: 1, 5: 1}  # delay measured to the winning label's hour


def test_capture_without_inference_id_is_matched_on_event_id_like_model_monitor(good):
    root, capture_file, label_file = good
    record = json.loads(capture_file.read_text().splitlines()[0])
    del record["eventMetadata"]["inferenceId"]
    record["eventMetadata"]["eventId"] = "evt-anonymous"
    append_lines(capture_file, json.dumps(record))
    append_lines(label_file, json_line(ground_truth_record("evt-anonymous", "1")).strip())
    result = run(root)
    stats = result.overall("Variant1")
    assert stats is not None
    assert (stats.captured, stats.labelled, stats.without_inference_id) == (3, 3, 1)
    assert _samples(result, "capture_without_inference_id") == [(capture_file.name, 3, "evt-anonymous")]
    # The coverage counts requests with an InferenceId on both sides: 2 of 2, not 3 of 3.
    assert stats.labelled_without_inference_id == 1
    assert stats.label_coverage == 1.0


def test_captures_without_inference_id_and_without_labels_leave_the_coverage_alone(good):
    # The evaluation's own TargetVariant requests carry no InferenceId and get no label.
    root, capture_file, _ = good
    record = json.loads(capture_file.read_text().splitlines()[0])
    del record["eventMetadata"]["inferenceId"]
    for i in range(6):
        record["eventMetadata"]["eventId"] = f"evaluation-{i}"
        append_lines(capture_file, json.dumps(record))
    stats = run(root).overall("Variant1")
    assert stats is not None
    assert (stats.captured, stats.without_inference_id, stats.labelled) == (8, 6, 2)
    assert stats.label_coverage == 1.0  # 2 labelled of the 2 requests with an InferenceId, not 2 of 8


def test_an_id_captured_twice_is_left_out_everywhere_and_reported(good):
    root, capture_file, _ = good
    first = capture_file.read_text().splitlines()[0]
    other_variant = root / "capture" / capture_key("", ENDPOINT, "Variant2", "2026/11/01/00", "x.jsonl")
    append_lines(other_variant, first)
    result = run(root)
    assert result.overall("Variant1").captured == 1  # type: ignore[union-attr]
    assert result.overall("Variant2") is None
    assert sorted(_samples(result, "capture_duplicate_id")) == [
        (capture_file.name, 1, "good-1"),
        ("x.jsonl", 1, "good-1"),
    ]
    assert result.issue_counts[("label_for_unknown_id", None)] == 1  # its label has nothing to join now


def test_a_label_collected_before_its_prediction_hour_is_left_out_and_reported(tmp_path):
    odd = Request("Variant1", "odd", 0.7, 1, START + timedelta(hours=5), START + timedelta(hours=2))
    fine = Request("Variant1", "fine", 0.2, 0, START + timedelta(hours=1), START + timedelta(hours=2))
    write_capture(tmp_path / "capture", [odd, fine])
    write_labels(tmp_path / "gt", [odd, fine])
    result = run(tmp_path)
    stats = result.overall("Variant1")
    assert stats is not None
    assert (stats.captured, stats.labelled, stats.positives) == (2, 1, 0)
    assert result.issue_counts[("label_before_inference", "Variant1")] == 1
    # The sample names the label's file, line and id (the query before the single-join rewrite named none).
    label_file = ground_truth_key("", "2026/11/01/02", "labels.jsonl")
    lines = (tmp_path / "gt" / label_file).read_text().splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if '"odd"' in text)
    assert _samples(result, "label_before_inference") == [("labels.jsonl", line, "odd")]
    assert [s.variant for s in result.issue_samples if s.issue == "label_before_inference"] == ["Variant1"]
    assert result.delays["Variant1"] == {1: 1}


def test_file_names_order_as_strings_when_the_last_label_is_chosen(good):
    # The embedded engine binds file names as an ENUM declared in byte order (local_engine); the tie
    # between two files of one hour must still go to the later name as a string: "a" sorts after "B".
    root, _, _ = good
    upper = root / "gt" / ground_truth_key("", "2026/11/01/05", "B.jsonl")
    lower = root / "gt" / ground_truth_key("", "2026/11/01/05", "a.jsonl")
    append_lines(lower, json_line(ground_truth_record("good-1", "0")).strip())
    append_lines(upper, json_line(ground_truth_record("good-1", "1")).strip())
    result = run(root)
    stats = result.overall("Variant1")
    assert stats is not None and (stats.positives, stats.negatives) == (0, 2)
    superseded = _samples(result, "label_duplicate_superseded")
    assert sorted(superseded) == [("B.jsonl", 1, "good-1"), ("labels.jsonl", 1, "good-1")]
    assert all(isinstance(s.source_file, str) for s in result.issue_samples)


def test_a_shadows_copies_of_production_ids_leave_productions_counts_whole(tmp_path):
    # The shadow receives copies of production's requests, assumed under the same InferenceId (Q4,
    # UNVERIFIED). Live quality reads the production variants only (the Glue projection, VARIANTS;
    # here bind_folders' variants): production's counts are those of its own captures.
    production = random_requests(11, {"Current": 500})
    copied = [
        Request("Candidate", r.inference_id, 1 - r.score, r.label, r.inference_time, r.label_time)
        for r in production[::5]  # 20 % of production's ids
    ]
    write_capture(tmp_path / "capture", production + copied)
    write_labels(tmp_path / "gt", production)
    alone = tmp_path / "alone"
    write_capture(alone / "capture", production)
    write_labels(alone / "gt", production)
    expected = run(alone).overall("Current")

    result = parse_rows(run_on_folders(tmp_path / "capture", tmp_path / "gt", WINDOW, threads=1, variants=["Current"]))
    stats = result.overall("Current")
    assert stats is not None and expected is not None
    assert (
        (stats.captured, stats.labelled)
        == (expected.captured, expected.labelled)
        == (
            500,
            sum(r.label is not None for r in production),
        )
    )
    assert stats.roc_auc == expected.roc_auc
    assert result.variants() == ["Current"]
    assert not [key for key in result.issue_counts if key[0] == "capture_duplicate_id"]
    # Read beside production, every copied id is a duplicate: production loses its sampled share.
    mixed = run(tmp_path).overall("Current")
    assert mixed is not None and mixed.captured == 400
