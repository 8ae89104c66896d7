"""The live-quality query's rows as Athena's GetQueryResults gives them, and moto's queue for them.

moto runs no SQL: its GetQueryResults answers with whatever was queued in its Athena backend (the
in-process side of its documented ``POST /moto-api/static/athena/query-results``). The tests queue
the rows the *real* query gives on DuckDB over generated capture and label files, turned into
Athena's form: a header row of column names, then every value a string in ``VarCharValue``, a NULL
a ``Data`` entry without that key, doubles written as Java writes them (``1.0E-4``, ``0.25``), the way
Trino, Athena's engine, turns a double into text (trinodb/trino#20823 shows the notation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID

from live_quality.query import RESULT_COLUMNS
from tests.lambdas.conftest import REGION


def java_double(value: float) -> str:
    """``Double.toString``: plain between 10^-3 and 10^7, else d.dddE±n; always a fraction digit."""
    if value == 0:
        return "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text or "e" in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    shown = "".join(map(str, digits))
    return f"{'-' if sign else ''}{shown[0]}.{shown[1:] or '0'}E{len(shown) - 1 + exponent}"


def athena_text(value: Any) -> dict[str, str]:
    """One ``Data`` entry: ``{}`` for NULL."""
    if value is None:
        return {}
    if isinstance(value, float):
        return {"VarCharValue": java_double(value)}
    return {"VarCharValue": str(value)}


def athena_rows(rows: Iterable[Mapping[str, Any]], header: Sequence[str] = RESULT_COLUMNS) -> list[dict[str, Any]]:
    """``ResultSet.Rows``: the header row, then one row per result row in ``header`` order."""
    out: list[dict[str, Any]] = [{"Data": [{"VarCharValue": name} for name in header]}]
    out += [{"Data": [athena_text(row.get(name)) for name in header]} for row in rows]
    return out


def column_info(header: Sequence[str] = RESULT_COLUMNS) -> list[dict[str, Any]]:
    return [{"Name": name, "Label": name, "Type": "varchar", "Nullable": "UNKNOWN"} for name in header]


def queue_result(result_rows: list[dict[str, Any]], header: Sequence[str] = RESULT_COLUMNS) -> None:
    """The next query execution that asks moto for results gets ``result_rows`` (Athena's ``Rows`` shape)."""
    backend = athena_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.query_results_queue.append(QueryResults(rows=result_rows, column_info=column_info(header)))


def set_query_state(query_execution_id: str, state: str) -> None:
    """moto's queries go straight to SUCCEEDED and never fail: the FAILED path is driven here."""
    athena_backends[DEFAULT_ACCOUNT_ID][REGION].executions[query_execution_id].status = state
