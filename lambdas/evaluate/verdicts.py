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

**How a verdict reads.** Per candidate: the candidate or the baseline "is better" when its
adjusted p-value is below α on at least one metric and no metric is significant the other way;
"accuracy and ROC AUC disagree" (no winner) when both are significant, in opposite directions;
otherwise "no significant difference", which is not evidence that the two are equal. A metric
that is not significant says nothing either way, so it does not veto the other one (it would
otherwise turn winners into "disagree" about a third of the time at the planned power); every
winner still needs a Holm rejection in its own direction, so the family-wise error is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evaluate.paired_tests import AucDifference, McNemarResult


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


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given.

    With p₍₁₎ ≤ … ≤ p₍ₘ₎: adjusted p₍ᵢ₎ = max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎). Rejecting every
    hypothesis whose adjusted p-value is below α is Holm's procedure at family-wise level α.
    """
    for value in p_values:
        if not 0 <= value <= 1:
            raise ValueError(f"p-value {value!r} is not between 0 and 1")
    m = len(p_values)
    order = sorted(range(m), key=p_values.__getitem__)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def _favoured(difference: float, baseline: str, candidate: str) -> str | None:
    if difference > 0:
        return candidate
    if difference < 0:
        return baseline
    return None


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
    acc_side = _favoured(mcnemar.difference, baseline, candidate)
    acc_text = (
        f"accuracy {baseline} {mcnemar.accuracy_a:.4f} vs {candidate} {mcnemar.accuracy_b:.4f} "
        f"(McNemar b={mcnemar.b}, c={mcnemar.c}, p={mcnemar.p_value:.3g}, Holm-adjusted {p_acc:.3g})"
    )
    significant_sides = [acc_side] if acc_side and p_acc < alpha else []
    if auc is None or p_auc is None:
        auc_side = None
        auc_text = "ROC AUC not tested"
    else:
        auc_side = _favoured(auc.difference, baseline, candidate)
        auc_text = (
            f"ROC AUC {baseline} {auc.auc_a:.4f} vs {candidate} {auc.auc_b:.4f} "
            f"({auc.method} p={auc.p_value:.3g}, Holm-adjusted {p_auc:.3g})"
        )
        if auc_side and p_auc < alpha:
            significant_sides.append(auc_side)
    level = f"family-wise alpha={alpha:g} (Holm over {family} tests)"

    def made(winner: str | None, reason: str, significant: bool) -> Verdict:
        return Verdict(winner, reason, significant, family, p_acc, p_auc)

    if not significant_sides:
        return made(
            None,
            f"no significant difference from the baseline {baseline} at {level}: {acc_text}; {auc_text}. "
            "This does not show that the variants are equal.",
            significant=False,
        )
    if len(set(significant_sides)) > 1:
        # Both metrics significant, in opposite directions: a real trade-off, not noise.
        return made(
            None,
            f"accuracy and ROC AUC disagree: accuracy favours {acc_side}, ROC AUC favours {auc_side}, both "
            f"significant; no winner at {level}. {acc_text}; {auc_text}",
            significant=True,
        )
    winner = significant_sides[0]
    other = baseline if winner == candidate else candidate
    role = "candidate" if winner == candidate else "baseline"
    return made(
        winner, f"{winner} ({role}) is better than {other} at {level}: {acc_text}; {auc_text}", significant=True
    )
