"""The live-quality query's rows, typed: per-variant statistics, label-delay histograms and issues.

Both engines give the same rows; Athena's GetQueryResults gives every value as a string (and leaves
NULLs out), DuckDB gives native values, so each value is converted here once, with an error that
names the row and column when a value is not what the query promises.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evaluate.metrics import Confusion
from live_quality.query import RESULT_COLUMNS

ALL_PERIODS = "all"
_DAY, _HOUR = "yyyy/mm/dd", "yyyy/mm/dd/hh"  # the query's period formats (its inference days and capture hours)

# What each issue the query reports means, for the report (keys are the query's issue names).
ISSUES = {
    "capture_not_json": "capture line is not JSON: left out",
    "capture_unknown_event_version": 'capture record\'s eventVersion is not "0", the documented one: left out',
    "capture_without_output": "capture record has no endpointOutput.data (capture the response too): left out",
    "capture_unknown_encoding": "capture output encoding is not CSV, JSON or BASE64: left out",
    "capture_output_not_one_score": "capture output is not one finite score (one prediction per request): left out",
    "capture_without_inference_time": "capture record has no valid eventMetadata.inferenceTime: left out",
    "capture_without_any_id": "capture record has neither inferenceId nor eventId: left out",
    "capture_duplicate_id": "the same id was captured more than once, so a label cannot be attributed: "
    "all copies left out",
    "capture_without_inference_id": "capture record has no inferenceId (the caller passed none): matched on eventId, "
    "as Model Monitor does; such labels can only come from someone who kept the eventId",
    "label_not_json": "label line is not JSON: left out",
    "label_unknown_event_version": 'label record\'s eventVersion is not "0": left out',
    "label_without_event_id": "label record has no eventMetadata.eventId: left out",
    "label_not_csv": "label encoding is not CSV, the only one Model Monitor merges: left out",
    "label_not_0_or_1": "label is not 0 or 1: left out",
    "label_duplicate_superseded": "a later label for the same id replaced this one (the last label wins)",
    "label_for_unknown_id": "label for an id with no capture record in the window (or one left out above)",
    "label_before_inference": "label collected in an hour before its prediction's hour: left out of the metrics "
    "(it cannot be about that prediction); check the clocks and ids",
}


class InvalidQueryResult(ValueError):
    """A result row that the query cannot have produced (a missing column, a non-number count)."""


@dataclass(frozen=True)
class PeriodStats:
    """One variant over one period (an inference day ``yyyy/mm/dd``, or :data:`ALL_PERIODS`)."""

    variant: str
    period: str
    captured: int
    without_inference_id: int
    labelled_without_inference_id: int
    labelled: int
    positives: int
    negatives: int
    confusion: Confusion
    roc_auc: float | None
    v10_variance: float | None
    v01_variance: float | None

    @property
    def label_coverage(self) -> float:
        """Labelled share of the captured requests that carry an InferenceId: a capture without one is
        mostly the evaluation's own TargetVariant request, which no label follows (reported apart)."""
        with_id = self.captured - self.without_inference_id
        return (self.labelled - self.labelled_without_inference_id) / with_id if with_id else 0.0


@dataclass(frozen=True)
class IssueSample:
    issue: str
    variant: str | None
    source_file: str | None
    line_number: int | None
    detail: str | None


@dataclass
class QueryResult:
    stats: dict[tuple[str, str], PeriodStats] = field(default_factory=dict)
    delays: dict[str, dict[int, int]] = field(default_factory=dict)  # variant -> {delay hours: labelled requests}
    issue_counts: dict[tuple[str, str | None], int] = field(default_factory=dict)  # (issue, variant) -> count
    issue_samples: list[IssueSample] = field(default_factory=list)

    def variants(self) -> list[str]:
        return sorted({variant for variant, _ in self.stats})

    def overall(self, variant: str) -> PeriodStats | None:
        return self.stats.get((variant, ALL_PERIODS))

    def days(self, variant: str) -> list[PeriodStats]:
        """The variant's inference days (periods ``yyyy/mm/dd``), in order."""
        return [s for (v, p), s in sorted(self.stats.items()) if v == variant and len(p) == len(_DAY)]

    def hours(self, variant: str) -> list[PeriodStats]:
        """The variant's capture hours (periods ``yyyy/mm/dd/hh``), in order: strata for days whose
        traffic split changed within the day (``live_quality.strata``)."""
        return [s for (v, p), s in sorted(self.stats.items()) if v == variant and len(p) == len(_HOUR)]


