"""The evaluation function and its bucket: least privilege, encryption, and the outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.conftest import read_config
from tests.stacks.test_ab_test_stack import joined_text
from tests.synth import only_template


@pytest.fixture(scope="module")
def template() -> Template:
    return only_template(read_config())


def evaluation_statements(template: Template) -> list[dict[str, Any]]:
    (function_id,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "evaluate.handler.handle"}}
    )
    role = template.to_json()["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_function_has_the_time_and_cpu_an_evaluation_needs(template: Template):
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "evaluate.handler.handle",
            "Timeout": 900,
            "MemorySize": 1769,
            "Environment": {
                "Variables": Match.object_like({"REPORT_PREFIX": "reports/", "METRICS_NAMESPACE": "SageMakerABTesting"})
            },
        },
    )


def test_it_may_invoke_and_describe_this_endpoint_only(template: Template):
    (statement,) = [s for s in evaluation_statements(template) if "sagemaker:InvokeEndpoint" in s["Action"]]
    assert sorted(statement["Action"]) == ["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"]
    (endpoint_id,) = template.find_resources("AWS::SageMaker::Endpoint")
    assert statement["Resource"] == {"Ref": endpoint_id}


def test_it_reads_datasets_and_writes_reports_only(template: Template):
    statements = evaluation_statements(template)
    s3_resources = {
        joined_text(r)
        for s in statements
        if any(a.startswith("s3:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
        for r in ([s["Resource"]] if not isinstance(s["Resource"], list) else s["Resource"])
    }
    object_arns = {r for r in s3_resources if r.endswith("*")}
    assert object_arns == {"/datasets/*", "/reports/*"}
    writes = [s for s in statements if "s3:PutObject" in s["Action"]]
    assert all(joined_text(s["Resource"]).endswith("/reports/*") for s in writes)


def test_bucket_is_kms_encrypted_versioned_private_and_logged(template: Template):
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like({"ServerSideEncryptionByDefault": Match.object_like({"SSEAlgorithm": "aws:kms"})})
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "evaluation-bucket/"}),
        },
    )


def test_buckets_refuse_plain_http(template: Template):
    policies = template.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        assert "aws:SecureTransport" in json.dumps(policy)


def test_a_configured_bucket_is_used_instead_of_creating_one():
    data = read_config()
    data["endpoints"][0]["evaluation"] = {"report_bucket_name": "my-team-ml-evaluations"}
    template = only_template(data)
    template.resource_count_is("AWS::S3::Bucket", 0)
    outputs = template.to_json()["Outputs"]
    assert outputs["EvaluationBucketName"]["Value"] == "my-team-ml-evaluations"
    assert "my-team-ml-evaluations/reports/*" in json.dumps(template.find_resources("AWS::IAM::Policy"))


def test_outputs_name_the_function_and_the_bucket(template: Template):
    outputs = template.to_json()["Outputs"]
    assert {"EvaluationFunctionName", "EvaluationBucketName"} <= set(outputs)
