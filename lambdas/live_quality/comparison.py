"""Which variant is better on live traffic: independent-sample tests, family-wise, and "not enough labels yet".

**Baseline and family.** As in the offline evaluation (``evaluate.verdicts``): the first current
variant is the baseline, every other current variant a candidate compared with it on accuracy
(Newcombe) and ROC AUC (unpaired DeLong), and all those p-values are Holm-adjusted together
(``evaluate.family_verdict.holm_adjust``), so the chance of rejecting any true "no difference" in the
family is at most alpha. The reading rule and its wording are the evaluation's, from the same module
(``evaluate.family_verdict.read_verdict``): a winner needs a Holm rejection in its direction on at
least one metric and none the other way; significant in opposite directions is "accuracy and ROC AUC
disagree". A candidate that is not tested adds nothing to the family.

**Not enough labels yet.** A candidate is tested only when both it and the baseline have at least
:data:`MIN_LABELS_PER_CLASS` labelled positives *and* negatives. Why that number: DeLong's variance is
estimated per class; the paired test's p-values are clearly too small below about 30 rows of a class
(``evaluate.paired_tests.DELONG_MIN_PER_CLASS``), and the unpaired one's rejection rate under the null
at 0.025 was 1.46× the level with 5 positives per variant, 1.1-1.2× with 10-20 and 1.0× with 30
(benchmarks/live_quality_false_winners.py, 2,000 runs each, standard error about 0.14×). Precision and
recall have one class as denominator and are noise below that too. Newcombe's interval alone would be
valid earlier, but a verdict from a handful of one class is not worth publishing; the same minimum as
the offline evaluation keeps the two reports' rules alike.

**Labels that are not comparable yet.** Labels arrive late, and often not at random: a churned
customer is known early, a retained one only at the end of the observation period. If one variant's
predictions are younger (its traffic share rose later) fewer of its labels are in, and those are
richer in early-arriving classes; accuracy and precision then differ by class mix alone, with models
of equal quality (ROC AUC does not depend on the class mix). The symptom is a label coverage that
differs between the variants. A candidate is therefore not tested while its coverage and the
baseline's differ by more than :data:`COVERAGE_RELATIVE_TOLERANCE` of the larger one *and*
significantly (Newcombe p < :data:`COVERAGE_ALPHA`): "labels not comparable yet". The remedy is to
compare cohorts of equal age: end the capture window at least the label delay's p90 before now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evaluate.family_verdict import MetricEvidence, family_level, holm_adjust, read_verdict
from evaluate.paired_tests import DELONG_MIN_PER_CLASS
from live_quality.independent_tests import (
    ProportionDifference,
    UnpairedAucDifference,
    auc_variance,
    newcombe_test,
    unpaired_delong_test,
)

MIN_LABELS_PER_CLASS = DELONG_MIN_PER_CLASS  # 30; see the module docstring
COVERAGE_RELATIVE_TOLERANCE = 0.10
COVERAGE_ALPHA = 0.01


@dataclass(frozen=True)
class VariantEvidence:
    """What the comparison needs of one variant over the whole window (from the query's 'all' row)."""

    name: str
    captured: int
    labelled: int
    positives: int
    negatives: int
    correct: int  # tp + tn at the threshold
    roc_auc: float | None
    v10_variance: float | None
    v01_variance: float | None

    @property
    def coverage(self) -> float:
        return self.labelled / self.captured if self.captured else 0.0


@dataclass(frozen=True)
class LiveComparison:
    """A candidate against the baseline. ``status`` is ``tested``, ``not_enough_labels`` or
    ``labels_not_comparable``; only a tested candidate has tests, adjusted p-values and maybe a winner."""

    baseline: str
    candidate: str
    status: str
    reason: str
    accuracy: ProportionDifference | None = None
    auc: UnpairedAucDifference | None = None
    auc_not_tested: str | None = None
    p_accuracy_adjusted: float | None = None
    p_auc_adjusted: float | None = None
    winner: str | None = None
    significant: bool = False


def not_ready_reason(baseline: VariantEvidence, candidate: VariantEvidence) -> tuple[str, str] | None:
    """``(status, reason)`` when the pair cannot be tested yet; ``None`` when it can."""
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
    coverage = newcombe_test(baseline.labelled, baseline.captured, candidate.labelled, candidate.captured)
    larger = max(baseline.coverage, candidate.coverage)
    if abs(coverage.difference) > COVERAGE_RELATIVE_TOLERANCE * larger and coverage.p_value < COVERAGE_ALPHA:
        return (
            "labels_not_comparable",
            f"labels not comparable yet: label coverage {baseline.name} {baseline.coverage:.1%} vs "
            f"{candidate.name} {candidate.coverage:.1%} (Newcombe p={coverage.p_value:.3g}); late labels are "
            "rarely missing at random, so the labelled requests of the two variants may differ in class mix. "
            "End the capture window at least the label delay's p90 before the labels' end.",
        )
    return None


def _auc_test(baseline: VariantEvidence, candidate: VariantEvidence) -> tuple[UnpairedAucDifference | None, str | None]:
    variances = []
    for v in (baseline, candidate):
        if v.roc_auc is None or v.v10_variance is None or v.v01_variance is None:
            return None, f"{v.name} has no ROC AUC (one class only)"
        variances.append(auc_variance(v.v10_variance, v.positives, v.v01_variance, v.negatives))
    assert baseline.roc_auc is not None and candidate.roc_auc is not None
    try:
        return unpaired_delong_test(baseline.roc_auc, variances[0], candidate.roc_auc, variances[1]), None
    except ValueError as err:
        return None, str(err)


def compare_with_baseline(
    baseline: VariantEvidence, candidates: Sequence[VariantEvidence], alpha: float = 0.05
) -> list[LiveComparison]:
    """One comparison per candidate, in order; Holm over every tested candidate's p-values (default alpha 0.05)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha is {alpha!r}; it must be between 0 and 1")
    names = [baseline.name, *(c.name for c in candidates)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"variant(s) {', '.join(repeated)} appear more than once")
    # Per candidate: why it is not tested, or its accuracy test and its AUC test (or why not).
    planned: list[
        tuple[VariantEvidence, tuple[str, str] | ProportionDifference, UnpairedAucDifference | None, str | None]
    ]
    planned = []
    family: list[float] = []
    for candidate in candidates:
        blocked = not_ready_reason(baseline, candidate)
        if blocked:
            planned.append((candidate, blocked, None, None))
            continue
        accuracy = newcombe_test(baseline.correct, baseline.labelled, candidate.correct, candidate.labelled)
        auc, auc_not_tested = _auc_test(baseline, candidate)
        family.append(accuracy.p_value)
        if auc is not None:
            family.append(auc.p_value)
        planned.append((candidate, accuracy, auc, auc_not_tested))
    adjusted = iter(holm_adjust(family))
    level = family_level(alpha, len(family))
    out = []
    for candidate, tested, auc, auc_not_tested in planned:
        if isinstance(tested, tuple):
            status, reason = tested
            out.append(LiveComparison(baseline.name, candidate.name, status, reason))
            continue
        p_acc = next(adjusted)
        p_auc = next(adjusted) if auc is not None else None
        out.append(_verdict(baseline.name, candidate.name, tested, auc, auc_not_tested, p_acc, p_auc, alpha, level))
    return out


def _verdict(
    baseline: str,
    candidate: str,
    accuracy: ProportionDifference,
    auc: UnpairedAucDifference | None,
    auc_not_tested: str | None,
    p_acc: float,
    p_auc: float | None,
    alpha: float,
    level: str,
) -> LiveComparison:
    accuracy_evidence = MetricEvidence(
        accuracy.difference,
        p_acc,
        f"accuracy {baseline} {accuracy.rate_a:.4f} (n={accuracy.trials_a}) vs {candidate} {accuracy.rate_b:.4f} "
        f"(n={accuracy.trials_b}), Newcombe p={accuracy.p_value:.3g}, Holm-adjusted {p_acc:.3g}",
    )
    auc_evidence = None
    if auc is not None and p_auc is not None:
        auc_evidence = MetricEvidence(
            auc.difference,
            p_auc,
            f"ROC AUC {baseline} {auc.auc_a:.4f} vs {candidate} {auc.auc_b:.4f}, unpaired DeLong p={auc.p_value:.3g}, "
            f"Holm-adjusted {p_auc:.3g}",
        )
    reading = read_verdict(
        baseline,
        candidate,
        accuracy_evidence,
        auc_evidence,
        alpha=alpha,
        level=level,
        auc_not_tested_text=f"ROC AUC not tested ({auc_not_tested})",
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
        p_auc,
        reading.winner,
        reading.significant,
    )
