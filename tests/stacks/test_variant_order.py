"""Reordering variants in the config changes no logical ID and nothing about the endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import FULL_CONFIG, read_config
from tests.synth import only_template


@pytest.fixture(scope="module")
def as_written_and_reversed() -> tuple[dict[str, Any], dict[str, Any]]:
    data = read_config(FULL_CONFIG)
    reversed_data = read_config(FULL_CONFIG)
    reversed_data["endpoints"][0]["variants"].reverse()
    return only_template(data).to_json(), only_template(reversed_data).to_json()


def test_reordering_variants_changes_no_logical_id(as_written_and_reversed):
    original, reordered = as_written_and_reversed
    for section in ("Resources", "Parameters", "Outputs", "Mappings"):
        assert set(original.get(section, {})) == set(reordered.get(section, {})), section


def test_reordering_variants_leaves_every_sagemaker_resource_unchanged(as_written_and_reversed):
    """A changed endpoint config would mean a blue/green fleet rebuild."""
    original, reordered = as_written_and_reversed
    for logical_id, resource in original["Resources"].items():
        if resource["Type"].startswith("AWS::SageMaker::") or resource["Type"] == "Custom::VariantWeights":
            assert reordered["Resources"][logical_id] == resource, logical_id
