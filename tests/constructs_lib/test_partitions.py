"""Partitions: every ARN fits its own region's partition; a pinned stack refuses references to another one.

Rule: an ARN's second field is the partition of the region it names (AWS General Reference, "Amazon
Resource Names (ARNs)": aws, aws-cn, aws-us-gov, …); IAM matches ARNs literally, so a grant on
``arn:aws:ecr:us-gov-west-1:…`` matches no GovCloud repository. The region → partition table is
botocore's ``partitions.json``.
"""

from __future__ import annotations

import json

import pytest

from constructs_lib.config import ConfigError, EcrImage, parse_config
from constructs_lib.config.partitions import check_pinned_references
from constructs_lib.config.service_model import partition_of_region
from constructs_lib.images import repository_arn
from tests.conftest import FULL_CONFIG, read_config


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("eu-west-1", "aws"),
        ("mx-central-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-gov-east-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("moon-base-1", None),
    ],
)
def test_partition_of_region_follows_botocores_table(region: str, partition: str | None):
    assert partition_of_region(region) == partition


def _full_with(mutate) -> dict:
    data = read_config(FULL_CONFIG)
    mutate(data["endpoints"][0])
    return data


def _image_variant(endpoint: dict) -> dict:
    return next(v for v in endpoint["variants"] if "image_uri" in v["model"])


def test_a_govcloud_image_is_pulled_from_a_govcloud_repository():
    def to_gov(endpoint: dict) -> None:
        model = _image_variant(endpoint)["model"]
        model["image_uri"] = model["image_uri"].replace("eu-west-1", "us-gov-west-1")

    config = parse_config(_full_with(to_gov), "gov.json")
    images = [
        v.model.image for v in config.endpoints[0].variants if isinstance(getattr(v.model, "image", None), EcrImage)
    ]
    assert [i.partition for i in images] == ["aws-us-gov"]
    assert repository_arn(None, images[0]).startswith("arn:aws-us-gov:ecr:us-gov-west-1:")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda e: e.__setitem__("kms_key_arn", "arn:aws:kms:cn-north-1:111122223333:key/abc"),
            'endpoint "fraud-ab" > kms_key_arn: names region cn-north-1, which is in partition aws-cn, not aws',
        ),
        (
            lambda e: _image_variant(e)["model"].__setitem__(
                "image_uri", "111122223333.dkr.ecr.cn-north-1.amazonaws.com/fraud-model:1"
            ),
            "region cn-north-1 of the image does not fit its host name",
        ),
    ],
)
def test_an_arn_whose_partition_does_not_fit_its_region_is_refused(mutate, message: str):
    with pytest.raises(ConfigError) as refused:
        parse_config(_full_with(mutate), "bad.json")
    assert message in str(refused.value)


def test_a_pinned_stack_refuses_every_reference_to_another_partition():
    config = parse_config(read_config(FULL_CONFIG), "full.json")
    with pytest.raises(ConfigError) as refused:
        check_pinned_references(config, "cn-north-1")
    problems = refused.value.problems
    assert len(problems) == 4, problems
    assert all("is in partition aws, but the stacks deploy to cn-north-1 in partition aws-cn" in p for p in problems)
    assert any('variant "challenger" > model > image_uri' in p for p in problems)
    check_pinned_references(config, "eu-west-1")  # the same config is fine where it lives
    check_pinned_references(parse_config(read_config(), "default.json"), "us-gov-west-1")  # built-in images only


def test_a_pinned_stack_refuses_a_kms_key_of_another_region():
    """KMS keys are regional (AWS KMS Developer Guide: a key is used in the Region it was created in;
    a multi-Region replica has its own ARN there)."""
    config = parse_config(read_config(FULL_CONFIG), "full.json")
    with pytest.raises(ConfigError) as refused:
        check_pinned_references(config, "us-east-1")
    (problem,) = refused.value.problems
    assert (
        'endpoint "fraud-ab" > kms_key_arn: a key in region eu-west-1 cannot encrypt resources in us-east-1' in problem
    )
    check_pinned_references(parse_config(read_config(), "default.json"), "us-gov-west-1")  # built-in images only


def test_a_region_no_partition_claims_is_refused():
    with pytest.raises(ConfigError, match="region moon-base-1 belongs to no known AWS partition"):
        check_pinned_references(parse_config(read_config(), "default.json"), "moon-base-1")


def test_the_table_is_read_from_botocore():
    import botocore

    from constructs_lib.config.service_model import DATA

    data = json.loads((DATA / "partitions.json").read_text())
    assert DATA.is_relative_to(botocore.__path__[0])
    assert {p["id"] for p in data["partitions"]} >= {"aws", "aws-cn", "aws-us-gov"}
