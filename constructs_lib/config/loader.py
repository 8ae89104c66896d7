"""Read a JSON config file into frozen :mod:`~constructs_lib.config.model` objects.

Every problem is reported at once, each line naming the file, the endpoint, the variant and
the field, e.g.::

    config/ab.json: endpoint "churn" > variant "Variant2" > initial_weight: must be >= 0 (got -1)

Nothing here touches AWS or the CDK, so app.py can validate before it builds any stack.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from constructs_lib.builtin_images import BUILTIN_ALGORITHMS
from constructs_lib.config import alarm_limits, service_model
from constructs_lib.config.model import (
    AppConfig,
    AutoscalingSpec,
    BuiltinImage,
    ContainerModel,
    DataCaptureSpec,
    EcrImage,
    EndpointSpec,
    EvaluationSpec,
    MonitoringSpec,
    PackageModel,
    VariantSpec,
    VpcSpec,
)

# SageMaker's own rules (names, instance types, numeric ranges) come from its service model in
# botocore: see constructs_lib/config/service_model.py. Only rules that model does not state live here.
S3_OBJECT_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/\S+$")
ECR_IMAGE_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?P<cn>\.cn)?"
    r"/(?P<repository>[a-z0-9][a-z0-9._/-]*)(?::[\w.-]{1,128}|@sha256:[a-f0-9]{64})$"
)
MODEL_PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[a-zA-Z0-9-]{1,63}(/\d+)?$")
# ECR repository ARN: arn:<partition>:ecr:<region>:<account>:repository/<name>; the name is checked
# against ECR's RepositoryName shape.
ECR_REPOSITORY_ARN = re.compile(r"^arn:aws[a-z-]*:ecr:[a-z0-9-]+:\d{12}:repository/(?P<name>.+)$")
KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]+$")
SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")

T = TypeVar("T")


class ConfigError(ValueError):
    """The config file is invalid; ``problems`` holds one located message per problem."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid config {source} ({len(problems)} problem(s)):\n{lines}")


class _Context:
    """Where in the file we are, and the problems found so far."""

    def __init__(self, source: str, problems: list[str], path: tuple[str, ...] = ()):
        self.source = source
        self.problems = problems
        self.path = path

    def child(self, label: str) -> _Context:
        return _Context(self.source, self.problems, (*self.path, label))

    def error(self, message: str, key: str | None = None) -> None:
        where = " > ".join(self.path + ((key,) if key else ()))
        self.problems.append(f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}")


