"""The pure weight logic of `abtest`: parsing VARIANT=WEIGHT, targets, shares and drift."""

from __future__ import annotations

import pytest

from scripts.abtest.errors import BadInput
from scripts.abtest.weights import (
    LiveVariant,
    declared_weights,
    parameter_values,
    parse_assignments,
    same_split,
    target_weights,
    variant_rows,
)


def test_assignments_parse_to_floats():
    assert parse_assignments(["Variant1=25", "Variant2 = 75.5"]) == {"Variant1": 25.0, "Variant2": 75.5}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([], "name at least one weight"),
        (["Variant1"], "expected VARIANT=WEIGHT"),
        (["Variant1=abc"], "weight of Variant1: must be a number"),
        (["Variant1=-1"], "must be >= 0; negative for: Variant1"),
        (["Variant1=nan"], "must be a finite number"),
        (["Variant1=1", "Variant1=2"], "variant Variant1 is named twice"),
    ],
)
def test_bad_assignments_are_refused_with_the_reason(items, message):
    with pytest.raises(BadInput, match=message):
        parse_assignments(items)


def test_target_keeps_unnamed_variants_and_refuses_unknown_ones_and_all_zero():
    live = {"Variant1": 1.0, "Variant2": 1.0, "Variant3": 2.0}
    assert target_weights(live, {"Variant2": 0}, endpoint="ep") == {"Variant1": 1.0, "Variant2": 0, "Variant3": 2.0}
    with pytest.raises(BadInput, match=r"endpoint ep has no variant.s. VariantX; its variants are Variant1"):
        target_weights(live, {"VariantX": 1}, endpoint="ep")
    with pytest.raises(BadInput, match="all weights would be 0"):
        target_weights({"Variant1": 1.0}, {"Variant1": 0}, endpoint="ep")


def test_same_split_compares_shares_not_numbers():
    assert same_split({"a": 1, "b": 1}, {"a": 50, "b": 50})
    assert not same_split({"a": 1, "b": 1}, {"a": 25, "b": 75})
    assert not same_split({"a": 1, "b": 1}, {"a": 1})
    # The placeholder weight a new variant runs at is a (tiny) difference, not float noise.
    assert not same_split({"a": 1, "b": 1, "c": 0}, {"a": 1, "b": 1, "c": 0.001})


def test_declared_weights_are_matched_from_the_variant_names_and_leftovers_reported():
    parameters = {"WeightVariant1": "25", "Weightmodelb": "75", "WeightGone": "1", "BootstrapVersion": "/cdk/x"}
    declared, orphans = declared_weights(parameters, ["Variant1", "model-b"])
    assert declared == {"Variant1": 25.0, "model-b": 75.0}
    assert orphans == ["WeightGone"]


def _live(**weights: float) -> list[LiveVariant]:
    return [LiveVariant(name, weight, weight, 1, 1) for name, weight in weights.items()]


def test_rows_show_drift_only_where_the_split_differs():
    rows = variant_rows(_live(Variant1=0, Variant2=100), {"Variant1": 1, "Variant2": 1}, {"Variant2": 300})
    assert [(r.variant, r.declared_share, r.live_share, r.drift) for r in rows] == [
        ("Variant1", 0.5, 0.0, True),
        ("Variant2", 0.5, 1.0, True),
    ]
    assert [r.observed_share for r in rows] == [0.0, 1.0]
    rows = variant_rows(_live(Variant1=50, Variant2=50), {"Variant1": 1, "Variant2": 1}, {})
    assert not any(r.drift for r in rows)
    assert [r.observed_share for r in rows] == [None, None], "no traffic is not a share of 0"


def test_a_variant_on_one_side_only_is_drift():
    rows = variant_rows(_live(Variant2=1), {"Variant1": 1, "Variant2": 1}, {})
    assert [(r.variant, r.live_weight, r.declared_weight, r.drift) for r in rows] == [
        ("Variant2", 1, 1, True),
        ("Variant1", None, 1, True),
    ]


def test_parameter_values_name_each_variants_parameter_and_refuse_missing_ones():
    stack = {"WeightVariant1": "1", "WeightVariant2": "1"}
    assert parameter_values(stack, {"Variant1": 25.0, "Variant2": 0.001}) == {
        "WeightVariant1": "25",
        "WeightVariant2": "0.001",
    }
    with pytest.raises(BadInput, match=r"no weight parameter for Variant3 \(parameter WeightVariant3\)"):
        parameter_values(stack, {"Variant3": 1})


def test_parameter_values_are_plain_decimals_like_the_weights_file():
    # One formatter (scripts/weights_file.py's format_weight) for every weight sent to CloudFormation:
    # plain decimals, never an exponent ("1e-07"), never rounded to 10 digits.
    stack = {"WeightVariant1": "1", "WeightVariant2": "1"}
    assert parameter_values(stack, {"Variant1": 1e-7, "Variant2": 100.0 / 3}) == {
        "WeightVariant1": "0.0000001",
        "WeightVariant2": "33.333333333333336",
    }
