"""Inputs not comparable: a variant that leaves out a different share of its captures gets no verdict."""

from __future__ import annotations

import pytest
from scipy.stats import chi2_contingency

from live_quality.comparison import VariantEvidence, compare_with_baseline
from live_quality.left_out import LEFT_OUT_ALPHA, left_out_captures, left_out_test


def test_the_left_out_test_is_the_pooled_two_proportion_z_test():
    result = left_out_test(kept_a=9_900, left_out_a=100, kept_b=960, left_out_b=40)
    # The pooled z-test's two-sided p-value is Pearson's chi-square on the 2 × 2 table (no continuity correction).
    expected = chi2_contingency([[100, 9_900], [40, 960]], correction=False).pvalue
    assert result.p_value == pytest.approx(expected)
    assert (result.share_a, result.share_b) == pytest.approx((0.01, 0.04))
    assert left_out_test(1000, 0, 100, 0).p_value == 1.0  # nothing left out anywhere
    assert left_out_test(0, 0, 100, 5).p_value == 1.0  # no captures of one variant: nothing to compare
    with pytest.raises(ValueError, match="left_out_b is -1"):
        left_out_test(1, 0, 1, -1)


def test_left_out_captures_count_every_dropping_capture_issue_of_the_variant():
    counts = {
        ("capture_output_not_one_score", "B"): 30,
        ("capture_duplicate_id", "B"): 4,
        ("capture_without_inference_id", "B"): 500,  # matched on eventId: kept in the metrics
        ("capture_not_json", None): 7,  # no variant could be read
        ("label_for_unknown_id", "B"): 9,  # a label, not a capture
        ("capture_output_not_one_score", "A"): 2,
    }
    assert left_out_captures(counts, "B") == 34
    assert left_out_captures(counts, "A") == 2
    assert left_out_captures(counts, "C") == 0


def _variant(name, captured, left_out, accuracy):
    labelled, positives = round(0.8 * captured), round(0.28 * captured)
    return VariantEvidence(
        name, captured, labelled, positives, labelled - positives, round(accuracy * labelled), 0.8, 0.05, 0.05,
        left_out=left_out,
    )  # fmt: skip


def test_a_candidate_that_leaves_out_its_hard_requests_gets_no_verdict():
    # B returns no usable score on 5 % of its requests (its hardest), and is more accurate on the rest:
    # without the check it would win by what it left out.
    base = _variant("A", 5000, 5, accuracy=0.80)
    dropping = _variant("B", 4750, 250, accuracy=0.85)
    (result,) = compare_with_baseline(base, [dropping])
    assert result.status == "inputs_not_comparable" and result.winner is None and result.accuracy is None
    assert "inputs not comparable" in result.reason
    assert "0.10% of A's captured requests (5) and 5.00% of B's (250)" in result.reason
    # The same shares in both: compared as before (the winner is B on accuracy).
    (same,) = compare_with_baseline(_variant("A", 5000, 250, 0.80), [_variant("B", 4750, 240, 0.85)])
    assert same.status == "tested" and same.winner == "B"
    assert left_out_test(5000, 250, 4750, 240).p_value > LEFT_OUT_ALPHA
