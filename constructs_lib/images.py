"""Turn a config image (built-in shorthand or ECR URI) into template values.

Built-in images resolve through one ``CfnMapping`` per algorithm and stack, keyed by region,
so the same template deploys to any listed region with no lookup at synth.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping, Stack
from constructs import Construct

from constructs_lib.builtin_images import BUILTIN_ALGORITHMS
from constructs_lib.config.model import BuiltinImage, EcrImage
from constructs_lib.synth_checks import is_concrete, refuse_synth

Image = BuiltinImage | EcrImage


def _registry_account(scope: Construct, algorithm: str) -> str:
    """The ECR registry account of ``algorithm`` in the deployment region (``Fn::FindInMap``)."""
    stack = Stack.of(scope)
    mapping_id = f"{algorithm.capitalize()}ImageRegistries"
    mapping = stack.node.try_find_child(mapping_id)
    if mapping is None:
        registries = BUILTIN_ALGORITHMS[algorithm].registries
        mapping = CfnMapping(
            stack, mapping_id, mapping={region: {"account": account} for region, account in sorted(registries.items())}
        )
        if is_concrete(stack.region) and stack.region not in registries:
            # Pinned to a region the table lacks: Fn::FindInMap would fail the deploy, so fail synth now.
            refuse_synth(
                mapping,
                f"built-in {algorithm} images are not listed for region {stack.region} "
                f"(constructs_lib/builtin_images.py knows {len(registries)} regions): use image_uri, or add the region",
            )
    assert isinstance(mapping, CfnMapping)
    return mapping.find_in_map(Aws.REGION, "account")


def image_uri(scope: Construct, image: Image) -> str:
    if isinstance(image, EcrImage):
        return image.uri
    algorithm = BUILTIN_ALGORITHMS[image.algorithm]
    account = _registry_account(scope, image.algorithm)
    tag = algorithm.tags_by_version[image.version]
    return f"{account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{algorithm.repository}:{tag}"


def repository_arn(scope: Construct, image: Image) -> str:
    """The ECR repository the image is pulled from, for a pull grant scoped to it."""
    if isinstance(image, EcrImage):
        return f"arn:{image.partition}:ecr:{image.region}:{image.account}:repository/{image.repository}"
    algorithm = BUILTIN_ALGORITHMS[image.algorithm]
    account = _registry_account(scope, image.algorithm)
    return f"arn:{Aws.PARTITION}:ecr:{Aws.REGION}:{account}:repository/{algorithm.repository}"
