"""Run the live-quality query on the embedded engine (DuckDB) over folders laid out as SageMaker's S3 prefixes.

For tests, the local demo and the benchmark; the Lambda runs the Athena text instead and never
imports this module (DuckDB is a development dependency, not in the Lambda runtime).

``capture_root`` is what ``DestinationS3Uri`` points at (``<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``
below it) and ``label_root`` the ground-truth prefix (``yyyy/mm/dd/hh/*.jsonl`` below it). Files are read
whole with ``read_text`` and split into numbered lines, so every issue can name its file and line;
the line ending of the last line is a terminator, not an empty record. A ``\r`` before a line's
``\n`` stays (JSON allows it as whitespace; stripping it cost more than the rest of the reading).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from live_quality.query import RESULT_COLUMNS, QueryWindow, source_sql

_CAPTURE_PATH = r"([^/]+)/([^/]+)/([0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2})/[^/]+$"
_LABEL_PATH = r"([0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2})/[^/]+$"


def _lines_sql(files: Sequence[Path]) -> str:
    # Paths we listed ourselves, quoted as SQL literals (a view cannot hold a bound parameter).
    listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    return f"""
        SELECT
            line,
            filename AS source_file,
            CAST(line_number AS BIGINT) AS line_number
        FROM (
            SELECT
                filename,
                unnest(lines) AS line,
                unnest(range(1, len(lines) + 1)) AS line_number,
                len(lines) AS line_count
            FROM (SELECT filename, string_split(content, chr(10)) AS lines FROM read_text([{listed}]))
        )
        WHERE NOT (line_number = line_count AND line = '')
    """


def bind_folders(con: duckdb.DuckDBPyConnection, capture_root: Path, label_root: Path) -> None:
    """Create the query's input relations ``capture_lines`` and ``label_lines`` over the two folders."""
    captures = sorted(Path(capture_root).glob("*/*/*/*/*/*/*.jsonl"))
    labels = sorted(Path(label_root).glob("*/*/*/*/*.jsonl"))
    if captures:
        con.execute(f"""
            CREATE OR REPLACE TEMP VIEW capture_lines AS
            SELECT
                line, source_file, line_number,
                regexp_extract(source_file, '{_CAPTURE_PATH}', 1) AS endpoint,
                regexp_extract(source_file, '{_CAPTURE_PATH}', 2) AS variant,
                regexp_extract(source_file, '{_CAPTURE_PATH}', 3) AS hour
            FROM ({_lines_sql(captures)})
        """)
    else:
        con.execute("""
            CREATE OR REPLACE TEMP VIEW capture_lines AS
            SELECT NULL::VARCHAR AS line, NULL::VARCHAR AS source_file, NULL::BIGINT AS line_number,
                   NULL::VARCHAR AS endpoint, NULL::VARCHAR AS variant, NULL::VARCHAR AS hour
            WHERE false
        """)
    if labels:
        con.execute(f"""
            CREATE OR REPLACE TEMP VIEW label_lines AS
            SELECT line, source_file, line_number, regexp_extract(source_file, '{_LABEL_PATH}', 1) AS hour
            FROM ({_lines_sql(labels)})
        """)
    else:
        con.execute("""
            CREATE OR REPLACE TEMP VIEW label_lines AS
            SELECT NULL::VARCHAR AS line, NULL::VARCHAR AS source_file, NULL::BIGINT AS line_number,
                   NULL::VARCHAR AS hour
            WHERE false
        """)


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, window: QueryWindow) -> list[dict[str, Any]]:
    """Rows of ``sql`` (the live-quality query in DuckDB's dialect) as dicts keyed by :data:`RESULT_COLUMNS`."""
    cursor = con.execute(sql, window.parameters())
    names = [d[0] for d in cursor.description]
    if tuple(names) != RESULT_COLUMNS:
        raise ValueError(f"the query returned columns {names}, expected {list(RESULT_COLUMNS)}")
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def run_on_folders(
    capture_root: Path,
    label_root: Path,
    window: QueryWindow,
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
    temp_directory: Path | None = None,
) -> list[dict[str, Any]]:
    """Bind the folders, run the source query, return its rows; a fresh in-memory database each call.

    ``threads`` (default: DuckDB's, one per core) and ``memory_limit`` (e.g. ``"3GB"``; default
    DuckDB's, 80 % of the machine's memory) bound the engine; beyond the limit DuckDB spills joins,
    sorts and aggregates to ``temp_directory`` (default DuckDB's ``.tmp``).
    """
    config: dict[str, Any] = {}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp_directory:
        config["temp_directory"] = str(temp_directory)
    con = duckdb.connect(config=config)
    try:
        bind_folders(con, capture_root, label_root)
        return run_sql(con, source_sql(), window)
    finally:
        con.close()
