"""Labels for requests that capture did not sample: counted against what sampling explains, an issue only beyond it.

The data: requests of two variants with labels for most of them, of which only a seeded ~20 % sample is
written as capture records (what SageMaker's InitialSamplingPercentage 20 does), and the real query on
DuckDB over them.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from live_quality.local_engine import run_on_folders
from live_quality.query import QueryWindow
from live_quality.report import build_report, to_markdown
from live_quality.results import parse_rows
from live_quality.settings import InvalidLiveRun, publish_settings
from live_quality.unsampled import labels_not_captured
from tests.lambdas.live_capture_data import ENDPOINT, random_requests, write_capture, write_labels

VARIANTS = ["Variant1", "Variant2"]
# Three days of captures; labels (1-72 hours later) read until all have arrived.
WINDOW = QueryWindow(ENDPOINT, "2026/11/01/00", "2026/11/04/00", "2026/11/07/00", 0.5)


def sampled_run(tmp_path: Path, *, unknown_labels: int = 0) -> tuple[list[dict[str, Any]], int, int]:
    """(query rows, labels written, labels whose request was not captured), with ~20 % captured."""
    requests = random_requests(5, {"Variant1": 1000, "Variant2": 1000})
    rng = random.Random(6)
    captured = [r for r in requests if rng.random() < 0.2]
    write_capture(tmp_path / "capture", captured)
    strangers = [replace(r, inference_id=f"nobody-{i}") for i, r in enumerate(requests[:unknown_labels])]
    labelled = [r for r in requests + strangers if r.label is not None]
    write_labels(tmp_path / "labels", labelled)
    captured_ids = {r.inference_id for r in captured}
    not_captured = sum(r.inference_id not in captured_ids for r in labelled)
    return run_on_folders(tmp_path / "capture", tmp_path / "labels", WINDOW, threads=1), len(labelled), not_captured


def test_labels_for_unsampled_requests_are_counted_and_not_an_issue_at_their_sampling(tmp_path: Path):
    rows, labels, not_captured = sampled_run(tmp_path)
    report = build_report(parse_rows(rows), WINDOW, VARIANTS, sampling_percentage=20)

    section = report["labels_not_captured"]
    assert (section["count"], section["labels"]) == (not_captured, labels)
    assert section["labels"] - section["count"] == sum(report["variants"][v]["labelled"] for v in VARIANTS)
    assert section["expected_share"] == pytest.approx(0.8)
    assert section["share"] == pytest.approx(not_captured / labels)
    assert not section["more_than_sampling_explains"]
    assert "label_for_unknown_id" not in report["issues"]
    markdown = to_markdown(report)
    assert f"Labels for requests not captured: {not_captured:,} of {labels:,} labels" in markdown
    assert "consistent with sampling, not an issue" in markdown


def test_the_same_labels_are_an_issue_when_every_request_should_have_been_captured(tmp_path: Path):
    rows, _, not_captured = sampled_run(tmp_path)
    report = build_report(parse_rows(rows), WINDOW, VARIANTS)  # default: 100 % sampling
    assert report["labels_not_captured"]["more_than_sampling_explains"]
    issue = report["issues"]["label_for_unknown_id"]
    assert issue["count"] == not_captured
    assert "more than 100 % capture sampling explains" in issue["meaning"]


def test_labels_for_ids_nobody_asked_about_beyond_sampling_are_an_issue(tmp_path: Path):
    rows, _, not_captured = sampled_run(tmp_path, unknown_labels=800)
    report = build_report(parse_rows(rows), WINDOW, VARIANTS, sampling_percentage=20)
    section = report["labels_not_captured"]
    assert section["count"] == not_captured > section["explained_up_to"]
    assert section["more_than_sampling_explains"]
    assert report["issues"]["label_for_unknown_id"]["count"] == not_captured
    assert "more than sampling explains: see the input issues below" in to_markdown(report)


# --- the rule ----------------------------------------------------------------------------------------------


def test_sampling_explains_the_binomial_mean_plus_three_standard_deviations():
    # 1,000 labels at 20 %: 800 expected unmatched, sd sqrt(1000 x 0.2 x 0.8) = 12.65, so up to 837.9.
    assert labels_not_captured(200, 800, 20)["explained_up_to"] == pytest.approx(800 + 3 * 160**0.5)
    assert not labels_not_captured(163, 837, 20)["more_than_sampling_explains"]
    assert labels_not_captured(162, 838, 20)["more_than_sampling_explains"]
    # At 100 % every label should match; at 0 % none can.
    assert labels_not_captured(999, 1, 100)["more_than_sampling_explains"]
    assert not labels_not_captured(1000, 0, 100)["more_than_sampling_explains"]
    assert not labels_not_captured(0, 1000, 0)["more_than_sampling_explains"]
    assert labels_not_captured(0, 0, 20)["share"] is None


def test_the_rule_rarely_calls_pure_sampling_an_issue():
    """Unmatched counts drawn as sampling makes them (binomial): flagged in well under 1 % of runs."""
    rng = random.Random(7)
    flagged = 0
    for _ in range(2000):
        labels = rng.randint(20, 400)
        unmatched = sum(rng.random() >= 0.2 for _ in range(labels))
        flagged += labels_not_captured(labels - unmatched, unmatched, 20)["more_than_sampling_explains"]
    assert flagged / 2000 < 0.01


@pytest.mark.parametrize("value", ["120", "-1", "twenty", "nan"])
def test_a_bad_sampling_percentage_in_the_environment_is_named(value: str):
    env = {
        "ENDPOINT_NAME": ENDPOINT,
        "VARIANTS": '["Variant1"]',
        "REPORT_BUCKET": "b",
        "CAPTURE_SAMPLING_PERCENTAGE": value,
    }
    with pytest.raises(InvalidLiveRun, match=f"CAPTURE_SAMPLING_PERCENTAGE is '{value}'"):
        publish_settings(env)


def test_the_sampling_percentage_defaults_to_every_request():
    env = {"ENDPOINT_NAME": ENDPOINT, "VARIANTS": '["Variant1"]', "REPORT_BUCKET": "b"}
    assert publish_settings(env).sampling_percentage == 100
    assert publish_settings({**env, "CAPTURE_SAMPLING_PERCENTAGE": "20"}).sampling_percentage == 20
