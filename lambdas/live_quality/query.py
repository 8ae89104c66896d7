"""The live-quality query: where its text lives, the parameters it takes and the columns it returns.

The query is written once (``sql/live_quality.sql``, DuckDB's dialect). The Athena text beside it
(``sql/live_quality.athena.sql``) is generated from it by ``scripts/generate_live_athena_sql.py`` and
committed, so neither ``cdk synth`` nor the Lambda imports a SQL translator; a test checks that the
committed file is still the translation of the source.

Only the two input relations are bound per engine, because only that differs: how lines of files
become rows. ``local_engine`` binds them to folders with DuckDB's ``read_text``; on Athena they are
Glue tables of one string column (the line) partitioned by the S3 layout, and the generated text
starts with :data:`ATHENA_BINDINGS`, which names those tables and maps ``"$path"`` (Athena's hidden
column with the object's S3 URI) to ``source_file``. Athena cannot number the lines of an object, so
``line_number`` is NULL there; issues are still reported with their file.

The threshold is no parameter: Athena takes ``?`` in WHERE clauses only, and the threshold is used
in a SELECT list. Both texts carry a token for it that ``live_quality.threshold`` replaces with a
checked number literal (:func:`source_query`, :func:`athena_query`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from live_quality.formats import check_hour
from live_quality.tables import ATHENA_CAPTURE_TABLE, ATHENA_LABEL_TABLE
from live_quality.threshold import with_threshold

SQL_DIR = Path(__file__).resolve().parent / "sql"
SOURCE_SQL = SQL_DIR / "live_quality.sql"
# The capture parsing both queries include (live_quality.sql, shadow_agreement.sql): see with_includes.
CAPTURE_PARSING_SQL = SQL_DIR / "capture_parsing.sql"
# A line of its own that names a file in SQL_DIR: ``-- @include capture_parsing.sql``.
INCLUDE_LINE = re.compile(r"^-- @include (?P<name>[a-z_]+\.sql)$", re.MULTILINE)
ATHENA_SQL = SQL_DIR / "live_quality.athena.sql"

# The positional parameters (``?``) in the order they appear in the query text, all in WHERE clauses
# (Athena's ExecutionParameters; the threshold is written into the text instead: live_quality/threshold.py).
QUERY_PARAMETERS = (
    "endpoint",
    "capture_start_hour",
    "capture_end_hour",
    "label_start_hour",
    "label_end_hour",
)

RESULT_COLUMNS = (
    "row_kind",
    "variant",
    "period",
    "captured",
    "without_inference_id",
    "labelled",
    "positives",
    "negatives",
    "tp",
    "fp",
    "tn",
    "fn",
    "roc_auc",
    "v10_variance",
    "v01_variance",
    "delay_hours",
    "issue",
    "source_file",
    "line_number",
    "detail",
    "n",
    "labelled_without_inference_id",
)

# The Glue tables the Athena query reads (names in live_quality/tables.py, which the stack's Glue
# tables take too): one string column ``line`` each, partitioned by endpoint, variant and hour
# ('yyyy/mm/dd/hh') for capture and by hour for labels, so that the WHERE clauses on them prune partitions.
ATHENA_BINDINGS = f"""WITH
capture_lines AS (
    SELECT line, "$path" AS source_file, CAST(NULL AS BIGINT) AS line_number, endpoint, variant, hour
    FROM {ATHENA_CAPTURE_TABLE}
),
label_lines AS (
    SELECT line, "$path" AS source_file, CAST(NULL AS BIGINT) AS line_number, hour
    FROM {ATHENA_LABEL_TABLE}
)
SELECT 1"""


@dataclass(frozen=True)
class QueryWindow:
    """Which captures and labels one run reads.

    Captures of ``endpoint`` from hours ``capture_start_hour`` (inclusive) to ``capture_end_hour``
    (exclusive); labels collected from ``capture_start_hour`` to ``label_end_hour`` (exclusive, at
    least ``capture_end_hour``: labels arrive after the predictions). ``threshold`` turns a score
    into a predicted positive (``score >= threshold``, as the offline evaluation); it is part of the
    query's text (:func:`source_query`, :func:`athena_query`), not of its parameters.
    """

    endpoint: str
    capture_start_hour: str
    capture_end_hour: str
    label_end_hour: str
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if not self.endpoint:
            raise ValueError("endpoint is empty")
        for name in ("capture_start_hour", "capture_end_hour", "label_end_hour"):
            check_hour(getattr(self, name))
        if not self.capture_start_hour < self.capture_end_hour <= self.label_end_hour:
            raise ValueError(
                f"hours must satisfy capture_start_hour < capture_end_hour <= label_end_hour; got "
                f"{self.capture_start_hour}, {self.capture_end_hour}, {self.label_end_hour}"
            )
        if isinstance(self.threshold, bool) or not math.isfinite(self.threshold):
            raise ValueError(f"threshold is {self.threshold!r}; it must be a finite number")

    def parameters(self) -> list[str]:
        """Values for the query's ``?`` in :data:`QUERY_PARAMETERS` order."""
        values = {
            "endpoint": self.endpoint,
            "capture_start_hour": self.capture_start_hour,
            "capture_end_hour": self.capture_end_hour,
            "label_start_hour": self.capture_start_hour,
            "label_end_hour": self.label_end_hour,
        }
        return [values[name] for name in QUERY_PARAMETERS]

    def athena_execution_parameters(self) -> list[str]:
        """The same values as Athena's ``ExecutionParameters`` take them: SQL string literals, quoted."""
        return ["'" + value.replace("'", "''") + "'" for value in self.parameters()]


def with_includes(text: str, where: str = "the query") -> str:
    """``text`` with each ``-- @include <file>.sql`` line replaced by that file of :data:`SQL_DIR`, as
    written (comments too). The one way a query shares SQL with another: the DuckDB runs, the Athena
    generator and its ``--check`` all read the composed text. An included file may not include again."""

    def included(match: re.Match[str]) -> str:
        path = SQL_DIR / match["name"]
        if not path.is_file():
            raise ValueError(f"{where} includes {match['name']}, which is not a file in {SQL_DIR}")
        part = path.read_text().rstrip("\n")
        if INCLUDE_LINE.search(part):
            raise ValueError(f"{match['name']} (included by {where}) includes another file; only one level is allowed")
        return part

    return INCLUDE_LINE.sub(included, text)


def source_sql(path: Path = SOURCE_SQL) -> str:
    """The source text as committed, its includes in place, with the threshold's token (see :func:`source_query`).
    ``path``: another query's source (the shadow agreement's, live_quality.agreement_text)."""
    return with_includes(path.read_text(), path.name)


def athena_sql(path: Path = ATHENA_SQL) -> str:
    """The generated Athena text as committed, with the threshold's token (see :func:`athena_query`)."""
    return path.read_text()


def source_query(threshold: float, path: Path = SOURCE_SQL) -> str:
    """The DuckDB text to run: the source with ``threshold`` written in."""
    return with_threshold(source_sql(path), threshold)


def athena_query(threshold: float, path: Path = ATHENA_SQL) -> str:
    """The Athena text to run (the state machine's QueryString): the generated text with ``threshold`` written in."""
    return with_threshold(athena_sql(path), threshold)
