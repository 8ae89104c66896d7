"""Differences between two variants compared *within* strata (inference days) and combined. No AWS in here.

**Why strata.** A traffic split that changes inside the window (every progressive rollout does)
while the base rate moves with time (weekday, season, a campaign) makes the pooled accuracy and
ROC AUC of two identical models differ: the variant that got more of its traffic in the easy days
looks better (Simpson's paradox). In the statistician's review, pooled tests named the baseline
better in 100 % of runs of such a window; tests within inference-day strata in 5.7 %. Within one
day both variants drew requests from the same population (each request went to one variant at
random), so a difference inside a day is a difference of the models; the days are then combined.

**Weights.** Cochran-Mantel-Haenszel weights ``w_k = n_Ak n_Bk / (n_Ak + n_Bk)`` over the labelled
requests of each day: a day where one variant has few labels says little about the difference and
weighs little, whatever the other variant has. The same weights combine accuracy and ROC AUC.

* Accuracy: the Mantel-Haenszel risk difference Σ w_k (p_Bk − p_Ak) / Σ w_k. Its p-value uses the
  variance under "no difference", pooled within each day: Σ w_k p̂_k (1 − p̂_k) N_k/(N_k − 1) / (Σ w_k)²
  with p̂_k the day's accuracy over both variants. That is the Cochran-Mantel-Haenszel test (Σ w_k
  RD_k is Σ (observed − expected) of the candidate's correct requests, with the hypergeometric
  variance), valid with a few large strata and with many small ones. The interval uses Sato's
  variance (Sato 1989, "On the variance estimator for the Mantel-Haenszel risk difference",
  Biometrics 45:1323-1324), consistent away from "no difference" too. Sato's variance is not the
  p-value's: like any Wald variance it takes each arm's own accuracy, and a small arm at high
  accuracy often shows fewer errors than it has, so its variance comes out too small (review: 59,400
  vs 600 labelled requests at accuracy 0.98, |z| > 3 in 1.6 % of runs against 0.27 % nominal).
* ROC AUC: per day, AUC_Bk − AUC_Ak with DeLong's variance of each (the query's per-day placement
  variances), combined with the same weights: Var = Σ w_k² (Var_Ak + Var_Bk) / (Σ w_k)². A day
  where either variant lacks two labelled requests of a class has no AUC: it is left out and
  counted. The p-value's variance is the *larger* of two estimates of that sum, because neither is
  right under both ways "equal ROC AUC" can hold:

  - *unpooled* (DeLong: each variant's own placement variances) held for two models with equal
    binormal AUCs but differently shaped ROC curves; but with lopsided traffic and a high AUC it estimates the
    small arm's variance so poorly that the test is liberal and favours the small variant (identical
    models, AUC 0.98, 5 % canary, 30 daily looks: 10 % false ROC AUC rejections at alpha 5 %);
  - *pooled* (each class's placement variance pooled over the two variants, weighted by their sizes,
    as a pooled t-test pools) is right when the models are identical, but for equal AUCs with
    different shapes it takes mostly the large arm's variance for the small arm's (a canary whose
    positives' scores spread three times as wide: 17.5 % false rejections).

  The larger of the two kept both under alpha in those cases (0.1 % and 3.6 %, with ROC AUC tested
  once each variant has :data:`AUC_MIN_PER_CLASS` of each class; docs/benchmarks.md). It is not
  right for every shape: a small variant whose positives' scores are bimodal (confidently right on
  most, far off on some) made even the larger one liberal, so the live comparison no longer decides
  on ROC AUC (``live_quality.comparison``). The interval keeps the unpooled variance; the two can
  differ.
* Label mix: the Cochran-Mantel-Haenszel test (Mantel & Haenszel 1959, JNCI 22:719-748; the
  hypergeometric variance) of "the share of positives among labelled requests is the same in both
  variants, day by day". Random assignment makes the true class mix equal within a day, and the
  requests of one day have the same age in both variants; labels that arrive by class *and*
  differently per variant make it differ, and then accuracy differs by class mix alone.

Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# ROC AUC is shown (descriptive, live_quality.comparison) once both variants have this many labelled requests
# of each class (window totals):
# below it the small arm's placement variances are too noisy for either estimate (module docstring;
# the rates by minimum are in docs/benchmarks.md).
AUC_MIN_PER_CLASS = 60


@dataclass(frozen=True)
class Stratum:
    """One variant's labelled requests of one inference day (the query's per-day metrics row)."""

    period: str
    labelled: int
    positives: int
    negatives: int
    correct: int  # tp + tn at the threshold
    roc_auc: float | None = None
    v10_variance: float | None = None
    v01_variance: float | None = None

    def __post_init__(self) -> None:
        for name in ("labelled", "positives", "negatives", "correct"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"stratum {self.period}: {name} is {value!r}; it must be a whole number >= 0")
        if self.positives + self.negatives != self.labelled:
            raise ValueError(
                f"stratum {self.period}: {self.positives} positives + {self.negatives} negatives "
                f"!= {self.labelled} labelled"
            )
        if self.correct > self.labelled:
            raise ValueError(f"stratum {self.period}: {self.correct} correct of {self.labelled} labelled")

    @property
    def has_auc(self) -> bool:
        """Two of each class and the query's AUC and placement variances: DeLong's variance exists."""
        return (
            self.positives >= 2
            and self.negatives >= 2
            and self.roc_auc is not None
            and self.v10_variance is not None
            and self.v01_variance is not None
        )


@dataclass(frozen=True)
class StratifiedDifference:
    """Candidate minus baseline, combined over strata.

    ``variance`` is the one the p-value uses, ``interval_variance`` the one the interval uses (for
    accuracy the variance under "no difference" and Sato's; for ROC AUC see :func:`auc_difference`).
    ``strata_used`` days had both variants with what the metric needs; ``strata_left_out`` had
    labelled requests of both but not enough (a class missing for ROC AUC); days with labels in one
    variant only say nothing about the difference and are counted in neither.
    """

    difference: float
    variance: float
    interval_variance: float
    strata_used: int
    strata_left_out: int
    hours_used: int = 0  # of strata_used: capture hours of days whose split changed (live_quality.strata)


def paired_strata(baseline: Sequence[Stratum], candidate: Sequence[Stratum]) -> list[tuple[Stratum, Stratum]]:
    """The days on which both variants have labelled requests, in day order: ``(baseline, candidate)``."""
    for name, strata in (("baseline", baseline), ("candidate", candidate)):
        periods = [s.period for s in strata]
        if len(set(periods)) != len(periods):
            raise ValueError(f"the {name}'s strata repeat a period: {sorted(periods)}")
    theirs = {s.period: s for s in candidate}
    return [
        (a, theirs[a.period])
        for a in sorted(baseline, key=lambda s: s.period)
        if a.period in theirs and a.labelled > 0 and theirs[a.period].labelled > 0
    ]


def _hours(pairs: Sequence[tuple[Stratum, Stratum]]) -> int:
    """How many of the pairs are capture hours ('yyyy/mm/dd/hh'), not inference days ('yyyy/mm/dd')."""
    return sum(len(a.period) > len("yyyy/mm/dd") for a, _ in pairs)


def _weight(a: Stratum, b: Stratum) -> float:
    return a.labelled * b.labelled / (a.labelled + b.labelled)


def accuracy_difference(pairs: Sequence[tuple[Stratum, Stratum]]) -> StratifiedDifference | None:
    """The Mantel-Haenszel difference of accuracies (candidate minus baseline); ``None`` without a
    shared day. ``variance`` (the p-value's) is the CMH null variance, ``interval_variance`` Sato's
    (module docstring).

    Null variance: Σ_k n m c (N − c) / (N² (N − 1)) / (Σ w_k)², c = x + y the day's correct requests
    (the hypergeometric variance of x given c, divided by the weights squared; 0 for a day with N = 1).
    Sato's estimator for RD = x/n − y/m per stratum (x of n correct in the candidate, y of m in the
    baseline, N = n + m): Var = (RD·ΣP_k + ΣQ_k) / (Σ w_k)², P_k = (n²y − m²x + nm(m − n)/2) / N²,
    Q_k = (x(m − y) + y(n − x)) / (2N). With one stratum it is the Wald variance p(1−p)/n + q(1−q)/m.
    """
    if not pairs:
        return None
    weights = numerator = sum_p = sum_q = null = 0.0
    for a, b in pairs:
        x, n, y, m = b.correct, b.labelled, a.correct, a.labelled
        total = n + m
        weight = n * m / total
        weights += weight
        numerator += weight * (x / n - y / m)
        sum_p += (n * n * y - m * m * x + n * m * (m - n) / 2) / (total * total)
        sum_q += (x * (m - y) + y * (n - x)) / (2 * total)
        if total > 1:
            correct = x + y
            null += n * m * correct * (total - correct) / (total * total * (total - 1))
    difference = numerator / weights
    sato = max(0.0, (difference * sum_p + sum_q) / (weights * weights))
    return StratifiedDifference(difference, null / (weights * weights), sato, len(pairs), 0, _hours(pairs))


def _pooled(first: float, first_n: int, second: float, second_n: int) -> float:
    """Two sample variances pooled as a pooled t-test pools them (each with n − 1 degrees of freedom)."""
    return ((first_n - 1) * first + (second_n - 1) * second) / (first_n + second_n - 2)


def auc_difference(pairs: Sequence[tuple[Stratum, Stratum]]) -> StratifiedDifference | None:
    """ROC AUC differences (candidate minus baseline) within days, combined with the CMH weights;
    ``None`` when no shared day has an AUC in both variants. ``variance`` (the p-value's) is the larger
    of the pooled and the unpooled DeLong variance, ``interval_variance`` the unpooled one (module
    docstring)."""
    usable = [(a, b) for a, b in pairs if a.has_auc and b.has_auc]
    if not usable:
        return None
    weights = numerator = pooled = unpooled = 0.0
    for a, b in usable:
        assert a.roc_auc is not None and b.roc_auc is not None
        assert a.v10_variance is not None and a.v01_variance is not None
        assert b.v10_variance is not None and b.v01_variance is not None
        weight = _weight(a, b)
        weights += weight
        numerator += weight * (b.roc_auc - a.roc_auc)
        unpooled += (
            weight
            * weight
            * (
                a.v10_variance / a.positives
                + a.v01_variance / a.negatives
                + b.v10_variance / b.positives
                + b.v01_variance / b.negatives
            )
        )
        s10 = _pooled(a.v10_variance, a.positives, b.v10_variance, b.positives)
        s01 = _pooled(a.v01_variance, a.negatives, b.v01_variance, b.negatives)
        pooled += (
            weight * weight * (s10 * (1 / a.positives + 1 / b.positives) + s01 * (1 / a.negatives + 1 / b.negatives))
        )
    return StratifiedDifference(
        numerator / weights,
        max(pooled, unpooled) / (weights * weights),
        unpooled / (weights * weights),
        len(usable),
        len(pairs) - len(usable),
        _hours(usable),
    )


@dataclass(frozen=True)
class LabelMixTest:
    """Share of positives among labelled requests, candidate minus baseline within days (MH weights),
    and the CMH test's two-sided p-value of "the same share in both, day by day"."""

    share_a: float
    share_b: float
    difference: float
    p_value: float
    strata_used: int


def label_mix_test(pairs: Sequence[tuple[Stratum, Stratum]]) -> LabelMixTest | None:
    """The Cochran-Mantel-Haenszel test on the positives among labelled requests (no continuity
    correction); ``None`` without a shared day. Days with a single labelled request carry no
    information (their hypergeometric variance is 0) and add nothing."""
    if not pairs:
        return None
    observed_minus_expected = variance = weights = numerator = 0.0
    for a, b in pairs:
        n, m = b.labelled, a.labelled
        total = n + m
        positives = a.positives + b.positives
        observed_minus_expected += b.positives - n * positives / total
        if total > 1:
            variance += n * m * positives * (total - positives) / (total * total * (total - 1))
        weight = n * m / total
        weights += weight
        numerator += weight * (b.positives / n - a.positives / m)
    labelled_a = sum(a.labelled for a, _ in pairs)
    labelled_b = sum(b.labelled for _, b in pairs)
    share_a = sum(a.positives for a, _ in pairs) / labelled_a
    share_b = sum(b.positives for _, b in pairs) / labelled_b
    p_value = 1.0 if variance <= 0 else math.erfc(abs(observed_minus_expected) / math.sqrt(2 * variance))
    return LabelMixTest(share_a, share_b, numerator / weights, min(1.0, p_value), len(pairs))
