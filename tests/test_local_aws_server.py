"""The parts of `scripts/local_aws.py serve` that need no server: the dependency order updates
follow, the moto version pin, the CLI's environment. The server itself is exercised by
tests/e2e/test_cli_lifecycle.py through the real CDK CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import moto
import pytest

from scripts import local_aws
from scripts.local_aws import ADAPTATIONS, MOTO_VERSION, cli_environment, dependency_order

SNAPSHOT = Path(__file__).parent / "stacks" / "__snapshots__" / "default_app.json"


def test_dependency_order_follows_ref_getatt_sub_and_depends_on():
    resources = {
        "Weights": {"Properties": {"Endpoint": {"Fn::GetAtt": ["Endpoint", "EndpointName"]}}},
        "Endpoint": {"Properties": {"Config": {"Fn::GetAtt": "Config.EndpointConfigName"}}, "DependsOn": "Logs"},
        "Config": {"Properties": {"Role": {"Fn::Sub": "${Role.Arn}/x/${!Literal}"}}},
        "Role": {"Properties": {"Name": {"Ref": "AWS::StackName"}}},
        "Logs": {"Properties": {}},
    }
    order = dependency_order(resources)
    assert order.index("Role") < order.index("Config") < order.index("Endpoint") < order.index("Weights")
    assert order.index("Logs") < order.index("Endpoint")
    assert sorted(order) == sorted(resources)


def test_dependency_order_refuses_a_cycle():
    with pytest.raises(ValueError, match="circular"):
        dependency_order({"A": {"Properties": {"x": {"Ref": "B"}}}, "B": {"Properties": {"x": {"Ref": "A"}}}})


def test_in_the_default_app_the_weights_resource_comes_after_the_endpoint_it_updates():
    resources = json.loads(SNAPSHOT.read_text())["AbTest-churn-ab"]["Resources"]
    order = dependency_order(resources)
    (endpoint,) = [k for k, v in resources.items() if v["Type"] == "AWS::SageMaker::Endpoint"]
    (config,) = [k for k, v in resources.items() if v["Type"] == "AWS::SageMaker::EndpointConfig"]
    (weights,) = [k for k, v in resources.items() if v["Type"].startswith("Custom::")]
    assert order.index(config) < order.index(endpoint) < order.index(weights)


def test_the_server_refuses_a_moto_version_it_was_not_written_for():
    with pytest.raises(SystemExit, match=f"adapts moto {MOTO_VERSION}; this is moto 9.9.9"):
        local_aws.check_moto_version("9.9.9")
    local_aws.check_moto_version(MOTO_VERSION)


def test_the_pinned_version_is_the_installed_one():
    assert moto.__version__ == MOTO_VERSION, "requirements-dev.txt and scripts/local_aws.py disagree"


def test_without_names_only_known_adaptations(capsys):
    with pytest.raises(SystemExit):
        local_aws.main(["serve", "--without", "everything"])
    assert "invalid choice: 'everything'" in capsys.readouterr().err
    assert set(ADAPTATIONS) == {
        "resource_types",
        "catalog_types",
        "cloudtrail_lookup",
        "lambda_runtime",
        "change_sets",
        "ssm_parameters",
        "custom_resources",
        "shadow_variants",
    }


def test_the_cli_environment_stays_on_loopback_and_names_localhost_for_template_urls():
    env = cli_environment("http://127.0.0.1:4566")
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION"] == "http://localhost:4566"
    assert env["AWS_EC2_METADATA_DISABLED"] == "true" and env["CDK_DISABLE_CLI_TELEMETRY"] == "true"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_REGION"] == "us-east-1"


def _endpoint_moved(*, retain_all: bool, excluded: set[str]) -> dict[str, float]:
    """An endpoint on config A (Variant1, Variant2) set to 0/100 by API, then moved to config B
    (Variant2 only, initial weight 1) as the server's UpdateEndpoint does; its live weights."""
    import boto3
    from moto import mock_aws

    from scripts.local_aws import ACCOUNT, REGION, move_endpoint_to_config

    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        role = f"arn:aws:iam::{ACCOUNT}:role/local"
        for name in ("m1", "m2"):
            sagemaker.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={"Image": "img"})

        def variant(name: str, model: str) -> dict[str, Any]:
            return {
                "VariantName": name,
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "InitialVariantWeight": 1,
            }

        sagemaker.create_endpoint_config(
            EndpointConfigName="a", ProductionVariants=[variant("Variant1", "m1"), variant("Variant2", "m2")]
        )
        sagemaker.create_endpoint_config(EndpointConfigName="b", ProductionVariants=[variant("Variant2", "m2")])
        sagemaker.create_endpoint(EndpointName="ep", EndpointConfigName="a")
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName="ep",
            DesiredWeightsAndCapacities=[
                {"VariantName": "Variant1", "DesiredWeight": 0},
                {"VariantName": "Variant2", "DesiredWeight": 100},
            ],
        )
        assert move_endpoint_to_config("ep", "b", retain_all=retain_all, excluded=excluded)
        assert not move_endpoint_to_config("ep", "b", retain_all=retain_all, excluded=excluded)
        described = sagemaker.describe_endpoint(EndpointName="ep")
        assert described["EndpointConfigName"] == "b"
        return {v["VariantName"]: v["CurrentWeight"] for v in described["ProductionVariants"]}


