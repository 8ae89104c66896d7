"""The shadow variant in the config: the loader's rules, each refusal located, and the sources they quote."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from constructs_lib.config import ConfigError, load_config, parse_config, service_model, shadow_limits
from constructs_lib.config.deployment_limits import DocumentedRule
from constructs_lib.config.model import ShadowSpec
from tests.conftest import SHADOW_CONFIG, read_config

SOURCE = "config/shadow-under-test.json"
WHERE = ('endpoint "churn-shadow"',)


def problems_for(mutate: Callable[[dict[str, Any]], None]) -> list[str]:
    data = read_config(SHADOW_CONFIG)
    mutate(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, SOURCE)
    return caught.value.problems


def variants(data: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = data["endpoints"][0]["variants"]
    return result


def assert_one_located(problems: list[str], *parts: str) -> str:
    assert len(problems) == 1, problems
    for part in (SOURCE, *WHERE, *parts):
        assert part in problems[0], f"{part!r} missing from {problems[0]}"
    return problems[0]


def test_the_shipped_shadow_example_loads_with_one_production_variant_and_one_shadow():
    (endpoint,) = load_config(SHADOW_CONFIG).endpoints
    assert [v.name for v in endpoint.production_variants] == ["Current"]
    shadow = endpoint.shadow_variant
    assert shadow is not None and shadow.name == "Candidate"
    assert shadow.shadow is not None and shadow.shadow.sampling_percentage == 20
    assert shadow.initial_weight is None


def test_an_endpoint_without_shadow_has_all_variants_in_production(default_config_data):
    (endpoint,) = parse_config(default_config_data, SOURCE).endpoints
    assert endpoint.shadow_variant is None
    assert endpoint.production_variants == endpoint.variants


def test_two_shadows_are_refused_citing_the_one_and_one_rule():
    def two_shadows(d: dict[str, Any]) -> None:
        variants(d).append(dict(copy.deepcopy(variants(d)[1]), name="Candidate2"))

    message = assert_one_located(problems_for(two_shadows), "variants", "1 production, 2 shadow")
    assert shadow_limits.ONE_AND_ONE.sentence in message


def test_a_shadow_with_two_production_variants_is_refused():
    def two_production(d: dict[str, Any]) -> None:
        variants(d).append(dict(copy.deepcopy(variants(d)[0]), name="Current2"))

    assert_one_located(problems_for(two_production), "variants", "2 production, 1 shadow")


def test_a_shadow_alone_is_refused():
    assert_one_located(problems_for(lambda d: variants(d).pop(0)), "variants", "0 production, 1 shadow")


def test_a_shadow_with_initial_weight_is_refused():
    message = assert_one_located(
        problems_for(lambda d: variants(d)[1].update(initial_weight=1)), 'variant "Candidate"', "initial_weight"
    )
    assert "not a weight" in message


def test_a_production_variant_needs_initial_weight():
    assert_one_located(
        problems_for(lambda d: variants(d)[0].pop("initial_weight")), 'variant "Current"', "initial_weight: is required"
    )


def test_a_shadow_with_autoscaling_is_refused_as_unverified():
    def scaled(d: dict[str, Any]) -> None:
        variants(d)[1]["autoscaling"] = {"min_capacity": 1, "max_capacity": 2, "target_invocations_per_instance": 10}

    message = assert_one_located(problems_for(scaled), 'variant "Candidate"', "autoscaling")
    assert "UNVERIFIED" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "must be >= 1"),
        (101, "must be <= 100"),
        (20.5, "must be an integer"),
        ("20", "must be an integer"),
        (True, "must be an integer"),
        (1.0, "must be an integer"),
    ],
)
def test_sampling_percentage_is_a_whole_number_from_1_to_100(value: Any, expected: str):
    assert_one_located(
        problems_for(lambda d: variants(d)[1].update(shadow={"sampling_percentage": value})),
        'variant "Candidate"',
        "shadow > sampling_percentage",
        expected,
    )


def test_sampling_percentage_is_required_in_shadow():
    assert_one_located(
        problems_for(lambda d: variants(d)[1].update(shadow={})), 'variant "Candidate"', "sampling_percentage"
    )


@pytest.mark.parametrize("value", [1, 100])
def test_sampling_percentage_bounds_load(value: int):
    data = read_config(SHADOW_CONFIG)
    variants(data)[1]["shadow"] = {"sampling_percentage": value}
    (endpoint,) = parse_config(data, SOURCE).endpoints
    assert endpoint.shadow_variant is not None
    assert endpoint.shadow_variant.shadow == ShadowSpec(sampling_percentage=value)


def test_the_sampling_maximum_is_botocores_percentage_shape():
    assert shadow_limits.max_sampling_percentage() == service_model.numeric_range("Percentage")[1] == 100


def test_rolling_deployment_with_a_shadow_is_refused():
    def rolling(d: dict[str, Any]) -> None:
        d["endpoints"][0]["deployment"] = {"strategy": "rolling", "size": {"type": "capacity_percent", "value": 50}}

    message = assert_one_located(problems_for(rolling), "deployment > strategy", "UNVERIFIED")
    assert "Multi-variant inference endpoints" in message


def test_a_canary_deployment_with_a_shadow_loads_and_counts_production_variants_only():
    data = read_config(SHADOW_CONFIG)
    data["endpoints"][0]["deployment"] = {"strategy": "canary", "size": {"type": "capacity_percent", "value": 50}}
    (endpoint,) = parse_config(data, SOURCE).endpoints
    assert endpoint.deployment is not None and endpoint.deployment.strategy == "canary"


def test_the_shadow_has_no_weight_parameter_so_its_name_cannot_collide():
    data = read_config(SHADOW_CONFIG)
    variants(data)[0]["name"] = "model-b"
    variants(data)[1]["name"] = "modelb"  # Weightmodelb for both, were the shadow weighed
    parse_config(data, SOURCE)


@pytest.mark.parametrize("rule", shadow_limits.RULES, ids=lambda r: r.name)
def test_quoted_rules_are_still_botocores_words(rule: DocumentedRule):
    """A botocore upgrade that rewords a rule fails here instead of drifting by."""
    assert rule.structure and rule.member
    assert rule.sentence in service_model.member_documentation(rule.structure, rule.member)


# --- warnings: valid, but worth a look --------------------------------------------------------------


def scaled(max_capacity: int, shadow_instances: int = 1) -> dict[str, Any]:
    data = read_config(SHADOW_CONFIG)
    production, shadow = data["endpoints"][0]["variants"]
    production["autoscaling"] = {"min_capacity": 1, "max_capacity": max_capacity, "target_invocations_per_instance": 70}
    shadow["initial_instance_count"] = shadow_instances
    return data


def test_production_scaling_beyond_the_shadows_instances_warns_located():
    (warning,) = parse_config(scaled(4), "config/examples/shadow.json").warnings
    assert warning.endpoint == "churn-shadow" and warning.warning_id == shadow_limits.SCALING_BEYOND_SHADOW
    assert warning.message.startswith(
        'config/examples/shadow.json: endpoint "churn-shadow" > variant "Current" > autoscaling > max_capacity: '
        "Current autoscales up to 4 instance(s), beyond shadow variant Candidate's fixed 1"
    )
    assert "20 %" in warning.message


@pytest.mark.parametrize(("max_capacity", "shadow_instances"), [(2, 2), (1, 1), (3, 4)])
def test_no_warning_while_the_shadow_has_as_many_instances_as_production_can_scale_to(max_capacity, shadow_instances):
    assert parse_config(scaled(max_capacity, shadow_instances), "shadow.json").warnings == ()


def test_no_warning_without_autoscaling_or_without_a_shadow(default_config_data):
    assert load_config(SHADOW_CONFIG).warnings == ()
    for variant in default_config_data["endpoints"][0]["variants"]:
        variant["autoscaling"] = {"min_capacity": 1, "max_capacity": 8, "target_invocations_per_instance": 70}
    assert parse_config(default_config_data, "default.json").warnings == ()
