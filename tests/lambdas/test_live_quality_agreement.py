"""Shadow agreement from captured pairs (live_quality/agreement_query.py + sql/shadow_agreement.sql on DuckDB,
live_quality/agreement.py): hand-made capture lines, every number checked against a computation in plain Python
(pairing with dicts, numpy's percentiles, scipy's Wilson interval)."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import binomtest

from live_quality.agreement import NO_PAIRS, build_agreement_report, to_markdown, wilson_interval
from live_quality.agreement_query import AGREEMENT_SQL, agreement_source_sql, agreement_sql, run_agreement_on_folder
from live_quality.formats import capture_key, exchange_record, hour_of, json_line
from live_quality.query import CAPTURE_PARSING_SQL, INCLUDE_LINE, SOURCE_SQL, QueryWindow, source_sql, with_includes

ENDPOINT = "churn-shadow"
PRODUCTION, SHADOW = "Current", "Candidate"
START = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW = QueryWindow(ENDPOINT, "2026/11/01/00", "2026/11/02/00", "2026/11/02/00", threshold=0.5)


@dataclass(frozen=True)
class Line:
    """One capture line as written: a record, or raw text (a bad line)."""

    variant: str
    when: datetime
    event_id: str | None = None
    inference_id: str | None = None
    score: float | str = 0.5
    output_encoding: str = "CSV"
    output_content_type: str = "text/csv; charset=utf-8"
    raw: str | None = None


def text_of(line: Line) -> str:
    if line.raw is not None:
        return line.raw + "\n"
    record = exchange_record(
        event_id=line.event_id or "placeholder",
        inference_time=line.when,
        inference_id=line.inference_id,
        input_data="1,2,3",
        input_content_type="text/csv",
        input_encoding="CSV",
        output_data=line.score if isinstance(line.score, str) else repr(line.score),
        output_content_type=line.output_content_type,
        output_encoding=line.output_encoding,
    )
    if line.event_id is None:
        del record["eventMetadata"]["eventId"]
    return json_line(record)


def write(root: Path, lines: list[Line]) -> dict[tuple[str, int], Line]:
    """Two files per variant and hour (lines alternate between them); returns (file, line number) → line."""
    files: dict[Path, list[Line]] = {}
    for n, line in enumerate(lines):
        name = f"part-{n % 2}.jsonl"
        path = root / capture_key("", ENDPOINT, line.variant, hour_of(line.when), name)
        files.setdefault(path, []).append(line)
    where = {}
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(text_of(line) for line in content))
        for number, line in enumerate(content, start=1):
            where[(str(path), number)] = line
    return where


def report_of(root: Path, window: QueryWindow = WINDOW, declared: float | None = None) -> dict[str, Any]:
    return build_agreement_report(
        run_agreement_on_folder(root, window, PRODUCTION, SHADOW, threads=1),
        endpoint=ENDPOINT,
        production_variant=PRODUCTION,
        shadow_variant=SHADOW,
        window={"start": window.capture_start_hour, "end": window.capture_end_hour},
        threshold=window.threshold,
        declared_sampling_percentage=declared,
    )


# ---- the independent computation -------------------------------------------------------------------------


def good(line: Line) -> bool:
    """What the live-quality parsing accepts, restated for these lines."""
    if line.raw is not None or (line.event_id is None and line.inference_id is None):
        return False
    try:
        return np.isfinite(float(line.score))
    except ValueError:
        return False


def expected_pairs(lines: list[Line]) -> list[tuple[str, Line, Line]]:
    """eventId unique on both sides pairs; then inferenceId, unique among the lines still unpaired on both sides."""
    sides = {v: [x for x in lines if x.variant == v and good(x)] for v in (PRODUCTION, SHADOW)}
    pairs: list[tuple[str, Line, Line]] = []
    paired: set[int] = set()
    for key, attribute in (("eventId", "event_id"), ("inferenceId", "inference_id")):
        counts = {
            v: Counter(getattr(x, attribute) for x in sides[v] if id(x) not in paired and getattr(x, attribute))
            for v in sides
        }
        shadow_by_key = {getattr(x, attribute): x for x in sides[SHADOW] if id(x) not in paired}
        for p in [x for x in sides[PRODUCTION] if id(x) not in paired]:
            value = getattr(p, attribute)
            if value and counts[PRODUCTION][value] == 1 and counts[SHADOW][value] == 1:
                s = shadow_by_key[value]
                pairs.append((key, p, s))
        paired |= {id(x) for _, p, s in pairs for x in (p, s)}
    return pairs


def quantile(values: list[float], q: float) -> float:
    return float(np.percentile(values, 100 * q))  # linear interpolation, numpy's default


# ---- the data -----------------------------------------------------------------------------------------------


def scenario(seed: int) -> list[Line]:
    """Production records, shadow copies of about 30 % of them, and every irregularity the report counts."""
    rng = random.Random(seed)
    lines: list[Line] = []
    for n in range(400):
        when = START + timedelta(seconds=rng.randrange(86400))
        score = rng.choice([0.5, 0.5 - 1e-12, 0.5 + 1e-12, round(rng.random(), 3), rng.random()])
        production = Line(PRODUCTION, when, f"ev-{n}", f"req-{n}" if n % 7 else None, score)
        lines.append(production)
        draw = rng.random()
        if draw < 0.25:  # a copy with the same eventId (Q4 as assumed)
            shadow_score = min(1.0, max(0.0, score + rng.gauss(0, 0.1)))
            copy = replace(
                production, variant=SHADOW, score=shadow_score, output_encoding=rng.choice(["CSV", "BASE64"])
            )
            if n % 11 == 0:
                copy = replace(copy, output_content_type="application/json")
            lines.append(copy)
        elif draw < 0.30:  # a copy whose eventId SageMaker changed: pairs by inferenceId when there is one
            lines.append(replace(production, variant=SHADOW, event_id=f"other-{n}", score=rng.random()))
    lines += [
        Line(SHADOW, START, "orphan-1", "orphan-req", 0.9),  # no production record
        Line(PRODUCTION, START, "dup-1", "dup-req-a", 0.2),  # an eventId twice in production
        Line(PRODUCTION, START, "dup-1", "dup-req-b", 0.7),
        Line(SHADOW, START, "dup-1", "dup-req-a", 0.3),  # ... so this copy pairs by inferenceId
        Line(PRODUCTION, START, "ev-x", "shared-req", 0.2),  # an InferenceId a caller used twice, both unpaired
        Line(PRODUCTION, START, "ev-y", "shared-req", 0.7),
        Line(SHADOW, START, "ev-z", "shared-req", 0.3),
        Line(PRODUCTION, START, raw='{"captureData": {'),  # truncated
        Line(SHADOW, START, raw="not json at all"),
        Line(SHADOW, START, "ev-bad", "req-bad", score="0.1,0.2"),  # not one score
        Line(PRODUCTION, START, "ev-nan", "req-nan", score="NaN"),
        Line(PRODUCTION, START, None, None, 0.4),  # no id at all
        Line(PRODUCTION, START + timedelta(days=1), "ev-late", "req-late", 0.4),  # outside the window
        Line(SHADOW, START + timedelta(days=1), "ev-late", "req-late", 0.4),
        Line("SomeoneElse", START, "ev-1", "req-1", 0.4),  # another variant's folder is not read
    ]
    return lines


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Line], dict[tuple[str, int], Line], dict]:
    root = tmp_path_factory.mktemp("agreement")
    lines = scenario(5)
    where = write(root, lines)
    return lines, where, report_of(root, declared=30)


# ---- the tests ----------------------------------------------------------------------------------------------


def test_pairs_and_unpaired_sides_match_a_pairing_in_plain_python(dataset) -> None:
    lines, _, report = dataset
    in_window = [x for x in lines if x.when < START + timedelta(days=1)]
    pairs = expected_pairs(in_window)
    by_key = Counter(key for key, _, _ in pairs)
    assert by_key["eventId"] > 50 and by_key["inferenceId"] > 5  # the scenario exercises both keys
    production = sum(1 for x in in_window if x.variant == PRODUCTION and good(x))
    shadow = sum(1 for x in in_window if x.variant == SHADOW and good(x))
    assert report["captured"] == {"production": production, "shadow": shadow}
    assert report["pairs"] == {
        "total": len(pairs),
        "by_key": {"eventId": by_key["eventId"], "inferenceId": by_key["inferenceId"]},
    }
    assert report["production_without_shadow"]["count"] == production - len(pairs)
    assert report["production_without_shadow"]["expected_share"] == pytest.approx(0.7)
    assert report["shadow_without_production"] == shadow - len(pairs) > 0
    assert report["observed_sampling"]["percentage"] == pytest.approx(100 * len(pairs) / production)
    low, high = binomtest(len(pairs), production).proportion_ci(0.95, method="wilson")
    assert report["observed_sampling"]["interval_percent"] == pytest.approx([100 * low, 100 * high])
    assert "UNVERIFIED" in report["observed_sampling"]["status"]


def test_agreement_table_and_score_differences_match_plain_python(dataset) -> None:
    lines, _, report = dataset
    pairs = expected_pairs([x for x in lines if x.when < START + timedelta(days=1)])
    for key in (None, "eventId", "inferenceId"):
        chosen = [(p, s) for k, p, s in pairs if key in (None, k)]
        section = report["agreement"] if key is None else report["agreement_by_key"][key]
        table = Counter((float(p.score) >= 0.5, float(s.score) >= 0.5) for p, s in chosen)
        assert section["table"] == {
            "production_positive": {"shadow_positive": table[True, True], "shadow_negative": table[True, False]},
            "production_negative": {"shadow_positive": table[False, True], "shadow_negative": table[False, False]},
        }
        agreeing = table[True, True] + table[False, False]
        assert section["pairs"] == len(chosen)
        assert section["agreement"] == pytest.approx(agreeing / len(chosen))
        ci = binomtest(agreeing, len(chosen)).proportion_ci(0.95, method="wilson")
        assert section["interval"] == pytest.approx([ci.low, ci.high])
        differences = [abs(float(p.score) - float(s.score)) for p, s in chosen]
        assert section["abs_score_difference"] == pytest.approx(
            {
                "mean": float(np.mean(differences)),
                "median": quantile(differences, 0.5),
                "p95": quantile(differences, 0.95),
            }
        )
        mismatched = sum(1 for p, s in chosen if p.output_content_type != s.output_content_type)
        assert section["content_type_mismatch"] == mismatched
    assert report["agreement"]["content_type_mismatch"] > 0


def test_bad_lines_duplicates_and_orphans_are_counted_with_file_and_line(dataset) -> None:
    _, where, report = dataset
    issues = report["issues"]
    assert {name: issue["by_side"] for name, issue in issues.items()} == {
        "capture_not_json": {"production": 1, "shadow": 1},
        "capture_output_not_one_score": {"production": 1, "shadow": 1},
        "capture_without_any_id": {"production": 1},
        "content_type_mismatch": {"production": issues["content_type_mismatch"]["count"]},
        "duplicate_event_id": {"production": 2},
        "duplicate_inference_id": {"production": 2},
        "shadow_without_production": {"shadow": report["shadow_without_production"]},
    }
    for name, issue in issues.items():
        assert 0 < len(issue["samples"]) <= 20
        for sample in issue["samples"]:
            line = where[(sample["file"], sample["line"])]  # the file and line name the line written there
            if name == "duplicate_event_id":
                assert line.event_id == sample["detail"] == "dup-1"
            if name == "duplicate_inference_id":
                assert line.inference_id == sample["detail"] == "shared-req"
            if name == "shadow_without_production":
                assert line.variant == SHADOW
            if name == "capture_not_json":
                assert sample["detail"] == line.raw
    orphans = {where[(s["file"], s["line"])].event_id for s in issues["shadow_without_production"]["samples"]}
    assert "orphan-1" in orphans and "ev-z" in orphans
    markdown = to_markdown(report)
    assert "| `capture_not_json` | 2 | production 1, shadow 1 |" in markdown
    assert "**Agreement at the threshold:" in markdown


@pytest.mark.parametrize(
    ("threshold", "production_score", "shadow_score", "agree"),
    [
        (0.5, 0.5, 0.5, True),  # at the threshold is positive on both sides
        (0.5, 0.5, 0.49999999999999994, False),  # the double just below 0.5 is negative
        (0.5, 0.5000000000000001, 0.5, True),
        (0.3, 0.3, 0.2999999, False),
        (0.0, 0.0, 0.0, True),  # every score is positive at 0
        (1.0, 1.0, 0.9999999, False),
    ],
)
def test_the_threshold_side_is_exact(tmp_path: Path, threshold, production_score, shadow_score, agree) -> None:
    write(
        tmp_path,
        [Line(PRODUCTION, START, "e", "i", production_score), Line(SHADOW, START, "e", "i", shadow_score)],
    )
    report = report_of(tmp_path, replace(WINDOW, threshold=threshold))
    assert report["agreement"]["agreement"] == (1.0 if agree else 0.0)
    assert report["agreement"]["table"]["production_positive"]["shadow_" + ("positive" if agree else "negative")] == 1


def test_no_shared_ids_reports_no_pairs_not_zero_agreement(tmp_path: Path) -> None:
    write(
        tmp_path,
        [Line(PRODUCTION, START, f"p-{n}", None, 0.7) for n in range(5)]
        + [Line(SHADOW, START, f"s-{n}", None, 0.7) for n in range(2)],
    )
    report = report_of(tmp_path, declared=20)
    assert report["agreement"] is None and report["pairs"]["total"] == 0
    assert report["no_pairs"].startswith(NO_PAIRS) and "2 shadow records, none paired" in report["no_pairs"]
    assert report["shadow_without_production"] == 2
    assert report["observed_sampling"]["declared_inside_interval"] is True  # 0 of 5: Wilson's upper bound > 20 %
    assert f"**{NO_PAIRS}" in to_markdown(report)


def test_no_shadow_folder_at_all(tmp_path: Path) -> None:
    write(tmp_path, [Line(PRODUCTION, START, "p", "i", 0.7)])
    report = report_of(tmp_path)
    assert report["captured"] == {"production": 1, "shadow": 0}
    assert "no shadow capture record in the window" in report["no_pairs"]
    assert report["issues"] == {}


def test_an_empty_capture_folder_is_not_an_error(tmp_path: Path) -> None:
    report = report_of(tmp_path)
    assert report["captured"] == {"production": 0, "shadow": 0} and report["agreement"] is None
    assert report["observed_sampling"]["percentage"] is None
    to_markdown(report)


def test_both_queries_include_the_one_capture_parsing_file() -> None:
    """One parser at the right depth: capture_parsing.sql is included by both queries (no text cut out of the
    other's), and neither source file writes a capture-parsing CTE of its own."""
    fragment = CAPTURE_PARSING_SQL.read_text().rstrip("\n")
    for composed in (source_sql(), agreement_source_sql()):
        assert composed.count(fragment) == 1 and not INCLUDE_LINE.search(composed)
    for own in (SOURCE_SQL.read_text(), AGREEMENT_SQL.read_text()):
        assert own.count("-- @include capture_parsing.sql") == 1
        assert all(f"{name} AS" not in own for name in ("capture_read", "capture_values", "capture_parsed"))
    assert agreement_sql(0.5).count("capture_read AS (") == 1


def test_an_include_of_a_missing_file_or_an_include_inside_an_include_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import live_quality.query as query_module

    monkeypatch.setattr(query_module, "SQL_DIR", tmp_path)
    (tmp_path / "outer.sql").write_text("a AS (SELECT 1),\n-- @include inner.sql\n")
    (tmp_path / "inner.sql").write_text("b AS (SELECT 2),\n")
    with pytest.raises(ValueError, match="only one level"):
        with_includes("WITH\n-- @include outer.sql\nc AS (SELECT 3) SELECT 1", "test.sql")
    assert with_includes("WITH\n-- @include inner.sql\nc AS (SELECT 3) SELECT 1") == (
        "WITH\nb AS (SELECT 2),\nc AS (SELECT 3) SELECT 1"
    )
    with pytest.raises(ValueError, match="not a file"):
        with_includes("WITH\n-- @include no_such_part.sql\nx AS (SELECT 1) SELECT 1", "test.sql")
    assert with_includes("SELECT 1 -- @include capture_parsing.sql") == "SELECT 1 -- @include capture_parsing.sql"


def test_wilson_interval_matches_scipy() -> None:
    for successes, trials in [(0, 1), (1, 1), (0, 10), (7, 10), (999, 1000), (500, 1000)]:
        ci = binomtest(successes, trials).proportion_ci(0.95, method="wilson")
        assert wilson_interval(successes, trials) == pytest.approx((ci.low, ci.high))
    assert wilson_interval(0, 0) is None


def test_the_report_is_json(dataset) -> None:
    json.dumps(dataset[2])