def _value(row: Mapping[str, Any], column: str, index: int) -> Any:
    if column not in RESULT_COLUMNS:
        raise KeyError(column)
    value = row.get(column)  # Athena leaves a NULL out of the row; DuckDB gives None
    return None if value == "" else value


def _int(row: Mapping[str, Any], column: str, index: int, *, required: bool = True) -> int | None:
    value = _value(row, column, index)
    if value is None:
        if required:
            raise InvalidQueryResult(f"row {index}: {column} is empty; the query always fills it for this row kind")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidQueryResult(f"row {index}: {column} is {value!r}, not a number") from None
    if not number.is_integer():
        raise InvalidQueryResult(f"row {index}: {column} is {value!r}, not a whole number")
    return int(number)


def _float(row: Mapping[str, Any], column: str, index: int) -> float | None:
    value = _value(row, column, index)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidQueryResult(f"row {index}: {column} is {value!r}, not a number") from None
    return number if math.isfinite(number) else None


def _str(row: Mapping[str, Any], column: str, index: int, *, required: bool = True) -> str | None:
    value = _value(row, column, index)
    if value is None and required:
        raise InvalidQueryResult(f"row {index}: {column} is empty; the query always fills it for this row kind")
    return None if value is None else str(value)


def parse_rows(rows: Iterable[Mapping[str, Any]]) -> QueryResult:
    """Typed result of the query's rows (dicts keyed by :data:`live_quality.query.RESULT_COLUMNS`)."""
    result = QueryResult()
    for index, row in enumerate(rows):
        kind = row.get("row_kind")
        if kind is None:
            raise InvalidQueryResult(f"row {index} has no row_kind; is this the live-quality query's result?")
        if kind == "metrics":
            variant = _str(row, "variant", index)
            period = _str(row, "period", index)
            assert variant is not None and period is not None
            counts = {
                c: _int(row, c, index) or 0
                for c in (
                    "captured",
                    "without_inference_id",
                    "labelled_without_inference_id",
                    "labelled",
                    "positives",
                    "negatives",
                )
            }
            confusion = Confusion(**{c: _int(row, c, index) or 0 for c in ("tp", "fp", "tn", "fn")})
            result.stats[(variant, period)] = PeriodStats(
                variant=variant,
                period=period,
                confusion=confusion,
                roc_auc=_float(row, "roc_auc", index),
                v10_variance=_float(row, "v10_variance", index),
                v01_variance=_float(row, "v01_variance", index),
                **counts,
            )
        elif kind == "delay":
            variant = _str(row, "variant", index)
            assert variant is not None
            hours = _int(row, "delay_hours", index)
            assert hours is not None
            result.delays.setdefault(variant, {})[hours] = _int(row, "n", index) or 0
        elif kind == "issue_count":
            issue = _str(row, "issue", index)
            assert issue is not None
            key = (issue, _str(row, "variant", index, required=False))
            result.issue_counts[key] = _int(row, "n", index) or 0
        elif kind == "issue_sample":
            issue = _str(row, "issue", index)
            assert issue is not None
            result.issue_samples.append(
                IssueSample(
                    issue=issue,
                    variant=_str(row, "variant", index, required=False),
                    source_file=_str(row, "source_file", index, required=False),
                    line_number=_int(row, "line_number", index, required=False),
                    detail=_str(row, "detail", index, required=False),
                )
            )
        else:
            raise InvalidQueryResult(f"row {index} has row_kind {kind!r}; expected metrics, delay or issue rows")
    return result
