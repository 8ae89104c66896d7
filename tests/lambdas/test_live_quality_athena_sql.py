"""One query, two engines: the committed Athena text is the sqlglot translation of the source, gives its
numbers, reads each Glue table once and takes execution parameters only where Athena allows them."""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from live_quality.formats import ground_truth_key, ground_truth_record
from live_quality.local_engine import bind_folders, run_sql
from live_quality.query import (
    ATHENA_CAPTURE_TABLE,
    ATHENA_LABEL_TABLE,
    QUERY_PARAMETERS,
    RESULT_COLUMNS,
    QueryWindow,
    athena_query,
    athena_sql,
    source_sql,
)
from live_quality.threshold import THRESHOLD_PLACEHOLDER, threshold_literal, with_threshold
from scripts.generate_live_athena_sql import translate
from tests.lambdas.live_capture_data import ENDPOINT, append_lines, random_requests, write_capture, write_labels

WINDOW = QueryWindow(ENDPOINT, "2026/11/01/00", "2026/11/04/00", "2026/11/08/00", threshold=0.4)


def test_the_committed_athena_text_is_the_translation_of_the_source():
    assert athena_sql() == translate(source_sql()), "run: python scripts/generate_live_athena_sql.py"


def _placeholders(sql: str, dialect: str) -> list[exp.Placeholder]:
    return list(sqlglot.parse_one(sql, read=dialect).find_all(exp.Placeholder))


def test_both_texts_take_the_documented_parameters_and_the_threshold_token():
    for sql, dialect in ((source_sql(), "duckdb"), (athena_sql(), "athena")):
        found = _placeholders(sql, dialect)
        assert [p.this for p in found if p.this] == ["threshold"], dialect
        assert sum(1 for p in found if not p.this) == len(QUERY_PARAMETERS), dialect
        assert sql.count(THRESHOLD_PLACEHOLDER) == 1, dialect


# --- the plan is a tree: Trino inlines every WITH query at each use ----------------------------------


def _with_query_uses(sql: str) -> tuple[Counter[str], Counter[str]]:
    """How often the query uses each of its WITH queries by name, and how often each base table is read
    once every WITH query is inlined at each use, as Trino does ("Currently, the SQL for the WITH clause
    will be inlined anywhere the named relation is used": https://trino.io/docs/current/sql/select.html)."""
    tree = sqlglot.parse_one(sql, read="athena")
    with_key = "with_" if "with_" in tree.args else "with"
    with_ = tree.args[with_key]
    assert isinstance(with_, exp.With)
    bodies = {cte.alias_or_name: cte.this for cte in with_.expressions}
    uses = Counter({name: 0 for name in bodies})
    uses.update(t.name for t in tree.find_all(exp.Table) if t.name in bodies)
    main = tree.copy()
    main.set(with_key, None)

    @functools.cache
    def reads_of(name: str) -> Counter[str]:
        return reads(bodies[name])

    def reads(node: exp.Expression) -> Counter[str]:
        out: Counter[str] = Counter()
        for table in node.find_all(exp.Table):
            out += reads_of(table.name) if table.name in bodies else Counter({table.name: 1})
        return out

    return uses, reads(main)


def test_each_glue_table_is_read_once_and_each_with_query_used_once():
    """The regression test for Athena scanning the prefixes many times per run. Trino (Athena engine 3)
    does not materialize a WITH query, so each use of one re-reads the S3 objects under it, and Athena
    bills the bytes scanned. The Athena text of commit a2cbbd7 fails here: it used capture_rows,
    label_rows and joined 4 times each (and six more WITH queries twice), so one run read capture_raw
    24 times and ground_truth_raw 34 times."""
    uses, reads = _with_query_uses(athena_query(0.5))
    assert reads == {ATHENA_CAPTURE_TABLE: 1, ATHENA_LABEL_TABLE: 1}
    assert {name: n for name, n in uses.items() if n != 1} == {}, "each WITH query is used exactly once"


