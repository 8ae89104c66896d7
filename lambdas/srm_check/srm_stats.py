"""Sample-ratio-mismatch (SRM) statistics: is traffic split the way the variant weights ask? No AWS in here.

A/B results are only trustworthy if each variant got the share of requests its weight asks for.
When it did not (a stale endpoint config, a client that pins variants, retries that hit one
variant more often), the variants saw different populations and any metric comparison is biased.
The classic check is Pearson's chi-square goodness-of-fit test of the observed per-variant request
counts against the shares the weights ask for; a tiny p-value (say < 0.001) means mismatch.

Standard library only: the Lambda runtime ships boto3 but not numpy or scipy, so the chi-square
tail is computed here from the regularized incomplete gamma function (tests compare with scipy).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

# Chi-square is a large-sample approximation: the usual rule of thumb asks for an expected count
# of at least 5 in every cell before its p-value is trusted.
MIN_EXPECTED_COUNT = 5.0

# Convergence of the series and of the continued fraction: relative size of the last term.
_EPS = 2.0**-53
# Lentz's method replaces zero denominators with this (Numerical Recipes' FPMIN).
_TINY = 1e-300
# Both expansions need O(sqrt(a)) terms near x ≈ a, far fewer elsewhere; this covers a ≈ 1e9.
_MAX_ITERATIONS = 1_000_000
# CloudWatch returns request-count sums as floats. Sums of whole numbers are exact in a double
# (below 2**53), so this only absorbs representation noise, never a real fraction of a request.
_WHOLE_TOLERANCE = 1e-6


class NotEnoughTraffic(ValueError):
    """No requests were counted: there is nothing to test (not a mismatch, not a pass)."""


@dataclass(frozen=True)
class SrmResult:
    """Outcome of :func:`srm_test`. Dicts are keyed by variant name, in the order of the weights.

    ``chi2`` is ``inf`` and ``p_value`` is ``0.0`` when a zero-weight variant received requests.
    ``dof == 0`` means only one variant has a positive weight, so no split was tested.
    """

    total: int
    observed: dict[str, int]
    expected_share: dict[str, float]
    observed_share: dict[str, float]
    chi2: float
    dof: int
    p_value: float


def chi2_sf(x: float, dof: int) -> float:
    """Upper-tail probability P(X > x) of a chi-square variable with ``dof`` degrees of freedom.

    Computed as the regularized upper incomplete gamma function Q(dof/2, x/2): the power series
    for P = 1 - Q when x/2 < dof/2 + 1 (where Q is not small, so 1 - P loses nothing), Lentz's
    continued fraction for Q otherwise (Numerical Recipes §6.2). The prefactor is formed in log
    space with ``math.lgamma``, so p-values keep ~1e-13 relative accuracy down to 1e-300 (below
    that, float underflow) for dof <= 100, ~1e-12 at dof 1000: the cancellation in the log
    prefactor grows with dof. An SRM test has dof = variants - 1, a handful.

    ``x <= 0`` gives 1.0 and ``x = inf`` gives 0.0. Raises ``ValueError`` for a NaN ``x`` or a
    ``dof`` that is not an integer >= 1.
    """
    if isinstance(dof, bool) or not isinstance(dof, int) or dof < 1:
        raise ValueError(f"dof must be an integer >= 1 (got {dof!r})")
    x = float(x)
    if math.isnan(x):
        raise ValueError("x must be a number (got nan)")
    if x <= 0.0:
        return 1.0
    if math.isinf(x):
        return 0.0
    return _regularized_gamma_q(dof / 2.0, x / 2.0)


def _regularized_gamma_q(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x) / Γ(a) for a > 0, x > 0 (finite)."""
    # log of x^a e^-x / Γ(a), the factor both expansions share.
    log_prefactor = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        return 1.0 - math.exp(log_prefactor) * _lower_series(a, x)
    return math.exp(log_prefactor + math.log(_upper_continued_fraction(a, x)))


def _lower_series(a: float, x: float) -> float:
    """Σ_n x^n / (a (a+1) ... (a+n)), so that P(a, x) = prefactor × this sum."""
    term = 1.0 / a
    total = term
    denominator = a
    for _ in range(_MAX_ITERATIONS):
        denominator += 1.0
        term *= x / denominator
        total += term
        if term < total * _EPS:
            return total
    raise ArithmeticError(f"chi-square series did not converge (a={a}, x={x})")