def test_update_endpoint_keeps_live_weights_with_retain_all_variant_properties():
    """The stack's setting: RetainAllVariantProperties, DesiredInstanceCount excluded."""
    assert _endpoint_moved(retain_all=True, excluded={"DesiredInstanceCount"}) == {"Variant2": 100.0}


def test_update_endpoint_takes_the_configs_weights_otherwise():
    assert _endpoint_moved(retain_all=False, excluded=set()) == {"Variant2": 1.0}
    assert _endpoint_moved(retain_all=True, excluded={"DesiredWeight"}) == {"Variant2": 1.0}


def test_glue_and_athena_resources_live_in_moto_s_backends_and_go_with_the_stack():
    """moto's CloudFormation skips these types; the catalog_types adaptation creates them in moto's
    Glue and Athena backends (in process here, as the server does) and deletes them with the stack."""
    import boto3
    from moto import mock_aws

    local_aws._adapt_catalog_types()  # registers models; other templates are unaffected
    template = {
        "Resources": {
            "Database": {
                "Type": "AWS::Glue::Database",
                "Properties": {"CatalogId": {"Ref": "AWS::AccountId"}, "DatabaseInput": {"Name": "sagemaker_ab_x"}},
            },
            "Table": {
                "Type": "AWS::Glue::Table",
                "Properties": {
                    "CatalogId": {"Ref": "AWS::AccountId"},
                    "DatabaseName": {"Ref": "Database"},
                    "TableInput": {
                        "Name": "capture_raw",
                        "Parameters": {"projection.enabled": "true"},
                        "PartitionKeys": [{"Name": "hour", "Type": "string"}],
                        "StorageDescriptor": {"Columns": [{"Name": "line", "Type": "string"}]},
                    },
                },
            },
            "WorkGroup": {
                "Type": "AWS::Athena::WorkGroup",
                "Properties": {
                    "Name": "sagemaker-ab-x-live-quality",
                    "WorkGroupConfiguration": {"BytesScannedCutoffPerQuery": 10000000},
                },
            },
        },
        "Outputs": {"Db": {"Value": {"Ref": "Database"}}, "Wg": {"Value": {"Ref": "WorkGroup"}}},
    }
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        glue = boto3.client("glue", region_name="us-east-1")
        athena = boto3.client("athena", region_name="us-east-1")
        cloudformation.create_stack(StackName="catalog", TemplateBody=json.dumps(template))
        (stack,) = cloudformation.describe_stacks(StackName="catalog")["Stacks"]
        assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == {
            "Db": "sagemaker_ab_x",
            "Wg": "sagemaker-ab-x-live-quality",
        }
        table = glue.get_table(DatabaseName="sagemaker_ab_x", Name="capture_raw")["Table"]
        assert table["Parameters"] == {"projection.enabled": "true"}
        assert table["PartitionKeys"] == [{"Name": "hour", "Type": "string"}]
        workgroup = athena.get_work_group(WorkGroup="sagemaker-ab-x-live-quality")["WorkGroup"]
        assert workgroup["Configuration"]["BytesScannedCutoffPerQuery"] == 10000000

        cloudformation.delete_stack(StackName="catalog")
        assert glue.get_databases()["DatabaseList"] == []
        names = [w["Name"] for w in athena.list_work_groups()["WorkGroups"]]
        assert "sagemaker-ab-x-live-quality" not in names


