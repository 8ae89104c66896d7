"""Pure request checks: no AWS involved."""

from __future__ import annotations

import math

import pytest

from endpoint_weights.validation import (
    InvalidRequest,
    check_known_variants,
    ensure_some_traffic,
    merged_weights,
    parse_instance_counts,
    parse_weights,
    plan_updates,
    weights_match,
)


def test_weights_accept_cloudformation_strings_and_json_numbers():
    assert parse_weights({"Variant1": "25", "Variant2": 75, "Variant3": "0.5"}) == {
        "Variant1": 25.0,
        "Variant2": 75.0,
        "Variant3": 0.5,
    }


@pytest.mark.parametrize("bad", ["abc", "", None, True, [1], "nan", "inf", math.inf])
def test_weights_reject_non_numbers(bad):
    with pytest.raises(InvalidRequest, match="weight of Variant1"):
        parse_weights({"Variant1": bad})


def test_weights_reject_negatives_and_name_them():
    with pytest.raises(InvalidRequest, match="negative for: Variant1, Variant3"):
        parse_weights({"Variant1": "-1", "Variant2": "1", "Variant3": -0.5})


@pytest.mark.parametrize("bad", [None, {}, [], "Variant1=25", {"": 1}])
def test_weights_must_be_a_non_empty_object(bad):
    with pytest.raises(InvalidRequest):
        parse_weights(bad)


def test_instance_counts_are_whole_numbers_from_one():
    assert parse_instance_counts({"Variant1": "2", "Variant2": 3}) == {"Variant1": 2, "Variant2": 3}
    for bad in (0, "0", 1.5, "-2", "two", False):
        with pytest.raises(InvalidRequest, match="instance count of Variant1"):
            parse_instance_counts({"Variant1": bad})


def test_unknown_variants_are_named_with_the_live_ones():
    with pytest.raises(InvalidRequest, match="has no variant\\(s\\) Variant9; its variants are Variant1, Variant2"):
        check_known_variants(["Variant1", "Variant9"], ["Variant2", "Variant1"], endpoint="churn-ab")


def test_merged_weights_keep_unnamed_variants():
    assert merged_weights({"a": 1.0, "b": 1.0, "c": 2.0}, {"b": 0.0}) == {"a": 1.0, "b": 0.0, "c": 2.0}


def test_all_zero_weights_are_refused():
    with pytest.raises(InvalidRequest, match="all weights would be 0"):
        ensure_some_traffic({"a": 0.0, "b": 0.0})
    ensure_some_traffic({"a": 0.0, "b": 0.1})


def test_weights_match_within_float_tolerance_only():
    assert weights_match({"a": 25.0}, {"a": 25.0000000001, "b": 75.0})
    assert not weights_match({"a": 25.0}, {"a": 25.5})
    assert not weights_match({"a": 25.0}, {"b": 25.0})


def test_plan_puts_one_capacity_change_in_each_call():
    weights = {"a": 25.0, "b": 75.0}
    calls = plan_updates(weights, {"b": 3, "a": 2})
    assert calls == [(weights, {"a": 2}), (weights, {"b": 3})]
    assert all(len(counts) <= 1 for _, counts in calls)


def test_plan_without_capacity_is_a_single_weights_call():
    assert plan_updates({"a": 1.0}, {}) == [({"a": 1.0}, {})]