def test_the_use_count_sees_a_with_query_used_twice():
    uses, reads = _with_query_uses(
        f"WITH a AS (SELECT line FROM {ATHENA_CAPTURE_TABLE}), b AS (SELECT * FROM a) "
        "SELECT * FROM b UNION ALL SELECT * FROM b JOIN a ON true"
    )
    assert uses == {"a": 2, "b": 2}
    assert reads == {ATHENA_CAPTURE_TABLE: 3}


# --- execution parameters only in WHERE clauses ----------------------------------------------------


def _clause_of(placeholder: exp.Placeholder) -> type[exp.Expression] | None:
    clause = placeholder.find_ancestor(
        exp.Where, exp.Select, exp.Join, exp.Group, exp.Having, exp.Order, exp.Window, exp.Qualify, exp.Values
    )
    return None if clause is None else type(clause)


def test_every_execution_parameter_sits_in_a_where_clause():
    """Athena: "Currently, ? parameters can be placed only in the WHERE clause. Syntax like SELECT ? FROM
    table is not supported." ("Use parameterized queries", Considerations and limitations:
    https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html). The text of
    commit a2cbbd7 fails here: its threshold was a ? in a SELECT list (CASE WHEN c.score >= ? ...)."""
    found = _placeholders(athena_query(0.5), "athena")
    assert len(found) == len(QUERY_PARAMETERS)
    assert [_clause_of(p) for p in found] == [exp.Where] * len(QUERY_PARAMETERS)


def test_a_parameter_in_a_select_list_is_told_apart():
    found = _placeholders("SELECT CASE WHEN score >= ? THEN 1 END FROM t WHERE a = ?", "athena")
    assert Counter(_clause_of(p) for p in found) == {exp.Select: 1, exp.Where: 1}


# --- the threshold, written in as a literal -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "literal"),
    [(0.5, "0.5E0"), (0.0, "0.0E0"), (1, "1.0E0"), (1e-05, "1E-05"), (0.30000000000000004, "0.30000000000000004E0")],
)
def test_the_threshold_is_a_double_literal_that_reads_back_to_the_same_double(value, literal):
    assert threshold_literal(value) == literal
    assert duckdb.connect().execute(f"SELECT {literal}, typeof({literal})").fetchall() == [(float(value), "DOUBLE")]
    parsed = sqlglot.parse_one(f"SELECT {literal}", read="athena").expressions[0]
    assert isinstance(parsed, exp.Literal) and not parsed.is_string


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "from 0 to 1"),
        (float("inf"), "from 0 to 1"),
        (-0.1, "from 0 to 1"),
        (1.5, "from 0 to 1"),
        (True, "not a number"),
        ("0.5", "not a number"),
        ("0.5; DROP TABLE x", "not a number"),
    ],
)
def test_a_threshold_that_is_not_a_number_from_0_to_1_is_refused(value, message):
    with pytest.raises(ValueError, match=message):
        with_threshold(athena_sql(), value)


def test_the_threshold_token_must_be_there_exactly_once():
    with pytest.raises(ValueError, match="0 times"):
        with_threshold("SELECT 1", 0.5)
    with pytest.raises(ValueError, match="2 times"):
        with_threshold(f"SELECT {THRESHOLD_PLACEHOLDER}, {THRESHOLD_PLACEHOLDER}", 0.5)
    assert THRESHOLD_PLACEHOLDER not in athena_query(0.5) and "0.5E0" in athena_query(0.5)


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
    ]  # the threshold (0.25) is in the text, not a parameter


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


