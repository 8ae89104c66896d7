"""What one partition of the live-quality query holds stays bounded, whatever the number of requests.

A review found that the query numbered every line of an issue in one window partition (to keep the
first 20 as samples) and put every distinct score of a variant's window into one partition: with data
capture sampling 20 % of the requests and labels for all of them, ~80 % of the labels are
``label_for_unknown_id``, all in one partition, which exhausts a Trino (Athena) node. Now each issue's
lines pass the window one partition each and are cut to 20 by an aggregate that holds 20 per group
(``min_by`` with a count), and scores are on a grid of 10^-6 from the threshold before they are
grouped."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
import sqlglot
from sklearn.metrics import confusion_matrix, roc_auc_score
from sqlglot import exp

from live_quality.local_engine import bind_folders, run_on_folders
from live_quality.query import QueryWindow, athena_query, source_query
from live_quality.results import QueryResult, parse_rows
from tests.lambdas.live_capture_data import (
    ENDPOINT,
    START,
    Request,
    random_requests,
    write_capture,
    write_labels,
)

WINDOW = QueryWindow(ENDPOINT, "2026/11/01/00", "2026/11/04/00", "2026/11/08/00", threshold=0.5)
SAMPLES_PER_ISSUE = 20


def run(root: Path, window: QueryWindow = WINDOW) -> QueryResult:
    return parse_rows(run_on_folders(root / "capture", root / "gt", window, threads=1))


# --- the text: no window partition per issue, samples by an aggregate of 20 ------------------------


def _windows(sql: str, dialect: str) -> Counter[tuple[str, str, tuple[str, ...]]]:
    """Each window function as (its WITH query, its function, the columns its PARTITION BY reads)."""
    found: Counter[tuple[str, str, tuple[str, ...]]] = Counter()
    for window in sqlglot.parse_one(sql, read=dialect).find_all(exp.Window):
        cte = window.find_ancestor(exp.CTE)
        columns = {c.name for part in window.args.get("partition_by") or [] for c in part.find_all(exp.Column)}
        found[(cte.alias if cte else "", type(window.this).__name__, tuple(sorted(columns)))] += 1
    return found


@pytest.mark.parametrize(("dialect", "text"), [("duckdb", source_query), ("athena", athena_query)])
def test_every_window_partition_is_per_id_or_per_variant_and_period_never_per_issue(dialect, text):
    """The text of commit 04d1c1f fails here: its placed step partitioned ROW_NUMBER (and the running
    sums) by ``CASE WHEN row_kind = 'issue_sample' THEN issue ELSE variant END``, one partition with
    every line of an issue, filtered to ``sample <= 20`` only after the window."""
    windows = _windows(text(0.5), dialect)
    assert windows == {
        # copies of a capture key / the last label of a key: a partition per id
        ("capture_counted", "Count", ("detail", "malformed")): 1,
        ("label_ranked", "RowNumber", ("detail", "malformed")): 1,
        # DeLong's running sums: a partition per (row kind, variant, period) over score steps, and
        # each line with an issue alone (file, line and detail are set on its row only)
        ("placed", "Sum", ("detail", "line_number", "period", "row_kind", "source_file", "variant")): 4,
    }
    for _, _, columns in windows:
        assert not {"issue", "capture_issue", "label_issue"} & set(columns)


@pytest.mark.parametrize(("dialect", "text"), [("duckdb", source_query), ("athena", athena_query)])
def test_the_samples_are_the_first_20_by_an_aggregate_per_issue(dialect, text):
    """The samples are cut by min_by with a count, which keeps 20 per group in both engines, after the
    window (where the score groups have folded into their metrics rows and few groups are left)."""
    tree = sqlglot.parse_one(text(0.5), read=dialect)
    kept = list(tree.find_all(exp.ArgMin))
    assert len(kept) == 1
    count = kept[0].args.get("count")
    assert count is not None and count.sql() == str(SAMPLES_PER_ISSUE)
    assert kept[0].find_ancestor(exp.CTE).alias == "collapsed"  # type: ignore[union-attr]
    assert "row_kind = 'issue_sample'" in kept[0].this.sql() and "row_kind = 'issue_sample'" in kept[0].expression.sql()


# --- scores: at most 10^6 + 1 steps per (variant, period) for scores from 0 to 1 ----------------------


def _score_groups(root: Path, window: QueryWindow) -> Counter[tuple[str, str]]:
    """How many score groups (rows of the DeLong window) each (variant, period) has: the source query
    up to its window, counted."""
    tree = sqlglot.parse_one(source_query(window.threshold), read="duckdb")
    with_ = tree.args.get("with_") or tree.args.get("with")
    count = sqlglot.parse_one(
        "SELECT variant, period, COUNT(*) FROM placed WHERE row_kind = 'score' GROUP BY variant, period",
        read="duckdb",
    )
    count.set("with_" if "with_" in tree.args else "with", with_)
    con = duckdb.connect()
    bind_folders(con, root / "capture", root / "gt")
    rows = con.execute(count.sql(dialect="duckdb"), window.parameters()).fetchall()
    return Counter({(variant, period): n for variant, period, n in rows})


def _close_requests(count: int, low: float, width: float, seed: int) -> list[Request]:
    rng = random.Random(seed)
    return [
        Request(
            "Variant1",
            f"close-{i:05d}",
            low + rng.random() * width,
            int(rng.random() < 0.4),
            START + timedelta(minutes=i % 600),
            START + timedelta(hours=12),
        )
        for i in range(count)
    ]


def test_scores_closer_than_a_millionth_share_a_score_group(tmp_path: Path):
    """2,000 distinct scores within 10^-4 of each other make at most 10^-4 / 10^-6 + 1 = 101 groups.
    The text of commit 04d1c1f fails here: one group per distinct score, 2,000."""
    requests = _close_requests(2000, 0.3, 1e-4, seed=3)
    assert len({r.score for r in requests}) == 2000
    write_capture(tmp_path / "capture", requests)
    write_labels(tmp_path / "gt", requests)
    groups = _score_groups(tmp_path, WINDOW)
    assert groups[("Variant1", "all")] <= 101
    assert groups[("Variant1", "2026/11/01")] <= 101


def test_the_threshold_splits_exactly_however_close_the_scores(tmp_path: Path):
    """Scores a hair below the threshold never round up onto it: the confusion counts are those of the
    captured scores (``score >= threshold``, as scikit-learn and the offline evaluation count)."""
    threshold = 0.37
    offsets = [-2e-6, -1e-6, -6e-7, -5e-7, -4e-7, -1e-9, -1e-15, 0.0, 1e-15, 1e-9, 4e-7, 5e-7, 6e-7, 1e-6]
    requests = [
        Request("Variant1", f"edge-{i:03d}", threshold + offset, label, START + timedelta(minutes=i), START)
        for i, (offset, label) in enumerate((o, lab) for o in offsets for lab in (0, 1))
    ]
    requests = [
        Request(r.variant, r.inference_id, r.score, r.label, r.inference_time, START + timedelta(hours=2))
        for r in requests
    ]
    write_capture(tmp_path / "capture", requests)
    write_labels(tmp_path / "gt", requests)
    window = QueryWindow(ENDPOINT, "2026/11/01/00", "2026/11/04/00", "2026/11/08/00", threshold=threshold)
    stats = run(tmp_path, window).overall("Variant1")
    assert stats is not None
    y = np.array([r.label for r in requests])
    s = np.array([float(repr(r.score)) for r in requests])
    tn, fp, fn, tp = confusion_matrix(y, (s >= threshold).astype(int)).ravel()
    assert stats.confusion.as_dict() == {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    assert (tp + fn, fp + tn) == (len(offsets), len(offsets))
    assert tp + fp == sum(1 for o in offsets if threshold + o >= threshold) * 2


def test_roc_auc_stays_within_a_millionth_of_scikit_learn_with_continuous_scores(tmp_path: Path):
    """Steps of 10^-6 turn only scores that close into ties, and a tie counts 1/2: ROC AUC moves by at
    most half the share of positive-negative pairs within 1.5 steps (the widest step, just below the
    threshold), here well under 10^-6 of scikit-learn's on the raw scores."""
    requests = random_requests(17, {"Variant1": 3000, "Variant2": 2000}, label_share=1.0, tie_scores=False)
    write_capture(tmp_path / "capture", requests)
    write_labels(tmp_path / "gt", requests)
    result = run(tmp_path)
    for variant in ("Variant1", "Variant2"):
        mine = [r for r in requests if r.variant == variant]
        y = np.array([r.label for r in mine])
        s = np.array([r.score for r in mine])
        stats = result.overall(variant)
        assert stats is not None and stats.roc_auc is not None
        pos, neg = s[y == 1], s[y == 0]
        gaps = np.abs(pos[:, None] - neg[None, :])
        close = int(((gaps > 0) & (gaps < 1.5e-6)).sum())
        bound = 0.5 * close / (len(pos) * len(neg))
        assert abs(stats.roc_auc - roc_auc_score(y, s)) <= bound + 1e-12
        assert abs(stats.roc_auc - roc_auc_score(y, s)) < 1e-6


