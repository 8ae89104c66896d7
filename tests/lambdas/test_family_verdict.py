"""The reading rule the offline evaluation and live quality share (evaluate.family_verdict)."""

from __future__ import annotations

import pytest

import evaluate.verdicts
import live_quality.comparison
from evaluate.family_verdict import MetricEvidence, family_level, holm_adjust, read_verdict

LEVEL = family_level(0.05, 2)


def test_both_packages_adjust_with_the_one_holm_function():
    assert evaluate.verdicts.holm_adjust is holm_adjust
    assert live_quality.comparison.holm_adjust is holm_adjust


@pytest.mark.parametrize(
    ("acc", "auc", "winner", "significant", "starts"),
    [
        ((0.1, 0.01), (0.05, 0.02), "B", True, "B (candidate) is better than A"),
        ((-0.1, 0.01), None, "A", True, "A (baseline) is better than B"),
        ((0.1, 0.01), (-0.05, 0.01), None, True, "accuracy and ROC AUC disagree: accuracy favours B"),
        ((0.1, 0.2), (0.05, 0.01), "B", True, "B (candidate) is better than A"),  # one significant metric suffices
        ((0.1, 0.2), (0.05, 0.3), None, False, "no significant difference from the baseline A"),
        ((0.0, 0.01), None, None, False, "no significant difference"),  # no direction, no winner
    ],
)
def test_the_reading_rule(acc, auc, winner, significant, starts):
    reading = read_verdict(
        "A",
        "B",
        MetricEvidence(acc[0], acc[1], "ACC"),
        None if auc is None else MetricEvidence(auc[0], auc[1], "AUC"),
        alpha=0.05,
        level=LEVEL,
        auc_not_tested_text="AUC NOT TESTED",
    )
    assert (reading.winner, reading.significant) == (winner, significant)
    assert reading.reason.startswith(starts)
    assert "Holm over 2 tests" in reading.reason
    assert ("AUC NOT TESTED" in reading.reason) == (auc is None)
