"""Read a JSON config file into frozen :mod:`~constructs_lib.config.model` objects.

Every problem is reported at once, each line naming the file, the endpoint, the variant and
the field, e.g.::

    config/ab.json: endpoint "churn" > variant "Variant2" > initial_weight: must be >= 0 (got -1)

Each section of the file is a table of :class:`~constructs_lib.config.fields.Field` entries
below: the key, its rule (a :mod:`~constructs_lib.config.rules` object, or a nested section) and
the model attribute whose default and description it shares. The parser and the JSON Schema
generator (:mod:`constructs_lib.config.schema`) both read these tables; what a section checks
across its keys (min ≤ max, unique names, …) stays in that section's build function, and
``schema.LOADER_ONLY_RULES`` lists it.

Nothing here touches AWS or the CDK, so app.py can validate before it builds any stack.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

from constructs_lib.builtin_images import BUILTIN_ALGORITHMS
from constructs_lib.config import alarm_limits, service_model, shadow_limits
from constructs_lib.config.deployment import DEPLOYMENT, check_against_variants
from constructs_lib.config.deployment_limits import ROLLING, ROLLING_EXCLUSIONS, cite
from constructs_lib.config.fields import (
    ConfigError,
    Context,
    Field,
    Keys,
    Nested,
    Section,
    StringList,
    field_schema,
    read_value,
)
from constructs_lib.config.model import (
    CAPTURE_RETENTION_MARGIN_DAYS,
    LIVE_QUALITY_RUN_TIMEOUT_HOURS,
    MAX_SAMPLE_EXCERPT_CHARS,
    AppConfig,
    AutoscalingSpec,
    BuiltinImage,
    ConfigWarning,
    ContainerModel,
    DataCaptureSpec,
    EcrImage,
    EndpointSpec,
    EvaluationSpec,
    LiveQualitySpec,
    MonitoringSpec,
    PackageModel,
    ShadowSpec,
    VariantSpec,
    VpcSpec,
    min_capture_retention_days,
)
from constructs_lib.config.rules import (
    AlarmPeriod,
    Arn,
    Boolean,
    EcrRepositoryArn,
    EmailList,
    FreeText,
    InstanceType,
    Integer,
    JsonSchema,
    Number,
    OneOf,
    Probability,
    Probe,
    Rule,
    S3Prefix,
    SageMakerInteger,
    SageMakerName,
    SageMakerNumber,
    Text,
    describe,
    schema_pattern,
)
from constructs_lib.lambda_shared import live_quality_tables

# SageMaker's own rules (names, instance types, numeric ranges) come from its service model in
# botocore: see constructs_lib/config/service_model.py. Only rules that model does not state live here.
S3_OBJECT_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/\S+$")
S3_PREFIX_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/\S*)?$")
ECR_IMAGE_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?P<cn>\.cn)?"
    r"/(?P<repository>[a-z0-9][a-z0-9._/-]*)(?::[\w.-]{1,128}|@sha256:[a-f0-9]{64})$"
)
MODEL_PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[a-zA-Z0-9-]{1,63}(/\d+)?$")
KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]+$")
SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
# The longest live-quality window: one number, in lambdas/live_quality/tables.py, which the plan Lambda
# checks LOOKBACK_DAYS against too (the tables project hourly partitions over two years). A schedule of
# a week at most: the query reads whole days.
MAX_LOOKBACK_DAYS: int = live_quality_tables().MAX_LOOKBACK_DAYS
MAX_SCHEDULE_HOURS = 168
# VpcConfig: Subnets 1..16, SecurityGroupIds 1..5 (SageMaker API reference, VpcConfig).
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5


# --- lists and maps -----------------------------------------------------------------------------


class Environment(Nested):
    """Container environment: SageMaker's EnvironmentMap (names, values, count from botocore)."""

    def read(self, ctx: Context, obj: dict[str, Any], key: str, default: Any) -> Any:
        return self.parse(ctx.child(key), obj[key]) if key in obj else default

    def parse(self, ctx: Context, value: Any) -> Any:
        if not isinstance(value, dict):
            ctx.error(f"must be an object of name -> string (got {describe(value)})")
            return MappingProxyType({})
        _, most = service_model.list_bounds("EnvironmentMap")
        if most is not None and len(value) > most:
            ctx.error(f"at most {most} variables (SageMaker's EnvironmentMap) (got {len(value)})")
        key_rule = service_model.string_rule("EnvironmentKey")
        value_rule = service_model.string_rule("EnvironmentValue")
        for name, setting in value.items():
            problem = key_rule.problem(name) if name else "must not be empty"
            if problem:
                ctx.error(f"invalid environment variable name {json.dumps(name)}: {problem}")
            if not isinstance(setting, str):
                ctx.error(f"must be a string (got {describe(setting)})", name)
            elif value_rule.problem(setting):
                ctx.error(f"{value_rule.problem(setting)} (got {len(setting)} characters)", name)
        return MappingProxyType(dict(value))

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        _, most = service_model.list_bounds("EnvironmentMap")
        names = SageMakerName("EnvironmentKey").json_schema()
        del names["type"]  # property names are strings anyway
        value_rule = service_model.string_rule("EnvironmentValue")
        values: JsonSchema = {"type": "string", "maxLength": value_rule.max_length}
        if value_rule.pattern:
            values["pattern"] = schema_pattern(value_rule.pattern, whole=True)
        schema: JsonSchema = {"type": "object", "propertyNames": names, "additionalProperties": values}
        if most is not None:
            schema["maxProperties"] = most
        schema["examples"] = [{"SAGEMAKER_MODEL_SERVER_WORKERS": "2"}]
        return schema

    def probes(self) -> tuple[Probe, ...]:
        _, most = service_model.list_bounds("EnvironmentMap")
        longest = service_model.string_rule("EnvironmentValue").max_length or 0
        return (
            Probe("WORKERS=2"),
            Probe([]),
            Probe({"1WORKERS": "2"}),
            Probe({"": "2"}),
            Probe({"WORKERS": 2}),
            Probe({"WORKERS": "x" * (longest + 1)}),
            Probe({"W" * (longest + 1): "2"}),
            Probe({f"V{i}": "x" for i in range((most or 0) + 1)}),
        )


