"""The evaluation event: every key is type-checked before any value is used.

A Lambda event is JSON written by hand or by a pipeline; a value of the wrong type must be
refused with its key, never coerced (``"has_header": "false"`` is a truthy string).
"""

from __future__ import annotations

from typing import Any

import pytest

from evaluate.dataset import parse_csv
from evaluate.runner import ALLOWED_KEYS, FIELD_TYPES, InvalidEvaluation, parse_request

VALID = {"data_uri": "s3://bucket/datasets/test.csv"}
ENDPOINT = "churn-ab"


def test_every_allowed_key_has_a_type():
    assert set(FIELD_TYPES) == ALLOWED_KEYS


def _allowed(key: str, value: Any) -> bool:
    """What FIELD_TYPES means, spelt out independently for the test."""
    allowed = FIELD_TYPES[key]
    if value is None:
        return None in allowed
    if isinstance(value, bool):
        return bool in allowed
    if isinstance(value, float):
        return float in allowed
    return any(kind in (str, list) and isinstance(value, kind) for kind in allowed)


# A value of every JSON type, against every key whose type does not allow it.
WRONG_VALUES = [{"nested": 1}, ["x", 1], True, "text", 2.5, None]
WRONG_CASES = [(key, value) for key in sorted(FIELD_TYPES) for value in WRONG_VALUES if not _allowed(key, value)]


@pytest.mark.parametrize(("key", "wrong"), WRONG_CASES, ids=[f"{k}={v!r}" for k, v in WRONG_CASES])
def test_a_value_of_the_wrong_type_is_refused_naming_the_key(key: str, wrong: Any):
    with pytest.raises(InvalidEvaluation, match=rf"^{key} must be .*\(got "):
        parse_request({**VALID, key: wrong}, ENDPOINT)


@pytest.mark.parametrize("text", ["false", "true", "False", "0", ""])
def test_has_header_as_a_string_is_refused(text: str):
    with pytest.raises(
        InvalidEvaluation, match=rf"has_header must be true or false or null \(got '{text}', a string\)"
    ):
        parse_request({**VALID, "has_header": text}, ENDPOINT)


def test_has_header_false_keeps_the_first_row_as_data():
    """What the string "false" was read as before: the first data row dropped as a header."""
    request = parse_request({**VALID, "has_header": False}, ENDPOINT)
    assert request.has_header is False
    assert len(parse_csv("1,0.5\n0,0.7\n", has_header=request.has_header).labels) == 2


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("threshold", "0.5", r"threshold must be a number \(got '0.5', a string\)"),
        ("batch_size", True, r"batch_size must be a number \(got True, a boolean\)"),
        ("content_type", 5, r"content_type must be a string \(got 5, a number\)"),
        ("content_type", " ", r"content_type must be a MIME type"),
        ("variants", "Variant1", r"variants must be a list or null \(got 'Variant1', a string\)"),
        ("label_column", 1.5, r"label_column must be a whole number or a string \(got 1.5, a number\)"),
        ("data_uri", None, r"data_uri must be a string \(got None, null\)"),
    ],
)
def test_wrong_types_say_what_was_expected_and_what_came(key: str, value: Any, reason: str):
    with pytest.raises(InvalidEvaluation, match=reason):
        parse_request({**VALID, key: value}, ENDPOINT)


def test_nulls_mean_the_defaults_where_a_default_is_null():
    request = parse_request({**VALID, "has_header": None, "variants": None, "max_rows": None}, ENDPOINT)
    assert (request.has_header, request.variants, request.max_rows) == (None, None, None)


def test_every_type_the_table_allows_is_accepted():
    request = parse_request(
        {
            **VALID,
            "label_column": "churn",
            "has_header": True,
            "content_type": "text/csv",
            "threshold": 1,
            "variants": ["Variant1"],
            "max_rows": 10.0,
            "batch_size": 50,
            "concurrency": 2,
            "alpha": 0.01,
            "max_failure_rate": 0,
            "bootstrap_resamples": 0,
        },
        ENDPOINT,
    )
    assert (request.label_column, request.threshold, request.max_rows, request.batch_size) == ("churn", 1.0, 10, 50)


# Values of the right JSON type that still cannot be used. Python's json module (which Lambda's
# runtime uses to read the event) accepts NaN and Infinity, so they reach the handler.
EDGE_CASES = [
    ("max_rows", float("nan"), r"^max_rows must be a finite whole number \(got nan\)"),
    ("batch_size", float("inf"), r"^batch_size must be a finite whole number \(got inf\)"),
    ("concurrency", float("-inf"), r"^concurrency must be a finite whole number \(got -inf\)"),
    ("bootstrap_resamples", float("nan"), r"^bootstrap_resamples must be a finite whole number"),
    ("threshold", float("nan"), r"^threshold must be a finite number \(got nan\)"),
    ("alpha", float("inf"), r"^alpha must be a finite number \(got inf\)"),
    ("max_failure_rate", float("nan"), r"^max_failure_rate must be a finite number"),
    # A negative index would silently pick a column counted from the right.
    ("label_column", -1, r"^label_column must be a column index from 0 or a column name \(got -1\)"),
    ("variants", ["Variant1", "Variant1"], r"^variants must name each variant once \(Variant1 is repeated\)"),
    ("variants", [], r"^variants must be a non-empty list of variant names"),
]


@pytest.mark.parametrize(("key", "value", "reason"), EDGE_CASES, ids=[f"{k}={v!r}" for k, v, _ in EDGE_CASES])
def test_unusable_values_of_the_right_type_are_refused_naming_the_key(key: str, value: Any, reason: str):
    with pytest.raises(InvalidEvaluation, match=reason):
        parse_request({**VALID, key: value}, ENDPOINT)


def test_label_column_zero_and_distinct_variants_are_still_accepted():
    request = parse_request({**VALID, "label_column": 0, "variants": ["Variant2", "Variant1"]}, ENDPOINT)
    assert (request.label_column, request.variants) == (0, ("Variant2", "Variant1"))
