"""The reading rule for a baseline and its candidates, shared by the offline evaluation and live quality.

Both ask "is this candidate better than the baseline?" on two metrics, accuracy and ROC AUC, with
every p-value of the family adjusted together by Holm's step-down procedure. They differ only in
the tests that give the p-values: paired on the same rows offline (McNemar, paired DeLong:
``evaluate.verdicts``), independent samples within inference days on live traffic, anytime-valid
(Mantel-Haenszel and per-day DeLong: ``live_quality.comparison``). What is the same lives here,
once: the Holm adjustment, the side a difference favours, and how two adjusted p-values become a
verdict and its wording.

**How a verdict reads.** The candidate or the baseline "is better" when its adjusted p-value is
below alpha on at least one metric and no metric is significant the other way; "accuracy and ROC
AUC disagree" (no winner) when both are significant, in opposite directions; otherwise "no
significant difference", which is not evidence that the two are equal. A metric that is not
significant says nothing either way, so it does not veto the other one; every winner still needs a
Holm rejection in its own direction, so the family-wise error is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given (Holm 1979, Scand. J. Statist. 6:65–70).

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


def favoured(difference: float, baseline: str, candidate: str) -> str | None:
    """The variant a difference (candidate minus baseline) favours; ``None`` for no difference."""
    if difference > 0:
        return candidate
    if difference < 0:
        return baseline
    return None


def family_level(alpha: float, family_tests: int) -> str:
    """How a verdict names its level: ``family-wise alpha=0.05 (Holm over 4 tests)``."""
    return f"family-wise alpha={alpha:g} (Holm over {family_tests} tests)"


@dataclass(frozen=True)
class Reading:
    """A candidate's verdict: ``winner`` (a variant name, or ``None``), why, and whether any metric was significant."""

    winner: str | None
    reason: str
    significant: bool


@dataclass(frozen=True)
class MetricEvidence:
    """One metric's test of a candidate against the baseline.

    ``difference`` is candidate minus baseline, ``p_adjusted`` the Holm-adjusted p-value (``None``
    when the metric was not tested), ``text`` how the report states the test.
    """

    difference: float
    p_adjusted: float | None
    text: str


def read_verdict(
    baseline: str,
    candidate: str,
    accuracy: MetricEvidence,
    auc: MetricEvidence | None,
    *,
    alpha: float,
    level: str,
    auc_not_tested_text: str,
) -> Reading:
    """Apply the reading rule (module docstring) to a candidate's accuracy test and, if it was tested,
    its ROC AUC test. ``level`` is :func:`family_level`'s text; ``auc_not_tested_text`` stands for the
    AUC test in the reason when ``auc`` is ``None`` or has no adjusted p-value."""
    acc_side = favoured(accuracy.difference, baseline, candidate)
    sides = []
    if acc_side and accuracy.p_adjusted is not None and accuracy.p_adjusted < alpha:
        sides.append(acc_side)
    if auc is None or auc.p_adjusted is None:
        auc_side = None
        auc_text = auc_not_tested_text
    else:
        auc_side = favoured(auc.difference, baseline, candidate)
        auc_text = auc.text
        if auc_side and auc.p_adjusted < alpha:
            sides.append(auc_side)
    evidence = f"{accuracy.text}; {auc_text}"
    if not sides:
        return Reading(
            None,
            f"no significant difference from the baseline {baseline} at {level}: {evidence}. "
            "This does not show that the variants are equal.",
            False,
        )
    if len(set(sides)) > 1:
        # Both metrics significant, in opposite directions: a real trade-off, not noise.
        return Reading(
            None,
            f"accuracy and ROC AUC disagree: accuracy favours {acc_side}, ROC AUC favours {auc_side}, both "
            f"significant; no winner at {level}. {evidence}",
            True,
        )
    winner = sides[0]
    other = baseline if winner == candidate else candidate
    role = "candidate" if winner == candidate else "baseline"
    return Reading(winner, f"{winner} ({role}) is better than {other} at {level}: {evidence}", True)
