"""A pinned stack lives in one partition and region; the ARNs the config names must fit them.

An environment-agnostic template can deploy anywhere, so the loader only checks that each ARN's
partition fits its own region. Once the CDK CLI pins the stacks (it does whenever it finds
credentials), the target partition is known, and a key, model package, image or repository in
another partition (``arn:aws:…`` in a ``cn-north-1`` stack) can never be used there: IAM grants
on it match nothing and SageMaker cannot reach it. That is refused at synth, located, before any
template is written.
"""

from __future__ import annotations

from collections.abc import Iterator

from constructs_lib.config.loader import ConfigError
from constructs_lib.config.model import AppConfig, ContainerModel, EcrImage, PackageModel
from constructs_lib.config.service_model import partition_of_region


def _arn_partition(arn: str) -> str:
    return arn.split(":", 2)[1]


def _references(config: AppConfig) -> Iterator[tuple[str, str, str]]:
    """(location, field value, its partition) for every partitioned reference in the config."""
    for endpoint in config.endpoints:
        where = f'{config.source}: endpoint "{endpoint.name}"'
        if endpoint.kms_key_arn:
            yield f"{where} > kms_key_arn", endpoint.kms_key_arn, _arn_partition(endpoint.kms_key_arn)
        for variant in endpoint.variants:
            at = f'{where} > variant "{variant.name}" > model'
            model = variant.model
            if isinstance(model, ContainerModel) and isinstance(model.image, EcrImage):
                yield f"{at} > image_uri", model.image.uri, model.image.partition
            if isinstance(model, PackageModel):
                yield f"{at} > model_package_arn", model.model_package_arn, _arn_partition(model.model_package_arn)
                if model.image_repository_arn:
                    repository = model.image_repository_arn
                    yield f"{at} > image_repository_arn", repository, _arn_partition(repository)


def _keys_in_other_regions(config: AppConfig, region: str, partition: str) -> Iterator[str]:
    """KMS keys are regional: a key ARN names the one region where it can be used (a multi-Region
    key's replica has its own ARN there) — AWS KMS Developer Guide, "Multi-Region keys" / key ARNs.
    A key of another partition is already reported as such."""
    for endpoint in config.endpoints:
        key = endpoint.kms_key_arn
        if key and _arn_partition(key) == partition and key.split(":")[3] != region:
            yield (
                f'{config.source}: endpoint "{endpoint.name}" > kms_key_arn: a key in region {key.split(":")[3]} '
                f"cannot encrypt resources in {region}, where the stacks deploy (got {key})"
            )


def check_pinned_references(config: AppConfig, region: str) -> None:
    """Raise :class:`ConfigError` naming every reference outside ``region``'s partition, and every KMS
    key outside ``region`` itself."""
    partition = partition_of_region(region)
    if partition is None:
        raise ConfigError(config.source, [f"{config.source}: region {region} belongs to no known AWS partition"])
    problems = [
        f"{where}: is in partition {found}, but the stacks deploy to {region} in partition {partition} (got {value})"
        for where, value, found in _references(config)
        if found != partition
    ]
    problems += list(_keys_in_other_regions(config, region, partition))
    if problems:
        raise ConfigError(config.source, problems)