# --- capture sampling 20 %, labels for every request ------------------------------------------------


def test_labels_for_all_requests_with_20_percent_captured_give_20_samples_and_exact_counts(tmp_path: Path):
    """The review's scenario on the embedded engine: about 80 % of the labels are for requests data
    capture did not sample. The issue is counted in full and shown by its first 20 lines in the
    report's order (label file, then line), the metrics count the captured and labelled requests."""
    requests = random_requests(23, {"Variant1": 600, "Variant2": 400}, label_share=1.0)
    rng = random.Random(5)
    captured = [r for r in requests if rng.random() < 0.2]
    captured_ids = {r.inference_id for r in captured}
    write_capture(tmp_path / "capture", captured)
    write_labels(tmp_path / "gt", requests)
    result = run(tmp_path)

    unknown = sorted(
        (str(path), number)
        for path in (tmp_path / "gt").rglob("*.jsonl")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if json.loads(line)["eventMetadata"]["eventId"] not in captured_ids
    )
    assert len(unknown) == len(requests) - len(captured) > 700
    assert result.issue_counts == {("label_for_unknown_id", None): len(unknown)}
    samples = [s for s in result.issue_samples if s.issue == "label_for_unknown_id"]
    assert [(s.source_file, s.line_number) for s in samples] == unknown[:SAMPLES_PER_ISSUE]
    assert all(s.variant is None and s.detail is not None for s in samples)
    for variant in ("Variant1", "Variant2"):
        stats = result.overall(variant)
        expected = [r for r in captured if r.variant == variant]
        assert stats is not None and (stats.captured, stats.labelled) == (len(expected), len(expected))
        assert stats.positives == sum(r.label or 0 for r in expected)
