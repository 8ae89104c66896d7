"""Verdicts against the baseline: Holm's adjustment over every candidate's tests, checked against
Holm's procedure written from its definition (reject in order while p₍ᵢ₎ ≤ α / (m − i + 1))."""

from __future__ import annotations

import random

import pytest

from evaluate.paired_tests import AucDifference, McNemarResult
from evaluate.verdicts import CandidateTests, Verdict, holm_adjust, verdict, verdicts_against_baseline


def holm_rejects(p_values: list[float], alpha: float) -> list[bool]:
    """Holm (1979) step-down from its definition, independent of the adjusted-p formula."""
    m = len(p_values)
    rejected = [False] * m
    for step, index in enumerate(sorted(range(m), key=p_values.__getitem__)):
        if p_values[index] >= alpha / (m - step):  # the verdict rejects on p < alpha, so strict here too
            break
        rejected[index] = True
    return rejected


def mcnemar(b: int, c: int, p_value: float, rows: int = 1000, accuracy_a: float = 0.8) -> McNemarResult:
    return McNemarResult(
        rows=rows, b=b, c=c, accuracy_a=accuracy_a, accuracy_b=accuracy_a + (c - b) / rows, p_value=p_value
    )


def auc(difference: float, p_value: float, rows: int = 1000) -> AucDifference:
    return AucDifference(
        method="delong",
        rows=rows,
        auc_a=0.8,
        auc_b=0.8 + difference,
        difference=difference,
        standard_error=0.01,
        p_value=p_value,
        ci_low=difference - 0.02,
        ci_high=difference + 0.02,
        confidence=0.95,
    )


# --- Holm ------------------------------------------------------------------------------------------


def test_holm_adjusted_p_values_reject_exactly_what_holms_procedure_rejects():
    rng = random.Random(11)
    for _ in range(2000):
        m = rng.randint(1, 12)
        # a mix of tiny, moderate and null-looking p-values, with ties
        p_values = [rng.choice([rng.random() ** 4, rng.random(), 0.01, 0.02]) for _ in range(m)]
        adjusted = holm_adjust(p_values)
        for alpha in (0.01, 0.05, 0.1):
            assert [p < alpha for p in adjusted] == holm_rejects(p_values, alpha), (p_values, alpha)
        assert all(a >= p for a, p in zip(adjusted, p_values, strict=True))