def shadow_trial(adapted: bool) -> dict[str, Any]:
    """With the shadow_variants adaptation (or without), on in-process moto: what DescribeEndpointConfig and
    DescribeEndpoint say of a shadow, before and after the endpoint moves to a config without one. Run it in
    a subprocess (:func:`_shadow_trial`): the adaptation patches moto's classes for good."""
    import boto3
    from moto import mock_aws

    from scripts.local_aws import ACCOUNT, REGION, move_endpoint_to_config

    if adapted:
        local_aws._adapt_shadow_variants()

    def variant(name: str, model: str, weight: float) -> dict[str, Any]:
        return {
            "VariantName": name,
            "ModelName": model,
            "InstanceType": "ml.m5.xlarge",
            "InitialInstanceCount": 1,
            "InitialVariantWeight": weight,
        }

    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        role = f"arn:aws:iam::{ACCOUNT}:role/local"
        for name in ("current", "candidate"):
            sagemaker.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={"Image": "img"})
        production = [variant("Current", "current", 1.0)]
        sagemaker.create_endpoint_config(
            EndpointConfigName="shadow",
            ProductionVariants=production,
            ShadowProductionVariants=[variant("Candidate", "candidate", 0.2)],
        )
        sagemaker.create_endpoint_config(EndpointConfigName="ab", ProductionVariants=production)
        refused = ""
        try:
            sagemaker.create_endpoint_config(
                EndpointConfigName="bad",
                ProductionVariants=production,
                ShadowProductionVariants=[variant("Candidate", "missing", 0.2)],
            )
        except sagemaker.exceptions.ClientError as err:
            refused = err.response["Error"]["Message"]
        sagemaker.create_endpoint(EndpointName="ep", EndpointConfigName="shadow")
        shown = sagemaker.describe_endpoint(EndpointName="ep")
        move_endpoint_to_config("ep", "ab", retain_all=True, excluded={"DesiredWeight"})
        return {
            "config": sagemaker.describe_endpoint_config(EndpointConfigName="shadow").get("ShadowProductionVariants"),
            "endpoint": shown.get("ShadowProductionVariants"),
            "after_update": sagemaker.describe_endpoint(EndpointName="ep").get("ShadowProductionVariants"),
            "refused": refused,
            "configs": sorted(c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]),
        }


def _shadow_trial(adapted: bool) -> dict[str, Any]:
    import subprocess
    import sys

    program = (
        f"import json; from tests.test_local_aws_server import shadow_trial; print(json.dumps(shadow_trial({adapted})))"
    )
    root = Path(__file__).resolve().parent.parent
    completed = subprocess.run(
        [sys.executable, "-c", program], cwd=root, capture_output=True, text=True, check=True, timeout=120
    )
    result: dict[str, Any] = json.loads(completed.stdout.splitlines()[-1])
    return result


def test_shadow_variants_are_kept_and_describe_endpoint_lists_the_current_configs_shadow():
    """DescribeEndpoint's ShadowProductionVariants are ProductionVariantSummary objects (API reference);
    the weight is the config's, the shadow follows the endpoint to a new config (here: one without)."""
    adapted = _shadow_trial(True)
    assert adapted["config"][0]["VariantName"] == "Candidate"
    assert adapted["endpoint"] == [
        {
            "VariantName": "Candidate",
            "CurrentWeight": 0.2,
            "DesiredWeight": 0.2,
            "CurrentInstanceCount": 1,
            "DesiredInstanceCount": 1,
        }
    ]
    assert adapted["after_update"] is None
    assert "Could not find model" in adapted["refused"] and "bad" not in adapted["configs"]


def test_without_the_adaptation_moto_drops_the_shadow():
    plain = _shadow_trial(False)
    assert (plain["config"], plain["endpoint"], plain["refused"]) == (None, None, "")
    assert "bad" in plain["configs"], "moto does not check the shadow's model"
