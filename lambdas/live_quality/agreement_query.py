"""The shadow-agreement query: its text, composed with the live-quality query's own capture parsing, and its run
on the embedded engine (DuckDB) over a capture folder laid out as SageMaker's S3 prefix.

``sql/shadow_agreement.sql`` holds the pairing and the tallies only. Reading a capture line (the JSON fields, the
output's encoding, the one score) and classifying a bad one is ``sql/capture_parsing.sql``, which the agreement
text includes as the live-quality text does (``live_quality.query.with_includes``), so there is one capture
parser, and the issue names and the threshold's side are the live-quality report's.

For the local command and tests; no Lambda imports this module (DuckDB is a development dependency): the texts,
parameters and columns are ``agreement_text``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from live_quality import agreement_text
from live_quality.local_engine import bind_folders
from live_quality.query import QueryWindow

AGREEMENT_SQL = agreement_text.SOURCE_SQL
RESULT_COLUMNS = agreement_text.RESULT_COLUMNS
agreement_source_sql = agreement_text.source_sql
agreement_sql = agreement_text.source_query


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
    con = duckdb.connect(config={"threads": threads} if threads else {})
    try:
        bind_folders(con, capture_root, None, variants=[production_variant, shadow_variant])
        parameters: Sequence[str] = agreement_text.parameters(window, production_variant, shadow_variant)
        cursor = con.execute(agreement_sql(window.threshold), parameters)
        names = [d[0] for d in cursor.description]
        if tuple(names) != RESULT_COLUMNS:
            raise ValueError(f"the agreement query returned columns {names}, expected {list(RESULT_COLUMNS)}")
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
