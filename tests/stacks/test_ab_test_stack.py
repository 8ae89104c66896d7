"""The default app's stack, resource by resource: the classic two-variant A/B endpoint."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template

from constructs_lib.ab_endpoint import ENDPOINT_CONFIG_WEIGHT
from tests.conftest import read_config
from tests.policy_eval import Env, Request, evaluate
from tests.policy_eval import Template as Resolved
from tests.synth import synth_templates

ENV = Env()

STACK = "AbTest-churn-ab"
WEIGHT_PARAMETERS = {"WeightVariant1", "WeightVariant2"}


@pytest.fixture(scope="module")
def template() -> Template:
    templates = synth_templates(read_config())
    assert list(templates) == [STACK]
    return templates[STACK]


@pytest.fixture(scope="module")
def resources(template: Template) -> dict[str, Any]:
    return template.to_json()["Resources"]


def of_type(resources: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == resource_type}


def refs_in(node: Any) -> set[str]:
    """Every name referenced below ``node``: by Ref, or as ${Name} in an Fn::Sub string."""
    if isinstance(node, dict):
        found = {node["Ref"]} if isinstance(node.get("Ref"), str) else set()
        sub = node.get("Fn::Sub")
        text = sub if isinstance(sub, str) else sub[0] if isinstance(sub, list) and sub else ""
        found |= set(re.findall(r"\$\{([A-Za-z0-9]+)\}", text))
        for value in node.values():
            found |= refs_in(value)
        return found
    if isinstance(node, list):
        return set().union(*(refs_in(item) for item in node)) if node else set()
    return set()


def joined_text(node: Any) -> str:
    """The literal text of a (possibly Fn::Join'ed) string, tokens dropped."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and "Fn::Join" in node:
        return "".join(joined_text(part) for part in node["Fn::Join"][1])
    if isinstance(node, list):
        return "".join(joined_text(part) for part in node)
    return ""


# --- models, endpoint config, endpoint ---------------------------------------------------------


def test_one_model_per_variant_from_the_builtin_xgboost_images(template: Template):
    template.resource_count_is("AWS::SageMaker::Model", 2)
    for tag, data in (
        ("0.90-1-cpu-py3", "xgb-churn-prediction-model.tar.gz"),
        ("0.90-2-cpu-py3", "xgb-churn-prediction-model2.tar.gz"),
    ):
        template.has_resource_properties(
            "AWS::SageMaker::Model",
            {
                "PrimaryContainer": {
                    "Image": {
                        "Fn::Join": [
                            "",
                            Match.array_with(
                                [
                                    {"Fn::FindInMap": ["XgboostImageRegistries", {"Ref": "AWS::Region"}, "account"]},
                                    f"/sagemaker-xgboost:{tag}",
                                ]
                            ),
                        ]
                    },
                    "ModelDataUrl": f"s3://sagemaker-sample-files/models/xgb-churn/{data}",
                },
                "ExecutionRoleArn": {"Fn::GetAtt": [Match.string_like_regexp("ExecutionRole"), "Arn"]},
            },
        )


def test_image_registry_is_chosen_by_region_at_deploy_time(template: Template):
    mappings = template.to_json()["Mappings"]["XgboostImageRegistries"]
    assert mappings["us-east-1"] == {"account": "683313688378"}
    assert mappings["eu-west-1"] == {"account": "141502667606"}
    assert len(mappings) > 20


def test_models_have_generated_names(resources: dict[str, Any]):
    for model in of_type(resources, "AWS::SageMaker::Model").values():
        assert "ModelName" not in model["Properties"], "replaced resources must not have fixed names"


def test_endpoint_config_has_all_variants_at_the_placeholder_weight_and_a_kms_key(template: Template):
    variants = Capture()
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": variants,
            "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("EncryptionKey"), "Arn"]},
        },
    )
    assert [
        (v["VariantName"], v["InstanceType"], v["InitialInstanceCount"], v["InitialVariantWeight"])
        for v in variants.as_array()
    ] == [
        ("Variant1", "ml.m5.xlarge", 1, ENDPOINT_CONFIG_WEIGHT),
        ("Variant2", "ml.m5.xlarge", 1, ENDPOINT_CONFIG_WEIGHT),
    ]
    assert "EndpointConfigName" not in json.dumps(template.find_resources("AWS::SageMaker::EndpointConfig"))


def test_endpoint_retains_live_weights_and_without_autoscaling_takes_counts_from_the_config(template: Template):
    template.has_resource_properties(
        "AWS::SageMaker::Endpoint",
        {
            "EndpointName": "churn-ab",
            "EndpointConfigName": {"Fn::GetAtt": [Match.string_like_regexp("AbEndpointConfig"), "EndpointConfigName"]},
            "RetainAllVariantProperties": True,
            "ExcludeRetainedVariantProperties": [{"VariantPropertyType": "DesiredInstanceCount"}],
        },
    )


def test_storage_key_rotates(template: Template):
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/ab-test/churn-ab"})


