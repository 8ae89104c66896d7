"""A stack with a shadow variant (config/examples/shadow.json): ShadowProductionVariants in the endpoint config,
the shadow's weight from its sampling percentage, a fixed production weight and no weight parameters, no
rollout and no SRM check, and no paging alarm on the shadow. cdk-nag and cfn-lint run on it with every shipped
config (tests/stacks/test_compliance.py, test_synth_matrix.py)."""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Annotations, Match, Template

from app import build_app
from constructs_lib.ab_endpoint import ENDPOINT_CONFIG_WEIGHT, SHADOW_PRODUCTION_WEIGHT
from constructs_lib.config import parse_config, shadow_limits
from constructs_lib.lambda_shared import shadow_sampling
from stacks.ab_test_stack import AbTestStack
from tests.conftest import SHADOW_CONFIG, read_config
from tests.stacks.test_ab_test_stack import refs_in
from tests.synth import CDK_CONTEXT, synth_templates

SAMPLING = 20
SAMPLING_PARAMETER = "CandidateSamplingPercentage"


@functools.cache
def template() -> dict[str, Any]:
    (only,) = synth_templates(read_config(SHADOW_CONFIG), str(SHADOW_CONFIG)).values()
    result: dict[str, Any] = only.to_json()
    return result


@functools.cache
def default_template() -> dict[str, Any]:
    (only,) = synth_templates(read_config()).values()
    result: dict[str, Any] = only.to_json()
    return result


def of_type(t: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in t["Resources"].items() if r["Type"] == kind}


def only(t: dict[str, Any], kind: str) -> dict[str, Any]:
    (resource,) = of_type(t, kind).values()
    props: dict[str, Any] = resource["Properties"]
    return props


def model_of(t: dict[str, Any], variant: str) -> str:
    (lid,) = [lid for lid in of_type(t, "AWS::SageMaker::Model") if lid.startswith(f"AbEndpointModel{variant}")]
    return lid


def test_the_shadow_is_written_as_a_shadow_production_variant_with_the_production_variants_fields():
    config = only(template(), "AWS::SageMaker::EndpointConfig")
    (production,) = config["ProductionVariants"]
    (shadow,) = config["ShadowProductionVariants"]
    assert production["VariantName"] == "Current"
    assert shadow == {
        "VariantName": "Candidate",
        "ModelName": {"Fn::GetAtt": [model_of(template(), "Candidate"), "ModelName"]},
        "InstanceType": "ml.m5.xlarge",
        "InitialInstanceCount": 1,
        "InitialVariantWeight": shadow_sampling().shadow_weight(SAMPLING, SHADOW_PRODUCTION_WEIGHT),
    }
    assert set(shadow) == set(production)  # same fields as a production variant
    assert "KmsKeyId" in config  # the config-wide key covers the shadow's storage too


def test_the_production_variant_beside_a_shadow_has_the_fixed_weight_not_the_placeholder():
    (production,) = only(template(), "AWS::SageMaker::EndpointConfig")["ProductionVariants"]
    assert production["InitialVariantWeight"] == SHADOW_PRODUCTION_WEIGHT != ENDPOINT_CONFIG_WEIGHT
    # Without a shadow, the placeholder as before.
    default = only(default_template(), "AWS::SageMaker::EndpointConfig")
    assert {v["InitialVariantWeight"] for v in default["ProductionVariants"]} == {ENDPOINT_CONFIG_WEIGHT}
    assert "ShadowProductionVariants" not in default


def test_the_sampling_percentage_reaches_the_shadow_weight_and_the_parameters_default():
    data = read_config(SHADOW_CONFIG)
    data["endpoints"][0]["variants"][1]["shadow"]["sampling_percentage"] = 50
    (changed,) = synth_templates(data, "changed.json").values()
    (shadow,) = only(changed.to_json(), "AWS::SageMaker::EndpointConfig")["ShadowProductionVariants"]
    assert shadow["InitialVariantWeight"] == shadow_sampling().shadow_weight(50, SHADOW_PRODUCTION_WEIGHT) == 0.5
    assert changed.to_json()["Parameters"][SAMPLING_PARAMETER]["Default"] == 50


