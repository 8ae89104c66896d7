"""From the paired tests of every variant against the baseline to verdicts, family-wise.

**Baseline.** The first variant evaluated: the first name in the request's ``variants``, or, when
the request names none, the endpoint's first production variant (the order of the endpoint
config, ``Variant1`` in the default config). Every other variant is a *candidate* and is compared
with the baseline only; candidates are not ranked against each other (that would be more tests,
and the question an A/B evaluation asks is "is this one better than what runs now?").

**Family-wise error.** Each candidate is tested twice (accuracy by McNemar, ROC AUC by DeLong), so
k variants make m = 2·(k − 1) tests. Testing each pair at α would name a false winner far more
often than α when several candidates are equally good (12 % with five identical variants at
α = 0.05, ``benchmarks/evaluation_false_winners.py``). All m p-values are therefore adjusted
together with Holm's step-down procedure (Holm 1979, Scand. J. Statist. 6:65–70), uniformly more
powerful than Bonferroni. What that guarantees, precisely: the probability of rejecting any *true
null hypothesis* (no difference) is at most α for any dependence between the tests. A winner is a
*directional* claim, and Holm's control of directional errors (a winner named in the wrong
direction when the two do differ) is proven for independent tests (Shaffer 1980, Ann. Statist.
8:1342–1347); our McNemar and DeLong tests share their rows and are positively dependent, for
which no general proof exists. The benchmark measures the false-winner rate instead of assuming it.
With two variants the family is the two tests of the one pair. A candidate that could not be
tested (too many failed requests, no paired rows) adds nothing to the family, and one whose ROC AUC
could not be tested (too few rows of a class, or no variability: ``evaluate.paired_tests``) adds
only its McNemar test: a test not run cannot name a false winner.

**How a verdict reads** is ``evaluate.family_verdict``'s rule, shared with live quality: a winner
needs a Holm rejection in its direction on at least one metric and none the other way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evaluate.family_verdict import MetricEvidence, family_level, holm_adjust, read_verdict
from evaluate.paired_tests import AucDifference, McNemarResult

__all__ = ["CandidateTests", "Verdict", "family_size", "holm_adjust", "verdict", "verdicts_against_baseline"]


@dataclass(frozen=True)
class CandidateTests:
    """The paired tests of one candidate against the baseline, on the same rows.

    ``auc`` is ``None`` when the ROC AUC difference could not be tested (default: it was); the
    candidate then adds only its McNemar p-value to the family.
    """

    candidate: str
    mcnemar: McNemarResult
    auc: AucDifference | None = None


@dataclass(frozen=True)
class Verdict:
    """Which of a candidate and the baseline wins, and why.

    ``winner`` is a variant name only when the evidence is significant after the family-wise
    adjustment and the two metrics are not significant in opposite directions. ``family_tests`` is
    the number of p-values adjusted together; ``p_accuracy_adjusted`` and ``p_auc_adjusted`` are this
    candidate's Holm-adjusted p-values, compared with ``alpha`` (``p_auc_adjusted`` is ``None`` when
    the AUC was not tested).
    """

    winner: str | None
    reason: str
    significant: bool
    family_tests: int
    p_accuracy_adjusted: float
    p_auc_adjusted: float | None


def verdicts_against_baseline(
    baseline: str, candidates: Sequence[CandidateTests], alpha: float = 0.05
) -> list[Verdict]:
    """One verdict per candidate, in order, with Holm's adjustment over every candidate's tests
    (two each, one when its AUC was not tested).

    Default ``alpha`` 0.05: the chance of rejecting any true "no difference", over the whole family,
    is at most ``alpha`` (module docstring: what that means for winners). Raises when a name repeats
    or a candidate's two tests used different rows.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha is {alpha!r}; it must be between 0 and 1")
    names = [baseline, *(c.candidate for c in candidates)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"variant(s) {', '.join(repeated)} appear more than once; give the variants distinct names")
    for c in candidates:
        if c.auc is not None and c.mcnemar.rows != c.auc.rows:
            raise ValueError(
                f"{c.candidate}: McNemar used {c.mcnemar.rows} rows but the AUC test {c.auc.rows}; "
                "they must use the same rows"
            )
    family_p = [p for c in candidates for p in _p_values(c)]
    adjusted = iter(holm_adjust(family_p))
    family = len(family_p)
    out = []
    for c in candidates:
        p_acc = next(adjusted)
        p_auc = None if c.auc is None else next(adjusted)
        out.append(_verdict(baseline, c, p_acc, p_auc, alpha, family))
    return out


def family_size(candidates: Sequence[CandidateTests]) -> int:
    """How many p-values :func:`verdicts_against_baseline` adjusts together for these candidates."""
    return sum(len(_p_values(c)) for c in candidates)


def _p_values(tests: CandidateTests) -> tuple[float, ...]:
    """The candidate's p-values in the family: McNemar's, then DeLong's if the AUC was tested."""
    if tests.auc is None:
        return (tests.mcnemar.p_value,)
    return (tests.mcnemar.p_value, tests.auc.p_value)


def verdict(
    name_a: str, name_b: str, mcnemar: McNemarResult, auc: AucDifference | None, alpha: float = 0.05
) -> Verdict:
    """The verdict for two variants alone (a family of two tests, one without AUC): ``name_a`` is the baseline."""
    (only,) = verdicts_against_baseline(name_a, [CandidateTests(name_b, mcnemar, auc)], alpha)
    return only


def _verdict(
    baseline: str, tests: CandidateTests, p_acc: float, p_auc: float | None, alpha: float, family: int
) -> Verdict:
    candidate, mcnemar, auc = tests.candidate, tests.mcnemar, tests.auc
    accuracy = MetricEvidence(
        mcnemar.difference,
        p_acc,
        f"accuracy {baseline} {mcnemar.accuracy_a:.4f} vs {candidate} {mcnemar.accuracy_b:.4f} "
        f"(McNemar b={mcnemar.b}, c={mcnemar.c}, p={mcnemar.p_value:.3g}, Holm-adjusted {p_acc:.3g})",
    )
    auc_evidence = None
    if auc is not None and p_auc is not None:
        auc_evidence = MetricEvidence(
            auc.difference,
            p_auc,
            f"ROC AUC {baseline} {auc.auc_a:.4f} vs {candidate} {auc.auc_b:.4f} "
            f"({auc.method} p={auc.p_value:.3g}, Holm-adjusted {p_auc:.3g})",
        )
    reading = read_verdict(
        baseline,
        candidate,
        accuracy,
        auc_evidence,
        alpha=alpha,
        level=family_level(alpha, family),
        auc_not_tested_text="ROC AUC not tested",
    )
    return Verdict(reading.winner, reading.reason, reading.significant, family, p_acc, p_auc)
