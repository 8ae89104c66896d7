"""Athena's answers about one query, read as the live-quality run needs them (pure: takes the responses).

* ``GetQueryExecution``: the query must have ``SUCCEEDED`` (``QUEUED | RUNNING | SUCCEEDED | FAILED |
  CANCELLED``; "The FAILED state is always terminal", QueryExecutionStatus in the Athena API
  reference), with the plan's ``ExecutionParameters`` and its ``Query`` ("The SQL query statements
  which the query execution ran") the live-quality text with the plan's threshold written in (the
  threshold is part of the text, not a parameter: ``live_quality/threshold.py``). Whitespace and
  comment lines are not compared. ``Statistics.DataScannedInBytes`` is what the query cost (Athena
  bills by bytes scanned).
* ``GetQueryResults``: pages of at most ``MaxResults`` = 1,000 rows (the API's maximum; botocore's
  model: min 1, max 1000), followed with ``NextToken``. For a SELECT the first row of the first page
  is the header (the column names); every value is a string in ``Data[i].VarCharValue``, and a NULL
  is a ``Data`` entry without ``VarCharValue`` (an empty string keeps the key).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from live_quality.query import RESULT_COLUMNS

MAX_RESULTS_PER_PAGE = 1000
SUCCEEDED = "SUCCEEDED"
NOT_FINISHED = ("QUEUED", "RUNNING")


class QueryNotUsable(RuntimeError):
    """The query execution did not succeed, or is not this plan's query: nothing was written or published."""


class InvalidAthenaResult(ValueError):
    """The result is not the live-quality query's (another header, a row of another width)."""


@dataclass(frozen=True)
class FinishedQuery:
    execution_id: str
    data_scanned_bytes: int | None
    workgroup: str | None

    def as_report_section(self) -> dict[str, Any]:
        return {
            "engine": "Athena",
            "query_execution_id": self.execution_id,
            "workgroup": self.workgroup,
            "data_scanned_bytes": self.data_scanned_bytes,
        }


def _without_layout(sql: str) -> str:
    """``sql`` without its comment lines, every run of whitespace one space: what the comparison reads."""
    lines = (line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return " ".join(" ".join(lines).split())


def finished_query(
    response: Mapping[str, Any],
    expected_parameters: Sequence[str],
    expected_query: str,
    query_name: str = "live-quality",
) -> FinishedQuery:
    """The GetQueryExecution response of a query that succeeded with ``expected_parameters`` and the
    text ``expected_query``; else an error. ``query_name`` names the expected query in that error (default
    live quality's; the agreement step passes ``shadow-agreement``)."""
    execution = response["QueryExecution"]
    query_id = execution.get("QueryExecutionId", "?")
    status = execution.get("Status", {})
    state = status.get("State")
    if state != SUCCEEDED:
        reason = status.get("AthenaError", {}).get("ErrorMessage") or status.get("StateChangeReason")
        advice = (
            "it has not finished; publish after the query succeeds"
            if state in NOT_FINISHED
            else "no report or metric comes from a query that did not succeed"
        )
        raise QueryNotUsable(
            f"Athena query {query_id} is {state}" + (f" ({reason})" if reason else "") + f": {advice}; nothing was "
            "written or published"
        )
    parameters = list(execution.get("ExecutionParameters") or [])
    if parameters != list(expected_parameters):
        raise QueryNotUsable(
            f"Athena query {query_id} ran with ExecutionParameters {parameters!r}, but the plan's are "
            f"{list(expected_parameters)!r}: it is not this plan's query; nothing was written or published"
        )
    query = execution.get("Query")
    if not isinstance(query, str) or _without_layout(query) != _without_layout(expected_query):
        raise QueryNotUsable(
            f"Athena query {query_id} ran another text than this plan's (the {query_name} query with threshold "
            "set by the plan): a query of another deployment, or the state machine and this function disagree "
            "on the threshold; nothing was written or published"
        )
    scanned = execution.get("Statistics", {}).get("DataScannedInBytes")
    return FinishedQuery(query_id, None if scanned is None else int(scanned), execution.get("WorkGroup"))


def rows_from_pages(
    pages: Iterable[Mapping[str, Any]], columns: Sequence[str] = RESULT_COLUMNS, query_file: str = "live_quality"
) -> list[dict[str, str]]:
    """GetQueryResults pages as the row dicts ``results.parse_rows`` takes (a NULL leaves its column out).
    ``columns``: the header expected (default the live-quality query's; the agreement's is
    ``agreement_text.RESULT_COLUMNS``), ``query_file`` the name of its SQL file, for the error."""
    header: list[str | None] | None = None
    rows: list[dict[str, str]] = []
    for page_number, page in enumerate(pages, start=1):
        for row_number, row in enumerate(page.get("ResultSet", {}).get("Rows", []), start=1):
            values = [datum.get("VarCharValue") for datum in row.get("Data", [])]
            if header is None:
                header = values
                if tuple(header) != tuple(columns):
                    raise InvalidAthenaResult(
                        f"the result's header is {header}, not the {query_file} query's columns "
                        f"{list(columns)}: was the query started with lambdas/live_quality/sql/"
                        f"{query_file}.athena.sql?"
                    )
                continue
            if len(values) != len(columns):
                raise InvalidAthenaResult(
                    f"page {page_number}, row {row_number} has {len(values)} values for {len(columns)} columns"
                )
            rows.append({column: value for column, value in zip(columns, values, strict=True) if value is not None})
    if header is None:
        raise InvalidAthenaResult("the result has no rows, not even the header row a SELECT always has")
    return rows
