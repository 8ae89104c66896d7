"""The shadow-agreement query's Athena text: the committed translation of the one source (with the same included
capture parsing as live quality), parameters only where Athena takes them, the shadow capture table only, and the
numbers of the DuckDB source when translated back (moto's Athena runs no SQL; DuckDB stands in for Trino here)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from live_quality import agreement_text
from live_quality.agreement_query import run_agreement_on_folder
from live_quality.local_engine import bind_folders
from live_quality.tables import ATHENA_CAPTURE_TABLE, ATHENA_SHADOW_CAPTURE_TABLE
from live_quality.threshold import THRESHOLD_PLACEHOLDER
from scripts.generate_live_athena_sql import OUTPUTS, translate
from tests.lambdas.test_live_quality_agreement import PRODUCTION, SHADOW, WINDOW, scenario, write
from tests.lambdas.test_live_quality_athena_sql import _clause_of, _placeholders, _same, _with_query_uses

AGREEMENT_OUTPUT = next(o for o in OUTPUTS if o.target == agreement_text.ATHENA_SQL)
# How often the agreement text reads the shadow capture table once Trino has inlined every WITH query at each use:
# once, as live quality's text reads its table. The branch's first text read it 9 times (a self-join for the pairs,
# a UNION of three stages for the issues) over live quality's whole window: about 11 times live quality's bytes at
# a 20 % shadow, past the workgroup's bytes-scanned cutoff on a busy endpoint (Athena bills the bytes scanned).
CAPTURE_READS = 1


def test_the_committed_agreement_text_is_the_translation_of_its_source():
    assert agreement_text.athena_sql() == translate(agreement_text.source_sql(), AGREEMENT_OUTPUT), (
        "run: python scripts/generate_live_athena_sql.py"
    )


def test_the_agreement_text_includes_the_same_capture_parsing_as_live_quality():
    athena = agreement_text.athena_sql()
    for cte in ("capture_read AS (", "capture_fields AS (", "capture_values AS (", "capture_parsed AS ("):
        assert athena.count(cte) == 1, cte
    live = Path(agreement_text.SQL_DIR / "live_quality.athena.sql").read_text()
    parsed = athena[athena.index("capture_read AS (") : athena.index("), lines AS (")]
    assert parsed in live  # the same generated text, character for character


def test_parameters_only_in_where_clauses_and_the_threshold_once():
    """Athena: "Currently, ? parameters can be placed only in the WHERE clause." ("Use parameterized queries":
    https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html). The agreement's variants
    are such parameters: the source's first text (a UNION of two SELECTs) would also pass, but read lines twice."""
    found = _placeholders(agreement_text.athena_query(0.5), "athena")
    assert len(found) == len(agreement_text.QUERY_PARAMETERS)
    assert [_clause_of(p) for p in found] == [exp.Where] * len(agreement_text.QUERY_PARAMETERS)
    assert agreement_text.athena_sql().count(THRESHOLD_PLACEHOLDER) == 1


def test_it_reads_the_shadow_capture_table_only_and_no_duckdb_only_function():
    uses, reads = _with_query_uses(agreement_text.athena_query(0.5))
    assert reads == {ATHENA_SHADOW_CAPTURE_TABLE: CAPTURE_READS}
    assert {name: n for name, n in uses.items() if n != 1} == {}, "each WITH query is used exactly once"
    text = agreement_text.athena_sql()
    assert f"FROM {ATHENA_CAPTURE_TABLE}\n" not in text
    for duckdb_only in ("read_text", "strptime", "json_extract_string", "decode(", "::", "quantile", "percentile_cont"):
        assert duckdb_only not in text.lower().replace("date_parse", ""), duckdb_only


def test_the_athena_text_translated_back_gives_the_numbers_of_the_source(tmp_path: Path):
    write(tmp_path, scenario(5))
    source_rows = run_agreement_on_folder(tmp_path, WINDOW, PRODUCTION, SHADOW, threads=1)
    con = duckdb.connect()
    bind_folders(con, tmp_path, None, variants=[PRODUCTION, SHADOW])
    con.execute(
        f'CREATE VIEW {ATHENA_SHADOW_CAPTURE_TABLE} AS SELECT line, source_file AS "$path", endpoint, variant, hour '
        "FROM capture_lines"
    )
    back = sqlglot.transpile(agreement_text.athena_query(WINDOW.threshold), read="athena", write="duckdb")[0]
    cursor = con.execute(back, agreement_text.parameters(WINDOW, PRODUCTION, SHADOW))
    assert tuple(d[0] for d in cursor.description) == agreement_text.RESULT_COLUMNS
    athena_rows = [dict(zip(agreement_text.RESULT_COLUMNS, row, strict=True)) for row in cursor.fetchall()]

    def without_samples(rows: list[dict]) -> list[dict]:
        # Samples are chosen by file and line; Athena has no line numbers, so within a file it may pick others.
        return [r for r in rows if r["row_kind"] != "issue_sample"]

    kinds = {r["row_kind"] for r in source_rows}
    assert kinds == {"side", "pairs", "issue_count", "issue_sample"}
    mine, theirs = without_samples(source_rows), without_samples(athena_rows)
    assert len(mine) == len(theirs) > 5
    for a, b in zip(mine, theirs, strict=True):
        for column, value in a.items():
            if column == "detail" and a["issue"] == "content_type_mismatch":
                continue  # names the shadow's line, which Athena cannot number
            assert _same(value, b[column]), (column, a, b)
    samples = [r for r in athena_rows if r["row_kind"] == "issue_sample"]
    assert samples and all(r["line_number"] is None for r in samples)


@pytest.mark.parametrize(
    ("row", "typed"),
    [
        ({"row_kind": "side", "side": "shadow", "n": "12", "paired": "3"}, {"n": 12, "paired": 3, "issue": None}),
        ({"row_kind": "pairs", "paired_by": "all", "mean_abs_difference": "1.0E-4"}, {"mean_abs_difference": 1e-4}),
    ],
)
def test_athenas_strings_become_the_values_the_report_reads(row, typed):
    result = agreement_text.typed_row(row)
    assert set(result) == set(agreement_text.RESULT_COLUMNS)
    assert {k: result[k] for k in typed} == typed


def test_a_difference_that_is_not_finite_is_refused():
    with pytest.raises(ValueError, match="not a finite number"):
        agreement_text.typed_row({"row_kind": "pairs", "p95_abs_difference": "NaN"})


def test_no_window_puts_the_lines_without_a_pairing_key_into_one_partition():
    """A capture has inferenceId only when the caller passed InferenceId, and most lines pair with nothing, so a
    window partitioned by inference_id or by (paired_by, pair_key) alone gathers most lines in one NULL partition,
    which Trino gives to one worker ("exceeded per-node memory" on a busy endpoint; review of the one-read text).
    Each such window also partitions a key-less line by its own eventId."""
    query = sqlglot.parse_one(agreement_text.athena_sql(), read="trino")
    for window in query.find_all(exp.Window):
        keys = {column.name for part in window.args.get("partition_by") or [] for column in part.find_all(exp.Column)}
        if keys & {"inference_id", "pair_key"}:
            assert "event_id" in keys, window.sql("trino")