def test_holm_adjustment_by_hand():
    # sorted 0.01, 0.02, 0.04 → ×3, ×2, ×1 = 0.03, 0.04, 0.04 (kept non-decreasing)
    assert holm_adjust([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm_adjust([]) == []
    with pytest.raises(ValueError, match="between 0 and 1"):
        holm_adjust([0.2, 1.5])


# --- the family of comparisons with the baseline -----------------------------------------------------


def test_four_candidates_each_significant_alone_are_not_winners_together():
    # Alone, McNemar p = 0.02 passes Holm over a pair's two tests (0.04 < 0.05); with four candidates
    # the smallest of eight p-values must pass 0.05 / 8 and none does.
    tests = [CandidateTests(f"Variant{i}", mcnemar(20, 42, 0.02), auc(0.002, 0.6)) for i in range(2, 6)]
    alone = [verdicts_against_baseline("Variant1", [t])[0] for t in tests]
    assert [v.winner for v in alone] == ["Variant2", "Variant3", "Variant4", "Variant5"]
    together = verdicts_against_baseline("Variant1", tests)
    assert [v.winner for v in together] == [None] * 4
    assert {v.family_tests for v in together} == {8}
    assert all(v.p_accuracy_adjusted == pytest.approx(0.16) for v in together)
    assert "no significant difference from the baseline Variant1" in together[0].reason
    assert "Holm over 8 tests" in together[0].reason


def test_a_clear_winner_survives_the_family_adjustment():
    tests = [
        CandidateTests("Variant2", mcnemar(10, 60, 1e-9), auc(0.04, 1e-6)),
        CandidateTests("Variant3", mcnemar(30, 33, 0.8), auc(0.001, 0.9)),
        CandidateTests("Variant4", mcnemar(60, 10, 1e-9), auc(-0.03, 1e-5)),
    ]
    result = verdicts_against_baseline("Variant1", tests)
    assert [v.winner for v in result] == ["Variant2", None, "Variant1"]
    assert result[0].reason.startswith("Variant2 (candidate) is better than Variant1")
    assert result[2].reason.startswith("Variant1 (baseline) is better than Variant4")


def test_adjusted_p_values_in_the_verdicts_are_holms_over_the_whole_family():
    tests = [
        CandidateTests("B", mcnemar(20, 42, 0.003), auc(0.01, 0.04)),
        CandidateTests("C", mcnemar(42, 20, 0.2), auc(-0.01, 0.012)),
    ]
    expected = holm_adjust([0.003, 0.04, 0.2, 0.012])
    result = verdicts_against_baseline("A", tests)
    assert [(v.p_accuracy_adjusted, v.p_auc_adjusted) for v in result] == [
        (expected[0], expected[1]),
        (expected[2], expected[3]),
    ]


def test_two_variants_are_a_family_of_two_tests():
    # p = 0.03 alone would pass at 0.05, but two tests double the smaller p-value.
    result = verdict("A", "B", mcnemar(20, 42, 0.03), auc(0.002, 0.6))
    assert (result.winner, result.significant, result.family_tests) == (None, False, 2)
    assert verdict("A", "B", mcnemar(20, 42, 0.03), auc(0.002, 0.6), alpha=0.1).winner == "B"


def test_verdict_names_the_winner_when_both_tests_agree():
    result = verdict("Variant1", "Variant2", mcnemar(10, 40, 1e-5), auc(0.03, 1e-4))
    assert result == Verdict(
        winner="Variant2",
        reason=result.reason,
        significant=True,
        family_tests=2,
        p_accuracy_adjusted=2e-5,
        p_auc_adjusted=1e-4,
    )


def test_one_significant_test_is_enough_when_the_other_does_not_disagree():
    assert verdict("A", "B", mcnemar(40, 10, 1e-5), auc(-0.004, 0.4)).winner == "A"
    assert verdict("A", "B", mcnemar(20, 20, 1.0), auc(0.05, 1e-6)).winner == "B"


def test_no_winner_when_accuracy_and_auc_are_both_significant_in_opposite_directions():
    result = verdict("A", "B", mcnemar(40, 10, 1e-5), auc(0.01, 1e-4))
    assert (result.winner, result.significant) == (None, True)
    assert "accuracy favours A, ROC AUC favours B, both significant" in result.reason


def test_a_metric_that_is_not_significant_does_not_veto_the_other():
    # The review's case: AUC points the other way but is far from significant. It says nothing either
    # way, so the accuracy result stands (it used to read "accuracy and ROC AUC disagree").
    result = verdict("A", "B", mcnemar(40, 10, 1e-5), auc(0.01, 0.3))
    assert (result.winner, result.significant) == ("A", True)
    assert "disagree" not in result.reason
    result = verdict("A", "B", mcnemar(12, 18, 0.36), auc(0.05, 1e-6))
    assert result.winner == "B" and "disagree" not in result.reason


def test_every_winner_needs_a_holm_rejection_in_its_own_direction():
    # Accuracy favours B but is not significant (0.06); the AUC, significant, favours A: A wins on the
    # AUC alone. Then, over random families, every named winner is backed by a Holm rejection (from
    # Holm's definition, not the adjusted p-values) pointing its way, and none against it.
    result = verdict("A", "B", mcnemar(20, 42, 0.06), auc(-0.04, 1e-6))
    assert result.winner == "A"
    rng = random.Random(4)
    for _ in range(2000):
        tests = [
            CandidateTests(
                f"C{i}",
                mcnemar(rng.randint(0, 50), rng.randint(0, 50), rng.random() ** 3),
                auc(rng.uniform(-0.05, 0.05), rng.random() ** 3),
            )
            for i in range(rng.randint(1, 4))
        ]
        p_values = [p for t in tests for p in (t.mcnemar.p_value, t.auc.p_value)]
        rejected = holm_rejects(p_values, 0.05)
        for i, (t, v) in enumerate(zip(tests, verdicts_against_baseline("A", tests), strict=True)):
            if v.winner is None:
                continue
            sides = [
                "A" if diff < 0 else t.candidate
                for diff, hit in ((t.mcnemar.difference, rejected[2 * i]), (t.auc.difference, rejected[2 * i + 1]))
                if hit and diff != 0
            ]
            assert sides and set(sides) == {v.winner}, (t, v)


def test_a_candidate_without_an_auc_test_adds_only_its_mcnemar_p_value_to_the_family():
    untested_auc = CandidateTests("B", mcnemar(10, 40, 1e-5))
    both = CandidateTests("C", mcnemar(20, 22, 0.9), auc(0.03, 0.02))
    first, second = verdicts_against_baseline("A", [untested_auc, both])
    assert first.family_tests == second.family_tests == 3
    assert (first.winner, first.p_auc_adjusted) == ("B", None)
    assert first.p_accuracy_adjusted == pytest.approx(3e-5)
    assert "ROC AUC not tested" in first.reason
    # 0.02 is the second smallest of three p-values: Holm multiplies it by 2, and 0.04 < 0.05.
    assert second.p_auc_adjusted == pytest.approx(0.04) and second.winner == "C"


def test_no_significant_difference_offers_no_rows_needed_for_the_observed_difference():
    # "Rows needed to detect the observed difference" restates the p-value and invites re-running;
    # planning goes by a minimum effect chosen in advance (evaluate.sample_size).
    result = verdict("A", "B", mcnemar(30, 40, 0.28), auc(0.004, 0.5))
    assert (result.winner, result.significant) == (None, False)
    assert "rows" not in result.reason and "needed" not in result.reason
    assert "does not show that the variants are equal" in result.reason
    assert not hasattr(result, "sample_size_needed")


def test_bad_families_are_rejected():
    with pytest.raises(ValueError, match="same rows"):
        verdict("A", "B", mcnemar(1, 2, 0.5, rows=100), auc(0.01, 0.5, rows=99))
    with pytest.raises(ValueError, match="A appear more than once"):
        verdict("A", "A", mcnemar(1, 2, 0.5), auc(0.01, 0.5))
    with pytest.raises(ValueError, match="B appear more than once"):
        verdicts_against_baseline("A", [CandidateTests("B", mcnemar(1, 2, 0.5), auc(0.01, 0.5))] * 2)
    with pytest.raises(ValueError, match="alpha"):
        verdict("A", "B", mcnemar(1, 2, 0.5), auc(0.01, 0.5), alpha=5)
    assert verdicts_against_baseline("A", []) == []
