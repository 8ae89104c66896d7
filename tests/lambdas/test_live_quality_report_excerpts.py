"""How much of a malformed line (request or label data, possibly personal) a report quotes: at most what the
query keeps, down to nothing but the file and line (``live_quality.sample_excerpt_chars``)."""

from __future__ import annotations

import json
import re

import pytest

from live_quality import settings, tables
from live_quality.local_engine import run_on_folders
from live_quality.query import QueryWindow
from live_quality.report import build_report, to_markdown
from live_quality.results import parse_rows
from tests.conftest import ROOT
from tests.lambdas.live_capture_data import ENDPOINT, append_lines, random_requests, write_capture, write_labels

WINDOW = QueryWindow(ENDPOINT, "2026/11/01/00", "2026/11/04/00", "2026/11/08/00")
# Not JSON, longer than the query keeps: "name=Jane Doe, card=..." stands for request data.
PAYLOAD = "name=Jane Doe;card=4111111111111111;" + "x" * 300
SQL = [ROOT / "lambdas" / "live_quality" / "sql" / name for name in ("live_quality.sql", "live_quality.athena.sql")]


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("excerpts")
    requests = random_requests(5, {"Variant1": 50, "Variant2": 50})
    files = write_capture(root / "capture", requests)
    write_labels(root / "gt", requests)
    append_lines(next(iter(files)), PAYLOAD)
    return parse_rows(run_on_folders(root / "capture", root / "gt", WINDOW, threads=1))


def samples(report: dict) -> list[dict]:
    return report["issues"]["capture_not_json"]["samples"]


def test_by_default_the_report_keeps_what_the_query_keeps(result):
    report = build_report(result, WINDOW, ["Variant1", "Variant2"])
    (sample,) = samples(report)
    assert sample["detail"] == PAYLOAD[: tables.MAX_ISSUE_DETAIL_CHARS]
    assert report["settings"]["sample_excerpt_chars"] == tables.MAX_ISSUE_DETAIL_CHARS


def test_a_shorter_excerpt_is_cut_and_zero_quotes_nothing_but_file_and_line(result):
    (short,) = samples(build_report(result, WINDOW, ["Variant1", "Variant2"], sample_excerpt_chars=9))
    assert short["detail"] == "name=Jane"
    report = build_report(result, WINDOW, ["Variant1", "Variant2"], sample_excerpt_chars=0)
    (sample,) = samples(report)
    assert sample["detail"] is None
    assert sample["file"] and sample["file"].endswith(".jsonl")
    for text in (json.dumps(report), to_markdown(report)):
        assert "Jane" not in text and "4111" not in text


def test_an_excerpt_longer_than_the_query_keeps_is_refused(result):
    with pytest.raises(ValueError, match="0 to 200"):
        build_report(result, WINDOW, ["Variant1"], sample_excerpt_chars=tables.MAX_ISSUE_DETAIL_CHARS + 1)


def test_the_query_cuts_lines_where_tables_says():
    """One number: the SQL's substr(line, 1, N) in both dialects is tables.MAX_ISSUE_DETAIL_CHARS, which the
    config loader takes as the largest sample_excerpt_chars."""
    for path in SQL:
        cuts = set(re.findall(r"substr\(line, 1, (\d+)\)", path.read_text(), flags=re.IGNORECASE))
        assert cuts == {str(tables.MAX_ISSUE_DETAIL_CHARS)}, path


@pytest.mark.parametrize(("text", "chars"), [(None, 200), ("0", 0), ("17", 17), ("200", 200)])
def test_the_publish_function_reads_the_excerpt_length(text, chars):
    env = {"ENDPOINT_NAME": ENDPOINT, "VARIANTS": '["Variant1"]', "REPORT_BUCKET": "b"}
    if text is not None:
        env["SAMPLE_EXCERPT_CHARS"] = text
    assert settings.publish_settings(env).sample_excerpt_chars == chars


@pytest.mark.parametrize("text", ["-1", "201", "ten", "1.5"])
def test_a_bad_excerpt_length_is_named(text):
    env = {"ENDPOINT_NAME": ENDPOINT, "VARIANTS": '["Variant1"]', "REPORT_BUCKET": "b", "SAMPLE_EXCERPT_CHARS": text}
    with pytest.raises(settings.InvalidLiveRun, match="SAMPLE_EXCERPT_CHARS"):
        settings.publish_settings(env)
