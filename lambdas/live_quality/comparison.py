"""Which variant is better on live traffic: tests within inference days, family-wise, and "not enough labels yet".

**Baseline and family.** As in the offline evaluation (``evaluate.verdicts``): the first current
variant is the baseline, every other current variant a candidate compared with it, and all the
family's p-values are Holm-adjusted together (``evaluate.family_verdict.holm_adjust``), so the
chance of rejecting any true "no difference" in the family is at most alpha. The reading rule and
its wording are the evaluation's, from the same module (``evaluate.family_verdict.read_verdict``),
with one difference: **live, only accuracy decides.** A winner needs a Holm rejection of accuracy
in its direction.

**ROC AUC is descriptive here, not a decision.** Its difference within days is reported with its
interval, but it enters Holm with p = 1 and names no winner: DeLong's variance can be too small for
a small variant with skewed scores (:data:`AUC_NOT_A_DECISION`). A statistician's re-review measured
it (reviewer's scripts, not in this repository): equal AUCs of 0.921, the canary's positives scored
confidently right on 90 % and far off on 10 % (bimodal); one look at |z| > 3.29 rejected 20× the
nominal rate, and over 30 daily looks at a 1 % canary 5.5 % [4.1, 7.3] of runs rejected ROC AUC
after Holm, more than alpha on this one null alone; 150 labels per class did not cure it. Neither
the pooled nor the unpooled variance, nor the larger of them, is right for every shape of score
distribution. A valid test (logit scale and a guard on skewness) needs a query change and its own
measurement.

**A family of fixed size.** The family is every candidate's accuracy and ROC AUC, tested or not
(:func:`family_size`): a test that cannot run yet, and ROC AUC always (above), enters Holm with
p = 1. The ROC AUC slots are kept rather than shrinking the family to accuracy alone: the
false-winner rates in docs/benchmarks.md were measured with this family size, and a valid AUC test
can come back into its slots without changing the family from one run to the next (which the
union bound over runs below needs). The price: accuracy's first Holm step is at alpha/2k (k
candidates) rather than alpha/k. Because the comparison is
repeated on every schedule, a family that counted only the tests run so far would let an early run,
with one candidate ready, test it at alpha, and a later run with four at alpha/4: over the runs, the
chance of a false winner would add up past alpha. With the size fixed, Holm at each run rejects a
true "no difference" only where its anytime-valid p-value is below alpha/m₀ (m₀: the true nulls), so
by Ville's inequality per hypothesis and a union bound over them the family-wise error stays at most
alpha over all runs. A p-value of 1 is valid for a test not run, so nothing else changes.

**Within inference days.** Each request went to one variant, so the samples are independent; but
the traffic split changes inside a window (every progressive rollout changes it) while the base
rate moves with time, so pooled accuracies and AUCs of equal models differ (Simpson's paradox).
Both metrics are therefore compared within each inference day and combined with
Cochran-Mantel-Haenszel weights (``live_quality.stratified``); the window's pooled values are
still what the report's variant table shows.

**Looked at every day.** The comparison runs on a schedule over a growing window (anchored at the
endpoint config's creation: ``live_quality.window``), so its p-values are anytime-valid
(``live_quality.anytime``: a normal-mixture e-process on each combined difference and its
variance): rejecting whenever a Holm-adjusted p-value is below alpha at *any* run keeps the
family-wise error at most alpha over all runs with that start, without any run knowing the earlier
ones. The price
is power at a single look; docs/benchmarks.md measures it.

**Not enough labels yet.** A candidate is tested only when both it and the baseline have at least
:data:`MIN_LABELS_PER_CLASS` labelled positives *and* negatives. Why that number: DeLong's variance is
estimated per class; the paired test's p-values are clearly too small below about 30 rows of a class
(``evaluate.delong_minimum.DELONG_MIN_PER_CLASS``), and the live AUC difference's variance under the null
at 0.025 gave 1.48× the level with 5 positives per variant, 0.96-1.08× with 10-20 and 0.88× with 30
(benchmarks/live_quality_false_winners.py, 1,000 runs each, standard error about 0.2×). Precision and
recall have one class as denominator and are noise below that too. The same minimum as the offline
evaluation keeps the two reports' rules alike. ROC AUC is shown only once both have
:data:`~live_quality.stratified.AUC_MIN_PER_CLASS` of each class (its variance takes the larger of
the pooled and unpooled DeLong variance, ``live_quality.stratified``); that minimum was meant to make
its test valid and did not for every shape of scores, which is why it no longer decides (above).

**Inputs that are not comparable.** A capture line with an issue (an output that is not one finite
score, an id captured twice, ...) is left out of its variant's metrics, so a model that fails on its
hard requests would be measured on the easier rest. A candidate is not tested while the share of
captures left out differs between it and the baseline (two-proportion z-test, p <
:data:`~live_quality.left_out.LEFT_OUT_ALPHA`, ``live_quality.left_out``): "inputs not comparable".

**Labels that are not comparable yet.** Labels arrive late, and often not at random: a churned
customer is known early, a retained one only at the end of the observation period. Within one
inference day the requests of both variants have the same age, and random assignment makes their
true class mix equal; so if the labels that have arrived differ in class mix *between the variants*
of the same days, arrival depends on the variant as well as the class, and accuracy (and precision)
then differ by class mix alone. A candidate is not tested while the share of positives among its
labelled requests and the baseline's differ day by day (Cochran-Mantel-Haenszel p <
:data:`LABEL_MIX_ALPHA`, ``live_quality.stratified.label_mix_test``): "labels not comparable yet".
The message names both causes: labels arriving by class differently per variant, or the variants'
requests differing in age or hour within the stratum (a split changed during the day, so one
variant's labelled requests of that day are younger or from other hours).
Label *coverage* alone is no reason: a younger variant has fewer labels, but within days that is
no bias, and equal coverage can hide arrival by class.

**What no test here can see.** Accuracy is measured on the class mix of the labels that have
arrived, which is not the traffic's when arrival depends on the class (positives known first): the
same in both variants, so the comparison is fair, but a model better on all traffic can be worse
on that mix. ROC AUC, and recall and specificity, do not depend on the class mix when arrival
depends on the class only; the report says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from evaluate.delong_minimum import DELONG_MIN_PER_CLASS
from evaluate.family_verdict import MetricEvidence, family_level, holm_adjust, read_verdict
from live_quality.anytime import MIXTURE_PRECISION, anytime_p_value, confidence_sequence
from live_quality.left_out import LEFT_OUT_ALPHA, left_out_test
from live_quality.stratified import (
    AUC_MIN_PER_CLASS,
    LabelMixTest,
    StratifiedDifference,
    Stratum,
    accuracy_difference,
    auc_difference,
    label_mix_test,
    paired_strata,
)

MIN_LABELS_PER_CLASS = DELONG_MIN_PER_CLASS  # 30; see the module docstring
# Why the live ROC AUC difference is shown but decides nothing (module docstring).
AUC_NOT_A_DECISION = "not a decision: DeLong's variance can be too small for a small variant with skewed scores"
# The label-mix check blocks a verdict; a false alarm only delays one (the next run looks again).
LABEL_MIX_ALPHA = 0.01


def family_size(candidates: int) -> int:
    """How many tests Holm adjusts over: accuracy and ROC AUC of every candidate, tested or not (ROC AUC
    always with p = 1: module docstring)."""
    return 2 * candidates


@dataclass(frozen=True)
class VariantEvidence:
    """What the comparison needs of one variant: the window's totals (the query's 'all' row: the gate
    and the values shown) and its inference days (``strata``, the query's per-day rows: the tests).
    Without strata the whole window is one stratum. ``left_out``: its capture lines an issue left out of
    the metrics (``captured`` counts the kept ones only)."""

    name: str
    captured: int
    labelled: int
    positives: int
    negatives: int
    correct: int  # tp + tn at the threshold
    roc_auc: float | None
    v10_variance: float | None
    v01_variance: float | None
    strata: tuple[Stratum, ...] = ()
    left_out: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.labelled if self.labelled else 0.0

    def day_strata(self) -> tuple[Stratum, ...]:
        if self.strata:
            return self.strata
        return (
            Stratum(
                "all",
                self.labelled,
                self.positives,
                self.negatives,
                self.correct,
                self.roc_auc,
                self.v10_variance,
                self.v01_variance,
            ),
        )


@dataclass(frozen=True)
class MetricTest:
    """One metric, candidate minus baseline: the window's values of each (``value_a``, ``value_b``, as
    the variant table shows them), the difference within days and its anytime-valid p-value, and its
    confidence sequence at ``interval_confidence`` = 1 − alpha/m (m: tests in the family)."""

    value_a: float
    value_b: float
    estimate: StratifiedDifference
    p_value: float
    ci_low: float
    ci_high: float
    interval_confidence: float

    @property
    def difference(self) -> float:
        return self.estimate.difference

    @property
    def standard_error(self) -> float:
        return math.sqrt(self.estimate.variance)


@dataclass(frozen=True)
class LiveComparison:
    """A candidate against the baseline. ``status`` is ``tested``, ``not_enough_labels``,
    ``labels_not_comparable`` or ``inputs_not_comparable``; only a tested candidate has tests, adjusted
    p-values and maybe a winner.
    ``auc`` is descriptive (:data:`AUC_NOT_A_DECISION`): ``p_auc_adjusted`` stays ``None``."""

    baseline: str
    candidate: str
    status: str
    reason: str
    accuracy: MetricTest | None = None
    auc: MetricTest | None = None
    auc_not_tested: str | None = None
    p_accuracy_adjusted: float | None = None
    p_auc_adjusted: float | None = None
    winner: str | None = None
    significant: bool = False
    label_mix: LabelMixTest | None = None


def not_ready_reason(baseline: VariantEvidence, candidate: VariantEvidence) -> tuple[str, str] | None:
    """``(status, reason)`` when the pair cannot be tested yet; ``None`` when it can."""
    inputs = left_out_test(baseline.captured, baseline.left_out, candidate.captured, candidate.left_out)
    if inputs.p_value < LEFT_OUT_ALPHA:
        return (
            "inputs_not_comparable",
            f"inputs not comparable: input issues left out {inputs.share_a:.2%} of {baseline.name}'s captured "
            f"requests ({baseline.left_out}) and {inputs.share_b:.2%} of {candidate.name}'s ({candidate.left_out}), "
            f"two-proportion p={inputs.p_value:.3g} (below {LEFT_OUT_ALPHA:g}). Both variants get the same mix of "
            "requests, so one of them is measured without some of its requests (e.g. outputs that are not one "
            "score, on hard requests) and could win by what it leaves out; see the input issues "
            "(by_variant in report.json).",
        )
    short = [
        f"{v.name} has {v.positives} labelled positives and {v.negatives} negatives"
        for v in (baseline, candidate)
        if min(v.positives, v.negatives) < MIN_LABELS_PER_CLASS
    ]
    if short:
        return (
            "not_enough_labels",
            f"not enough labels yet: {'; '.join(short)}; each variant needs at least "
            f"{MIN_LABELS_PER_CLASS} of each class",
        )
    if not paired_strata(baseline.day_strata(), candidate.day_strata()):
        return (
            "not_enough_labels",
            f"not enough labels yet: no inference day has labelled requests of both {baseline.name} and "
            f"{candidate.name}, and the variants are compared within days",
        )
    mix = label_mix_test(paired_strata(baseline.day_strata(), candidate.day_strata()))
    if mix is not None and mix.p_value < LABEL_MIX_ALPHA:
        return (
            "labels_not_comparable",
            f"labels not comparable yet: on the same inference days {mix.share_a:.1%} of {baseline.name}'s "
            f"labelled requests are positive and {mix.share_b:.1%} of {candidate.name}'s (within days "
            f"{mix.difference:+.1%}, Cochran-Mantel-Haenszel p={mix.p_value:.3g}). Requests of one day have the "
            "same true class mix in both variants unless their requests differ in hour within it, so either labels "
            "are arriving by class differently per variant, or the variants' requests differ in age or hour "
            "within the stratum (a split that changed during the day); either way accuracy would differ by "
            "class mix alone.",
        )
    return None


def p_value(estimate: StratifiedDifference, precision: float = MIXTURE_PRECISION) -> float:
    """The anytime-valid p-value of "no difference" (``live_quality.anytime``) for a combined difference.

    A variance of 0 (every labelled request right, or wrong, in both variants) gives no evidence: 1.
    """
    if estimate.variance <= 0:
        return 1.0
    return anytime_p_value(estimate.difference, estimate.variance, precision)


def interval(estimate: StratifiedDifference, alpha: float, precision: float = MIXTURE_PRECISION) -> tuple[float, float]:
    """The anytime-valid confidence sequence at level 1 − ``alpha`` on the estimate's interval variance
    (``live_quality.anytime``), clipped to [-1, 1]; a single point when that variance is 0."""
    if estimate.interval_variance <= 0:
        return estimate.difference, estimate.difference
    low, high = confidence_sequence(estimate.difference, estimate.interval_variance, alpha, precision)
    return max(-1.0, low), min(1.0, high)


@dataclass(frozen=True)
class _Planned:
    candidate: VariantEvidence
    blocked: tuple[str, str] | None
    accuracy: StratifiedDifference | None = None
    auc: StratifiedDifference | None = None
    auc_not_tested: str | None = None
    label_mix: LabelMixTest | None = None


def _plan(baseline: VariantEvidence, candidate: VariantEvidence) -> _Planned:
    pairs = paired_strata(baseline.day_strata(), candidate.day_strata())
    mix = label_mix_test(pairs)
    blocked = not_ready_reason(baseline, candidate)
    if blocked:
        return _Planned(candidate, blocked, label_mix=mix)
    accuracy = accuracy_difference(pairs)
    auc = auc_difference(pairs)
    auc_not_tested = None
    no_auc = [v.name for v in (baseline, candidate) if v.roc_auc is None]
    short = [
        f"{v.name} has {v.positives} positives and {v.negatives} negatives"
        for v in (baseline, candidate)
        if min(v.positives, v.negatives) < AUC_MIN_PER_CLASS
    ]
    if no_auc:
        auc, auc_not_tested = None, f"{no_auc[0]} has no ROC AUC (one class only)"
    elif short:
        auc, auc_not_tested = (
            None,
            f"ROC AUC is shown from {AUC_MIN_PER_CLASS} labelled requests of each class in each variant; "
            f"{'; '.join(short)}",
        )
    elif auc is None:
        auc_not_tested = (
            f"no inference day on which both {baseline.name} and {candidate.name} have two labelled requests "
            "of each class"
        )
    elif auc.variance <= 0:
        auc, auc_not_tested = None, "the ROC AUC difference has variance 0: no variability to test against"
    return _Planned(candidate, None, accuracy, auc, auc_not_tested, mix)


def compare_with_baseline(
    baseline: VariantEvidence,
    candidates: Sequence[VariantEvidence],
    alpha: float = 0.05,
    *,
    precision: float = MIXTURE_PRECISION,
    family_candidates: int | None = None,
) -> list[LiveComparison]:
    """One comparison per candidate, in order; Holm over the fixed family (:func:`family_size`) of
    anytime-valid p-values (default alpha 0.05; ``precision``: the normal mixture's, ``live_quality.anytime``).

    ``family_candidates``: how many candidates the family has (default: those given). A caller that
    leaves out candidates with nothing to compare yet (no captured traffic) still counts them here,
    so the family does not shrink.
    """
    if family_candidates is None:
        family_candidates = len(candidates)
    if family_candidates < len(candidates):
        raise ValueError(f"family_candidates is {family_candidates}, fewer than the {len(candidates)} candidates given")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha is {alpha!r}; it must be between 0 and 1")
    names = [baseline.name, *(c.name for c in candidates)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"variant(s) {', '.join(repeated)} appear more than once")
    planned = [_plan(baseline, candidate) for candidate in candidates]
    # Every candidate's two metrics, in order; a test that does not run, and ROC AUC always, enters with
    # p = 1 (module docstring: ROC AUC is descriptive).
    family = [
        value
        for plan in planned
        for value in (p_value(plan.accuracy, precision) if plan.accuracy is not None else 1.0, 1.0)
    ]
    family += [1.0] * (family_size(family_candidates) - len(family))
    adjusted = iter(holm_adjust(family))
    level = family_level(alpha, len(family))
    # Intervals at alpha/m, the level of Holm's first (strictest) step: an interval excludes 0 about
    # when that metric alone would be rejected at Holm's first step (not exactly: the p-value uses the
    # variance under "no difference", the interval one that is right away from it); Holm's later steps
    # can reject inside such an interval (the report says so).
    interval_alpha = alpha / max(1, len(family))
    out = []
    for plan in planned:
        candidate = plan.candidate
        p_acc, _auc_slot = next(adjusted), next(adjusted)
        if plan.blocked is not None or plan.accuracy is None:
            status, reason = plan.blocked or ("not_enough_labels", "not enough labels yet")
            out.append(LiveComparison(baseline.name, candidate.name, status, reason, label_mix=plan.label_mix))
            continue
        accuracy = _metric_test(baseline.accuracy, candidate.accuracy, plan.accuracy, interval_alpha, precision)
        auc = None
        if plan.auc is not None:
            assert baseline.roc_auc is not None and candidate.roc_auc is not None
            auc = _metric_test(baseline.roc_auc, candidate.roc_auc, plan.auc, interval_alpha, precision)
        verdict = _verdict(baseline.name, candidate.name, accuracy, auc, plan.auc_not_tested, p_acc, alpha, level)
        out.append(replace(verdict, label_mix=plan.label_mix))
    return out


def _metric_test(
    value_a: float, value_b: float, estimate: StratifiedDifference, alpha: float, precision: float
) -> MetricTest:
    low, high = interval(estimate, alpha, precision)
    return MetricTest(value_a, value_b, estimate, p_value(estimate, precision), low, high, 1 - alpha)


def _days(estimate: StratifiedDifference) -> str:
    left_out = f", {estimate.strata_left_out} left out" if estimate.strata_left_out else ""
    days = estimate.strata_used - estimate.hours_used
    hours = f" and {estimate.hours_used} hours of days whose split changed" if estimate.hours_used else ""
    return f"{days} day{'s' if days != 1 else ''}{hours}{left_out}"


def _verdict(
    baseline: str,
    candidate: str,
    accuracy: MetricTest,
    auc: MetricTest | None,
    auc_not_tested: str | None,
    p_acc: float,
    alpha: float,
    level: str,
) -> LiveComparison:
    accuracy_evidence = MetricEvidence(
        accuracy.difference,
        p_acc,
        f"accuracy {baseline} {accuracy.value_a:.4f} vs {candidate} {accuracy.value_b:.4f}, within inference days "
        f"{accuracy.difference:+.4f} ({_days(accuracy.estimate)}), p={accuracy.p_value:.3g}, Holm-adjusted {p_acc:.3g}",
    )
    # ROC AUC never reaches the reading rule as evidence (module docstring): its text stands in for it.
    if auc is not None:
        auc_text = (
            f"ROC AUC {baseline} {auc.value_a:.4f} vs {candidate} {auc.value_b:.4f}, within inference days "
            f"{auc.difference:+.4f} [{auc.ci_low:+.4f}, {auc.ci_high:+.4f}] ({_days(auc.estimate)}), descriptive, "
            f"{AUC_NOT_A_DECISION}"
        )
    else:
        auc_text = f"ROC AUC not shown ({auc_not_tested}); it is not a decision either way"
    reading = read_verdict(
        baseline,
        candidate,
        accuracy_evidence,
        None,
        alpha=alpha,
        level=level,
        auc_not_tested_text=auc_text,
    )
    return LiveComparison(
        baseline,
        candidate,
        "tested",
        reading.reason,
        accuracy,
        auc,
        auc_not_tested,
        p_acc,
        None,
        reading.winner,
        reading.significant,
    )
