"""Each construct on its own, in a bare stack (no cdk-nag): what it creates and grants."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from constructs_lib.ab_endpoint import AbEndpoint
from constructs_lib.config import parse_config
from constructs_lib.config.model import EndpointSpec
from constructs_lib.encryption import EndpointKey
from constructs_lib.execution_role import ModelExecutionRole
from constructs_lib.s3_location import S3Location
from constructs_lib.set_weights_function import SetWeightsFunction
from constructs_lib.variant_weights import VariantWeights
from tests.conftest import read_config


def spec(mutate: Any = None) -> EndpointSpec:
    data = read_config()
    if mutate:
        mutate(data["endpoints"][0])
    return parse_config(data, "test.json").endpoints[0]


def policy_statements(template: Template) -> list[dict[str, Any]]:
    return [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_endpoint_key_is_created_with_rotation_and_lets_cloudwatch_logs_use_it():
    stack = Stack(App(), "S")
    EndpointKey(stack, "Key", key_arn=None, alias_name="alias/ab-test/x")
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [Match.object_like({"Sid": "AllowCloudWatchLogsOfThisAccount", "Effect": "Allow"})]
                )
            },
        },
    )


def test_endpoint_key_from_config_is_imported_not_created():
    stack = Stack(App(), "S")
    arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    key = EndpointKey(stack, "Key", key_arn=arn, alias_name="alias/unused").key
    assert stack.resolve(key.key_arn) == arn
    Template.from_stack(stack).resource_count_is("AWS::KMS::Key", 0)


def _role_template(endpoint: EndpointSpec) -> Template:
    stack = Stack(App(), "S")
    key = EndpointKey(stack, "Key", key_arn=None, alias_name="alias/x").key
    ModelExecutionRole(
        stack,
        "Role",
        variants=endpoint.variants,
        key=key,
        log_group=logs.LogGroup(stack, "Logs"),
        capture=S3Location.parse(endpoint.data_capture.destination_s3_uri)
        if endpoint.data_capture.destination_s3_uri
        else None,
        vpc=endpoint.vpc,
    )
    return Template.from_stack(stack)


def test_execution_role_without_vpc_or_capture_gets_no_ec2_or_s3_write():
    granted = actions(policy_statements(_role_template(spec())))
    assert not {a for a in granted if a.startswith("ec2:")}
    assert "s3:PutObject" not in granted
    assert {"s3:GetObject", "ecr:BatchGetImage", "ecr:GetAuthorizationToken"} <= granted


def test_execution_role_with_vpc_and_capture_gets_exactly_those_extras():
    def options(endpoint: dict[str, Any]) -> None:
        endpoint["vpc"] = {"subnet_ids": ["subnet-0a1b2c3d4e5f60718"], "security_group_ids": ["sg-0123456789abcdef0"]}
        endpoint["data_capture"] = {"sampling_percentage": 5, "destination_s3_uri": "s3://capture-bucket/churn"}

    statements = policy_statements(_role_template(spec(options)))
    (put,) = [s for s in statements if s["Action"] == "s3:PutObject"]
    assert "capture-bucket/churn/*" in json.dumps(put["Resource"])
    assert "ec2:CreateNetworkInterface" in actions(statements)


def test_execution_role_lists_a_shared_repository_once():
    statements = policy_statements(_role_template(spec()))
    (pull,) = [s for s in statements if "ecr:BatchGetImage" in actions([s])]
    assert not isinstance(pull["Resource"], list) or len(pull["Resource"]) == 1


def _endpoint_stack() -> tuple[Stack, AbEndpoint, Any]:
    stack = Stack(App(), "S")
    key = EndpointKey(stack, "Key", key_arn=None, alias_name="alias/x").key
    return stack, AbEndpoint(stack, "Endpoint", spec=spec(), key=key), key


def test_set_weights_function_may_change_only_its_endpoint():
    stack, endpoint, key = _endpoint_stack()
    SetWeightsFunction(stack, "SetWeights", endpoint=endpoint, key=key)
    template = Template.from_stack(stack)
    sagemaker = [s for s in policy_statements(template) if any(a.startswith("sagemaker:") for a in actions([s]))]
    assert len(sagemaker) == 1
    assert sagemaker[0]["Resource"] == {"Ref": stack.get_logical_id(endpoint.endpoint)}


def test_variant_weights_passes_the_given_weights_and_config_name_to_its_resource():
    stack, endpoint, key = _endpoint_stack()
    VariantWeights(stack, "Weights", endpoint=endpoint, weights={"Variant1": 3, "Variant2": 1}, key=key)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "Custom::VariantWeights",
        {
            "Weights": {"Variant1": 3, "Variant2": 1},
            "EndpointConfigName": {
                "Fn::GetAtt": [stack.get_logical_id(endpoint.endpoint_config), "EndpointConfigName"]
            },
        },
    )
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)


def test_endpoint_log_group_goes_with_the_stack():
    stack, endpoint, _ = _endpoint_stack()
    logical_id = stack.get_logical_id(endpoint.log_group.node.default_child)  # type: ignore[arg-type]
    resource = Template.from_stack(stack).to_json()["Resources"][logical_id]
    assert resource["DeletionPolicy"] == "Delete"