def test_a_config_change_beside_a_shadow_takes_the_weights_from_the_new_config():
    """RetainAllVariantProperties would keep the live weights: a sampling change would not take effect, and a
    production weight left from an A/B stage would scale the shadow's share (H1). Excluded beside a shadow."""
    excluded = only(template(), "AWS::SageMaker::Endpoint")["ExcludeRetainedVariantProperties"]
    assert {"VariantPropertyType": "DesiredWeight"} in excluded
    default = only(default_template(), "AWS::SageMaker::Endpoint")["ExcludeRetainedVariantProperties"]
    assert {"VariantPropertyType": "DesiredWeight"} not in default


def test_no_weight_parameter_and_the_custom_resource_holds_the_production_weight():
    assert not [p for p in template().get("Parameters", {}) if p.startswith("Weight")]
    weights = only(template(), "Custom::VariantWeights")["Weights"]
    assert weights == {"Current": SHADOW_PRODUCTION_WEIGHT}


def test_a_sampling_parameter_beside_the_shadow_in_the_loaders_range_defaulting_to_the_config():
    parameter = template()["Parameters"][SAMPLING_PARAMETER]
    assert parameter["Type"] == "Number"
    assert (
        (parameter["MinValue"], parameter["MaxValue"])
        == (
            shadow_limits.MIN_SAMPLING_PERCENTAGE,
            shadow_limits.max_sampling_percentage(),
        )
        == (1, 100)
    )
    assert parameter["Default"] == SAMPLING
    assert not [p for p in default_template().get("Parameters", {}) if p.endswith("SamplingPercentage")]


def test_the_custom_resource_gets_the_sampling_parameter_and_only_beside_a_shadow():
    """The handler turns it into the shadow's weight and sets it in place on Update (shadow_in_place.py)."""
    resource = only(template(), "Custom::VariantWeights")
    assert resource["ShadowSampling"] == {"Candidate": {"Ref": SAMPLING_PARAMETER}}
    assert resource["ConfigSampling"] == {"Candidate": SAMPLING}  # what the endpoint config carries
    assert "ShadowWeights" not in resource
    assert not {"ShadowSampling", "ConfigSampling"} & set(only(default_template(), "Custom::VariantWeights"))


def test_only_the_weights_custom_resource_reads_the_sampling_parameter():
    """The endpoint config keeps the config's sampling: a parameter change never replaces it (no fleet swap)."""
    readers = {lid for lid, r in template()["Resources"].items() if SAMPLING_PARAMETER in refs_in(r)}
    assert readers == set(of_type(template(), "Custom::VariantWeights"))
    for section in ("Outputs", "Conditions", "Rules"):
        assert SAMPLING_PARAMETER not in refs_in(template().get(section, {})), section
    (shadow,) = only(template(), "AWS::SageMaker::EndpointConfig")["ShadowProductionVariants"]
    assert shadow["InitialVariantWeight"] == shadow_sampling().shadow_weight(SAMPLING, SHADOW_PRODUCTION_WEIGHT)


def test_no_rollout_and_no_sample_ratio_check():
    ids = list(template()["Resources"])
    assert not [lid for lid in ids if lid.startswith(("Rollout", "SampleRatioCheck"))]
    assert [lid for lid in default_template()["Resources"] if lid.startswith("Rollout")]  # the control
    assert not of_type(template(), "AWS::DynamoDB::Table")


def test_only_the_shadows_own_alarms_watch_it():
    # Its alarms and their composite, which pages nobody: tests/stacks/test_shadow_observability.py.
    alarms = {**of_type(template(), "AWS::CloudWatch::Alarm"), **of_type(template(), "AWS::CloudWatch::CompositeAlarm")}
    assert alarms
    on_shadow = {lid for lid, r in alarms.items() if '"Candidate"' in json.dumps(r)}
    assert on_shadow and all(
        lid.startswith(
            (
                "AlarmsErrorRateShadowCandidate",
                "AlarmsLatencyShadowCandidate",
                "AlarmsNoCopiesShadowCandidate",
                "LiveQualityAgreementFailuresAlarm",
            )
        )
        for lid in on_shadow
    )
    assert [lid for lid, r in alarms.items() if '"Current"' in json.dumps(r)]


