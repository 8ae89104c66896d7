"""Live verdicts: not enough labels, labels not comparable, Holm over the family, the evaluation's reading rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from evaluate.verdicts import holm_adjust
from live_quality.anytime import anytime_p_value, confidence_sequence
from live_quality.comparison import (
    AUC_NOT_A_DECISION,
    LABEL_MIX_ALPHA,
    MIN_LABELS_PER_CLASS,
    VariantEvidence,
    compare_with_baseline,
    not_ready_reason,
)
from live_quality.stratified import AUC_MIN_PER_CLASS, Stratum


def evidence(name, *, labelled=2000, captured=2500, positives=700, accuracy=0.8, auc=0.80, var=0.05):
    return VariantEvidence(
        name=name,
        captured=captured,
        labelled=labelled,
        positives=positives,
        negatives=labelled - positives,
        correct=round(accuracy * labelled),
        roc_auc=auc,
        v10_variance=var,
        v01_variance=var,
    )


def test_fewer_than_the_minimum_of_a_class_is_not_enough_labels_and_not_tested():
    base = evidence("A")
    short = evidence("B", labelled=200, captured=250, positives=MIN_LABELS_PER_CLASS - 1)
    (result,) = compare_with_baseline(base, [short])
    assert result.status == "not_enough_labels"
    assert result.winner is None and result.accuracy is None
    assert f"B has {MIN_LABELS_PER_CLASS - 1} labelled positives" in result.reason
    assert f"at least {MIN_LABELS_PER_CLASS} of each class" in result.reason
    just_enough = evidence("B", labelled=86, captured=100, positives=MIN_LABELS_PER_CLASS)  # A's class mix
    assert not_ready_reason(base, just_enough) is None


def test_roc_auc_waits_for_its_own_minimum_while_accuracy_is_tested():
    # Between the 30 labels per class accuracy needs and the AUC minimum, accuracy is tested and ROC
    # AUC is not shown: the small arm's placement variances are too noisy.
    assert AUC_MIN_PER_CLASS > MIN_LABELS_PER_CLASS
    base = evidence("A", labelled=20000, captured=25000, positives=20 * AUC_MIN_PER_CLASS)  # B's class mix
    short = evidence("B", labelled=1000, positives=AUC_MIN_PER_CLASS - 1, accuracy=0.9)
    (result,) = compare_with_baseline(base, [short])
    assert result.status == "tested" and result.accuracy is not None and result.auc is None
    assert result.p_auc_adjusted is None
    assert result.auc_not_tested == (
        f"ROC AUC is shown from {AUC_MIN_PER_CLASS} labelled requests of each class in each variant; "
        f"B has {AUC_MIN_PER_CLASS - 1} positives and {1000 - AUC_MIN_PER_CLASS + 1} negatives"
    )
    (enough,) = compare_with_baseline(base, [evidence("B", labelled=1000, positives=AUC_MIN_PER_CLASS)])
    assert enough.auc is not None and enough.auc_not_tested is None


def test_a_baseline_without_enough_labels_blocks_every_candidate():
    base = evidence("A", labelled=40, captured=50, positives=5)
    results = compare_with_baseline(base, [evidence("B"), evidence("C")])
    assert [r.status for r in results] == ["not_enough_labels"] * 2
    assert all("A has 5 labelled positives" in r.reason for r in results)


def test_labels_of_a_different_class_mix_on_the_same_days_are_not_comparable():
    # Same days, same age: 35 % positives among A's labels, 50 % among B's: labels arrive by class
    # differently per variant.
    base = evidence("A", labelled=2000, captured=2500, positives=700)
    skewed = evidence("B", labelled=1400, captured=2500, positives=700)
    (result,) = compare_with_baseline(base, [skewed])
    assert result.status == "labels_not_comparable"
    assert "35.0% of A's labelled requests are positive and 50.0% of B's" in result.reason
    assert result.label_mix is not None and result.label_mix.p_value < LABEL_MIX_ALPHA
    # Both causes are named: arrival by class per variant, and requests of other ages or hours within the
    # stratum (a split that changed during the day).
    assert "labels are arriving by class differently per variant" in result.reason
    assert "requests differ in age or hour within the stratum" in result.reason
    small_noisy = (
        evidence("A", labelled=100, captured=125, positives=40),
        evidence("B", labelled=88, captured=125, positives=30),
    )
    assert not_ready_reason(*small_noisy) is None  # 40 % vs 34 % of ~90 labels: not significant at 0.01


def test_a_lower_label_coverage_with_the_same_class_mix_is_compared():
    # A younger variant (its share rose later) has fewer labels; within days that is no bias.
    base = evidence("A", labelled=2000, captured=2500, positives=700)  # 80 % coverage
    young = evidence("B", labelled=1000, captured=2500, positives=350)  # 40 %, same 35 % positives
    (result,) = compare_with_baseline(base, [young])
    assert result.status == "tested"
    assert result.label_mix is not None and result.label_mix.difference == pytest.approx(0.0)


def test_holm_runs_over_every_candidates_two_metrics_with_untested_ones_and_roc_auc_at_p_1():
    # The family has a fixed size (comparison's docstring): the short candidate's two tests, and ROC AUC
    # always (descriptive), count with p = 1, so the accuracies are adjusted as one family of 6.
    base = evidence("A", accuracy=0.80, auc=0.80)
    better = evidence("B", accuracy=0.85, auc=0.86)
    same = evidence("C", accuracy=0.80, auc=0.80)
    short = evidence("D", labelled=50, captured=60, positives=10)
    results = compare_with_baseline(base, [better, same, short])
    tested = [r for r in results if r.status == "tested"]
    assert len(tested) == 2
    raw = [r.accuracy.p_value for r in tested]
    adjusted = [r.p_accuracy_adjusted for r in tested]
    assert adjusted == pytest.approx(holm_adjust([raw[0], 1.0, raw[1], 1.0, 1.0, 1.0])[::2][:2])
    assert adjusted != pytest.approx(holm_adjust(raw))
    assert all(r.auc is not None and r.p_auc_adjusted is None for r in tested)
    assert "Holm over 6 tests" in results[0].reason
    assert results[0].winner == "B" and results[0].significant
    assert results[1].winner is None and "does not show that the variants are equal" in results[1].reason
    assert results[2].status == "not_enough_labels"


def test_a_worse_candidate_makes_the_baseline_the_winner():
    (result,) = compare_with_baseline(evidence("A", accuracy=0.85, auc=0.88), [evidence("B", accuracy=0.78, auc=0.80)])
    assert result.winner == "A" and "(baseline)" in result.reason


def test_roc_auc_the_other_way_does_not_veto_an_accuracy_winner():
    # Live, only accuracy decides (comparison's docstring): a ROC AUC difference the other way is shown, no veto.
    (result,) = compare_with_baseline(evidence("A", accuracy=0.85, auc=0.78), [evidence("B", accuracy=0.78, auc=0.86)])
    assert result.winner == "A" and result.significant and "disagree" not in result.reason
    assert result.auc is not None and result.auc.difference == pytest.approx(0.08)
    assert f"descriptive, {AUC_NOT_A_DECISION}" in result.reason


def _grid(n, mean, sd):
    """n scores at evenly spaced quantiles of a normal: a deterministic sample."""
    return norm.ppf((np.arange(n) + 0.5) / n, mean, sd)


def _scored(name, positives, negatives, correct):
    """A one-day variant from its positives' and negatives' scores: ROC AUC and DeLong's placement variances."""
    v10 = np.array([(np.sum(negatives < p) + 0.5 * np.sum(negatives == p)) / negatives.size for p in positives])
    v01 = np.array([(np.sum(positives > q) + 0.5 * np.sum(positives == q)) / positives.size for q in negatives])
    auc, var10, var01 = float(v10.mean()), float(v10.var(ddof=1)), float(v01.var(ddof=1))
    n = positives.size + negatives.size
    day = Stratum("2026-01-05", n, positives.size, negatives.size, correct, auc, var10, var01)
    return VariantEvidence(name, n, n, positives.size, negatives.size, correct, auc, var10, var01, (day,))