def _both_texts(root: Path) -> tuple[list[dict], list[dict]]:
    """The rows of the source text, and of the Athena text translated back to DuckDB over Athena's view
    of the same files (the Glue tables' columns plus the hidden "$path"; no line numbers)."""
    con = duckdb.connect()
    bind_folders(con, root / "capture", root / "gt")
    source_rows = run_sql(con, source_sql(), WINDOW)
    con.execute(
        f'CREATE VIEW {ATHENA_CAPTURE_TABLE} AS SELECT line, source_file AS "$path", endpoint, variant, hour '
        "FROM capture_lines"
    )
    con.execute(f'CREATE VIEW {ATHENA_LABEL_TABLE} AS SELECT line, source_file AS "$path", hour FROM label_lines')
    back = sqlglot.transpile(athena_query(WINDOW.threshold), read="athena", write="duckdb")[0]
    cursor = con.execute(back, WINDOW.parameters())
    assert tuple(d[0] for d in cursor.description) == RESULT_COLUMNS
    return source_rows, [dict(zip(RESULT_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


def test_the_athena_text_translated_back_gives_the_numbers_of_the_source(tmp_path: Path):
    requests = random_requests(11, {"Variant1": 400, "Variant2": 300})
    files = write_capture(tmp_path / "capture", requests)
    write_labels(tmp_path / "gt", requests)
    append_lines(next(iter(files)), "garbage")
    # More lines of one issue than the 20 samples, one per file (Athena orders the samples by file and
    # detail, having no line numbers), so that both texts cut the same 20.
    for k in range(25):
        hour = f"2026/11/{5 + k // 24:02d}/{k % 24:02d}"
        ghost = json.dumps(ground_truth_record(f"ghost-{k}", "1"))
        append_lines(tmp_path / "gt" / ground_truth_key("", hour, "x.jsonl"), ghost)
    source_rows, athena_rows = _both_texts(tmp_path)
    assert len(athena_rows) == len(source_rows) > 10
    kinds = {r["row_kind"] for r in source_rows}
    assert kinds == {"metrics", "delay", "issue_count", "issue_sample"}
    unknown = [r for r in source_rows if r["issue"] == "label_for_unknown_id"]
    assert [r["n"] for r in unknown if r["row_kind"] == "issue_count"] == [25]
    assert sum(r["row_kind"] == "issue_sample" for r in unknown) == 20
    for mine, theirs in zip(source_rows, athena_rows, strict=True):
        for column, value in mine.items():
            if column == "line_number":  # Athena cannot number an object's lines: NULL there, by design
                assert theirs[column] is None
            else:
                assert _same(value, theirs[column]), (column, mine, theirs)


def test_without_line_numbers_identical_lines_of_one_file_are_one_sample(tmp_path: Path):
    """Athena cannot number an object's lines, so lines of one file with the same issue and the same key
    or text cannot be told apart: each such set is one sample, as when the samples were groups of
    (issue, file, line, detail). The embedded engine numbers them: one sample per line."""
    requests = random_requests(13, {"Variant1": 30})
    files = write_capture(tmp_path / "capture", requests)
    write_labels(tmp_path / "gt", requests)
    capture_file = next(iter(files))
    append_lines(capture_file, "garbage", "garbage", "garbage", "other garbage")
    write_capture(tmp_path / "capture", files[capture_file][:1])  # the same id again, in the same file
    labelled = next(r for r in requests if r.label is not None)
    write_labels(tmp_path / "gt", [labelled, labelled])  # two more of one label, in the same file

    shown = ("capture_not_json", "capture_duplicate_id", "label_duplicate_superseded")

    def samples(rows: list[dict]) -> Counter[tuple[str, str]]:
        picked = (r for r in rows if r["row_kind"] == "issue_sample" and r["issue"] in shown)
        return Counter((r["issue"], r["detail"]) for r in picked)

    def counts(rows: list[dict]) -> dict[str, int]:
        return {r["issue"]: r["n"] for r in rows if r["row_kind"] == "issue_count" and r["issue"] in shown}

    source_rows, athena_rows = _both_texts(tmp_path)
    duplicate = files[capture_file][0].inference_id
    assert (
        counts(source_rows)
        == counts(athena_rows)
        == {
            "capture_not_json": 4,
            "capture_duplicate_id": 2,
            "label_duplicate_superseded": 2,
        }
    )
    assert samples(source_rows) == {
        ("capture_not_json", "garbage"): 3,
        ("capture_not_json", "other garbage"): 1,
        ("capture_duplicate_id", duplicate): 2,
        ("label_duplicate_superseded", labelled.inference_id): 2,
    }
    assert samples(athena_rows) == {
        ("capture_not_json", "garbage"): 1,
        ("capture_not_json", "other garbage"): 1,
        ("capture_duplicate_id", duplicate): 1,
        ("label_duplicate_superseded", labelled.inference_id): 1,
    }