def _unique_names(ctx: Context, items: list[tuple[int, Any]], what: str, *, ignore_case: bool = False) -> None:
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


def _names(value: list[Any]) -> list[tuple[int, Any]]:
    return list(enumerate(v.get("name") if isinstance(v, dict) else None for v in value))


class VariantList(Nested):
    """The endpoint's variants: SageMaker's ProductionVariantList bounds, unique names, distinct weight
    parameters, not every weight 0, and with a shadow exactly one production variant and one shadow
    (:mod:`~constructs_lib.config.shadow_limits`)."""

    def __init__(self, item: Callable[[], Section]):
        self._item = item

    @property
    def item(self) -> Section:
        return self._item()

    def read(self, ctx: Context, obj: dict[str, Any], key: str, default: Any) -> Any:
        return self.parse(ctx, obj[key], key) if key in obj else default

    def parse(self, ctx: Context, value: Any, key: str) -> tuple[VariantSpec, ...]:
        low, high = service_model.list_bounds("ProductionVariantList")
        if not isinstance(value, list) or not max(low, 1) <= len(value) <= (high or len(value)):
            count = len(value) if isinstance(value, list) else describe(value)
            ctx.error(f"must be a list of {max(low, 1)} to {high} variants (got {count})", key)
            return ()
        _unique_names(ctx.child(key), _names(value), "variant")
        parsed = [self.item.parse(ctx.child(_label("variant", i, v)), v) for i, v in enumerate(value)]
        variants = tuple(v for v in parsed if v is not None)
        if len(variants) != len(value):
            return ()
        production = [v for v in variants if v.shadow is None]
        shadows = len(variants) - len(production)
        shadow_problem = shadow_limits.count_problem(shadows, len(production))
        if shadow_problem:
            ctx.error(shadow_problem, key)
            return ()
        # The shadow has no weight parameter: only production variants can collide.
        by_parameter: dict[str, str] = {}
        for v in production:
            other = by_parameter.setdefault(v.weight_parameter_name, v.name)
            if other != v.name:
                ctx.error(
                    f"variants {json.dumps(other)} and {json.dumps(v.name)} would share the weight parameter "
                    f"{v.weight_parameter_name}",
                    key,
                )
        if all(v.initial_weight == 0 for v in production):
            ctx.error("initial_weight is 0 for every variant: at least one must receive traffic", key)
        return variants

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        low, high = service_model.list_bounds("ProductionVariantList")
        schema: JsonSchema = {"type": "array", "minItems": max(low, 1), "items": self.item.json_schema(defs)}
        if high is not None:
            schema["maxItems"] = high
        # Not every weight 0: weights are >= 0, so "some variant's weight is above 0".
        schema["contains"] = {"required": ["initial_weight"], "properties": {"initial_weight": {"exclusiveMinimum": 0}}}
        # With a shadow: two variants, one of them not the shadow, so one shadow and one production variant
        # (shadow_limits.ONE_AND_ONE; draft-07 has no maxContains, so counted this way).
        is_shadow: JsonSchema = {"required": ["shadow"]}
        schema["allOf"] = [
            {
                "$comment": "with a shadow: exactly one production variant and one shadow",
                "if": {"contains": is_shadow},
                "then": {
                    "maxItems": shadow_limits.MAX_SHADOW_VARIANTS + shadow_limits.PRODUCTION_VARIANTS_WITH_SHADOW,
                    "contains": {"not": is_shadow},
                },
            }
        ]
        return schema

    def probes(self) -> tuple[Probe, ...]:
        return (Probe("Variant1"), Probe({}), Probe([]))