def test_a_small_variant_with_bimodal_positive_scores_wins_nothing_by_roc_auc():
    # The re-review's case: a small variant whose positives are scored confidently right (98 %) or far off
    # (2 %). DeLong's variance is too small for such shapes, so its ROC AUC difference, however small its
    # p-value, is shown and decides nothing; the accuracies are equal, so there is no winner.
    base = _scored("A", _grid(2000, 2.0, 1.0), _grid(20000, 0.0, 1.0), 19800)  # AUC 0.921
    canary_positives = np.concatenate([_grid(98, 4.5, 0.3), _grid(2, -2.5, 0.3)])
    canary = _scored("B", canary_positives, _grid(1000, 0.0, 1.0), 990)  # AUC 0.980
    (result,) = compare_with_baseline(base, [canary])
    assert result.status == "tested" and result.winner is None and not result.significant
    assert result.auc is not None and result.auc.difference == pytest.approx(0.0588, abs=1e-3)
    assert 2 * result.auc.p_value < 0.05  # what made B the winner when ROC AUC decided
    assert result.p_auc_adjusted is None
    assert "ROC AUC A 0.9214 vs B 0.9801" in result.reason and AUC_NOT_A_DECISION in result.reason


def test_one_class_only_tests_accuracy_alone():
    base = evidence("A")
    no_auc = VariantEvidence("B", 2500, 2000, 700, 1300, 1700, None, None, None)
    (result,) = compare_with_baseline(base, [no_auc])
    assert result.auc is None and result.p_auc_adjusted is None
    assert "ROC AUC not shown (B has no ROC AUC" in result.reason


