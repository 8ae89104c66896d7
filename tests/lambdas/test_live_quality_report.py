"""The run's report from the query's rows: groups of variants, delays, metrics to publish, Markdown, Athena strings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from evaluate.metrics import Confusion, threshold_metrics
from live_quality.comparison import AUC_NOT_A_DECISION
from live_quality.local_engine import run_on_folders
from live_quality.query import QueryWindow
from live_quality.report import LIVE_METRICS, build_report, delay_percentiles, to_markdown
from live_quality.results import InvalidQueryResult, parse_rows
from live_quality.window import EndpointConfigAnchor, anchored_window
from tests.lambdas.live_capture_data import (
    ENDPOINT,
    START,
    Request,
    append_lines,
    random_requests,
    write_capture,
    write_labels,
)

WINDOW = QueryWindow(ENDPOINT, "2026/11/01/00", "2026/11/04/00", "2026/11/08/00")


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], list[Request]]:
    root = tmp_path_factory.mktemp("report")
    requests = random_requests(21, {"Variant1": 600, "Variant2": 600, "OldVariant": 80})
    files = write_capture(root / "capture", requests)
    write_labels(root / "gt", requests)
    append_lines(next(iter(files)), "{oops")
    return run_on_folders(root / "capture", root / "gt", WINDOW, threads=1), requests


def test_metrics_delays_and_groups(rows):
    raw, requests = rows
    report = build_report(parse_rows(raw), WINDOW, ["Variant1", "Variant2", "NewVariant"])
    variants = report["variants"]
    assert list(variants) == ["Variant1", "Variant2", "NewVariant", "OldVariant"]
    assert [variants[v]["status"] for v in variants] == ["current", "current", "no_captured_traffic", "retired"]
    assert report["retired_variants"] == ["OldVariant"]
    for name in ("Variant1", "Variant2", "OldVariant"):
        labelled = [r for r in requests if r.variant == name and r.label is not None]
        y = [r.label for r in labelled]
        predicted = [int(r.score >= 0.5) for r in labelled]
        metrics = variants[name]["metrics"]
        assert metrics["accuracy"] == pytest.approx(accuracy_score(y, predicted))
        assert metrics["precision"] == pytest.approx(precision_score(y, predicted, zero_division=0))
        assert metrics["recall"] == pytest.approx(recall_score(y, predicted, zero_division=0))
        assert metrics["f1"] == pytest.approx(f1_score(y, predicted, zero_division=0))
        assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, [r.score for r in labelled]))
        captured = sum(r.variant == name for r in requests)
        assert variants[name]["label_coverage"] == pytest.approx(len(labelled) / captured)
        delays = [
            (r.label_time.replace(minute=0, second=0) - r.inference_time.replace(minute=0, second=0)).total_seconds()
            // 3600
            for r in labelled
        ]
        assert variants[name]["label_delay_hours"] == pytest.approx(
            {"p50": np.percentile(delays, 50), "p90": np.percentile(delays, 90)}
        )
    # retired variants are reported (their late labels too) but never compared
    assert [(c["variant_a"], c["variant_b"]) for c in report["comparisons"]] == [("Variant1", "Variant2")]
    assert report["issues"]["capture_not_json"]["count"] == 1
    assert report["issues"]["capture_not_json"]["samples"][0]["line"] is not None
    published = report["metrics_to_publish"]
    assert set(published) == {"Variant1", "Variant2", "OldVariant"}
    assert set(published["Variant1"]) == set(LIVE_METRICS.values())
    assert published["Variant1"]["LiveRocAuc"] == variants["Variant1"]["metrics"]["roc_auc"]
    json.dumps(report)  # the JSON report is plain data


def test_markdown_shows_the_table_the_verdict_and_the_issues(rows):
    raw, _ = rows
    report = build_report(parse_rows(raw), WINDOW, ["Variant1", "Variant2"])
    text = to_markdown(report)
    assert text.startswith(f"# Live quality of endpoint `{ENDPOINT}`")
    assert "| | Variant1 | Variant2 | OldVariant |" in text
    assert "## Variant2 vs Variant1 (baseline)" in text
    assert "**Verdict:" in text
    (comparison,) = report["comparisons"]
    assert comparison["status"] == "tested"
    assert "confidence sequence)" in text and "within inference days (3 days" in text
    assert comparison["accuracy"]["interval_confidence"] == pytest.approx(1 - 0.05 / report["family_tests"])
    # ROC AUC stays in the report, with its interval, as a description that decides nothing.
    auc = comparison["roc_auc"]
    assert auc["decision"] is False and "p_value" not in auc and "p_value_adjusted" not in auc
    assert auc["ci_low"] <= auc["difference"] <= auc["ci_high"]
    assert f"descriptive, {AUC_NOT_A_DECISION}." in text and "Only accuracy decides" in text
    assert "Positives among labelled requests" in text
    assert "ROC AUC, recall and specificity do not" in text
    assert set(comparison["labelled_positive_share"]) == {
        "share_a",
        "share_b",
        "difference_within_days",
        "p_value",
        "days",
    }
    assert "`capture_not_json` | 1 |" in text
    assert "Retired" in text and "OldVariant" in text


RUN = datetime(2026, 11, 4, 0, 17, tzinfo=UTC)
CONFIG = EndpointConfigAnchor("EndpointConfig-Ab12Cd34", datetime(2026, 10, 31, 23, 5, tzinfo=UTC))


def test_the_report_says_where_an_anchored_window_starts_and_that_verdicts_hold_over_all_runs_since(rows):
    raw, _ = rows
    _, start = anchored_window(ENDPOINT, RUN, CONFIG.hour, 42, 0.5, anchor=CONFIG)
    report = build_report(parse_rows(raw), WINDOW, ["Variant1", "Variant2"], window_start=start)
    assert report["window"]["start"] == start.fields()
    assert report["window"]["start"]["cut_at_horizon"] is False
    text = to_markdown(report)
    assert (
        "**The window starts at 2026/11/01/00**, the first whole hour after the endpoint's current endpoint "
        "config `EndpointConfig-Ab12Cd34` was created (2026-10-31T23:05:00.000Z)"
    ) in text
    assert (
        "a verdict at any of them keeps the family-wise error approximately (asymptotically) at alpha over all of them"
    ) in text
    assert "for that run alone" not in text


def test_the_report_says_when_the_longest_window_cut_it_and_that_each_run_stands_alone(rows):
    raw, _ = rows
    _, start = anchored_window(ENDPOINT, RUN, CONFIG.hour, 2, 0.5, anchor=CONFIG)
    assert start.cut_at_horizon
    report = build_report(parse_rows(raw), WINDOW, ["Variant1", "Variant2"], window_start=start)
    assert report["window"]["start"]["start"] == "horizon"
    text = to_markdown(report)
    assert "**The window is cut at its longest, 2 days** (`lookback_days`)" in text
    assert "the run-to-run guarantee no longer holds, and each run's p-values are valid for that run alone" in text
    assert "over all of them" not in text


def test_a_window_named_by_hand_says_so(rows):
    raw, _ = rows
    report = build_report(parse_rows(raw), WINDOW, ["Variant1", "Variant2"])
    assert report["window"]["start"]["start"] == "manual"
    assert report["window"]["start"]["cut_at_horizon"] is None
    assert "**The window was named by hand**" in to_markdown(report)


def test_athena_rows_as_strings_give_the_same_report(rows):
    raw, _ = rows
    # GetQueryResults gives every value as a string and leaves NULLs out
    as_athena = [{k: str(v) for k, v in row.items() if v is not None} for row in raw]
    native = build_report(parse_rows(raw), WINDOW, ["Variant1", "Variant2"])
    strings = build_report(parse_rows(as_athena), WINDOW, ["Variant1", "Variant2"])
    assert json.dumps(strings, sort_keys=True) == json.dumps(native, sort_keys=True)


def test_a_row_the_query_cannot_produce_is_refused_with_its_row_and_column():
    with pytest.raises(InvalidQueryResult, match="row 0: captured is 'many', not a number"):
        parse_rows([{"row_kind": "metrics", "variant": "A", "period": "all", "captured": "many"}])
    with pytest.raises(InvalidQueryResult, match="row 1 has row_kind 'other'"):
        parse_rows([{"row_kind": "delay", "variant": "A", "delay_hours": "3", "n": "2"}, {"row_kind": "other"}])


def test_not_enough_labels_is_said_plainly(tmp_path: Path):
    requests = [
        Request(v, f"{v}-{i}", 0.9 if i % 2 else 0.1, i % 2, START + timedelta(minutes=i), START + timedelta(hours=5))
        for v in ("Variant1", "Variant2")
        for i in range(20)
    ]
    write_capture(tmp_path / "capture", requests)
    write_labels(tmp_path / "gt", requests)
    report = build_report(
        parse_rows(run_on_folders(tmp_path / "capture", tmp_path / "gt", WINDOW)), WINDOW, ["Variant1", "Variant2"]
    )
    (comparison,) = report["comparisons"]
    assert comparison["status"] == "not_enough_labels"
    assert "**Verdict: not enough labels** — not enough labels yet: Variant1 has 10 labelled positives" in to_markdown(
        report
    )
    assert report["family_tests"] == 2  # the fixed family: one candidate, two metrics, untested at p = 1


def test_delay_percentiles_follow_numpy_on_a_histogram():
    histogram = {0: 3, 2: 1, 7: 4, 30: 2}
    values = [h for h, n in histogram.items() for _ in range(n)]
    assert delay_percentiles(histogram) == pytest.approx(
        {"p50": np.percentile(values, 50), "p90": np.percentile(values, 90)}
    )
    assert delay_percentiles({}) is None


def test_threshold_metrics_from_counts_refuse_an_empty_matrix():
    assert threshold_metrics(Confusion(tp=0, fp=0, tn=3, fn=0)) == {
        "accuracy": 1.0,
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
    }
    with pytest.raises(ValueError, match="all 0"):
        threshold_metrics(Confusion(0, 0, 0, 0))


def test_captures_left_out_of_one_variant_only_withhold_the_verdict(rows):
    # The per-variant issue counts the query already returns reach the comparison: Variant2's outputs that
    # are not one score (a fifth of its requests) leave its metrics, so the verdict is withheld.
    raw, _ = rows
    result = parse_rows(raw)
    captured = result.overall("Variant2").captured
    result.issue_counts[("capture_output_not_one_score", "Variant2")] = captured // 4
    report = build_report(result, WINDOW, ["Variant1", "Variant2"])
    (comparison,) = report["comparisons"]
    assert comparison["status"] == "inputs_not_comparable" and comparison["verdict"]["winner"] is None
    assert report["settings"]["left_out_alpha"] == 0.001
    assert "**Verdict: inputs not comparable**" in to_markdown(report)
    assert build_report(parse_rows(raw), WINDOW, ["Variant1", "Variant2"])["comparisons"][0]["status"] == "tested"
