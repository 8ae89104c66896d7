"""Labels for requests that were never captured: how many capture sampling explains, and when there are more (pure).

SageMaker's data capture records each request with probability p = ``sampling_percentage`` / 100
(InitialSamplingPercentage; the default config captures 20 %). The labels arrive for every request the
business knows an outcome of, captured or not, so at 20 % about four labels in five name a request
with no capture record. The query counts them as ``label_for_unknown_id``; here they are accounted
for as what they mostly are: labels for requests not captured.

**The rule.** Of the n labels that name a request (matched to a capture record in the window, or
not), each is unmatched with probability 1 − p if it names a request of this endpoint, so the
unmatched count u is binomial(n, 1 − p): mean n(1 − p), standard deviation sqrt(n·p·(1 − p)).
Sampling explains u up to the mean plus :data:`STANDARD_DEVIATIONS` standard deviations (a
binomial count exceeds that with probability around 0.1 % or less); at 100 % sampling that is 0, and
every unmatched label is an issue, as before. More than that is reported as an input issue: ids the
endpoint never answered (another endpoint's, a typo), captures left out of the window (labels for
requests older than its first hour or newer than its last), or captures the query left out as
malformed or duplicated (their own issues say so).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

UNMATCHED_ISSUE = "label_for_unknown_id"
# Labels that found their capture record but were left out of the metrics: they name captured requests.
MATCHED_ISSUES = ("label_before_inference",)
STANDARD_DEVIATIONS = 3.0


def labels_not_captured(matched: int, unmatched: int, sampling_percentage: float) -> dict[str, Any]:
    """The report's account of labels without a capture record, for ``matched`` + ``unmatched`` labels."""
    if not 0 <= sampling_percentage <= 100 or math.isnan(sampling_percentage):
        raise ValueError(f"sampling_percentage is {sampling_percentage!r}; it must be between 0 and 100")
    labels = matched + unmatched
    captured = sampling_percentage / 100
    expected = labels * (1 - captured)
    limit = expected + STANDARD_DEVIATIONS * math.sqrt(labels * captured * (1 - captured))
    return {
        "count": unmatched,
        "labels": labels,
        "share": unmatched / labels if labels else None,
        "sampling_percentage": sampling_percentage,
        "expected_share": 1 - captured,
        "expected_count": expected,
        "explained_up_to": limit,
        "more_than_sampling_explains": unmatched > limit + 1e-9,
    }


def unmatched_and_matched(labelled_per_variant: Mapping[str, int], issue_counts: Mapping[str, int]) -> tuple[int, int]:
    """(labels with no capture record, labels that found one) from the query's per-variant labelled counts
    and its issue counts (summed over variants)."""
    matched = sum(labelled_per_variant.values()) + sum(issue_counts.get(i, 0) for i in MATCHED_ISSUES)
    return issue_counts.get(UNMATCHED_ISSUE, 0), matched


def markdown_line(section: Mapping[str, Any]) -> str:
    """One sentence for report.md."""
    if not section["labels"]:
        return "No labels named a request in the window."
    verdict = (
        "more than sampling explains: see the input issues below"
        if section["more_than_sampling_explains"]
        else "consistent with sampling, not an issue"
    )
    return (
        f"Labels for requests not captured: {section['count']:,} of {section['labels']:,} labels "
        f"({section['share']:.1%}) name a request with no capture record in the window. Capture samples "
        f"{section['sampling_percentage']:g} % of requests, so about {section['expected_share']:.1%} "
        f"({section['expected_count']:,.0f}) are expected and up to {section['explained_up_to']:,.0f} are "
        f"explained by sampling (the binomial mean plus {STANDARD_DEVIATIONS:g} standard deviations): "
        f"{verdict}."
    )