class EndpointList(Nested):
    """The file's endpoints: at least one, names unique ignoring case."""

    def __init__(self, item: Callable[[], Section]):
        self._item = item

    @property
    def item(self) -> Section:
        return self._item()

    def read(self, ctx: Context, obj: dict[str, Any], key: str, default: Any) -> tuple[EndpointSpec, ...]:
        if key not in obj:
            return ()
        raw = obj[key]
        if not isinstance(raw, list) or not raw:
            ctx.error(f"must be a non-empty list of endpoints (got {describe(raw)})", key)
            return ()
        # CreateEndpoint: "The name is case-insensitive in CreateEndpoint" (EndpointName).
        _unique_names(ctx.child(key), _names(raw), "endpoint", ignore_case=True)
        parsed = [self.item.parse(ctx.child(_label("endpoint", i, e)), e) for i, e in enumerate(raw)]
        return tuple(e for e in parsed if e is not None)

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        return {"type": "array", "minItems": 1, "items": self.item.json_schema(defs)}

    def probes(self) -> tuple[Probe, ...]:
        return (Probe({}), Probe([]), Probe("churn-ab"))


# --- the model: a container or a registry package ------------------------------------------------

ALGORITHM = OneOf(BUILTIN_ALGORITHMS, "built-in algorithm")


class Branch(NamedTuple):
    """One form a model takes: the keys it needs, and those it may have."""

    title: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


