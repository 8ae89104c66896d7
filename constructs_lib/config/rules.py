"""The rules one config value must follow, each stated twice from the same object: as a check the
loader runs and as the JSON Schema keywords editors run (``config/schema.json``).

A rule is a small object: ``rule(value)`` returns what is wrong with ``value`` (or None),
``rule.json_schema()`` the same rule in JSON Schema (draft 2020-12), and ``rule.probes()`` values the
rule refuses, which the tests feed to both the loader and the schema. Where JSON Schema cannot refuse
a probe, the probe names the entry of :data:`constructs_lib.config.schema.LOADER_ONLY_RULES` that says why.

Rules that come from AWS read their numbers and patterns from botocore's service model when first
used (:mod:`constructs_lib.config.service_model`), never at import, so importing the loader stays cheap.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from constructs_lib.config import alarm_limits, service_model

JsonSchema = dict[str, Any]

# Names of LOADER_ONLY_RULES entries that single values run into (see constructs_lib/config/schema.py).
NON_FINITE = "non-finite-numbers"
WHOLE_FLOAT = "integers-written-as-decimals"
ARN_PARTITION = "arn-partition-fits-region"


class Probe(NamedTuple):
    """A value some rule refuses; ``gap`` names the loader-only rule when JSON Schema accepts it."""

    value: Any
    gap: str | None = None


def describe(value: Any) -> str:
    """How a value appears in a message: JSON for scalars, the type name for lists and objects."""
    return json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def schema_pattern(pattern: re.Pattern[str], *, whole: bool = False) -> str:
    """``pattern`` as a JSON Schema ``pattern``, valid in both ECMA-262 (editors) and Python's ``re`` (the
    jsonschema package): named groups become plain groups, as the two spell names differently. JSON Schema
    patterns are not anchored, so a rule Python applies with ``fullmatch`` is wrapped in ``^(?:…)$``."""
    text = re.sub(r"\(\?P<\w+>", "(", pattern.pattern)
    return f"^(?:{text})$" if whole else text


def _first_mismatch(pattern: re.Pattern[str], candidates: Iterable[str]) -> str:
    return next(c for c in candidates if not pattern.match(c))


_MISMATCH_CANDIDATES = ("!", "-", "nope", "UPPER/case")


class Rule:
    """A check on one value, and the same check in JSON Schema."""

    converts = False  # True where convert() changes the value (the parser skips the call otherwise)

    def __call__(self, value: Any) -> str | None:
        raise NotImplementedError

    def json_schema(self) -> JsonSchema:
        raise NotImplementedError

    def probes(self) -> tuple[Probe, ...]:
        return ()

    def convert(self, value: Any) -> Any:
        """The value the model holds once the check passed (the JSON value unless said otherwise)."""
        return value


class FreeText(Rule):
    """Anything: the loader ignores the value (``description``, ``$schema``)."""

    def __call__(self, value: Any) -> str | None:
        return None

    def json_schema(self) -> JsonSchema:
        return {}


class Boolean(Rule):
    def __call__(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else "must be true or false"

    def json_schema(self) -> JsonSchema:
        return {"type": "boolean"}

    def probes(self) -> tuple[Probe, ...]:
        return (Probe("yes"), Probe(1), Probe(None))


class Text(Rule):
    """A non-empty string, matching ``pattern`` (from its start, Python's ``re.match``) when given."""

    def __init__(self, pattern: re.Pattern[str] | None = None, hint: str = "", *, examples: tuple[str, ...] = ()):
        self.pattern, self.hint, self.examples = pattern, hint, examples

    def __call__(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            return "must be a non-empty string"
        if self.pattern and not self.pattern.match(value):
            return f"must match {self.hint or self.pattern.pattern}"
        return None

    def json_schema(self) -> JsonSchema:
        schema: JsonSchema = {"type": "string", "minLength": 1}
        if self.pattern:
            schema["pattern"] = schema_pattern(self.pattern)
        if self.examples:
            schema["examples"] = list(self.examples)
        return schema

    def probes(self) -> tuple[Probe, ...]:
        found = (Probe(5), Probe(""), Probe(None))
        return (*found, Probe(_first_mismatch(self.pattern, _MISMATCH_CANDIDATES))) if self.pattern else found


def partition_problem(arn: str) -> str | None:
    """An ARN's partition must be the one its region belongs to (``arn:aws:kms:cn-north-1:…`` names no key)."""
    _, partition, _, region, *_ = arn.split(":", 5)
    expected = service_model.partition_of_region(region)
    if region and expected != partition:
        return f"names region {region}, which is in partition {expected or 'unknown'}, not {partition}"
    return None


def _other_partition(arn: str) -> str:
    """``arn`` (in ``aws``) moved to the ``aws-cn`` partition, keeping its region: a partition mismatch."""
    head, partition, rest = arn.split(":", 2)
    assert partition == "aws", arn
    return f"{head}:aws-cn:{rest}"


class Arn(Text):
    """A string matching ``pattern`` whose partition fits its region; ``examples[0]`` must be in ``aws``."""

    def __call__(self, value: Any) -> str | None:
        return super().__call__(value) or partition_problem(value)

    def probes(self) -> tuple[Probe, ...]:
        return (*super().probes(), Probe(_other_partition(self.examples[0]), ARN_PARTITION))


class EcrRepositoryArn(Rule):
    """arn:<partition>:ecr:<region>:<account>:repository/<name>, the name under ECR's RepositoryName rule."""

    ARN = re.compile(r"^arn:aws[a-z-]*:ecr:[a-z0-9-]+:\d{12}:repository/(?P<name>.+)$")
    EXAMPLE = "arn:aws:ecr:eu-west-1:111122223333:repository/fraud-registry-inference"

    @functools.cached_property
    def name_rule(self) -> service_model.StringRule:
        return service_model.string_rule("RepositoryName", "ecr")

    def __call__(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            return "must be a non-empty string"
        match = self.ARN.match(value)
        if not match:
            return "must be an ECR repository ARN arn:aws:ecr:<region>:<account>:repository/<name>"
        return partition_problem(value) or self.name_rule.problem(match["name"])

    def json_schema(self) -> JsonSchema:
        rule = self.name_rule
        assert rule.pattern is not None
        lengths = f"(?=.{{{rule.min_length},{rule.max_length}}}$)"
        prefix = self.ARN.pattern.split("(?P<name>")[0]
        return {
            "type": "string",
            "minLength": 1,
            "pattern": f"{prefix}{lengths}(?:{rule.pattern.pattern})$",
            "examples": [self.EXAMPLE],
        }

    def probes(self) -> tuple[Probe, ...]:
        return (
            Probe(5),
            Probe(""),
            Probe("111122223333.dkr.ecr.us-east-1.amazonaws.com/churn"),
            Probe(self.EXAMPLE.replace("fraud-registry", "Fraud-Registry")),
            Probe(self.EXAMPLE.rsplit("/", 1)[0] + "/a"),
            Probe(_other_partition(self.EXAMPLE), ARN_PARTITION),
        )


class S3Prefix(Rule):
    """A string starting with ``s3://`` (a model package's artifacts prefix)."""

    def __call__(self, value: Any) -> str | None:
        # str(): the check has always accepted exactly the strings that start with s3://.
        return None if str(value).startswith("s3://") else "must be an s3:// URI"

    def json_schema(self) -> JsonSchema:
        return {"type": "string", "pattern": "^s3://", "examples": ["s3://my-ml-models/fraud/registry/"]}

    def probes(self) -> tuple[Probe, ...]:
        return (Probe(5), Probe("https://bucket/prefix/"), Probe(["s3://bucket/"]))


class SageMakerName(Rule):
    """A non-empty string that SageMaker's service model accepts for the string shape ``shape``."""

    def __init__(self, shape: str):
        self.shape = shape

    @functools.cached_property
    def rule(self) -> service_model.StringRule:
        return service_model.string_rule(self.shape)

    def __call__(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            return "must be a non-empty string"
        return self.rule.problem(value)

    def json_schema(self) -> JsonSchema:
        schema: JsonSchema = {"type": "string", "minLength": max(1, self.rule.min_length)}
        if self.rule.max_length is not None:
            schema["maxLength"] = self.rule.max_length
        if self.rule.pattern:
            schema["pattern"] = schema_pattern(self.rule.pattern, whole=True)
        return schema

    def probes(self) -> tuple[Probe, ...]:
        found = [Probe(5), Probe("")]
        if self.rule.max_length is not None:
            found.append(Probe("a" * (self.rule.max_length + 1)))
        if self.rule.pattern:
            found.append(Probe(next(c for c in _MISMATCH_CANDIDATES if not self.rule.pattern.fullmatch(c))))
        return tuple(found)


class InstanceType(Rule):
    """One of SageMaker's ProductionVariantInstanceType values, as the installed botocore lists them."""

    def __call__(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            return "must be a non-empty string"
        if value not in service_model.enum_values("ProductionVariantInstanceType"):
            return (
                "must be one of SageMaker's ProductionVariantInstanceType values such as ml.m5.xlarge "
                f"(botocore {service_model.BOTOCORE_VERSION}; a newer instance type needs a newer boto3)"
            )
        return None

    def json_schema(self) -> JsonSchema:
        return {
            "type": "string",
            "enum": sorted(service_model.enum_values("ProductionVariantInstanceType")),
            "examples": ["ml.m5.xlarge"],
        }

    def probes(self) -> tuple[Probe, ...]:
        return (Probe(5), Probe(""), Probe("ml.m5.huge"), Probe("m5.xlarge"))


class Integer(Rule):
    """A whole number (not a boolean, not ``1.0``) within ``minimum``..``maximum``."""

    def __init__(self, minimum: int, maximum: int | None = None):
        self.bounds: tuple[int, int | None] = (minimum, maximum)

    def __call__(self, value: Any) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return "must be an integer"
        minimum, maximum = self.bounds
        if value < minimum:
            return f"must be >= {minimum}"
        if maximum is not None and value > maximum:
            return f"must be <= {maximum}"
        return None

    def json_schema(self) -> JsonSchema:
        minimum, maximum = self.bounds
        schema: JsonSchema = {"type": "integer", "minimum": minimum}
        if maximum is not None:
            schema["maximum"] = maximum
        return schema

    def probes(self) -> tuple[Probe, ...]:
        minimum, maximum = self.bounds
        found = [Probe("1"), Probe(True), Probe(minimum + 0.5), Probe(minimum - 1), Probe(float(minimum), WHOLE_FLOAT)]
        if maximum is not None:
            found.append(Probe(maximum + 1))
        return tuple(found)


class SageMakerInteger(Integer):
    """An integer within the range of SageMaker's numeric shape ``shape`` (e.g. ``InitialTaskCount``), or of
    another service's (``service``, e.g. Athena's ``BytesScannedCutoffValue``)."""

    def __init__(self, shape: str, service: str = service_model.SAGEMAKER):
        self.shape, self.service = shape, service

    @functools.cached_property
    def bounds(self) -> tuple[int, int | None]:  # type: ignore[override]
        low, high = service_model.numeric_range(self.shape, self.service)
        return (int(low) if low is not None else -(2**31), int(high) if high is not None else None)


def _not_finite(value: Any) -> str | None:
    """Python's json module reads the non-standard literals NaN, Infinity and -Infinity; they would
    reach the template, where the CDK CLI's JSON parser (Node's) fails on them."""
    return None if math.isfinite(value) else "must be a finite number (NaN and Infinity are not valid JSON)"


class Number(Rule):
    """A finite number >= ``minimum`` (> with ``exclusive``)."""

    def __init__(self, minimum: float, *, exclusive: bool = False):
        self.minimum, self.exclusive = minimum, exclusive

    def __call__(self, value: Any) -> str | None:
        if not is_number(value):
            return "must be a number"
        if _not_finite(value):
            return _not_finite(value)
        if self.exclusive and value <= self.minimum:
            return f"must be > {self.minimum:g}"
        if value < self.minimum:
            return f"must be >= {self.minimum:g}"
        return None

    def json_schema(self) -> JsonSchema:
        return {"type": "number", ("exclusiveMinimum" if self.exclusive else "minimum"): self.minimum}

    def probes(self) -> tuple[Probe, ...]:
        edge = self.minimum if self.exclusive else self.minimum - 1
        return (Probe("1"), Probe(True), Probe(edge), Probe(math.inf, NON_FINITE), Probe(math.nan, NON_FINITE))


class SageMakerNumber(Number):
    """A finite number at or above the minimum of SageMaker's numeric shape ``shape`` (e.g. ``VariantWeight``)."""

    def __init__(self, shape: str):
        self.shape, self.exclusive = shape, False

    @functools.cached_property
    def minimum(self) -> float:  # type: ignore[override]
        return service_model.numeric_range(self.shape)[0] or 0


class Probability(Rule):
    """A number strictly between 0 and 1."""

    def __call__(self, value: Any) -> str | None:
        return None if is_number(value) and 0 < value < 1 else "must be a number between 0 and 1 (exclusive)"

    def json_schema(self) -> JsonSchema:
        return {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}

    def probes(self) -> tuple[Probe, ...]:
        return (Probe("0.5"), Probe(True), Probe(0), Probe(1), Probe(math.nan, NON_FINITE))


class AlarmPeriod(Rule):
    """A CloudWatch alarm period SageMaker's per-minute metrics can fill (see alarm_limits)."""

    def __call__(self, value: Any) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return "must be an integer"
        return alarm_limits.period_problem(value)

    def json_schema(self) -> JsonSchema:
        return {
            "type": "integer",
            "minimum": alarm_limits.SAGEMAKER_METRIC_PERIOD_SECONDS,
            "multipleOf": alarm_limits.PERIOD_MULTIPLE_SECONDS,
        }

    def probes(self) -> tuple[Probe, ...]:
        return (
            Probe("60"),
            Probe(True),
            Probe(0),
            Probe(-60),
            Probe(90),
            *(Probe(p) for p in alarm_limits.HIGH_RESOLUTION_PERIODS),
            Probe(60.0, WHOLE_FLOAT),
        )


class EmailList(Rule):
    """A list (possibly empty) of e-mail addresses."""

    EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    converts = True

    def __call__(self, value: Any) -> str | None:
        if not isinstance(value, list) or not all(isinstance(e, str) and self.EMAIL.match(e) for e in value):
            return "must be a list of e-mail addresses"
        return None

    def convert(self, value: Any) -> Any:
        return tuple(value)

    def json_schema(self) -> JsonSchema:
        return {
            "type": "array",
            "items": {"type": "string", "pattern": self.EMAIL.pattern},
            "examples": [["ml-team@example.com"]],
        }

    def probes(self) -> tuple[Probe, ...]:
        return (Probe("ml-team@example.com"), Probe(["not-an-address"]), Probe([5]))


class OneOf(Rule):
    """A non-empty string from a fixed set (the built-in algorithms); ``what`` names the set in messages."""

    def __init__(self, values: Iterable[str], what: str):
        self.values, self.what = tuple(sorted(values)), what

    def shape_problem(self, value: Any) -> str | None:
        return None if isinstance(value, str) and value else "must be a non-empty string"

    def __call__(self, value: Any) -> str | None:
        return self.shape_problem(value) or self.membership_problem(value)

    def membership_problem(self, value: str) -> str | None:
        return None if value in self.values else f"unknown {self.what} (known: {', '.join(self.values)})"

    def json_schema(self) -> JsonSchema:
        return {"type": "string", "enum": list(self.values)}

    def probes(self) -> tuple[Probe, ...]:
        return (Probe(5), Probe(""), Probe("no-such-" + self.what.replace(" ", "-")))
