"""The serving-since marker's tag: what it holds, and that SageMaker's tag rules take it (service model)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import botocore.session
import pytest

from endpoint_weights.serving_since import TAG_KEY, ServingSince, marker_moves, parse_marker

LONGEST_CONFIG_NAME = "E" + "-a1" * 20 + "bc"  # 63 characters, SageMaker's longest EndpointConfigName


def _shape(name: str) -> dict:
    return botocore.session.get_session().get_service_model("sagemaker").shape_for(name).metadata


def test_the_tag_satisfies_sagemakers_tag_rules():
    marker = ServingSince(LONGEST_CONFIG_NAME, datetime(2026, 11, 1, 9, 40, 12, 999999, tzinfo=UTC))
    assert len(LONGEST_CONFIG_NAME) == 63
    for shape, text in (("TagKey", TAG_KEY), ("TagValue", marker.value)):
        rules = _shape(shape)
        assert rules.get("min", 0) <= len(text) <= rules["max"], shape
        # The model's pattern uses \p{...} classes (Java/ICU); these texts are ASCII, so spell them out.
        ascii_pattern = rules["pattern"].replace(r"\p{L}", "A-Za-z").replace(r"\p{Z}", " ").replace(r"\p{N}", "0-9")
        assert re.fullmatch(ascii_pattern, text), (shape, text)
    assert not TAG_KEY.lower().startswith("aws:")  # reserved for AWS


def test_the_value_round_trips_at_whole_seconds_in_utc():
    since = datetime(2026, 11, 1, 11, 40, 12, 500000, tzinfo=timezone(timedelta(hours=2)))
    marker = ServingSince("EndpointConfig-Ab12", since)
    assert marker.value == "EndpointConfig-Ab12@2026-11-01T09:40:12Z"
    assert parse_marker(marker.value) == ServingSince(
        "EndpointConfig-Ab12", datetime(2026, 11, 1, 9, 40, 12, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "EndpointConfig@2026-11-01",
        "@2026-11-01T09:40:12Z",
        "a_b@2026-11-01T09:40:12Z",
        "c@2026-13-01T09:40:12Z",
    ],
)
def test_anything_else_is_not_a_marker(value: str):
    try:
        assert parse_marker(value) is None
    except ValueError:  # a well-shaped but impossible date
        pytest.fail(f"{value!r} raised instead of being refused")


def test_only_a_config_change_moves_the_marker():
    assert marker_moves(None, "EndpointConfig-A")  # Create
    assert marker_moves("EndpointConfig-A", "EndpointConfig-B")
    assert not marker_moves("EndpointConfig-A", "endpointconfig-a")  # names are case-insensitive