class Model(Nested):
    """A variant's model: a container (ECR image or built-in algorithm, plus model data) or a package."""

    fields = (
        Field(
            "image_uri",
            Text(
                ECR_IMAGE_URI,
                "an ECR image URI with a tag or digest",
                examples=("111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud-model:2026-11-01",),
            ),
            EcrImage,
            "uri",
        ),
        Field("algorithm", ALGORITHM, BuiltinImage),
        Field("version", Text(examples=("1.7-1",)), BuiltinImage),
        Field(
            "model_data_url",
            Text(S3_OBJECT_URI, "an s3://bucket/key URI", examples=("s3://my-ml-models/fraud/model.tar.gz",)),
            ContainerModel,
        ),
        Field(
            "model_package_arn",
            Arn(
                MODEL_PACKAGE_ARN,
                "a SageMaker model package ARN",
                examples=("arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud-models/7",),
            ),
            PackageModel,
        ),
        Field("artifacts_s3_uri", S3Prefix(), PackageModel),
        Field("image_repository_arn", EcrRepositoryArn(), PackageModel),
    )
    branches = (
        Branch("a container from an ECR image", ("image_uri", "model_data_url")),
        Branch("a container from a built-in algorithm image", ("algorithm", "version", "model_data_url")),
        Branch("a model registry package", ("model_package_arn",), ("artifacts_s3_uri", "image_repository_arn")),
    )
    rules: ClassVar[dict[str, Rule]] = {f.key: f.kind for f in fields if isinstance(f.kind, Rule)}
    keys = Keys((), rules)

    def read(self, ctx: Context, obj: dict[str, Any], key: str, default: Any) -> Any:
        return self.parse(ctx.child(key), obj[key]) if key in obj else None

    def parse(self, ctx: Context, value: Any) -> Any:
        model = self.keys.check(ctx, value)
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
            # A bad artifacts prefix is reported, but the package is still built (the checks that
            # depend on whole variants run on).
            read_value(ctx, model, "artifacts_s3_uri", self.rules["artifacts_s3_uri"])
            arn = read_value(ctx, model, "model_package_arn", self.rules["model_package_arn"])
            repository = read_value(ctx, model, "image_repository_arn", self.rules["image_repository_arn"])
            if arn is None or ("image_repository_arn" in model and repository is None):
                return None
            return PackageModel(
                model_package_arn=arn, artifacts_s3_uri=model.get("artifacts_s3_uri"), image_repository_arn=repository
            )
        for key in ("artifacts_s3_uri", "image_repository_arn"):
            if key in model:
                ctx.error("only applies to model_package_arn models", key)
        image = self._image(ctx, model)
        if "model_data_url" not in model:
            ctx.error("is required for a container model", "model_data_url")
            return None
        data = read_value(ctx, model, "model_data_url", self.rules["model_data_url"])
        return ContainerModel(image=image, model_data_url=data) if image and data else None

    def _image(self, ctx: Context, model: dict[str, Any]) -> Any:
        if "image_uri" in model:
            if "algorithm" in model or "version" in model:
                ctx.error("give either image_uri or algorithm+version, not both")
                return None
            uri = read_value(ctx, model, "image_uri", self.rules["image_uri"])
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
        # Both shapes first, then the algorithm, then its version: one message for the first thing wrong.
        algorithm = read_value(ctx, model, "algorithm", Text())
        version = read_value(ctx, model, "version", self.rules["version"])
        if algorithm is None or version is None:
            return None
        unknown = ALGORITHM.membership_problem(algorithm)
        if unknown:
            ctx.error(f"{unknown} (got {json.dumps(algorithm)})", "algorithm")
            return None
        versions = BUILTIN_ALGORITHMS[algorithm].tags_by_version
        if version not in versions:
            ctx.error(
                f"unknown {algorithm} version (known: {', '.join(versions)}) (got {json.dumps(version)})", "version"
            )
            return None
        return BuiltinImage(algorithm=algorithm, version=version)

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        if "model" not in defs:
            defs["model"] = {
                "type": "object",
                "properties": {f.key: field_schema(f, defs) for f in self.fields},
                "additionalProperties": False,
                "oneOf": [
                    {
                        "title": b.title,
                        "required": list(b.required),
                        "propertyNames": {"enum": [*b.required, *b.optional]},
                    }
                    for b in self.branches
                ],
                # A built-in algorithm's version: one of that algorithm's image versions.
                "allOf": [
                    {
                        "if": {"properties": {"algorithm": {"const": name}}, "required": ["algorithm"]},
                        "then": {"properties": {"version": {"enum": list(algorithm.tags_by_version)}}},
                    }
                    for name, algorithm in sorted(BUILTIN_ALGORITHMS.items())
                ],
            }
        return {"$ref": "#/$defs/model"}

    def probes(self) -> tuple[Probe, ...]:
        """Whole models the loader refuses for their combination of keys."""
        ecr, data = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud-model:1", "s3://my-ml-models/model.tar.gz"
        package = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud-models/7"
        algorithm = next(iter(sorted(BUILTIN_ALGORITHMS)))
        version = next(iter(BUILTIN_ALGORITHMS[algorithm].tags_by_version))
        return (
            Probe("x"),
            Probe({}),
            Probe({"model_data_url": data}),
            Probe({"image_uri": ecr}),
            Probe({"algorithm": algorithm, "model_data_url": data}),
            Probe({"image_uri": ecr, "algorithm": algorithm, "version": version, "model_data_url": data}),
            Probe({"image_uri": ecr, "model_data_url": data, "model_package_arn": package}),
            Probe({"image_uri": ecr, "model_data_url": data, "artifacts_s3_uri": "s3://my-ml-models/x/"}),
            Probe({"algorithm": algorithm, "version": "9.9-9", "model_data_url": data}),
        )


