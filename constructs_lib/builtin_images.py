"""Built-in SageMaker algorithm images, resolved per region without network access.

SageMaker publishes each built-in algorithm image from an ECR registry *per region*, owned by
an AWS account that differs by region. The SageMaker Python SDK resolves these with a JSON table
at run time; a CDK app must not call that SDK (no network, no "latest" at synth), so the table
is kept here and turned into a ``CfnMapping`` keyed by region. The template then stays
region-agnostic: CloudFormation picks the account with ``Fn::FindInMap`` at deploy time.

Source of the figures: the ``sagemaker-xgboost`` inference registries published by AWS for
the SageMaker Python SDK (the same account serves every listed framework version).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class BuiltinAlgorithm:
    """One built-in algorithm: its repository, version → tag, and region → registry account."""

    repository: str
    tags_by_version: Mapping[str, str]
    registries: Mapping[str, str]


_XGBOOST_REGISTRIES = MappingProxyType(
    {
        "af-south-1": "510948584623",
        "ap-east-1": "651117190479",
        "ap-northeast-1": "354813040037",
        "ap-northeast-2": "366743142698",
        "ap-northeast-3": "867004704886",
        "ap-south-1": "720646828776",
        "ap-south-2": "628508329040",
        "ap-southeast-1": "121021644041",
        "ap-southeast-2": "783357654285",
        "ap-southeast-3": "951798379941",
        "ap-southeast-4": "106583098589",
        "ca-central-1": "341280168497",
        "ca-west-1": "190319476487",
        "cn-north-1": "450853457545",
        "cn-northwest-1": "451049120500",
        "eu-central-1": "492215442770",
        "eu-central-2": "680994064768",
        "eu-north-1": "662702820516",
        "eu-south-1": "978288397137",
        "eu-south-2": "104374241257",
        "eu-west-1": "141502667606",
        "eu-west-2": "764974769150",
        "eu-west-3": "659782779980",
        "il-central-1": "898809789911",
        "me-central-1": "272398656194",
        "me-south-1": "801668240914",
        "sa-east-1": "737474898029",
        "us-east-1": "683313688378",
        "us-east-2": "257758044811",
        "us-gov-east-1": "237065988967",
        "us-gov-west-1": "414596584902",
        "us-west-1": "746614075791",
        "us-west-2": "246618743249",
    }
)

BUILTIN_ALGORITHMS: Mapping[str, BuiltinAlgorithm] = MappingProxyType(
    {
        "xgboost": BuiltinAlgorithm(
            repository="sagemaker-xgboost",
            # The oldest containers carry the processor and Python version in the tag.
            tags_by_version=MappingProxyType(
                {
                    "0.90-1": "0.90-1-cpu-py3",
                    "0.90-2": "0.90-2-cpu-py3",
                    "1.0-1": "1.0-1-cpu-py3",
                    "1.2-1": "1.2-1",
                    "1.2-2": "1.2-2",
                    "1.3-1": "1.3-1",
                    "1.5-1": "1.5-1",
                    "1.7-1": "1.7-1",
                }
            ),
            registries=_XGBOOST_REGISTRIES,
        ),
    }
)