def test_endpoint_log_group_exists_with_retention_and_key(template: Template):
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "LogGroupName": "/aws/sagemaker/Endpoints/churn-ab",
            "RetentionInDays": 90,
            "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("EncryptionKey"), "Arn"]},
        },
    )


def test_every_log_group_has_retention_and_encryption(resources: dict[str, Any]):
    groups = of_type(resources, "AWS::Logs::LogGroup")
    assert len(groups) >= 5
    for name, group in groups.items():
        assert group["Properties"].get("RetentionInDays"), name
        assert group["Properties"].get("KmsKeyId"), name


# --- weight parameters and the custom resource ---------------------------------------------------


def test_one_number_parameter_per_variant_defaulting_to_the_config_weight(template: Template):
    parameters = template.to_json()["Parameters"]
    for name in WEIGHT_PARAMETERS:
        assert parameters[name]["Type"] == "Number"
        assert parameters[name]["MinValue"] == 0
        assert parameters[name]["Default"] == 1


def test_custom_resource_carries_endpoint_config_name_and_weight_parameters(template: Template):
    template.has_resource_properties(
        "Custom::VariantWeights",
        {
            "ServiceToken": {"Fn::GetAtt": [Match.string_like_regexp("frameworkonEvent"), "Arn"]},
            "EndpointName": {"Fn::GetAtt": [Match.string_like_regexp("^AbEndpoint[0-9A-F]{8}$"), "EndpointName"]},
            "EndpointConfigName": {"Fn::GetAtt": [Match.string_like_regexp("AbEndpointConfig"), "EndpointConfigName"]},
            "Weights": {"Variant1": {"Ref": "WeightVariant1"}, "Variant2": {"Ref": "WeightVariant2"}},
        },
    )


def test_only_the_weights_custom_resource_reads_the_weight_parameters(template: Template):
    body = template.to_json()
    readers = {name for name, resource in body["Resources"].items() if refs_in(resource) & WEIGHT_PARAMETERS}
    assert readers == set(template.find_resources("Custom::VariantWeights"))
    for section in ("Outputs", "Conditions", "Rules"):
        assert not refs_in(body.get(section, {})) & WEIGHT_PARAMETERS, section


def test_no_endpoint_or_endpoint_config_property_refers_to_a_weight_parameter(resources: dict[str, Any]):
    for resource_type in ("AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint", "AWS::SageMaker::Model"):
        for name, resource in of_type(resources, resource_type).items():
            assert not refs_in(resource) & WEIGHT_PARAMETERS, name


def test_weights_provider_polls_every_30_seconds_and_logs(resources: dict[str, Any]):
    """How long it waits, against CloudFormation's ServiceTimeout: test_variant_weights_timeout.py."""
    (machine,) = [
        m for k, m in of_type(resources, "AWS::StepFunctions::StateMachine").items() if k.startswith("Weights")
    ]
    definition = joined_text(machine["Properties"]["DefinitionString"])
    assert '"IntervalSeconds":30' in definition
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"


def test_weights_handlers_run_the_provider_entry_points(template: Template):
    for handler in ("weights_provider.handler.on_event", "weights_provider.handler.is_complete"):
        template.has_resource_properties(
            "AWS::Lambda::Function",
            {"Handler": handler, "Runtime": "python3.14", "TracingConfig": {"Mode": "Active"}},
        )


# --- IAM: least privilege ------------------------------------------------------------------------


def statements_of(resources: dict[str, Any], role_prefix: str) -> list[dict[str, Any]]:
    policies = [
        p
        for p in of_type(resources, "AWS::IAM::Policy").values()
        if any(r["Ref"].startswith(role_prefix) for r in p["Properties"]["Roles"])
    ]
    assert policies, role_prefix
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def test_execution_role_reads_exactly_the_served_model_artifacts(resources: dict[str, Any]):
    statements = statements_of(resources, "AbEndpointExecutionRole")
    s3 = [s for s in statements if "s3:GetObject" in json.dumps(s["Action"])]
    (statement,) = s3
    assert sorted(joined_text(r) for r in statement["Resource"]) == [
        "arn::s3:::sagemaker-sample-files/models/xgb-churn/xgb-churn-prediction-model.tar.gz",
        "arn::s3:::sagemaker-sample-files/models/xgb-churn/xgb-churn-prediction-model2.tar.gz",
    ]
    assert not any(
        a.startswith("s3:") and a not in ("s3:GetObject", "s3:PutObject") for s in statements for a in _actions(s)
    )
    (put,) = [s for s in statements if "s3:PutObject" in _actions(s)]
    assert _actions(put) == ["s3:PutObject"] and joined_text(put["Resource"]).endswith("/capture/churn-ab/*"), (
        "this endpoint's captured data only"
    )