# --- sections ------------------------------------------------------------------------------------


def _build_autoscaling(ctx: Context, v: dict[str, Any], before: int) -> AutoscalingSpec | None:
    low, high = v["min_capacity"], v["max_capacity"]
    if low is not None and high is not None and low > high:
        ctx.error(f"min_capacity ({low}) must be <= max_capacity ({high})")
        return None
    if None in v.values():
        return None
    return AutoscalingSpec(**dict(v, target_invocations_per_instance=float(v["target_invocations_per_instance"])))


AUTOSCALING = Section(
    "autoscaling",
    AutoscalingSpec,
    (
        Field("min_capacity", Integer(1)),
        Field("max_capacity", Integer(1)),
        Field("target_invocations_per_instance", Number(0, exclusive=True)),
        Field("scale_in_cooldown_seconds", Integer(0)),
        Field("scale_out_cooldown_seconds", Integer(0)),
    ),
    _build_autoscaling,
)


class SamplingPercentage(Integer):
    """A shadow's sampling percentage: 1 to botocore's ``Percentage`` maximum (shadow_limits)."""

    def __init__(self) -> None:
        pass

    @functools.cached_property
    def bounds(self) -> tuple[int, int | None]:  # type: ignore[override]
        return shadow_limits.MIN_SAMPLING_PERCENTAGE, shadow_limits.max_sampling_percentage()


SHADOW = Section(
    "shadow",
    ShadowSpec,
    (Field("sampling_percentage", SamplingPercentage()),),
    lambda ctx, v, before: ShadowSpec(**v) if len(ctx.problems) == before else None,
)


def _check_shadow(ctx: Context, obj: dict[str, Any]) -> bool:
    """A variant is production (``initial_weight``) or the shadow (``shadow``); a shadow does not autoscale."""
    fine = True
    if "shadow" in obj and "initial_weight" in obj:
        ctx.error(
            "a shadow variant has a sampling percentage (shadow.sampling_percentage), not a weight: remove "
            "initial_weight, or remove shadow to make this a production variant",
            "initial_weight",
        )
        fine = False
    elif "shadow" not in obj and "initial_weight" not in obj:
        ctx.error(
            "is required for a production variant (or give shadow to make this the shadow variant)", "initial_weight"
        )
        fine = False
    if "shadow" in obj and "autoscaling" in obj:
        # UNVERIFIED: scaling a shadow's DesiredInstanceCount through Application Auto Scaling is not documented
        # (the scalable target names a variant of the endpoint; nothing says a shadow is one). Refused until tried.
        ctx.error(
            "a shadow variant cannot autoscale here: whether Application Auto Scaling scales a shadow variant is not "
            "documented (UNVERIFIED); give it a fixed initial_instance_count",
            "autoscaling",
        )
        fine = False
    return fine