def test_synth_says_why_there_is_no_rollout_and_what_the_shadow_receives():
    spec = parse_config(read_config(SHADOW_CONFIG), "shadow.json").endpoints[0]
    stack = AbTestStack(App(), "S", spec=spec)
    infos = [str(m.entry.data) for m in Annotations.from_stack(stack).find_info("*", Match.any_value())]
    assert any("No rollout state machine and no sample-ratio check" in i and "Candidate" in i for i in infos)
    assert any("a copy of 20 % of production requests" in i and "UNVERIFIED" in i for i in infos)
    assert not any("without data capture" in i for i in infos)


def test_a_shadow_without_data_capture_gets_an_info_note():
    data = read_config(SHADOW_CONFIG)
    data["endpoints"][0]["data_capture"] = {"enabled": False}
    stack = AbTestStack(App(), "S", spec=parse_config(data, "shadow.json").endpoints[0])
    infos = [str(m.entry.data) for m in Annotations.from_stack(stack).find_info("*", Match.any_value())]
    assert any("Shadow variant Candidate without data capture" in i for i in infos)


def test_a_deployment_beside_a_shadow_warns_and_its_rollback_alarms_watch_production_only():
    data = read_config(SHADOW_CONFIG)
    data["endpoints"][0]["deployment"] = {"strategy": "canary", "size": {"type": "capacity_percent", "value": 50}}
    stack = AbTestStack(App(), "S", spec=parse_config(data, "shadow.json").endpoints[0])
    warnings = [str(m.entry.data) for m in Annotations.from_stack(stack).find_warning("*", Match.any_value())]
    assert any("shadow variant are not documented" in w for w in warnings)
    t = Template.from_stack(stack).to_json()
    rollback = only(t, "AWS::SageMaker::Endpoint")["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert len(rollback) == 2  # error rate and p99 of the production variant; none on the shadow
    deploy_alarms = {lid: r for lid, r in of_type(t, "AWS::CloudWatch::Alarm").items() if "Deployment" in lid}
    assert deploy_alarms and not [lid for lid, r in deploy_alarms.items() if '"Candidate"' in json.dumps(r)]


def test_live_quality_reads_and_reports_the_production_variant_only():
    # A shadow's copies of production's ids, read beside production, would be counted as captured twice
    # and production would lose the sampled share of its requests (capture_duplicate_id).
    # The shadow's folder is read by the agreement query alone, through its own table (tests/constructs_lib/
    # test_live_quality_agreement.py); live quality's capture table projects production only.
    tables = of_type(template(), "AWS::Glue::Table")
    projected = {
        r["Properties"]["TableInput"]["Name"]: r["Properties"]["TableInput"]["Parameters"]["projection.variant.values"]
        for r in tables.values()
        if "projection.variant.values" in r["Properties"]["TableInput"].get("Parameters", {})
    }
    assert projected == {"capture_raw": "Current", "shadow_capture_raw": "Current,Candidate"}
    publish = [
        r["Properties"]["Environment"]["Variables"]
        for r in of_type(template(), "AWS::Lambda::Function").values()
        if "VARIANTS" in r["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert publish
    assert [json.loads(variables["VARIANTS"]) for variables in publish] == [["Current"]] * len(publish)


def test_synth_says_the_production_variants_initial_weight_is_ignored_beside_a_shadow():
    data = read_config(SHADOW_CONFIG)
    data["endpoints"][0]["variants"][0]["initial_weight"] = 3
    stack = AbTestStack(App(), "S", spec=parse_config(data, "shadow.json").endpoints[0])
    infos = [str(m.entry.data) for m in Annotations.from_stack(stack).find_info("*", Match.any_value())]
    assert any("Production variant Current: initial_weight 3 is ignored beside a shadow" in i for i in infos)
    assert any(f"fixed at {SHADOW_PRODUCTION_WEIGHT:g}" in i for i in infos)
    config = only(Template.from_stack(stack).to_json(), "AWS::SageMaker::EndpointConfig")
    assert config["ProductionVariants"][0]["InitialVariantWeight"] == SHADOW_PRODUCTION_WEIGHT


def test_the_loaders_scaling_warning_reaches_the_endpoints_stack_at_synth():
    data = read_config(SHADOW_CONFIG)
    data["endpoints"][0]["variants"][0]["autoscaling"] = {
        "min_capacity": 1,
        "max_capacity": 10,
        "target_invocations_per_instance": 70,
    }
    app = build_app(parse_config(data, "config/examples/shadow.json"), App(context=CDK_CONTEXT))
    stack = app.node.find_child("AbTest-churn-shadow")
    warnings = [str(m.entry.data) for m in Annotations.from_stack(stack).find_warning("*", Match.any_value())]  # type: ignore[arg-type]
    (scaling,) = [w for w in warnings if "autoscales up to 10" in w]
    assert scaling.startswith('config/examples/shadow.json: endpoint "churn-shadow" > variant "Current" > autoscaling')
    assert "[ack: ab-test:productionScalesBeyondShadow]" in scaling


def _sampling_parameter_with(
    production_max_capacity: int, shadow_count: int, sampling: int, shadow_type: str | None = None
) -> dict[str, Any]:
    data = read_config(SHADOW_CONFIG)
    production, shadow = data["endpoints"][0]["variants"]
    production["autoscaling"] = {
        "min_capacity": 1,
        "max_capacity": production_max_capacity,
        "target_invocations_per_instance": 70,
    }
    shadow["initial_instance_count"] = shadow_count
    shadow["shadow"]["sampling_percentage"] = sampling
    if shadow_type:
        shadow["instance_type"] = shadow_type
    app = build_app(parse_config(data, "config/examples/shadow.json"), App(context=CDK_CONTEXT))
    stack = app.node.find_child("AbTest-churn-shadow")
    parameter: dict[str, Any] = Template.from_stack(stack).to_json()["Parameters"][SAMPLING_PARAMETER]  # type: ignore[arg-type]
    return parameter


def test_the_sampling_parameter_stops_at_what_the_shadows_fleet_takes_at_productions_peak():
    """Production autoscales to 10, the shadow has 2 instances of the same type: copies of 20 % of production's
    peak take 2 instances, 21 % would take 3, so CloudFormation refuses 21 before anything changes."""
    parameter = _sampling_parameter_with(production_max_capacity=10, shadow_count=2, sampling=5)
    assert parameter["MaxValue"] == 20
    assert parameter["Default"] == 5
    assert "At most 20" in parameter["Description"]


def test_the_sampling_parameters_max_never_refuses_the_configs_own_value():
    """A config the sizing warning let through (30 % of a 10-instance peak on 2 shadow instances) still deploys."""
    assert _sampling_parameter_with(production_max_capacity=10, shadow_count=2, sampling=30)["MaxValue"] == 30


def test_with_different_instance_types_the_sampling_parameter_keeps_the_apis_maximum():
    parameter = _sampling_parameter_with(
        production_max_capacity=10, shadow_count=1, sampling=5, shadow_type="ml.m5.4xlarge"
    )
    assert parameter["MaxValue"] == shadow_limits.max_sampling_percentage() == 100


def test_the_sampling_parameters_max_is_the_largest_percentage_the_sizing_rule_accepts():
    """Every peak and shadow count up to 120 and 5: MaxValue is the largest sampling whose needed instances
    (shadow_instances_needed, the loader's sizing warning's own rule) fit the shadow, or the config's value."""
    spec = parse_config(read_config(SHADOW_CONFIG), "config/examples/shadow.json").endpoints[0]
    production, shadow = spec.variants
    for peak in range(1, 121):
        for count in range(1, 6):
            p = dataclasses.replace(production, initial_instance_count=peak)
            s = dataclasses.replace(shadow, initial_instance_count=count)
            top = shadow_limits.sampling_parameter_max(p, s)
            fits = [pct for pct in range(1, 101) if shadow_limits.shadow_instances_needed(p, pct) <= count]
            assert top == max([*fits, SAMPLING]), (peak, count)


def _statements_with(t: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in of_type(t, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]


def test_only_beside_a_shadow_the_weights_on_event_may_read_this_stacks_status_and_nothing_else():
    """weights_provider.stack_state: a sampling error inside a rollback is logged, not failed."""
    (statement,) = _statements_with(template(), "cloudformation:DescribeStacks")
    assert statement["Resource"] == {"Ref": "AWS::StackId"}
    assert statement["Effect"] == "Allow"
    assert not _statements_with(default_template(), "cloudformation:DescribeStacks")
