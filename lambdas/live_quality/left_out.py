"""Whether two variants lost the same share of their captures to input issues. No AWS in here.

**Why.** A capture line with an issue is left out of its variant's metrics: an output that is not one
finite score (``capture_output_not_one_score``), an id captured twice (``capture_duplicate_id``), and
the other capture issues that drop a line (``live_quality.results.ISSUES``). If a model fails on
hard requests (returns NaN, or nothing usable), those requests leave its metrics and it is measured
on the easier rest: it can win by leaving out what it gets wrong. Random assignment gives both
variants the same mix of requests, so a left-out share that differs between them means the variants
are not measured on comparable inputs, whatever the reason; the verdict is then withheld ("inputs not
comparable").

**The test.** The two-proportion z-test (pooled variance) of left-out captures among all captures of
each variant over the window, at :data:`LEFT_OUT_ALPHA`: strict, because a false alarm withholds a
verdict that was fine (the next run looks again), while the difference that matters is large (a model
failing on its hardest requests). A share that is equal in both variants leaves out the same kind of
requests from both only if the issue does not depend on the model; that no test here can see.

Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

LEFT_OUT_ALPHA = 0.001
# Capture issues that keep the line in the metrics (matched on eventId); every other capture issue drops it.
CAPTURE_ISSUES_KEPT = frozenset({"capture_without_inference_id"})


def left_out_captures(issue_counts: Mapping[tuple[str, str | None], int], variant: str) -> int:
    """How many of ``variant``'s capture lines an issue left out of its metrics (``issue_counts``: the
    query's (issue, variant) -> count; a line whose variant could not be read has none and counts for no one)."""
    return sum(
        n
        for (issue, v), n in issue_counts.items()
        if v == variant and issue.startswith("capture_") and issue not in CAPTURE_ISSUES_KEPT
    )


@dataclass(frozen=True)
class LeftOutTest:
    """Left-out share of each variant's captures (left out / (kept + left out)) and the test's p-value."""

    share_a: float
    share_b: float
    p_value: float


def left_out_test(kept_a: int, left_out_a: int, kept_b: int, left_out_b: int) -> LeftOutTest:
    """Two-proportion z-test (pooled variance) of "both variants leave out the same share of captures";
    p-value 1 when neither (or both entirely) left anything out."""
    for name, value in (("kept_a", kept_a), ("left_out_a", left_out_a), ("kept_b", kept_b), ("left_out_b", left_out_b)):
        if value < 0:
            raise ValueError(f"{name} is {value}; it must be >= 0")
    n_a, n_b = kept_a + left_out_a, kept_b + left_out_b
    share_a = left_out_a / n_a if n_a else 0.0
    share_b = left_out_b / n_b if n_b else 0.0
    if not n_a or not n_b:
        return LeftOutTest(share_a, share_b, 1.0)
    pooled = (left_out_a + left_out_b) / (n_a + n_b)
    variance = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if variance <= 0:
        return LeftOutTest(share_a, share_b, 1.0)
    z = (share_b - share_a) / math.sqrt(variance)
    return LeftOutTest(share_a, share_b, math.erfc(abs(z) / math.sqrt(2)))