def _build_variant(ctx: Context, v: dict[str, Any], before: int) -> VariantSpec | None:
    autoscaling, count = v["autoscaling"], v["initial_instance_count"]
    if autoscaling and count is not None and not autoscaling.min_capacity <= count <= autoscaling.max_capacity:
        ctx.error(
            f"must lie within autoscaling min_capacity..max_capacity "
            f"({autoscaling.min_capacity}..{autoscaling.max_capacity}) (got {count})",
            "initial_instance_count",
        )
        return None
    if None in (v["name"], v["model"], v["instance_type"], v["initial_instance_count"]):
        return None
    weight = v["initial_weight"]
    return VariantSpec(**dict(v, initial_weight=None if weight is None else float(weight)))


class VariantSection(Section):
    """A variant's keys, plus which of initial_weight and shadow it has (:func:`_check_shadow`)."""

    def parse(self, ctx: Context, value: Any) -> Any:
        built = super().parse(ctx, value)
        return built if isinstance(value, dict) and _check_shadow(ctx, value) else None

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        reference = super().json_schema(defs)
        defs[self.name]["oneOf"] = [
            {"title": "a production variant", "required": ["initial_weight"], "not": {"required": ["shadow"]}},
            {
                "title": "the shadow variant (no weight; no autoscaling, UNVERIFIED for shadows)",
                "required": ["shadow"],
                "not": {"anyOf": [{"required": ["initial_weight"]}, {"required": ["autoscaling"]}]},
            },
        ]
        return reference


VARIANT = VariantSection(
    "variant",
    VariantSpec,
    (
        Field("name", SageMakerName("VariantName")),
        Field("model", Model()),
        Field("instance_type", InstanceType()),
        Field("initial_instance_count", SageMakerInteger("InitialTaskCount")),
        Field("initial_weight", SageMakerNumber("VariantWeight")),
        Field("environment", Environment()),
        Field("autoscaling", AUTOSCALING),
        Field("shadow", SHADOW),
    ),
    _build_variant,
)


def _build_data_capture(ctx: Context, v: dict[str, Any], before: int) -> DataCaptureSpec | None:
    if len(ctx.problems) != before:
        return None
    return DataCaptureSpec(**v)


DATA_CAPTURE = Section(
    "data_capture",
    DataCaptureSpec,
    (
        Field("enabled", Boolean()),
        Field("sampling_percentage", SageMakerInteger("SamplingPercentage")),
        Field(
            "destination_s3_uri",
            Text(S3_PREFIX_URI, "an s3://bucket/prefix URI", examples=("s3://my-ml-data-capture/fraud-ab/",)),
        ),
        # S3's Expiration Days: "a non-zero positive integer" (LifecycleExpiration, S3 API reference);
        # at least lookback_days + 1 is the endpoint's check (_build_endpoint).
        Field("retention_days", Integer(1)),
    ),
    _build_data_capture,
)


def _build_live_quality(ctx: Context, v: dict[str, Any], before: int) -> LiveQualitySpec | None:
    if len(ctx.problems) != before:
        return None
    spec = LiveQualitySpec(**dict(v, threshold=float(v["threshold"]), alpha=float(v["alpha"])))
    if spec.schedule_enabled and spec.not_succeeded_evaluation_periods is None:
        ctx.error(
            f"schedule_hours ({spec.schedule_hours}) is too long for an enabled schedule: its alarm must see a run "
            f"succeed within schedule_hours + {LIVE_QUALITY_RUN_TIMEOUT_HOURS + 1} hours, and CloudWatch looks back "
            f"at most {alarm_limits.MAX_HOURLY_EVALUATION_PERIODS} hours (PutMetricAlarm)",
            "schedule_hours",
        )
        return None
    return spec