def _describe(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__


def _mapping(
    ctx: _Context, value: Any, *, required: Iterable[str], optional: Iterable[str] = ()
) -> dict[str, Any] | None:
    """Check ``value`` is an object with exactly the allowed keys; report unknown and missing."""
    if not isinstance(value, dict):
        ctx.error(f"must be an object (got {_describe(value)})")
        return None
    required, optional = tuple(required), tuple(optional)
    allowed = set(required) | set(optional)
    for key in value:
        if key not in allowed:
            ctx.error(f"unknown key (allowed: {', '.join(sorted(allowed))})", key)
    for key in required:
        if key not in value:
            ctx.error("is required", key)
    return value


def _field(
    ctx: _Context, obj: dict[str, Any], key: str, check: Callable[[Any], str | None], default: Any = None
) -> Any:
    """Return ``obj[key]`` when ``check`` finds nothing wrong with it; otherwise report and return None."""
    if key not in obj:
        return default
    value = obj[key]
    problem = check(value)
    if problem:
        ctx.error(f"{problem} (got {_describe(value)})", key)
        return None
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _not_finite(value: Any) -> str | None:
    """Python's json module reads the non-standard literals NaN, Infinity and -Infinity; they would
    reach the template, where the CDK CLI's JSON parser (Node's) fails on them."""
    return None if math.isfinite(value) else "must be a finite number (NaN and Infinity are not valid JSON)"


def _string(pattern: re.Pattern[str] | None = None, hint: str = "") -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            return "must be a non-empty string"
        if pattern and not pattern.match(value):
            return f"must match {hint or pattern.pattern}"
        return None

    return check


def _partition_problem(arn: str) -> str | None:
    """An ARN's partition must be the one its region belongs to (``arn:aws:kms:cn-north-1:…`` names no key)."""
    _, partition, _, region, *_ = arn.split(":", 5)
    expected = service_model.partition_of_region(region)
    if region and expected != partition:
        return f"names region {region}, which is in partition {expected or 'unknown'}, not {partition}"
    return None


def _arn(pattern: re.Pattern[str], hint: str) -> Callable[[Any], str | None]:
    """A string matching ``pattern`` whose partition fits its region."""
    shape = _string(pattern, hint)

    def check(value: Any) -> str | None:
        return shape(value) or _partition_problem(value)

    return check


def _sagemaker_string(shape: str) -> Callable[[Any], str | None]:
    """A non-empty string that SageMaker's service model accepts for the string shape ``shape``."""

    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            return "must be a non-empty string"
        return service_model.string_rule(shape).problem(value)

    return check


def _sagemaker_instance_type(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if value not in service_model.enum_values("ProductionVariantInstanceType"):
        return (
            "must be one of SageMaker's ProductionVariantInstanceType values such as ml.m5.xlarge "
            f"(botocore {service_model.BOTOCORE_VERSION}; a newer instance type needs a newer boto3)"
        )
    return None


def _sagemaker_integer(shape: str) -> Callable[[Any], str | None]:
    low, high = service_model.numeric_range(shape)
    return _integer(int(low) if low is not None else -(2**31), int(high) if high is not None else None)


def _integer(minimum: int, maximum: int | None = None) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return "must be an integer"
        if value < minimum:
            return f"must be >= {minimum}"
        if maximum is not None and value > maximum:
            return f"must be <= {maximum}"
        return None

    return check


def _number(minimum: float, *, exclusive: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not _is_number(value):
            return "must be a number"
        if _not_finite(value):
            return _not_finite(value)
        if exclusive and value <= minimum:
            return f"must be > {minimum:g}"
        if value < minimum:
            return f"must be >= {minimum:g}"
        return None

    return check


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _string_list(
    ctx: _Context, obj: dict[str, Any], key: str, pattern: re.Pattern[str], hint: str, max_items: int
) -> tuple[str, ...]:
    value = obj.get(key)
    if not isinstance(value, list) or not value or len(value) > max_items:
        ctx.error(f"must be a list of 1 to {max_items} strings (got {_describe(value)})", key)
        return ()
    for i, item in enumerate(value):
        if not isinstance(item, str) or not pattern.match(item):
            ctx.error(f"item {i} must look like {hint} (got {_describe(item)})", key)
    return tuple(value)


def _unique_names(ctx: _Context, items: list[tuple[int, Any]], what: str, *, ignore_case: bool = False) -> None:
    """Report names used twice; with ``ignore_case`` also names that differ only in case."""
    seen: dict[str, tuple[int, str]] = {}
    for index, name in items:
        if not isinstance(name, str):
            continue
        key = name.casefold() if ignore_case else name
        if key not in seen:
            seen[key] = (index, name)
        elif seen[key][1] == name:
            ctx.error(f"duplicate {what} name {json.dumps(name)} (entries {seen[key][0]} and {index})")
        else:
            ctx.error(
                f"{what} names {json.dumps(seen[key][1])} and {json.dumps(name)} differ only in case "
                f"(entries {seen[key][0]} and {index}); SageMaker {what} names are case-insensitive"
            )


def _label(kind: str, index: int, obj: Any) -> str:
    name = obj.get("name") if isinstance(obj, dict) else None
    return f'{kind} "{name}"' if isinstance(name, str) and name else f"{kind}s[{index}]"


def _ecr_repository_arn(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    match = ECR_REPOSITORY_ARN.match(value)
    if not match:
        return "must be an ECR repository ARN arn:aws:ecr:<region>:<account>:repository/<name>"
    return _partition_problem(value) or service_model.string_rule("RepositoryName", "ecr").problem(match["name"])


def _parse_image(ctx: _Context, model: dict[str, Any]) -> Any:
    if "image_uri" in model:
        if "algorithm" in model or "version" in model:
            ctx.error("give either image_uri or algorithm+version, not both")
            return None
        uri = _field(ctx, model, "image_uri", _string(ECR_IMAGE_URI, "an ECR image URI with a tag or digest"))
        if uri is None:
            return None
        m = ECR_IMAGE_URI.match(uri)
        assert m is not None
        partition = service_model.partition_of_region(m["region"])
        if partition is None or (partition == "aws-cn") != bool(m["cn"]):
            ctx.error(f"region {m['region']} of the image does not fit its host name (got {json.dumps(uri)})")
            return None
        return EcrImage(
            uri=uri, account=m["account"], region=m["region"], repository=m["repository"], partition=partition
        )
    if "algorithm" not in model or "version" not in model:
        ctx.error("needs image_uri, or algorithm and version of a built-in algorithm")
        return None
    algorithm = _field(ctx, model, "algorithm", _string())
    version = _field(ctx, model, "version", _string())
    if algorithm is None or version is None:
        return None
    if algorithm not in BUILTIN_ALGORITHMS:
        ctx.error(
            f"unknown built-in algorithm (known: {', '.join(sorted(BUILTIN_ALGORITHMS))}) "
            f"(got {json.dumps(algorithm)})",
            "algorithm",
        )
        return None
    versions = BUILTIN_ALGORITHMS[algorithm].tags_by_version
    if version not in versions:
        ctx.error(f"unknown {algorithm} version (known: {', '.join(versions)}) (got {json.dumps(version)})", "version")
        return None
    return BuiltinImage(algorithm=algorithm, version=version)


def _parse_model(ctx: _Context, value: Any) -> Any:
    model = _mapping(
        ctx,
        value,
        required=(),
        optional=(
            "image_uri",
            "algorithm",
            "version",
            "model_data_url",
            "model_package_arn",
            "artifacts_s3_uri",
            "image_repository_arn",
        ),
    )
    if model is None:
        return None
    has_container = any(k in model for k in ("image_uri", "algorithm", "version", "model_data_url"))
    has_package = "model_package_arn" in model
    if has_container == has_package:
        ctx.error(
            "give exactly one of: a container (image_uri or algorithm+version, with model_data_url) "
            "or a model_package_arn" + (" (got both)" if has_package else " (got neither)")
        )
        return None
    if has_package:
        if "artifacts_s3_uri" in model and not str(model["artifacts_s3_uri"]).startswith("s3://"):
            ctx.error(f"must be an s3:// URI (got {_describe(model['artifacts_s3_uri'])})", "artifacts_s3_uri")
        arn = _field(ctx, model, "model_package_arn", _arn(MODEL_PACKAGE_ARN, "a SageMaker model package ARN"))
        repository = _field(ctx, model, "image_repository_arn", _ecr_repository_arn)
        if arn is None or ("image_repository_arn" in model and repository is None):
            return None
        return PackageModel(
            model_package_arn=arn, artifacts_s3_uri=model.get("artifacts_s3_uri"), image_repository_arn=repository
        )
    for key in ("artifacts_s3_uri", "image_repository_arn"):
        if key in model:
            ctx.error("only applies to model_package_arn models", key)
    image = _parse_image(ctx, model)
    if "model_data_url" not in model:
        ctx.error("is required for a container model", "model_data_url")
        return None
    data = _field(ctx, model, "model_data_url", _string(S3_OBJECT_URI, "an s3://bucket/key URI"))
    return ContainerModel(image=image, model_data_url=data) if image and data else None


def _parse_autoscaling(ctx: _Context, value: Any) -> AutoscalingSpec | None:
    obj = _mapping(
        ctx,
        value,
        required=("min_capacity", "max_capacity", "target_invocations_per_instance"),
        optional=("scale_in_cooldown_seconds", "scale_out_cooldown_seconds"),
    )
    if obj is None:
        return None
    low = _field(ctx, obj, "min_capacity", _integer(1))
    high = _field(ctx, obj, "max_capacity", _integer(1))
    target = _field(ctx, obj, "target_invocations_per_instance", _number(0, exclusive=True))
    scale_in = _field(ctx, obj, "scale_in_cooldown_seconds", _integer(0), default=300)
    scale_out = _field(ctx, obj, "scale_out_cooldown_seconds", _integer(0), default=60)
    if low is not None and high is not None and low > high:
        ctx.error(f"min_capacity ({low}) must be <= max_capacity ({high})")
        return None
    if None in (low, high, target, scale_in, scale_out):
        return None
    return AutoscalingSpec(low, high, float(target), scale_in, scale_out)


def _parse_environment(ctx: _Context, value: Any) -> Mapping[str, str]:
    if not isinstance(value, dict):
        ctx.error(f"must be an object of name -> string (got {_describe(value)})")
        return MappingProxyType({})
    _, most = service_model.list_bounds("EnvironmentMap")
    if most is not None and len(value) > most:
        ctx.error(f"at most {most} variables (SageMaker's EnvironmentMap) (got {len(value)})")
    key_rule, value_rule = service_model.string_rule("EnvironmentKey"), service_model.string_rule("EnvironmentValue")
    for name, setting in value.items():
        problem = key_rule.problem(name) if name else "must not be empty"
        if problem:
            ctx.error(f"invalid environment variable name {json.dumps(name)}: {problem}")
        if not isinstance(setting, str):
            ctx.error(f"must be a string (got {_describe(setting)})", name)
        elif value_rule.problem(setting):
            ctx.error(f"{value_rule.problem(setting)} (got {len(setting)} characters)", name)
    return MappingProxyType(dict(value))


def _parse_variant(ctx: _Context, value: Any) -> VariantSpec | None:
    obj = _mapping(
        ctx,
        value,
        required=("name", "model", "instance_type", "initial_instance_count", "initial_weight"),
        optional=("environment", "autoscaling"),
    )
    if obj is None:
        return None
    name = _field(ctx, obj, "name", _sagemaker_string("VariantName"))
    model = _parse_model(ctx.child("model"), obj["model"]) if "model" in obj else None
    instance_type = _field(ctx, obj, "instance_type", _sagemaker_instance_type)
    count = _field(ctx, obj, "initial_instance_count", _sagemaker_integer("InitialTaskCount"))
    weight = _field(ctx, obj, "initial_weight", _number(service_model.numeric_range("VariantWeight")[0] or 0))
    environment = _parse_environment(ctx.child("environment"), obj["environment"]) if "environment" in obj else {}
    autoscaling = _parse_autoscaling(ctx.child("autoscaling"), obj["autoscaling"]) if "autoscaling" in obj else None
    if autoscaling and count is not None and not autoscaling.min_capacity <= count <= autoscaling.max_capacity:
        ctx.error(
            f"must lie within autoscaling min_capacity..max_capacity "
            f"({autoscaling.min_capacity}..{autoscaling.max_capacity}) (got {count})",
            "initial_instance_count",
        )
        return None
    if name is None or model is None or instance_type is None or count is None or weight is None:
        return None
    return VariantSpec(
        name=name,
        model=model,
        instance_type=instance_type,
        initial_instance_count=count,
        initial_weight=float(weight),
        environment=environment,
        autoscaling=autoscaling,
    )


def _parse_variants(ctx: _Context, value: Any) -> tuple[VariantSpec, ...]:
    low, high = service_model.list_bounds("ProductionVariantList")
    if not isinstance(value, list) or not max(low, 1) <= len(value) <= (high or len(value)):
        count = len(value) if isinstance(value, list) else _describe(value)
        ctx.error(f"must be a list of {max(low, 1)} to {high} variants (got {count})", "variants")
        return ()
    _unique_names(
        ctx.child("variants"), list(enumerate(v.get("name") if isinstance(v, dict) else None for v in value)), "variant"
    )
    parsed = [_parse_variant(ctx.child(_label("variant", i, v)), v) for i, v in enumerate(value)]
    variants = tuple(v for v in parsed if v is not None)
    if len(variants) != len(value):
        return ()
    by_parameter: dict[str, str] = {}
    for v in variants:
        other = by_parameter.setdefault(v.weight_parameter_name, v.name)
        if other != v.name:
            ctx.error(
                f"variants {json.dumps(other)} and {json.dumps(v.name)} would share the weight parameter "
                f"{v.weight_parameter_name}",
                "variants",
            )
    if all(v.initial_weight == 0 for v in variants):
        ctx.error("initial_weight is 0 for every variant: at least one must receive traffic", "variants")
    return variants


def _parse_data_capture(ctx: _Context, value: Any) -> DataCaptureSpec | None:
    obj = _mapping(ctx, value, required=("sampling_percentage", "destination_s3_uri"))
    if obj is None:
        return None
    sampling = _field(ctx, obj, "sampling_percentage", _sagemaker_integer("SamplingPercentage"))
    destination = _field(
        ctx,
        obj,
        "destination_s3_uri",
        _string(re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/\S*)?$"), "an s3://bucket/prefix URI"),
    )
    if sampling is None or destination is None:
        return None
    return DataCaptureSpec(sampling_percentage=sampling, destination_s3_uri=destination)


def _parse_vpc(ctx: _Context, value: Any) -> VpcSpec | None:
    obj = _mapping(ctx, value, required=("subnet_ids", "security_group_ids"))
    if obj is None:
        return None
    subnets = _string_list(ctx, obj, "subnet_ids", SUBNET_ID, "subnet-0123abcd", 16)
    groups = _string_list(ctx, obj, "security_group_ids", SECURITY_GROUP_ID, "sg-0123abcd", 5)
    return VpcSpec(subnet_ids=subnets, security_group_ids=groups) if subnets and groups else None


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_MONITORING = MonitoringSpec()


def _period(value: Any) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return "must be an integer"
    return alarm_limits.period_problem(value)


def _probability(value: Any) -> str | None:
    return None if _is_number(value) and 0 < value < 1 else "must be a number between 0 and 1 (exclusive)"


def _parse_monitoring(ctx: _Context, value: Any) -> MonitoringSpec | None:
    fields = {
        "error_rate_percent": _number(0, exclusive=True),
        "p99_latency_ms": _number(0, exclusive=True),
        "period_seconds": _period,
        "evaluation_periods": _integer(1),
        "datapoints_to_alarm": _integer(1),
        "min_invocations": _integer(0),
        "srm_p_value": _probability,
        "srm_min_invocations": _integer(1),
        "srm_window_minutes": _integer(5, 1440),
        "srm_schedule_minutes": _integer(1, 1440),
    }
    obj = _mapping(ctx, value, required=(), optional=(*fields, "notification_emails"))
    if obj is None:
        return None
    problems_before = len(ctx.problems)
    values = {
        key: _field(ctx, obj, key, check, default=getattr(DEFAULT_MONITORING, key)) for key, check in fields.items()
    }
    emails: tuple[str, ...] = ()
    if "notification_emails" in obj:
        raw = obj["notification_emails"]
        if not isinstance(raw, list) or not all(isinstance(e, str) and EMAIL.match(e) for e in raw):
            ctx.error(f"must be a list of e-mail addresses (got {_describe(raw)})", "notification_emails")
        else:
            emails = tuple(raw)
    if len(ctx.problems) != problems_before:
        return None
    if values["datapoints_to_alarm"] > values["evaluation_periods"]:
        ctx.error(
            f"datapoints_to_alarm ({values['datapoints_to_alarm']}) must be <= evaluation_periods "
            f"({values['evaluation_periods']})"
        )
        return None
    window = alarm_limits.window_problem(values["period_seconds"], values["evaluation_periods"])
    if window:
        ctx.error(window)
        return None
    if values["srm_window_minutes"] < values["srm_schedule_minutes"]:
        ctx.error("srm_window_minutes must be >= srm_schedule_minutes: every request must be looked at")
        return None
    return MonitoringSpec(notification_emails=emails, **values)


BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


def _parse_evaluation(ctx: _Context, value: Any) -> EvaluationSpec | None:
    obj = _mapping(ctx, value, required=(), optional=("report_bucket_name",))
    if obj is None:
        return None
    name = _field(ctx, obj, "report_bucket_name", _string(BUCKET_NAME, "an S3 bucket name"))
    return EvaluationSpec(report_bucket_name=name)


def _optional(ctx: _Context, obj: dict[str, Any], key: str, parse: Callable[[_Context, Any], T]) -> T | None:
    return parse(ctx.child(key), obj[key]) if key in obj else None


def _parse_endpoint(ctx: _Context, value: Any) -> EndpointSpec | None:
    obj = _mapping(
        ctx,
        value,
        required=("name", "variants"),
        optional=("data_capture", "vpc", "network_isolation", "kms_key_arn", "monitoring", "evaluation"),
    )
    if obj is None:
        return None
    problems_before = len(ctx.problems)
    name = _field(ctx, obj, "name", _sagemaker_string("EndpointName"))
    variants = _parse_variants(ctx, obj.get("variants")) if "variants" in obj else ()
    data_capture = _optional(ctx, obj, "data_capture", _parse_data_capture)
    vpc = _optional(ctx, obj, "vpc", _parse_vpc)
    isolation = _field(ctx, obj, "network_isolation", _boolean, default=False)
    kms_key_arn = _field(ctx, obj, "kms_key_arn", _arn(KMS_KEY_ARN, "a KMS key ARN"))
    monitoring = _optional(ctx, obj, "monitoring", _parse_monitoring) or DEFAULT_MONITORING
    evaluation = _optional(ctx, obj, "evaluation", _parse_evaluation) or EvaluationSpec()
    if len(ctx.problems) != problems_before:
        return None
    return EndpointSpec(
        name=name,
        variants=variants,
        data_capture=data_capture,
        vpc=vpc,
        network_isolation=isolation,
        kms_key_arn=kms_key_arn,
        monitoring=monitoring,
        evaluation=evaluation,
    )


def parse_config(data: Any, source: str) -> AppConfig:
    """Validate already-decoded config ``data``; ``source`` names it in messages."""
    problems: list[str] = []
    ctx = _Context(source, problems)
    root = _mapping(ctx, data, required=("endpoints",), optional=("description",))
    endpoints: tuple[EndpointSpec, ...] = ()
    if root is not None and "endpoints" in root:
        raw = root["endpoints"]
        if not isinstance(raw, list) or not raw:
            ctx.error(f"must be a non-empty list of endpoints (got {_describe(raw)})", "endpoints")
        else:
            # CreateEndpoint: "The name is case-insensitive in CreateEndpoint" (EndpointName).
            _unique_names(
                ctx.child("endpoints"),
                list(enumerate(e.get("name") if isinstance(e, dict) else None for e in raw)),
                "endpoint",
                ignore_case=True,
            )
            parsed = [_parse_endpoint(ctx.child(_label("endpoint", i, e)), e) for i, e in enumerate(raw)]
            endpoints = tuple(e for e in parsed if e is not None)
    if problems:
        raise ConfigError(source, problems)
    return AppConfig(source=source, endpoints=endpoints)


def load_config(path: str | Path) -> AppConfig:
    """Read and validate the JSON config file at ``path``."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(source, [f"{source}: cannot read file: {err.strerror or err}"]) from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(source, [f"{source}: line {err.lineno} column {err.colno}: invalid JSON: {err.msg}"]) from err
    return parse_config(data, source)
