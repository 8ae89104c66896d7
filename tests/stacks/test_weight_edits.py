"""Editing a weight in the config file never touches the endpoint config or the endpoint.

Any change to an ``AWS::SageMaker::EndpointConfig`` property replaces the config, and the
endpoint then moves to the new one with a blue/green update (a second fleet while it runs).
Weights are changed in place by the weights custom resource; the config file's
``initial_weight`` may only reach the weight parameters' defaults.
"""

from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.ab_endpoint import ENDPOINT_CONFIG_WEIGHT
from tests.conftest import FULL_CONFIG, read_config
from tests.synth import only_template

SAGEMAKER_TYPES = ("AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint", "AWS::SageMaker::Model")


def _edit_every_weight(data: dict[str, Any]) -> dict[str, Any]:
    """Every variant gets a different weight: the first is drained to 0, the others change."""
    variants = data["endpoints"][0]["variants"]
    assert len(variants) >= 3, "the full example has three variants, one of them at weight 0"
    for number, variant in enumerate(variants):
        variant["initial_weight"] = 0 if number == 0 else variant["initial_weight"] * 3 + 7
    return data


@pytest.fixture(scope="module")
def as_written_and_reweighted() -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        only_template(read_config(FULL_CONFIG)).to_json(),
        only_template(_edit_every_weight(read_config(FULL_CONFIG))).to_json(),
    )


def _sagemaker_resources(template: dict[str, Any]) -> dict[str, Any]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in SAGEMAKER_TYPES
    }


def test_the_edit_reaches_the_weight_parameters_defaults(as_written_and_reweighted):
    """Guards the test below: the edited config really is a different weight declaration."""
    original, reweighted = as_written_and_reweighted
    defaults = {name: p.get("Default") for name, p in original["Parameters"].items() if name.startswith("Weight")}
    edited = {name: p.get("Default") for name, p in reweighted["Parameters"].items() if name.startswith("Weight")}
    assert len(defaults) == 3
    assert all(defaults[name] != edited[name] for name in defaults), (defaults, edited)


def test_editing_any_weight_changes_no_endpoint_config_endpoint_or_model(as_written_and_reweighted):
    original, reweighted = as_written_and_reweighted
    before, after = _sagemaker_resources(original), _sagemaker_resources(reweighted)
    assert {resource["Type"] for resource in before.values()} == set(SAGEMAKER_TYPES)
    assert after == before


def test_every_variant_starts_at_sagemakers_default_weight(as_written_and_reweighted):
    """The constant is what SageMaker uses when no weight is given (ProductionVariant API
    reference: InitialVariantWeight "defaults to 1.0"); the parameters set the real weights."""
    original, _ = as_written_and_reweighted
    (config,) = [r for r in original["Resources"].values() if r["Type"] == "AWS::SageMaker::EndpointConfig"]
    assert ENDPOINT_CONFIG_WEIGHT == 1.0
    assert {v["VariantName"]: v["InitialVariantWeight"] for v in config["Properties"]["ProductionVariants"]} == {
        "champion": ENDPOINT_CONFIG_WEIGHT,
        "challenger": ENDPOINT_CONFIG_WEIGHT,
        "registry-candidate": ENDPOINT_CONFIG_WEIGHT,
    }