LIVE_QUALITY = Section(
    "live_quality",
    LiveQualitySpec,
    (
        Field("schedule_hours", Integer(1, MAX_SCHEDULE_HOURS)),
        Field("lookback_days", Integer(1, MAX_LOOKBACK_DAYS)),
        Field("threshold", Probability()),
        Field("alpha", Probability()),
        # Athena's own minimum (BytesScannedCutoffValue in botocore's Athena model: 10,000,000 bytes).
        Field("bytes_scanned_cutoff", SageMakerInteger("BytesScannedCutoffValue", "athena")),
        Field(
            "ground_truth_s3_uri",
            Text(S3_PREFIX_URI, "an s3://bucket/prefix URI", examples=("s3://my-ml-labels/fraud-ab/",)),
        ),
        Field("schedule_enabled", Boolean()),
        # S3's Expiration Days: "a non-zero positive integer" (LifecycleExpiration, S3 API reference).
        Field("report_retention_days", Integer(1)),
        Field("sample_excerpt_chars", Integer(0, MAX_SAMPLE_EXCERPT_CHARS)),
    ),
    _build_live_quality,
)


def _build_vpc(ctx: Context, v: dict[str, Any], before: int) -> VpcSpec | None:
    return VpcSpec(**v) if v["subnet_ids"] and v["security_group_ids"] else None


VPC = Section(
    "vpc",
    VpcSpec,
    (
        Field("subnet_ids", StringList(SUBNET_ID, "subnet-0123abcd", MAX_SUBNETS)),
        Field("security_group_ids", StringList(SECURITY_GROUP_ID, "sg-0123abcd", MAX_SECURITY_GROUPS)),
    ),
    _build_vpc,
)


def _build_monitoring(ctx: Context, v: dict[str, Any], before: int) -> MonitoringSpec | None:
    if len(ctx.problems) != before:
        return None
    if v["datapoints_to_alarm"] > v["evaluation_periods"]:
        ctx.error(
            f"datapoints_to_alarm ({v['datapoints_to_alarm']}) must be <= evaluation_periods "
            f"({v['evaluation_periods']})"
        )
        return None
    window = alarm_limits.window_problem(v["period_seconds"], v["evaluation_periods"])
    if window:
        ctx.error(window)
        return None
    if v["srm_window_minutes"] < v["srm_schedule_minutes"]:
        ctx.error("srm_window_minutes must be >= srm_schedule_minutes: every request must be looked at")
        return None
    return MonitoringSpec(**v)


MONITORING = Section(
    "monitoring",
    MonitoringSpec,
    (
        Field("error_rate_percent", Number(0, exclusive=True)),
        Field("p99_latency_ms", Number(0, exclusive=True)),
        Field("period_seconds", AlarmPeriod()),
        Field("evaluation_periods", Integer(1)),
        Field("datapoints_to_alarm", Integer(1)),
        Field("min_invocations", Integer(0)),
        Field("srm_p_value", Probability()),
        Field("srm_min_invocations", Integer(1)),
        Field("srm_window_minutes", Integer(5, 1440)),
        Field("srm_schedule_minutes", Integer(1, 1440)),
        Field("notification_emails", EmailList()),
    ),
    _build_monitoring,
)


EVALUATION = Section(
    "evaluation",
    EvaluationSpec,
    (
        Field("report_bucket_name", Text(BUCKET_NAME, "an S3 bucket name", examples=("my-evaluation-bucket",))),
        Field("access_log_retention_days", Integer(1)),
    ),
    lambda ctx, v, before: EvaluationSpec(**v) if len(ctx.problems) == before else None,
)


