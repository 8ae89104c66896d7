"""Run the live-quality query on the embedded engine (DuckDB) over folders laid out as SageMaker's S3 prefixes.

For tests, the local demo and the benchmark; the Lambda runs the Athena text instead and never
imports this module (DuckDB is a development dependency, not in the Lambda runtime).

``capture_root`` is what ``DestinationS3Uri`` points at (``<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``
below it) and ``label_root`` the ground-truth prefix (``yyyy/mm/dd/hh/*.jsonl`` below it). Files are read
whole with ``read_text`` and split into numbered lines, so every issue can name its file and line;
the line ending of the last line is a terminator, not an empty record. A ``\r`` before a line's
``\n`` stays (JSON allows it as whitespace; stripping it cost more than the rest of the reading).

``source_file`` is bound as an ``ENUM`` of the listed file names, declared in byte order: a row then
carries a small integer instead of its file's name (which costs its length on every row of a
materialized intermediate result, about 1 GB per 10 M requests), while comparing, ordering and
printing it behave as for the name itself (DuckDB orders an ENUM by declaration order). The path
columns (endpoint, variant, hour) are cut from each file's name once, before its lines are split.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from live_quality.query import RESULT_COLUMNS, QueryWindow, source_sql
from live_quality.threshold import with_threshold

_CAPTURE_PATH = r"([^/]+)/([^/]+)/([0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2})/[^/]+$"
_LABEL_PATH = r"([0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2})/[^/]+$"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _lines_sql(files: Sequence[Path], path_pattern: str, path_columns: Sequence[str]) -> str:
    """One row per line of ``files``: line, source_file, line_number and ``path_columns``, the groups of
    ``path_pattern`` in each file's name. The paths are ours (we listed them), quoted as SQL literals
    because a view cannot hold a bound parameter."""
    names = sorted(str(f) for f in files)  # str order is UTF-8 byte order: DuckDB's VARCHAR order
    listed = ", ".join(_literal(n) for n in names)
    per_file = "".join(
        f", regexp_extract(filename, {_literal(path_pattern)}, {group}) AS {column}"
        for group, column in enumerate(path_columns, start=1)
    )
    columns = "".join(f", {column}" for column in path_columns)
    return f"""
        SELECT line, source_file, CAST(line_number AS BIGINT) AS line_number{columns}
        FROM (
            SELECT
                source_file{columns},
                unnest(lines) AS line,
                unnest(range(1, len(lines) + 1)) AS line_number,
                len(lines) AS line_count
            FROM (
                SELECT
                    CAST(filename AS ENUM({listed})) AS source_file{per_file},
                    string_split(content, chr(10)) AS lines
                FROM read_text([{listed}])
            )
        )
        WHERE NOT (line_number = line_count AND line = '')
    """


def bind_folders(
    con: duckdb.DuckDBPyConnection,
    capture_root: Path,
    label_root: Path | None,
    *,
    variants: Sequence[str] | None = None,
) -> None:
    """Create the query's input relations ``capture_lines`` and ``label_lines`` over the two folders
    (``label_root`` None: no labels, for a query that reads captures only).

    ``variants`` (default: every variant folder) keeps the captures of those variants only, as the
    Glue table's projection does on AWS (the production variants: a shadow's copies of production's
    ids would otherwise be counted as captured twice).
    """
    captures = sorted(
        path
        for path in Path(capture_root).glob("*/*/*/*/*/*/*.jsonl")
        if variants is None or path.relative_to(Path(capture_root)).parts[1] in variants
    )
    labels = sorted(Path(label_root).glob("*/*/*/*/*.jsonl")) if label_root is not None else []
    if captures:
        con.execute(f"""
            CREATE OR REPLACE TEMP VIEW capture_lines AS
            {_lines_sql(captures, _CAPTURE_PATH, ("endpoint", "variant", "hour"))}
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
            {_lines_sql(labels, _LABEL_PATH, ("hour",))}
        """)
    else:
        con.execute("""
            CREATE OR REPLACE TEMP VIEW label_lines AS
            SELECT NULL::VARCHAR AS line, NULL::VARCHAR AS source_file, NULL::BIGINT AS line_number,
                   NULL::VARCHAR AS hour
            WHERE false
        """)


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, window: QueryWindow) -> list[dict[str, Any]]:
    """Rows of ``sql`` (the live-quality query in DuckDB's dialect, with the threshold's token, which
    this writes in from ``window``) as dicts keyed by :data:`RESULT_COLUMNS`."""
    cursor = con.execute(with_threshold(sql, window.threshold), window.parameters())
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
    variants: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Bind the folders, run the source query, return its rows; a fresh in-memory database each call.

    ``variants``: the variant folders read (default: all; see :func:`bind_folders`).

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
        bind_folders(con, capture_root, label_root, variants=variants)
        return run_sql(con, source_sql(), window)
    finally:
        con.close()
