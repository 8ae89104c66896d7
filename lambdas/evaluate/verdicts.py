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
together with Holm's step-down procedure (Holm 1979, Scand. J. Statist. 6:65–70), which keeps
the probability of *any* false winner at most α for any dependence between the tests, and is
uniformly more powerful than Bonferroni. With two variants the family is the two tests of the
one pair, exactly as before. A candidate that could not be tested (too many failed requests, no
paired rows, a single class) adds nothing to the family: a test not run cannot name a false winner.

**How a verdict reads.** Per candidate: the candidate or the baseline "is better" when at least
one of its two adjusted p-values is below α and neither metric points the other way; "accuracy
and ROC AUC disagree" (no winner) when one is significant and the other points the opposite way; otherwise "no
significant difference", which is not evidence that the two are equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evaluate.paired_tests import AucDifference, McNemarResult


@dataclass(frozen=True)
class CandidateTests:
    """The paired tests of one candidate against the baseline, on the same rows."""

    candidate: str
    mcnemar: McNemarResult
    auc: AucDifference


@dataclass(frozen=True)
class Verdict:
    """Which of a candidate and the baseline wins, and why.

    ``winner`` is a variant name only when the evidence is significant after the family-wise
    adjustment and the two metrics do not point in opposite directions. ``family_tests`` is the
    number of p-values adjusted together; ``p_accuracy_adjusted`` and ``p_auc_adjusted`` are this
    candidate's Holm-adjusted p-values, compared with ``alpha``.
    """

    winner: str | None
    reason: str
    significant: bool
    family_tests: int
    p_accuracy_adjusted: float
    p_auc_adjusted: float


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
    """One verdict per candidate, in order, with Holm's adjustment over all 2·len(candidates) tests.

    Default ``alpha`` 0.05: the chance of naming any false winner, over the whole family, is at most
    ``alpha``. Raises when a name repeats or a candidate's two tests used different rows.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha is {alpha!r}; it must be between 0 and 1")
    names = [baseline, *(c.candidate for c in candidates)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"variant(s) {', '.join(repeated)} appear more than once; give the variants distinct names")
    for c in candidates:
        if c.mcnemar.rows != c.auc.rows:
            raise ValueError(
                f"{c.candidate}: McNemar used {c.mcnemar.rows} rows but the AUC test {c.auc.rows}; "
                "they must use the same rows"
            )
    adjusted = holm_adjust([p for c in candidates for p in (c.mcnemar.p_value, c.auc.p_value)])
    family = len(adjusted)
    return [
        _verdict(baseline, c, adjusted[2 * i], adjusted[2 * i + 1], alpha, family) for i, c in enumerate(candidates)
    ]


def verdict(name_a: str, name_b: str, mcnemar: McNemarResult, auc: AucDifference, alpha: float = 0.05) -> Verdict:
    """The verdict for two variants alone (a family of two tests): ``name_a`` is the baseline."""
    (only,) = verdicts_against_baseline(name_a, [CandidateTests(name_b, mcnemar, auc)], alpha)
    return only


def _verdict(baseline: str, tests: CandidateTests, p_acc: float, p_auc: float, alpha: float, family: int) -> Verdict:
    candidate, mcnemar, auc = tests.candidate, tests.mcnemar, tests.auc
    acc_side = _favoured(mcnemar.difference, baseline, candidate)
    auc_side = _favoured(auc.difference, baseline, candidate)
    acc_text = (
        f"accuracy {baseline} {mcnemar.accuracy_a:.4f} vs {candidate} {mcnemar.accuracy_b:.4f} "
        f"(McNemar b={mcnemar.b}, c={mcnemar.c}, p={mcnemar.p_value:.3g}, Holm-adjusted {p_acc:.3g})"
    )
    auc_text = (
        f"ROC AUC {baseline} {auc.auc_a:.4f} vs {candidate} {auc.auc_b:.4f} "
        f"({auc.method} p={auc.p_value:.3g}, Holm-adjusted {p_auc:.3g})"
    )
    level = f"family-wise alpha={alpha:g} (Holm over {family} tests)"

    def made(winner: str | None, reason: str, significant: bool) -> Verdict:
        return Verdict(winner, reason, significant, family, p_acc, p_auc)

    significant_sides = {side for side, p in ((acc_side, p_acc), (auc_side, p_auc)) if side and p < alpha}
    if not significant_sides:
        return made(
            None,
            f"no significant difference from the baseline {baseline} at {level}: {acc_text}; {auc_text}. "
            "This does not show that the variants are equal.",
            significant=False,
        )
    if acc_side and auc_side and acc_side != auc_side:
        return made(
            None,
            f"accuracy and ROC AUC disagree: accuracy favours {acc_side}, ROC AUC favours {auc_side}; "
            f"no winner at {level}. {acc_text}; {auc_text}",
            significant=True,
        )
    (winner,) = significant_sides
    other = baseline if winner == candidate else candidate
    role = "candidate" if winner == candidate else "baseline"
    return made(
        winner, f"{winner} ({role}) is better than {other} at {level}: {acc_text}; {auc_text}", significant=True
    )
