"""Issue "Works in a real account" items 3 and 4 beside a shadow variant (config/examples/shadow.json).

The shadow is written with the same ProductionVariant fields as a production variant
(CreateEndpointConfig, ShadowProductionVariants: "An array of ProductionVariant objects"), so
SageMaker's rules on those fields apply to it too: its instance type counts for the KmsKeyId rule, and
the botocore-derived checks (name, instance type, instance count, environment) refuse a bad shadow
as they refuse a bad production variant. A weight edit beside a shadow, with or without deployment
guardrails, still changes no SageMaker resource (no fleet rebuild).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from constructs_lib.config import ConfigError, instance_storage, parse_config, service_model
from tests.conftest import SHADOW_CONFIG, read_config
from tests.synth import only_template

SOURCE = "config/shadow-under-test.json"
LOCAL_STORAGE_TYPE = "ml.g5.xlarge"  # named in the CreateEndpointConfig KmsKeyId note's families
SAGEMAKER_TYPES = ("AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint", "AWS::SageMaker::Model")
CANARY = {"strategy": "canary", "size": {"type": "capacity_percent", "value": 50}, "wait_seconds": 600}


def shadow_config(mutate: Callable[[dict[str, Any]], None] = lambda _: None) -> dict[str, Any]:
    data = read_config(SHADOW_CONFIG)
    mutate(data)
    return data


def production(data: dict[str, Any]) -> dict[str, Any]:
    (variant,) = [v for v in data["endpoints"][0]["variants"] if "shadow" not in v]
    return variant


def shadow(data: dict[str, Any]) -> dict[str, Any]:
    (variant,) = [v for v in data["endpoints"][0]["variants"] if "shadow" in v]
    return variant


def sagemaker_resources(data: dict[str, Any]) -> dict[str, Any]:
    resources = only_template(data).to_json()["Resources"]
    return {lid: r for lid, r in resources.items() if r["Type"] in SAGEMAKER_TYPES}


def endpoint_config(resources: dict[str, Any]) -> dict[str, Any]:
    (config,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SageMaker::EndpointConfig"]
    return config


# --- item 3: KmsKeyId and the shadow's instance storage -----------------------------------------


def test_a_shadow_on_local_storage_leaves_kms_key_id_out_of_the_endpoint_config():
    """CreateEndpointConfig API reference, KmsKeyId: "If you specify a value for KmsKeyId when using any
    nitro-based instances with local storage, the call to CreateEndpointConfig fails". The key is
    config-wide and the shadow's instances are part of the config."""
    assert instance_storage.has_local_storage(LOCAL_STORAGE_TYPE)
    config = endpoint_config(
        sagemaker_resources(shadow_config(lambda d: shadow(d).update(instance_type=LOCAL_STORAGE_TYPE)))
    )
    assert config["ShadowProductionVariants"][0]["InstanceType"] == LOCAL_STORAGE_TYPE
    assert "KmsKeyId" not in config
    assert "KmsKeyId" in config["DataCaptureConfig"], "the capture key is about S3 objects: it stays"


def test_the_shipped_shadow_example_keeps_its_kms_key_id():
    config = endpoint_config(sagemaker_resources(shadow_config()))
    assert "KmsKeyId" in config


# --- item 3: botocore's rules apply to the shadow ------------------------------------------------


def problems(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, SOURCE)
    return str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("instance_type", "ml.m5.xxlarge", "ProductionVariantInstanceType"),
        ("name", "bad_name!", "VariantName"),
        ("name", "x" * 64, "at most 63 characters"),
        ("initial_instance_count", 0, "must be >= 1"),
        ("environment", {"LONG": "x" * 1025}, "at most 1024 characters"),
    ],
)
def test_the_shadow_variant_is_checked_against_sagemakers_service_model(field: str, value: Any, expected: str):
    message = problems(shadow_config(lambda d: shadow(d).update({field: value})))
    assert SOURCE in message and 'endpoint "churn-shadow"' in message, message
    assert field in message and expected in message, message


def test_the_limits_used_above_are_botocores():
    assert service_model.string_rule("VariantName").max_length == 63
    assert service_model.string_rule("EnvironmentValue").max_length == 1024
    assert "ml.m5.xxlarge" not in service_model.enum_values("ProductionVariantInstanceType")


# --- item 4: a weight edit beside a shadow rebuilds nothing --------------------------------------


@pytest.mark.parametrize("deployment", [None, CANARY], ids=["plain", "with-deployment-guardrails"])
def test_editing_the_production_weight_beside_a_shadow_changes_no_sagemaker_resource(deployment):
    def with_deployment(data: dict[str, Any]) -> None:
        if deployment:
            data["endpoints"][0]["deployment"] = deployment

    def reweighted(data: dict[str, Any]) -> None:
        with_deployment(data)
        production(data)["initial_weight"] = production(data)["initial_weight"] * 3 + 7

    before, after = sagemaker_resources(shadow_config(with_deployment)), sagemaker_resources(shadow_config(reweighted))
    assert {r["Type"] for r in before.values()} == set(SAGEMAKER_TYPES)
    assert (
        "DeploymentConfig" in next(r for r in before.values() if r["Type"] == "AWS::SageMaker::Endpoint")["Properties"]
    ) == bool(deployment)
    assert after == before
