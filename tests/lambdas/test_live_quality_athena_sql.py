"""One query, two engines: the committed Athena text is the sqlglot translation of the source, and gives its numbers."""

from __future__ import annotations

import math
import re
from pathlib import Path

import duckdb
import pytest
import sqlglot

from live_quality.local_engine import bind_folders, run_sql
from live_quality.query import (
    ATHENA_CAPTURE_TABLE,
    ATHENA_LABEL_TABLE,
    QUERY_PARAMETERS,
    QueryWindow,
    athena_sql,
    source_sql,
)
from scripts.generate_live_athena_sql import translate
from tests.lambdas.live_capture_data import ENDPOINT, append_lines, random_requests, write_capture, write_labels

WINDOW = QueryWindow(ENDPOINT, "2026/11/01/00", "2026/11/04/00", "2026/11/08/00", threshold=0.4)


def test_the_committed_athena_text_is_the_translation_of_the_source():
    assert athena_sql() == translate(source_sql()), "run: python scripts/generate_live_athena_sql.py"


def _placeholders(sql: str, dialect: str) -> int:
    return sum(1 for _ in sqlglot.parse_one(sql, read=dialect).find_all(sqlglot.exp.Placeholder))


def test_both_texts_take_the_documented_parameters():
    assert _placeholders(source_sql(), "duckdb") == len(QUERY_PARAMETERS)
    assert _placeholders(athena_sql(), "athena") == len(QUERY_PARAMETERS)


def test_athena_reads_the_glue_tables_and_no_duckdb_only_function():
    text = athena_sql()
    assert f"FROM {ATHENA_CAPTURE_TABLE}" in text and f"FROM {ATHENA_LABEL_TABLE}" in text
    for duckdb_only in ("read_text", "strptime", "json_extract_string", "decode(", "::"):
        assert duckdb_only not in text.lower().replace("date_parse", ""), duckdb_only
    assert re.search(r"JSON_EXTRACT_SCALAR\(line, '\$\.eventMetadata\.inferenceId'\)", text)
    assert "MATERIALIZED" not in text  # a DuckDB hint Trino does not know


def test_athena_execution_parameters_are_sql_literals():
    window = QueryWindow("it's", "2026/11/01/00", "2026/11/02/00", "2026/11/03/00", 0.25)
    assert window.athena_execution_parameters() == [
        "'it''s'",
        "'2026/11/01/00'",
        "'2026/11/02/00'",
        "'2026/11/01/00'",
        "'2026/11/03/00'",
        "0.25",
    ]


@pytest.mark.parametrize(
    "bad",
    [
        dict(capture_start_hour="2026/11/02/00", capture_end_hour="2026/11/01/00"),
        dict(label_end_hour="2026/11/01/05"),
        dict(capture_start_hour="2026-11-01"),
        dict(capture_end_hour="2026/13/01/00"),
        dict(threshold=float("nan")),
        dict(endpoint=""),
    ],
)
def test_a_bad_window_is_refused_with_its_field(bad):
    fields = dict(
        endpoint="e",
        capture_start_hour="2026/11/01/00",
        capture_end_hour="2026/11/02/00",
        label_end_hour="2026/11/03/00",
    )
    with pytest.raises(ValueError):
        QueryWindow(**{**fields, **bad})


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def test_the_athena_text_translated_back_gives_the_numbers_of_the_source(tmp_path: Path):
    requests = random_requests(11, {"Variant1": 400, "Variant2": 300})
    files = write_capture(tmp_path / "capture", requests)
    write_labels(tmp_path / "gt", requests)
    append_lines(next(iter(files)), "garbage")
    con = duckdb.connect()
    bind_folders(con, tmp_path / "capture", tmp_path / "gt")
    source_rows = run_sql(con, source_sql(), WINDOW)
    # Athena's view of the same files: the Glue tables' columns plus the hidden "$path".
    con.execute(
        f'CREATE VIEW {ATHENA_CAPTURE_TABLE} AS SELECT line, source_file AS "$path", endpoint, variant, hour '
        "FROM capture_lines"
    )
    con.execute(f'CREATE VIEW {ATHENA_LABEL_TABLE} AS SELECT line, source_file AS "$path", hour FROM label_lines')
    back = sqlglot.transpile(athena_sql(), read="athena", write="duckdb")[0]
    athena_rows = run_sql(con, back, WINDOW)
    assert len(athena_rows) == len(source_rows) > 10
    kinds = {r["row_kind"] for r in source_rows}
    assert kinds == {"metrics", "delay", "issue_count", "issue_sample"}
    for mine, theirs in zip(source_rows, athena_rows, strict=True):
        for column, value in mine.items():
            if column == "line_number":  # Athena cannot number an object's lines: NULL there, by design
                assert theirs[column] is None
            else:
                assert _same(value, theirs[column]), (column, mine, theirs)
