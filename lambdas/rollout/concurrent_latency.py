"""Is the candidate's p99 ModelLatency more than ``latency_tolerance`` × the baselines'? No AWS in here.

A minute's p99 is a noisy, biased estimate of the true p99, more so with few requests, so the
worst minute of each arm (the old rule) rolls back identical variants often. Instead, each minute
where both arms served enough requests for a p99 to mean something gives one difference

    Y_t = log(p99_candidate,t) - log(p99_baseline,t),

compared within the minute so load and time of day cancel. H0: the mean of Y_t is at most
log(latency_tolerance). The centred sum S_t = Σ (Y_t - log tolerance) is tested against the one-sided
normal-mixture boundary on the empirical variance V_t = Σ (Y_t - Ȳ_t)² (``rollout.mixture``;
Waudby-Smith et al.'s asymptotic confidence sequence for a mean): valid at every look, with the
variance from the data. "Slower" when the boundary was crossed at any minute so far, after at
least :data:`MIN_MINUTES` minutes (a variance needs a few).

Bias of a sample p99: with n requests, the sample p99 of a right-skewed latency sits *below* the
true p99, further the smaller n. So each minute compares the candidate with the baseline that
served the most requests that minute, and only when that baseline served **at least as many
requests as the candidate** (and both at least :data:`MIN_REQUESTS_FOR_P99`): the candidate's p99
is then biased down at least as much as the baseline's, which can cost power but cannot
manufacture a slowdown. At the 100 % step the baselines serve nothing: latency is judged on the
earlier steps only. Assumes the sample-quantile bias shrinks with n (true for the usual latency
shapes) and that minutes are independent given their loads.

Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rollout.history import Minute
from rollout.mixture import log_one_sided_mixture

# A p99 needs about 100 requests before one of them lies above it; with fewer CloudWatch's p99 is
# just the slowest request or an interpolation next to it.
MIN_REQUESTS_FOR_P99 = 100
MIN_MINUTES = 3
# Precision m of the mixture, in (log latency)²: the boundary is tightest when Σ (Y_t - Ȳ)² is a
# few times m. Tuned in benchmarks/judge_scenarios.py (1,000 requests a minute, lognormal σ 0.5):
# m = 0.625 caught a +50 % p99 within two steps 56 % of the time, m = 0.1 90 %, with false
# rollbacks of identical variants at or below 1 % for both.
LOG_RATIO_PRECISION = 0.1


@dataclass(frozen=True)
class LatencyEvidence:
    """``slower``: the boundary was crossed; ``mean_log_ratio``: Ȳ over the ``minutes`` compared
    (0 without any); ``max_log_mixture`` against ``threshold`` = log(1/α)."""

    slower: bool
    minutes: int
    mean_log_ratio: float
    max_log_mixture: float
    threshold: float

    @property
    def ratio(self) -> float:
        """exp(Ȳ): the typical candidate/baseline p99 ratio over the compared minutes."""
        return math.exp(self.mean_log_ratio)


def _paired_minute(minute: Minute, candidate: str, baselines: Sequence[str]) -> float | None:
    cand = minute.get(candidate)
    if cand.p99_ms is None or cand.invocations < MIN_REQUESTS_FOR_P99:
        return None
    busiest = max((minute.get(b) for b in baselines), key=lambda v: v.invocations)
    if busiest.p99_ms is None or busiest.invocations < max(MIN_REQUESTS_FOR_P99, cand.invocations):
        return None
    return math.log(cand.p99_ms) - math.log(busiest.p99_ms)


def latency_evidence(
    minutes: Sequence[Minute], candidate: str, baselines: Sequence[str], tolerance: float, alpha: float
) -> LatencyEvidence:
    """Run the test (module docstring) over ``minutes`` for one ``tolerance`` (>= 1) and ``alpha``."""
    threshold = math.log(1.0 / alpha)
    log_tolerance = math.log(tolerance)
    count = 0
    total = mean = squares = 0.0  # Welford: running mean and centred sum of squares of Y_t
    best = 0.0
    for minute in minutes:
        y = _paired_minute(minute, candidate, baselines)
        if y is None:
            continue
        count += 1
        delta = y - mean
        mean += delta / count
        squares += delta * (y - mean)
        total += y - log_tolerance
        if count >= MIN_MINUTES:
            best = max(best, log_one_sided_mixture(total, squares, LOG_RATIO_PRECISION))
    return LatencyEvidence(
        slower=best >= threshold, minutes=count, mean_log_ratio=mean, max_log_mixture=best, threshold=threshold
    )