def _upper_continued_fraction(a: float, x: float) -> float:
    """1 / (x+1-a - 1(1-a) / (x+3-a - 2(2-a) / (x+5-a - ...))) by the modified Lentz method."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    fraction = d
    for i in range(1, _MAX_ITERATIONS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        fraction *= delta
        if abs(delta - 1.0) <= 2.0 * _EPS:
            return fraction
    raise ArithmeticError(f"chi-square continued fraction did not converge (a={a}, x={x})")


def srm_test(observed: Mapping[str, int | float], weights: Mapping[str, float]) -> SrmResult:
    """Chi-square goodness-of-fit of per-variant request counts against the weights' shares.

    Variant ``v`` is expected to get ``share_v = w_v / sum(w)`` of the requests. The statistic is
    Σ (observed_v - expected_v)² / expected_v over the variants with a positive weight, with
    ``dof`` = (number of such variants) - 1, as ``scipy.stats.chisquare`` computes it.

    Zero-weight variants are expected to get no requests, so they are left out of the sum and of
    ``dof``. If one *did* get requests, that is a mismatch by definition (its cell has expected
    count 0): the result has ``chi2 = inf`` and ``p_value = 0.0``.

    With a single positive-weight variant there is no split to test: the result has ``dof = 0``,
    ``chi2 = 0.0`` and ``p_value = 1.0``, unless a zero-weight variant got requests (then p = 0).
    This is a result, not an error, because "100/0" is a normal endpoint state after a rollout,
    and requests reaching the 0% variant are exactly what this check should catch.

    Counts may be floats (CloudWatch returns sums); whole numbers are accepted and rounded.

    Raises ``ValueError`` when the two mappings name different variants, when a count is not a
    whole number >= 0, when a weight is not a finite number >= 0, or when all weights are 0; and
    :class:`NotEnoughTraffic` (a ``ValueError``) when no requests were counted at all.
    """
    _check_same_variants(observed, weights)
    counts = {name: _count(observed[name], name) for name in weights}
    clean_weights = {name: _weight(value, name) for name, value in weights.items()}
    weight_sum = math.fsum(clean_weights.values())
    if weight_sum <= 0.0:
        raise ValueError("at least one variant weight must be > 0 (all weights are 0)")
    total = sum(counts.values())
    if total == 0:
        raise NotEnoughTraffic("no requests were counted for any variant: nothing to test")

    expected_share = {name: w / weight_sum for name, w in clean_weights.items()}
    observed_share = {name: count / total for name, count in counts.items()}
    tested = [name for name, w in clean_weights.items() if w > 0.0]
    dof = len(tested) - 1

    if any(counts[name] > 0 for name, w in clean_weights.items() if w == 0.0):
        chi2, p_value = math.inf, 0.0
    elif dof == 0:
        chi2, p_value = 0.0, 1.0
    else:
        # All requests went to positive-weight variants here, so their shares sum to 1.
        expected = {name: expected_share[name] * total for name in tested}
        chi2 = math.fsum((counts[name] - expected[name]) ** 2 / expected[name] for name in tested)
        p_value = chi2_sf(chi2, dof)

    return SrmResult(
        total=total,
        observed=counts,
        expected_share=expected_share,
        observed_share=observed_share,
        chi2=chi2,
        dof=dof,
        p_value=p_value,
    )


def enough_traffic(total: int, min_total: int) -> bool:
    """Whether ``total`` requests reach ``min_total``: the first gate, on the window as a whole.

    Not sufficient on its own: a variant with a small share can expect fewer than
    :data:`MIN_EXPECTED_COUNT` requests however large the total is; :func:`smallest_expected_count`
    is the second gate. Too little traffic is "no verdict", not "mismatch".
    """
    return total >= min_total


def smallest_expected_count(weights: Mapping[str, float], total: int | float) -> tuple[str, float]:
    """(variant, expected requests) for the positive-weight variant expecting the fewest of ``total``.

    Expected = weight share × total. Chi-square's p-value is trusted only when this is at least
    :data:`MIN_EXPECTED_COUNT`; below it, the check should give no verdict rather than a p-value
    that may flag a mismatch that is not there (or miss one). Zero-weight variants expect 0 and are
    judged by the zero-weight rule of :func:`srm_test`, so they are left out. Raises ``ValueError``
    for a weight that is not a finite number >= 0 or when all weights are 0.
    """
    clean = {name: _weight(value, name) for name, value in weights.items()}
    weight_sum = math.fsum(clean.values())
    if weight_sum <= 0.0:
        raise ValueError("at least one variant weight must be > 0 (all weights are 0)")
    name = min((n for n, w in clean.items() if w > 0.0), key=clean.__getitem__)
    return name, clean[name] / weight_sum * total


def min_expected_count(result: SrmResult) -> float:
    """Smallest expected request count among the positive-weight variants of ``result``.

    Zero-weight variants are excluded: they expect 0 and are judged by the zero-weight rule, not
    by chi-square. Below :data:`MIN_EXPECTED_COUNT` the p-value is only a rough guide.
    """
    return min(share * result.total for share in result.expected_share.values() if share > 0.0)


def _check_same_variants(observed: Mapping[str, int | float], weights: Mapping[str, float]) -> None:
    if not weights:
        raise ValueError("weights must name at least one variant")
    missing = sorted(set(weights) - set(observed))
    unknown = sorted(set(observed) - set(weights))
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"no count for: {', '.join(missing)}")
        if unknown:
            problems.append(f"count for variants without a weight: {', '.join(unknown)}")
        raise ValueError(f"observed counts and weights must name the same variants; {'; '.join(problems)}")


def _count(value: int | float, name: str) -> int:
    """A request count: an integer, or a float that is a whole number (as CloudWatch sums are)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"count of {name} must be a number (got {value!r})")
    if not math.isfinite(value):
        raise ValueError(f"count of {name} must be finite (got {value!r})")
    if value < 0:
        raise ValueError(f"count of {name} must be >= 0 (got {value!r})")
    rounded = round(value)
    if abs(value - rounded) > _WHOLE_TOLERANCE:
        raise ValueError(f"count of {name} must be a whole number of requests (got {value!r})")
    return int(rounded)


def _weight(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"weight of {name} must be a number (got {value!r})")
    if not math.isfinite(value):
        raise ValueError(f"weight of {name} must be finite (got {value!r})")
    if value < 0:
        raise ValueError(f"weight of {name} must be >= 0 (got {value!r})")
    return float(value)
