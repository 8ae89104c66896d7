"""Tests for two variants measured on *different* requests: independent samples, not paired ones.

On live traffic each request goes to one variant, so the offline evaluation's paired tests
(McNemar, paired DeLong: ``evaluate.paired_tests``) do not apply; these are their independent-sample
counterparts for one sample per variant, tested at one look. The live comparison itself no longer
calls them: it compares within inference days with anytime-valid p-values (``live_quality.stratified``,
``live_quality.anytime``), where ``stratified`` forms the same per-curve DeLong variance per day.

* Accuracy: a difference of two independent proportions. The interval is Newcombe's hybrid score
  interval ("method 10", Newcombe 1998, Statistics in Medicine 17:873–890), built from the two Wilson
  score intervals; it keeps close to nominal coverage for small samples and proportions near 0 or 1,
  where the Wald interval does not. The p-value is that interval's own: the smallest two-sided level at
  which it excludes 0 (found by bisection on z), so the test and the reported interval never disagree.
* ROC AUC: DeLong's test for two *unpaired* ROC curves: Var(AUC_B − AUC_A) = Var(AUC_A) + Var(AUC_B),
  each Var(AUC) = S10/P + S01/N from the sample variances of the placement values of the P positives
  and N negatives (DeLong, DeLong & Clarke-Pearson 1988; the unpaired case drops the covariance term,
  as ``pROC::roc.test(paired = FALSE, method = "delong")`` does). The query computes the AUC and S10,
  S01 per variant; this module only combines them.

Standard library only (the Lambda has no scipy); tests compare with scipy and published values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()
_Z_MAX = 40.0  # beyond this two-sided p is below 1e-300: treated as 0


def _check_count(successes: int, trials: int, name: str) -> None:
    for label, value in ((f"{name} successes", successes), (f"{name} trials", trials)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{label} is {value!r}; it must be a whole number >= 0")
    if trials == 0:
        raise ValueError(f"{name} has 0 trials: a proportion needs at least one")
    if successes > trials:
        raise ValueError(f"{name} has {successes} successes in {trials} trials")


def wilson_interval(successes: int, trials: int, z: float) -> tuple[float, float]:
    """Wilson's score interval for a proportion at normal quantile ``z`` (1.96 for 95 %)."""
    _check_count(successes, trials, "proportion")
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, z: float
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p_B − p_A at normal quantile ``z``."""
    _check_count(successes_a, trials_a, "A")
    _check_count(successes_b, trials_b, "B")
    p_a, p_b = successes_a / trials_a, successes_b / trials_b
    low_a, high_a = wilson_interval(successes_a, trials_a, z)
    low_b, high_b = wilson_interval(successes_b, trials_b, z)
    difference = p_b - p_a
    low = difference - math.sqrt((p_b - low_b) ** 2 + (high_a - p_a) ** 2)
    high = difference + math.sqrt((high_b - p_b) ** 2 + (p_a - low_a) ** 2)
    return low, high


@dataclass(frozen=True)
class ProportionDifference:
    """Accuracy (or any proportion) of two variants on their own requests, and p_B − p_A."""

    successes_a: int
    trials_a: int
    successes_b: int
    trials_b: int
    difference: float
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float

    @property
    def rate_a(self) -> float:
        return self.successes_a / self.trials_a

    @property
    def rate_b(self) -> float:
        return self.successes_b / self.trials_b


def newcombe_test(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, *, confidence: float = 0.95
) -> ProportionDifference:
    """p_B − p_A with Newcombe's interval (default 95 %) and the p-value at which that interval touches 0.

    The interval at normal quantile z excludes 0 exactly when z is below some z*; the two-sided
    p-value is 2·(1 − Φ(z*)). The bound nearest 0 moves monotonically towards 0 as z grows (both
    Wilson intervals widen), so z* is found by bisection. p = 1 when the two proportions are equal.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence is {confidence!r}; it must be between 0 and 1")
    z = _NORMAL.inv_cdf(0.5 + confidence / 2)
    low, high = newcombe_interval(successes_a, trials_a, successes_b, trials_b, z)
    difference = successes_b / trials_b - successes_a / trials_a
    return ProportionDifference(
        successes_a=successes_a,
        trials_a=trials_a,
        successes_b=successes_b,
        trials_b=trials_b,
        difference=difference,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        p_value=_newcombe_p_value(successes_a, trials_a, successes_b, trials_b, difference),
    )


def _newcombe_p_value(successes_a: int, trials_a: int, successes_b: int, trials_b: int, difference: float) -> float:
    if difference == 0:
        return 1.0

    def excludes_zero(z: float) -> bool:
        low, high = newcombe_interval(successes_a, trials_a, successes_b, trials_b, z)
        return low > 0 if difference > 0 else high < 0

    if excludes_zero(_Z_MAX):
        return 0.0
    below, above = 0.0, _Z_MAX  # excludes at `below` (z = 0 is the point estimate), not at `above`
    for _ in range(200):
        middle = (below + above) / 2
        if excludes_zero(middle):
            below = middle
        else:
            above = middle
        if above - below < 1e-12:
            break
    return min(1.0, math.erfc(below / math.sqrt(2)))


@dataclass(frozen=True)
class UnpairedAucDifference:
    """AUC_B − AUC_A for two variants on different requests, DeLong's unpaired test."""

    auc_a: float
    auc_b: float
    difference: float
    standard_error: float
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float


def auc_variance(v10_variance: float, positives: int, v01_variance: float, negatives: int) -> float:
    """DeLong's Var(AUC) of one ROC curve: S10/P + S01/N (sample variances of the placement values)."""
    if positives < 2 or negatives < 2:
        raise ValueError(f"{positives} positives and {negatives} negatives: DeLong's variance needs 2 of each")
    for name, value in (("v10_variance", v10_variance), ("v01_variance", v01_variance)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} is {value!r}; a variance is a finite number >= 0")
    return v10_variance / positives + v01_variance / negatives


def unpaired_delong_test(
    auc_a: float, variance_a: float, auc_b: float, variance_b: float, *, confidence: float = 0.95
) -> UnpairedAucDifference:
    """z = (AUC_B − AUC_A) / √(Var_A + Var_B), two-sided normal p-value and Wald interval clipped to [−1, 1].

    Raises ``ValueError`` when both variances are 0 (no variability to test against: a p-value of 0
    would be an artefact of too little data, as in ``evaluate.paired_tests.delong_test``).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence is {confidence!r}; it must be between 0 and 1")
    variance = variance_a + variance_b
    if variance <= 0:
        raise ValueError(f"the variance of AUC {auc_a:.4f} − {auc_b:.4f} is 0: no variability to test against")
    se = math.sqrt(variance)
    difference = auc_b - auc_a
    z = _NORMAL.inv_cdf(0.5 + confidence / 2)
    return UnpairedAucDifference(
        auc_a=auc_a,
        auc_b=auc_b,
        difference=difference,
        standard_error=se,
        ci_low=max(-1.0, difference - z * se),
        ci_high=min(1.0, difference + z * se),
        confidence=confidence,
        p_value=math.erfc(abs(difference) / se / math.sqrt(2)),
    )