def test_execution_role_pulls_only_the_xgboost_repository(resources: dict[str, Any]):
    statements = statements_of(resources, "AbEndpointExecutionRole")
    (pull,) = [s for s in statements if "ecr:BatchGetImage" in _actions(s)]
    resources = pull["Resource"] if isinstance(pull["Resource"], list) else [pull["Resource"]]
    assert len(resources) == 1, "both variants use the same repository: one entry"
    assert joined_text(resources[0]).endswith(":repository/sagemaker-xgboost")
    (token,) = [s for s in statements if "ecr:GetAuthorizationToken" in _actions(s)]
    assert _actions(token) == ["ecr:GetAuthorizationToken"]


def test_execution_role_writes_only_its_own_log_group(resources: dict[str, Any]):
    statements = statements_of(resources, "AbEndpointExecutionRole")
    logs = [s for s in statements if any(a.startswith("logs:") for a in _actions(s))]
    assert logs and all("AbEndpointLogs" in json.dumps(s["Resource"]) for s in logs)


def test_execution_role_is_assumed_by_sagemaker_only(template: Template):
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
                ]
            }
        },
    )


@pytest.mark.parametrize("role_prefix", ["SetWeightsHandlerRole", "WeightsOnEventRole", "WeightsIsCompleteRole"])
def test_weight_changers_may_touch_this_endpoint_only(resources: dict[str, Any], role_prefix: str):
    statements = statements_of(resources, role_prefix)
    sagemaker = [s for s in statements if any(a.startswith("sagemaker:") for a in _actions(s))]
    weights, *marker = sagemaker
    assert sorted(_actions(weights)) == ["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"]
    assert all(s["Resource"] == {"Ref": _endpoint_id(resources)} for s in sagemaker)
    if role_prefix == "SetWeightsHandlerRole":
        assert marker == []
        return
    # The weights custom resource writes the serving-since marker, and no other tag.
    (tagging,) = marker
    assert _actions(tagging) == ["sagemaker:AddTags"]
    assert tagging["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": ["abtest:serving-since"]}}


@pytest.mark.parametrize("role_prefix", ["WeightsOnEventRole", "WeightsIsCompleteRole"])
def test_the_weights_resource_may_tag_only_the_serving_since_key_on_this_endpoint(template: Template, role_prefix: str):
    resolved = Resolved(template.to_json(), ENV)
    statements = [
        s
        for r in resolved.of_type("AWS::IAM::Policy").values()
        if role_prefix in json.dumps(r["Properties"]["Roles"])
        for s in resolved.resolve(r["Properties"]["PolicyDocument"])["Statement"]
    ]
    endpoint = f"arn:aws:sagemaker:{ENV.region}:{ENV.account}:endpoint/churn-ab"

    def add_tags(resource: str, *keys: str) -> bool:
        request = Request(("AWS", "role"), "sagemaker:AddTags", resource, {"aws:TagKeys": keys})
        return evaluate(statements, request, ENV).allowed

    assert add_tags(endpoint, "abtest:serving-since")
    assert not add_tags(endpoint, "abtest:serving-since", "owner")
    assert not add_tags(endpoint.replace("churn-ab", "other"), "abtest:serving-since")
    assert not evaluate(statements, Request(("AWS", "role"), "sagemaker:DeleteTags", endpoint), ENV).allowed


def test_no_role_uses_the_account_wide_lambda_basic_execution_policy(resources: dict[str, Any]):
    for name, role in of_type(resources, "AWS::IAM::Role").items():
        assert "ManagedPolicyArns" not in role["Properties"], name


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _endpoint_id(resources: dict[str, Any]) -> str:
    (endpoint_id,) = of_type(resources, "AWS::SageMaker::Endpoint")
    return endpoint_id


# --- set-weights function, dashboard, outputs -----------------------------------------------------


def test_set_weights_function_knows_its_endpoint_and_may_wait_15_minutes(template: Template, resources):
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "set_weights.handler.handle",
            "Timeout": 900,
            "Environment": {"Variables": {"ENDPOINT_NAME": {"Fn::GetAtt": [_endpoint_id(resources), "EndpointName"]}}},
        },
    )


def test_dashboard_shows_invocations_and_model_latency_per_variant(resources: dict[str, Any]):
    (dashboard,) = of_type(resources, "AWS::CloudWatch::Dashboard").values()
    body = joined_text(dashboard["Properties"]["DashboardBody"])
    for text in ('"Invocations"', '"ModelLatency"', '"Variant1"', '"Variant2"', '"AWS/SageMaker"', '"p99"'):
        assert text in body, text


def test_outputs_name_the_endpoint_dashboard_and_set_weights_function(template: Template, resources):
    outputs = template.to_json()["Outputs"]
    assert {"EndpointName", "DashboardUrl", "SetWeightsFunctionName"} <= set(outputs)
    assert outputs["EndpointName"]["Value"] == {"Fn::GetAtt": [_endpoint_id(resources), "EndpointName"]}
    assert "#dashboards:name=" in joined_text(outputs["DashboardUrl"]["Value"])
    (function_id,) = refs_in(outputs["SetWeightsFunctionName"]["Value"])
    assert resources[function_id]["Properties"]["Handler"] == "set_weights.handler.handle"