def _build_endpoint(ctx: Context, v: dict[str, Any], before: int) -> EndpointSpec | None:
    if len(ctx.problems) != before:
        return None
    capture, live = v["data_capture"], v["live_quality"]
    least = min_capture_retention_days(live.lookback_days)
    if capture.enabled and capture.retention_days is not None and capture.retention_days < least:
        ctx.child("data_capture").error(
            f"must be at least live_quality.lookback_days + {CAPTURE_RETENTION_MARGIN_DAYS} ({least}): a live-quality "
            f"run reads {live.lookback_days} days of captures, which would expire before it reads them "
            f"(got {capture.retention_days})",
            "retention_days",
        )
    deployment, variants = v["deployment"], v["variants"] or ()
    has_shadow = any(variant.shadow for variant in variants)
    if deployment and has_shadow and deployment.strategy == ROLLING:
        # UNVERIFIED whether 1 production + 1 shadow counts as "multi-variant", which rolling deployments exclude:
        # refused, the conservative reading.
        ctx.child("deployment").error(
            "rolling is refused on an endpoint with a shadow variant: rolling deployments exclude multi-variant "
            f"endpoints, and whether a shadow counts is not documented (UNVERIFIED): {cite(ROLLING_EXCLUSIONS)}",
            "strategy",
        )
        return None
    production = tuple(variant for variant in variants if variant.shadow is None)
    if deployment and production and not check_against_variants(ctx, deployment, production):
        return None
    if len(ctx.problems) != before:
        return None
    return EndpointSpec(**v)


ENDPOINT = Section(
    "endpoint",
    EndpointSpec,
    (
        Field("name", SageMakerName("EndpointName")),
        Field("variants", VariantList(lambda: VARIANT)),
        Field("data_capture", DATA_CAPTURE),
        Field("vpc", VPC),
        Field("network_isolation", Boolean()),
        Field(
            "kms_key_arn",
            Arn(
                KMS_KEY_ARN,
                "a KMS key ARN",
                examples=("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",),
            ),
        ),
        Field("monitoring", MONITORING),
        Field("evaluation", EVALUATION),
        Field("live_quality", LIVE_QUALITY),
        Field("deployment", DEPLOYMENT),
    ),
    _build_endpoint,
)

ROOT = Section(
    "config",
    AppConfig,
    (
        Field(
            "$schema",
            FreeText(),
            doc="The JSON Schema that editors check this file against (the shipped configs name ./schema.json). "
            "The loader ignores it.",
            required=False,
        ),
        Field("description", FreeText(), doc="Free text about this config; the loader ignores it.", required=False),
        Field("endpoints", EndpointList(lambda: ENDPOINT)),
    ),
    lambda ctx, v, before: v["endpoints"],
)


def parse_config(data: Any, source: str) -> AppConfig:
    """Validate already-decoded config ``data``; ``source`` names it in messages."""
    problems: list[str] = []
    endpoints = ROOT.parse(Context(source, problems), data)
    if problems:
        raise ConfigError(source, problems)
    return AppConfig(source=source, endpoints=endpoints, warnings=_warnings(source, endpoints))


def _warnings(source: str, endpoints: tuple[EndpointSpec, ...]) -> tuple[ConfigWarning, ...]:
    """What a valid config should still be told, each located like an error (file, endpoint, variant, field)."""
    found: list[ConfigWarning] = []
    for endpoint in endpoints:
        shadow = endpoint.shadow_variant
        if shadow is None:
            continue
        (production,) = endpoint.production_variants
        message = shadow_limits.scaling_beyond_shadow(production, shadow)
        if message:
            located: list[str] = []
            where = (f'endpoint "{endpoint.name}"', f'variant "{production.name}"', "autoscaling")
            Context(source, located, where).error(message, "max_capacity")
            found.extend(ConfigWarning(endpoint.name, shadow_limits.SCALING_BEYOND_SHADOW, m) for m in located)
    return tuple(found)


def read_json_file(path: str | Path, error: Callable[[str, list[str]], Exception]) -> Any:
    """The JSON document at ``path``; an unreadable file or invalid JSON raises ``error(source, problems)``
    with the file (and line and column) named. Shared by every JSON file users edit (configs, the
    pipeline's weights file)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise error(source, [f"{source}: cannot read file: {err.strerror or err}"]) from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise error(source, [f"{source}: line {err.lineno} column {err.colno}: invalid JSON: {err.msg}"]) from err


def load_config(path: str | Path) -> AppConfig:
    """Read and validate the JSON config file at ``path``."""
    return parse_config(read_json_file(path, ConfigError), str(path))
