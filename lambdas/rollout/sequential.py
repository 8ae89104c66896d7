"""Always-valid sequential test of a candidate variant's 5XX error rate against the baseline. No AWS in here.

A progressive rollout shifts traffic to the candidate in steps and, after every step, asks its
judge "is the candidate's error rate worse than the baseline's?". Asking a fixed-horizon z-test
that question after every step inflates false positives: with ten looks at alpha = 0.05, roughly
one healthy candidate in five gets rolled back. The mixture sequential probability ratio test
(mSPRT) of Johari, Pekelis & Walsh ("Always valid inference: continuous monitoring of A/B tests",
Operations Research 2022; arXiv 1512.04922, 2017) may be evaluated after every step, as often as
wished, and still keeps P(ever declaring a difference | no difference) <= alpha.

The statistic is evaluated on **cumulative counts since the rollout began** (all requests and
errors of each variant from the first step up to now), never on one step's counts alone, and each
call passes in the previous call's ``always_valid_p``. The always-valid p-value is the running
minimum of 1/Λ_n, so a verdict, once reached, stands: the judge should act on the first one.

Model: the observed difference θ̂ = p̂_c - p̂_b is approximately N(θ, V). Mixing the likelihood
ratio for θ against θ = 0 over θ ~ N(0, τ²) gives, in closed form,

    Λ_n = sqrt(V / (V + τ²)) · exp(τ² θ̂² / (2 V (V + τ²)))

where V = p̃_c (1 - p̃_c) / n_c + p̃_b (1 - p̃_b) / n_b is the plug-in variance of θ̂, each rate
continuity-corrected to p̃ = (errors + ½) / (requests + 1) so that an arm with no errors (a
healthy baseline, early on) does not contribute zero variance; the correction fades as n grows.

With V known, Λ_n is a non-negative martingale with mean 1 under θ = 0, so by Ville's inequality
P(sup_n Λ_n >= 1/alpha) <= alpha. V is estimated here (plug-in), so the guarantee is asymptotic,
as in the paper's two-proportion case; simulations in the tests check it at 1 % error rates.

Caveat: both arms must be counted over the same window. The candidate's traffic share grows
step by step, so an endpoint-wide error spike late in the rollout weighs more on the candidate
than on the baseline (towards "candidate worse", a rollback: the safe direction), and an early
spike more on the baseline.

Standard library only: the Lambda runtime ships neither numpy nor scipy.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from statistics import NormalDist

# τ, the standard deviation of the N(0, τ²) mixture over the true difference in error rates.
# For an observed effect θ̂ with variance V, Λ_n is largest when τ² = θ̂² - V, i.e. τ ≈ |θ| once
# the effect is resolvable, so τ is set to the smallest difference worth catching: an absolute
# 1 percentage point of 5XX rate. Larger regressions are still caught quickly (Λ grows like
# exp(θ² / 2V)); much smaller ones would need a smaller τ and more traffic.
DEFAULT_TAU = 0.01

_NORMAL = NormalDist()
# math.exp overflows above ~709.78; beyond this, Λ is reported as inf and 1/Λ as 0.
_MAX_LOG = 700.0
# CloudWatch returns request-count sums as floats; sums of whole numbers are exact below 2**53.
_WHOLE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class SequentialResult:
    """Outcome of :func:`msprt_two_proportions` after one look.

    ``difference`` is ``candidate_rate - baseline_rate``, or 0.0 when either arm has no requests
    yet (an empty arm's rate is reported as 0.0 and there is nothing to compare).
    ``likelihood_ratio`` is Λ_n (``inf`` when it overflows a float).
    ``always_valid_p`` is ``min(previous_p, 1/Λ_n)``, in [0, 1], non-increasing across looks.
    ``candidate_worse`` / ``candidate_better``: ``always_valid_p <= alpha`` and the difference is
    positive / negative. At most one of them is true.
    """

    candidate_rate: float
    baseline_rate: float
    difference: float
    likelihood_ratio: float
    always_valid_p: float
    candidate_worse: bool
    candidate_better: bool


def _count(value: int | float, name: str) -> int:
    """A whole number >= 0 (ints, or whole floats as CloudWatch sums come); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a whole number >= 0 (got {value!r})")
    as_float = float(value)
    if not math.isfinite(as_float) or as_float < 0 or abs(as_float - round(as_float)) > _WHOLE_TOLERANCE:
        raise ValueError(f"{name} must be a whole number >= 0 (got {value!r})")
    return int(value) if isinstance(value, numbers.Integral) else round(as_float)


def _check_open_unit(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1 (got {value!r})")
    return float(value)


def _arm(errors: int | float, requests: int | float, name: str) -> tuple[int, int]:
    clean_errors = _count(errors, f"{name}_errors")
    clean_requests = _count(requests, f"{name}_requests")
    if clean_errors > clean_requests:
        raise ValueError(f"{name}_errors ({clean_errors}) must not exceed {name}_requests ({clean_requests})")
    return clean_errors, clean_requests


def _arm_variance(errors: int, requests: int) -> float:
    """Variance of one arm's error rate, p(1-p)/n with p continuity-corrected to (errors + ½)/(n + 1).

    The raw rate would give variance 0 to an arm with no errors (the normal case for a healthy
    baseline early on), making V too small and Λ too large. The corrected rate differs from the
    raw one by less than 1/n, so the correction fades as traffic accumulates.
    """
    rate = (errors + 0.5) / (requests + 1)
    return rate * (1.0 - rate) / requests


def msprt_two_proportions(
    candidate_errors: int,
    candidate_requests: int,
    baseline_errors: int,
    baseline_requests: int,
    *,
    alpha: float = 0.05,
    tau: float = DEFAULT_TAU,
    previous_p: float = 1.0,
) -> SequentialResult:
    """One look of the normal-mixture mSPRT on the difference of two error rates (module docstring).

    Counts are cumulative since the rollout began; ``previous_p`` is the ``always_valid_p`` of the
    previous look (default 1.0: this is the first look). ``alpha`` (default 0.05) bounds the
    probability of ever declaring a difference when there is none, however many looks are taken.
    ``tau`` (default :data:`DEFAULT_TAU`, 1 percentage point) is the mixing standard deviation.

    With no requests on either arm there is no evidence yet: Λ = 1, the p-value stays
    ``previous_p``, and neither verdict is set (difference 0.0).

    Raises ``ValueError`` when a count is not a whole number >= 0, errors exceed requests,
    ``alpha`` is not in (0, 1), ``tau`` is not a finite number > 0, or ``previous_p`` is not in [0, 1].
    """
    c_errors, c_requests = _arm(candidate_errors, candidate_requests, "candidate")
    b_errors, b_requests = _arm(baseline_errors, baseline_requests, "baseline")
    alpha = _check_open_unit(alpha, "alpha")
    if isinstance(tau, bool) or not isinstance(tau, numbers.Real) or not (math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be a finite number > 0 (got {tau!r})")
    if isinstance(previous_p, bool) or not isinstance(previous_p, numbers.Real) or not 0.0 <= previous_p <= 1.0:
        raise ValueError(f"previous_p must be a number in [0, 1] (got {previous_p!r})")
    previous_p = float(previous_p)

    candidate_rate = c_errors / c_requests if c_requests else 0.0
    baseline_rate = b_errors / b_requests if b_requests else 0.0
    if c_requests == 0 or b_requests == 0:
        return SequentialResult(candidate_rate, baseline_rate, 0.0, 1.0, previous_p, False, False)

    difference = candidate_rate - baseline_rate
    variance = _arm_variance(c_errors, c_requests) + _arm_variance(b_errors, b_requests)
    tau2 = float(tau) ** 2
    log_ratio = 0.5 * math.log(variance / (variance + tau2)) + tau2 * difference**2 / (
        2.0 * variance * (variance + tau2)
    )
    # log_ratio >= ½ log(V / (V + τ²)) stays far above -_MAX_LOG, so only overflow needs a guard.
    likelihood_ratio = math.inf if log_ratio > _MAX_LOG else math.exp(log_ratio)
    always_valid_p = min(previous_p, 1.0, 0.0 if log_ratio > _MAX_LOG else math.exp(-log_ratio))
    decided = always_valid_p <= alpha
    return SequentialResult(
        candidate_rate=candidate_rate,
        baseline_rate=baseline_rate,
        difference=difference,
        likelihood_ratio=likelihood_ratio,
        always_valid_p=always_valid_p,
        candidate_worse=decided and difference > 0,
        candidate_better=decided and difference < 0,
    )


def fixed_horizon_requests_per_arm(
    baseline_rate: float, candidate_rate: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Requests per arm a classic two-sided two-proportion z-test needs, looked at once at the end.

    n = (z_{1-α/2} √(2 p̄ (1 - p̄)) + z_{power} √(p_b (1 - p_b) + p_c (1 - p_c)))² / (p_c - p_b)²,
    rounded up, with p̄ the mean of the two rates (pooled variance under H0, unpooled under H1;
    no continuity correction). This is the baseline the sequential judge is compared with: it is
    only valid if nobody acts on the data before all n requests per arm are in.

    Defaults: ``alpha`` 0.05 (two-sided), ``power`` 0.8. Raises ``ValueError`` when a rate is
    outside [0, 1], the rates are equal (no finite n detects a zero difference), or ``alpha`` or
    ``power`` is not in (0, 1).
    """
    for name, rate in (("baseline_rate", baseline_rate), ("candidate_rate", candidate_rate)):
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} must be a number in [0, 1] (got {rate!r})")
    if baseline_rate == candidate_rate:
        raise ValueError(f"the rates must differ (both are {baseline_rate!r}): no sample size detects no difference")
    alpha = _check_open_unit(alpha, "alpha")
    power = _check_open_unit(power, "power")
    mean_rate = (baseline_rate + candidate_rate) / 2.0
    null_sd = math.sqrt(2.0 * mean_rate * (1.0 - mean_rate))
    alternative_sd = math.sqrt(baseline_rate * (1.0 - baseline_rate) + candidate_rate * (1.0 - candidate_rate))
    numerator = _NORMAL.inv_cdf(1.0 - alpha / 2.0) * null_sd + _NORMAL.inv_cdf(power) * alternative_sd
    return math.ceil((numerator / (candidate_rate - baseline_rate)) ** 2)
