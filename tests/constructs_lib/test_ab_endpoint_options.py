"""Every optional feature of an endpoint, from config/examples/full.json."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.conftest import FULL_CONFIG, read_config
from tests.stacks.test_ab_test_stack import joined_text, of_type, statements_of
from tests.synth import only_template

KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def template() -> Template:
    return only_template(read_config(FULL_CONFIG))


@pytest.fixture(scope="module")
def resources(template: Template) -> dict[str, Any]:
    return template.to_json()["Resources"]


def test_imported_key_is_used_and_no_key_is_created(template: Template):
    template.resource_count_is("AWS::KMS::Key", 0)
    template.has_resource_properties("AWS::SageMaker::EndpointConfig", {"KmsKeyId": KEY_ARN})


def test_explicit_ecr_image_is_used_as_given(template: Template):
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "PrimaryContainer": {
                "Image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud-model:2026-11-01",
                "ModelDataUrl": "s3://my-ml-models/fraud/challenger/model.tar.gz",
                "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"},
            }
        },
    )


def test_model_package_variant_uses_the_registry_arn(template: Template):
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "PrimaryContainer": {
                "ModelPackageName": "arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud-models/7"
            }
        },
    )


def test_models_run_in_the_vpc_with_network_isolation(resources: dict[str, Any]):
    models = of_type(resources, "AWS::SageMaker::Model").values()
    assert len(models) == 3
    for model in models:
        props = model["Properties"]
        assert props["EnableNetworkIsolation"] is True
        assert props["VpcConfig"] == {
            "SecurityGroupIds": ["sg-0123456789abcdef0"],
            "Subnets": ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60718"],
        }


def test_data_capture_is_encrypted_and_captures_both_directions(template: Template):
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": 20,
                "DestinationS3Uri": "s3://my-ml-data-capture/fraud-ab/",
                "KmsKeyId": KEY_ARN,
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            }
        },
    )


def test_endpoint_config_lists_variants_sorted_by_name(template: Template):
    config = template.find_resources("AWS::SageMaker::EndpointConfig")
    (body,) = config.values()
    names = [v["VariantName"] for v in body["Properties"]["ProductionVariants"]]
    assert names == ["challenger", "champion", "registry-candidate"]


def test_autoscaling_only_where_configured(template: Template):
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 1)
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "MinCapacity": 2,
            "MaxCapacity": 6,
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "ServiceNamespace": "sagemaker",
            "ResourceId": {"Fn::Join": ["", ["endpoint/", Match.any_value(), "/variant/champion"]]},
        },
    )
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 750,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                "ScaleInCooldown": 300,
                "ScaleOutCooldown": 60,
            },
        },
    )


def test_scalable_target_waits_for_the_endpoint(resources: dict[str, Any]):
    (target,) = of_type(resources, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    (endpoint_id,) = of_type(resources, "AWS::SageMaker::Endpoint")
    assert endpoint_id in target["DependsOn"]


def test_weight_parameters_default_to_each_variants_config_weight(template: Template):
    parameters = template.to_json()["Parameters"]
    assert parameters["Weightchampion"]["Default"] == 80
    assert parameters["Weightchallenger"]["Default"] == 20
    assert parameters["Weightregistrycandidate"]["Default"] == 0


def test_execution_role_scopes_every_s3_and_ecr_grant(resources: dict[str, Any]):
    statements = statements_of(resources, "AbEndpointExecutionRole")
    by_action = {}
    for s in statements:
        for action in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
            by_action.setdefault(action, []).append(s["Resource"])
    read = sorted(joined_text(r) for resources_ in by_action["s3:GetObject"] for r in resources_)
    assert read == [
        "arn::s3:::my-ml-models/fraud/challenger/model.tar.gz",
        "arn::s3:::my-ml-models/fraud/champion/model.tar.gz",
        "arn::s3:::my-ml-models/fraud/registry/*",
    ]
    (write,) = by_action["s3:PutObject"]
    # This endpoint's captures only: SageMaker writes <destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/.
    assert joined_text(write) == "arn::s3:::my-ml-data-capture/fraud-ab/fraud-ab/*"
    pulled = json.dumps(by_action["ecr:BatchGetImage"])
    assert "arn:aws:ecr:eu-west-1:111122223333:repository/fraud-model" in pulled
    assert ":repository/sagemaker-xgboost" in pulled
    assert "ec2:CreateNetworkInterface" in by_action


def test_with_autoscaling_instance_counts_are_retained_too(resources: dict[str, Any]):
    """Otherwise each config change would cut a scaled-out variant back to its initial count."""
    (endpoint,) = of_type(resources, "AWS::SageMaker::Endpoint").values()
    assert endpoint["Properties"]["RetainAllVariantProperties"] is True
    assert "ExcludeRetainedVariantProperties" not in endpoint["Properties"]


def test_the_canary_names_its_rollback_alarms_which_stay_out_of_the_paging_composite(resources: dict[str, Any]):
    """config/examples/full.json deploys model updates as a canary: two new-fleet alarms per variant, named by
    the endpoint's AutoRollbackConfiguration and not rolled into the composite (they page nobody)."""
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    rollback = {k for k in alarms if "DeploymentAlarms" in k}
    assert len(rollback) == 6
    (endpoint,) = of_type(resources, "AWS::SageMaker::Endpoint").values()
    deployment = endpoint["Properties"]["DeploymentConfig"]
    assert {a["AlarmName"]["Ref"] for a in deployment["AutoRollbackConfiguration"]["Alarms"]} == rollback
    assert deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["CanarySize"] == {
        "Type": "CAPACITY_PERCENT",
        "Value": 50,
    }
    (composite,) = of_type(resources, "AWS::CloudWatch::CompositeAlarm").values()
    rule = json.dumps(composite["Properties"]["AlarmRule"])
    assert any(k in rule for k in alarms if k not in rollback), "the composite should roll up the variant alarms"
    assert not any(k in rule for k in rollback)
