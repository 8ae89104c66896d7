"""The shadow-agreement query: its text, composed with the live-quality query's own capture parsing, and its run
on the embedded engine (DuckDB) over a capture folder laid out as SageMaker's S3 prefix.

``sql/shadow_agreement.sql`` holds the pairing and the tallies only. Reading a capture line (the JSON fields, the
output's encoding, the one score) and classifying a bad one is what ``sql/live_quality.sql`` does in its CTEs
``capture_read`` .. ``capture_checked``: :func:`agreement_sql` cuts exactly those out of the live-quality text
and puts them where the agreement text has its token, so there is one capture parser, and the issue names
and the threshold's side are the live-quality report's.

For the local command and tests; no Lambda imports this module (DuckDB is a development dependency).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from live_quality.local_engine import bind_folders
from live_quality.query import SQL_DIR, QueryWindow, source_sql
from live_quality.threshold import with_threshold

AGREEMENT_SQL = SQL_DIR / "shadow_agreement.sql"
CAPTURE_PARSING_MARKER = (
    "-- @capture_parsing (replaced by live_quality.sql's capture_read .. capture_checked, with their commas)"
)
# The live-quality CTEs reused, in order: the first one's opening and the opening of the one after the last.
_FIRST_REUSED = "capture_read AS ("
_AFTER_REUSED = "capture_counted AS ("

RESULT_COLUMNS = (
    "row_kind",
    "side",
    "paired_by",
    "issue",
    "n",
    "paired",
    "both_positive",
    "production_only_positive",
    "shadow_only_positive",
    "both_negative",
    "content_type_mismatch",
    "mean_abs_difference",
    "median_abs_difference",
    "p95_abs_difference",
    "source_file",
    "line_number",
    "detail",
)


def _once(text: str, part: str, where: str) -> int:
    if text.count(part) != 1:
        raise ValueError(f"{where} holds {part!r} {text.count(part)} times; expected exactly once")
    return text.index(part)


def capture_parsing_ctes(live_quality_sql: str | None = None) -> str:
    """The live-quality query's CTEs ``capture_read`` .. ``capture_checked`` (text as written there, each
    followed by its comma), with the threshold's token still in it."""
    text = source_sql() if live_quality_sql is None else live_quality_sql
    start = _once(text, _FIRST_REUSED, "live_quality.sql")
    end = _once(text, _AFTER_REUSED, "live_quality.sql")
    return text[start:end].rstrip() + "\n"


def agreement_sql(threshold: float) -> str:
    """The agreement query to run on DuckDB: its text with the reused capture parsing and ``threshold`` written in."""
    text = AGREEMENT_SQL.read_text()
    _once(text, CAPTURE_PARSING_MARKER, AGREEMENT_SQL.name)
    return with_threshold(text.replace(CAPTURE_PARSING_MARKER, capture_parsing_ctes()), threshold)


def run_agreement_on_folder(
    capture_root: Path,
    window: QueryWindow,
    production_variant: str,
    shadow_variant: str,
    *,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """Rows of the agreement query over the two variants' folders under ``capture_root`` (what
    ``DestinationS3Uri`` points at), captures in ``window``'s capture hours, at its threshold."""
    if production_variant == shadow_variant:
        raise ValueError(f"production and shadow variant are both {production_variant!r}")
    con = duckdb.connect(config={"threads": threads} if threads else {})
    try:
        bind_folders(con, capture_root, None, variants=[production_variant, shadow_variant])
        parameters: Sequence[str] = [
            window.endpoint,
            window.capture_start_hour,
            window.capture_end_hour,
            production_variant,
            shadow_variant,
        ]
        cursor = con.execute(agreement_sql(window.threshold), parameters)
        names = [d[0] for d in cursor.description]
        if tuple(names) != RESULT_COLUMNS:
            raise ValueError(f"the agreement query returned columns {names}, expected {list(RESULT_COLUMNS)}")
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
