"""Typed, frozen description of the endpoints to deploy.

These objects are what the constructs take as props. They are built only by
:func:`constructs_lib.config.loader.load_config`, which rejects bad input, so every
instance here is already valid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field


def weight_parameter_name(variant_name: str) -> str:
    """The CloudFormation parameter that carries a variant's weight.

    ``Variant1`` → ``WeightVariant1``; ``model-b`` → ``Weightmodelb``: logical IDs are
    alphanumeric, so every other character is dropped and a pipeline can derive the name
    from the variant name alone. The loader rejects configs where two variants collide.
    """
    return "Weight" + re.sub(r"[^A-Za-z0-9]", "", variant_name)


def stack_name_of(endpoint_name: str) -> str:
    """The CloudFormation stack that deploys endpoint ``endpoint_name``: ``AbTest-<name>``.

    Operators and pipelines find everything else (the endpoint's physical name, the functions,
    the rollout state machine) from this stack's outputs.
    """
    return f"AbTest-{endpoint_name}"


@dataclass(frozen=True)
class BuiltinImage:
    """A built-in SageMaker algorithm image, e.g. ``xgboost`` at ``0.90-1``."""

    algorithm: str
    version: str


@dataclass(frozen=True)
class EcrImage:
    """An explicit ECR image URI, with the parts IAM needs to grant a pull on it."""

    uri: str
    account: str
    region: str
    repository: str
    partition: str


@dataclass(frozen=True)
class ContainerModel:
    """A model served from a container image and a ``model.tar.gz`` in S3."""

    image: BuiltinImage | EcrImage
    model_data_url: str

    @property
    def model_data_bucket(self) -> str:
        return self.model_data_url[len("s3://") :].split("/", 1)[0]

    @property
    def model_data_key(self) -> str:
        return self.model_data_url[len("s3://") :].split("/", 1)[1]


@dataclass(frozen=True)
class PackageModel:
    """A versioned model package from the SageMaker model registry.

    ``artifacts_s3_uri`` (default: none) is the S3 prefix holding the package's artifacts;
    when given, the execution role may read exactly that prefix. Without it the role gets no
    S3 access and the package's artifacts must be readable by other means.

    ``image_repository_arn`` (default: none) is the ECR repository of the package's inference
    image; when given, the execution role may pull from exactly that repository. Without it the
    role gets no ECR access (fine for AWS Marketplace packages, whose images SageMaker pulls
    itself); an image in your own ECR would then fail to pull when the endpoint starts.
    """

    model_package_arn: str
    artifacts_s3_uri: str | None = None
    image_repository_arn: str | None = None


@dataclass(frozen=True)
class AutoscalingSpec:
    """Target tracking on ``SageMakerVariantInvocationsPerInstance`` for one variant."""

    min_capacity: int
    max_capacity: int
    target_invocations_per_instance: float
    scale_in_cooldown_seconds: int = 300
    scale_out_cooldown_seconds: int = 60


@dataclass(frozen=True)
class VariantSpec:
    """One production variant. ``initial_weight`` is only the default of the variant's weight
    parameter; the endpoint config never sees it (see :mod:`constructs_lib.ab_endpoint`)."""

    name: str
    model: ContainerModel | PackageModel
    instance_type: str
    initial_instance_count: int
    initial_weight: float
    environment: Mapping[str, str] = field(default_factory=dict)
    autoscaling: AutoscalingSpec | None = None

    @property
    def weight_parameter_name(self) -> str:
        return weight_parameter_name(self.name)


@dataclass(frozen=True)
class DataCaptureSpec:
    """Capture of requests and responses to S3 at ``sampling_percentage`` (0–100)."""

    sampling_percentage: int
    destination_s3_uri: str


@dataclass(frozen=True)
class VpcSpec:
    """Subnets and security groups the models run in."""

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class MonitoringSpec:
    """Alarm thresholds and the sample-ratio-mismatch (SRM) check, with their defaults.

    Variant alarms fire on the 5XX error rate (percent of invocations) and on p99 ModelLatency,
    each only in periods with at least ``min_invocations`` requests, when
    ``datapoints_to_alarm`` of ``evaluation_periods`` periods of ``period_seconds`` breach.
    The SRM check runs every ``srm_schedule_minutes`` over the last ``srm_window_minutes`` and
    its alarm fires when the exact sample-ratio test's p-value drops below ``srm_p_value`` with at least
    ``srm_min_invocations`` requests in the window.
    """

    error_rate_percent: float = 5.0
    p99_latency_ms: float = 1000.0
    period_seconds: int = 60
    evaluation_periods: int = 5
    datapoints_to_alarm: int = 3
    min_invocations: int = 20
    notification_emails: tuple[str, ...] = ()
    srm_p_value: float = 0.001
    srm_min_invocations: int = 1000
    srm_window_minutes: int = 60
    srm_schedule_minutes: int = 5


@dataclass(frozen=True)
class EvaluationSpec:
    """Where the evaluation reads test sets and writes reports.

    ``report_bucket_name`` (default: none) names an existing bucket to use; without it the
    stack creates an encrypted one. Either way the evaluation reads ``datasets/`` and writes
    ``reports/`` in it, nothing else.
    """

    report_bucket_name: str | None = None


@dataclass(frozen=True)
class EndpointSpec:
    """One real-time endpoint with its production variants.

    ``kms_key_arn`` (default: none) encrypts the instances' storage, logs and captured data;
    without it the stack creates a key with rotation enabled. ``network_isolation``
    (default ``False``) cuts the model containers off from the network. ``monitoring``
    (default: :class:`MonitoringSpec` defaults) sets the alarms and the SRM check.
    """

    name: str
    variants: tuple[VariantSpec, ...]
    data_capture: DataCaptureSpec | None = None
    vpc: VpcSpec | None = None
    network_isolation: bool = False
    kms_key_arn: str | None = None
    monitoring: MonitoringSpec = field(default_factory=MonitoringSpec)
    evaluation: EvaluationSpec = field(default_factory=EvaluationSpec)

    @property
    def stack_name(self) -> str:
        """The CloudFormation stack that deploys this endpoint (``AbTest-<name>``)."""
        return stack_name_of(self.name)


@dataclass(frozen=True)
class AppConfig:
    """Every endpoint of one config file; ``source`` names the file for messages."""

    source: str
    endpoints: tuple[EndpointSpec, ...]
