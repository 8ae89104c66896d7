"""The config file users edit, parsed once into frozen, typed objects."""

from constructs_lib.config.loader import ConfigError, load_config, parse_config
from constructs_lib.config.model import (
    AppConfig,
    AutoscalingSpec,
    BuiltinImage,
    CapacitySizeSpec,
    ContainerModel,
    DataCaptureSpec,
    DeploymentSpec,
    EcrImage,
    EndpointSpec,
    EvaluationSpec,
    LiveQualitySpec,
    MonitoringSpec,
    PackageModel,
    VariantSpec,
    VpcSpec,
    weight_parameter_name,
)

__all__ = [
    "AppConfig",
    "AutoscalingSpec",
    "BuiltinImage",
    "CapacitySizeSpec",
    "ConfigError",
    "ContainerModel",
    "DataCaptureSpec",
    "DeploymentSpec",
    "EcrImage",
    "EndpointSpec",
    "EvaluationSpec",
    "LiveQualitySpec",
    "MonitoringSpec",
    "PackageModel",
    "VariantSpec",
    "VpcSpec",
    "load_config",
    "parse_config",
    "weight_parameter_name",
]
