"""Finding ids derived from the policy's own values, spelled exactly as cdk-nag spells them."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import cdk_nag
import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_s3 as s3

from constructs_lib.acknowledge import nag_spelling, wildcard_resource_finding

CASES = [
    "*",
    "arn:${AWS::Partition}:s3:::bucket/*",
    {"Ref": "AWS::Region"},
    {"Fn::GetAtt": ["Bucket83908E77", "Arn"]},
    {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket83908E77", "Arn"]}, "/datasets/*"]]},
    {"Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, "states", {"Ref": "AWS::Region"}, "111122223333", "x:*"]]},
    {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:*"},
    {"Fn::ImportValue": "Exported"},
    {"Fn::FindInMap": ["Map", "us-east-1", "account"]},
]


@pytest.fixture(scope="module")
def cdk_nag_flatten(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cdk-nag's own flattenCfnReference, from the JavaScript bundled in the installed cdk_nag package."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    bundle = next((Path(cdk_nag.__file__).parent / "_jsii").glob("*.tgz"))
    root = tmp_path_factory.mktemp("cdk-nag")
    with tarfile.open(bundle) as archive:
        archive.extract("package/lib/utils/flatten-cfn-reference.js", root, filter="data")
    return root / "package" / "lib" / "utils" / "flatten-cfn-reference.js"


def test_spelling_matches_cdk_nags_own_flattening(cdk_nag_flatten: Path):
    script = (
        f"const {{ flattenCfnReference }} = require({json.dumps(str(cdk_nag_flatten))});"
        f"console.log(JSON.stringify({json.dumps(CASES)}.map(flattenCfnReference)));"
    )
    expected = json.loads(subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout)
    assert [nag_spelling(case) for case in CASES] == expected


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (None, "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:x:*]"),
        (
            Environment(account="111122223333", region="cn-north-1"),
            "AwsSolutions-IAM5[Resource::arn:aws-cn:states:cn-north-1:111122223333:execution:x:*]",
        ),
    ],
)
def test_a_finding_id_follows_the_stacks_environment(env: Environment | None, expected: str):
    stack = Stack(App(context={"@aws-cdk/core:enablePartitionLiterals": True}), "S", env=env)
    arn = f"arn:{stack.partition}:states:{stack.region}:{stack.account}:execution:x:*"
    assert wildcard_resource_finding(stack, arn) == expected


def test_a_finding_id_for_a_bucket_prefix_names_the_bucket_by_logical_id():
    stack = Stack(App(), "S")
    bucket = s3.Bucket(stack, "Bucket")
    finding = wildcard_resource_finding(stack, bucket.arn_for_objects("datasets/*"))
    assert finding == f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(bucket.node.default_child)}.Arn>/datasets/*]"