def test_repeated_names_and_bad_alpha_are_refused():
    with pytest.raises(ValueError, match="more than once"):
        compare_with_baseline(evidence("A"), [evidence("A")])
    with pytest.raises(ValueError, match="alpha"):
        compare_with_baseline(evidence("A"), [evidence("B")], alpha=1.0)


def _days_evidence(name, days):
    """A variant over days given as (labelled, positives, correct); no ROC AUC (accuracy alone)."""
    strata = tuple(Stratum(f"2026/11/0{i + 1}", n, p, n - p, c) for i, (n, p, c) in enumerate(days))
    total = [sum(d[k] for d in days) for k in range(3)]
    return VariantEvidence(
        name, total[0], total[0], total[1], total[0] - total[1], total[2], None, None, None, strata=strata
    )


def test_a_split_that_changes_while_the_base_rate_moves_is_compared_within_days():
    # Equal models: 90 % accurate on the easy day, 60 % on the hard one; the baseline served mostly the
    # easy day, the candidate mostly the hard one (a rollout raised its share). Pooled: 87 % vs 63 %.
    base = _days_evidence("A", [(900, 360, 810), (100, 40, 60)])
    cand = _days_evidence("B", [(100, 40, 90), (900, 360, 540)])
    (result,) = compare_with_baseline(base, [cand])
    assert result.status == "tested" and result.winner is None
    assert result.accuracy.value_a - result.accuracy.value_b > 0.2  # what the table shows
    assert result.accuracy.difference == pytest.approx(0.0, abs=1e-12)
    assert "within inference days +0.0000 (2 days)" in result.reason
    pooled = compare_with_baseline(
        VariantEvidence("A", 1000, 1000, 400, 600, 870, None, None, None),
        [VariantEvidence("B", 1000, 1000, 400, 600, 630, None, None, None)],
    )[0]
    assert pooled.winner == "A"  # the whole window as one stratum: Simpson's false winner


def test_no_shared_inference_day_is_not_enough_labels():
    base = _days_evidence("A", [(200, 80, 150), (0, 0, 0)])
    cand = VariantEvidence(
        "B", 200, 200, 80, 120, 150, None, None, None, strata=(Stratum("2026/11/09", 200, 80, 120, 150),)
    )
    (result,) = compare_with_baseline(base, [cand])
    assert result.status == "not_enough_labels" and "no inference day has labelled requests of both" in result.reason


def test_intervals_are_confidence_sequences_at_the_level_of_holms_first_step():
    base = evidence("A", accuracy=0.80, auc=0.80)
    results = compare_with_baseline(
        base,
        [evidence("B", accuracy=0.84, auc=0.86, var=0.03, labelled=1000, positives=350), evidence("C", accuracy=0.81)],
    )
    for r in results:
        for test in (r.accuracy, r.auc):
            assert test.interval_confidence == pytest.approx(1 - 0.05 / 4)
            low, high = confidence_sequence(test.difference, test.estimate.interval_variance, 0.05 / 4)
            assert (test.ci_low, test.ci_high) == pytest.approx((max(-1, low), min(1, high)))
            assert test.p_value == pytest.approx(anytime_p_value(test.difference, test.estimate.variance))
    # Both metrics test with the variance under "no difference" and show an interval on another.
    assert results[0].accuracy.estimate.interval_variance != results[0].accuracy.estimate.variance  # Sato vs CMH
    assert results[0].auc.estimate.interval_variance != results[0].auc.estimate.variance


def test_candidates_left_out_by_the_caller_still_count_in_the_family():
    base = evidence("A", accuracy=0.80, auc=0.80)
    alone = compare_with_baseline(base, [evidence("B", accuracy=0.83, auc=0.84)])
    (counted,) = compare_with_baseline(base, [evidence("B", accuracy=0.83, auc=0.84)], family_candidates=3)
    assert "Holm over 2 tests" in alone[0].reason and "Holm over 6 tests" in counted.reason
    assert counted.p_accuracy_adjusted == pytest.approx(min(1, 6 * counted.accuracy.p_value))
    assert counted.p_auc_adjusted is None
    assert counted.accuracy.interval_confidence == pytest.approx(1 - 0.05 / 6)
    with pytest.raises(ValueError, match="family_candidates is 0, fewer than the 1 candidates given"):
        compare_with_baseline(base, [evidence("B")], family_candidates=0)
