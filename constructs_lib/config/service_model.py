"""AWS's own input rules, read from the services' machine-readable API definitions.

botocore ships each service's model (e.g. ``botocore/data/sagemaker/2017-07-24/service-2.json``,
the same definition the API reference pages are generated from): name patterns and lengths,
the ``ProductionVariantInstanceType`` enum, numeric ranges. The config loader checks against it
instead of keeping copies that drift as SageMaker adds instance types.

Each model is read once per process, when first needed, straight from botocore's data folder
(SageMaker's takes about 0.1 s): importing ``botocore.loaders`` would add about 0.2 s of imports
to every synth, and its search of ``~/.aws/models`` would let a user's local files change the
rules (synth must be the same everywhere).
A SageMaker instance type newer than the installed botocore is refused until botocore (boto3 in
``requirements.txt``) is upgraded; the message says so.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore

SAGEMAKER = "sagemaker"
BOTOCORE_VERSION: str = botocore.__version__


DATA = Path(botocore.__file__).parent / "data"


def model_path(service: str) -> Path:
    """``service``'s newest API version in botocore (versions are dates, so the newest sorts last)."""
    version = max(p.name for p in (DATA / service).iterdir() if p.is_dir())
    folder = DATA / service / version
    return next(p for p in (folder / "service-2.json.gz", folder / "service-2.json") if p.exists())


@functools.cache
def shapes(service: str = SAGEMAKER) -> dict[str, Any]:
    """Every shape of ``service``'s model, by name (read once, then cached)."""
    path = model_path(service)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as stream:
        model: dict[str, Any] = json.load(stream)
    return model["shapes"]


@dataclass(frozen=True)
class StringRule:
    """A string shape's rule: its pattern (matched whole) and length bounds."""

    shape: str
    pattern: re.Pattern[str] | None
    min_length: int
    max_length: int | None

    def problem(self, value: str) -> str | None:
        """What is wrong with ``value`` under this rule, or None."""
        if self.max_length is not None and len(value) > self.max_length:
            return f"must be at most {self.max_length} characters ({self.describe()})"
        if len(value) < self.min_length or (self.pattern and not self.pattern.fullmatch(value)):
            return f"must match {self.describe()}"
        return None

    service: str = SAGEMAKER

    def describe(self) -> str:
        pattern = f" {self.pattern.pattern}" if self.pattern else ""
        owner = "SageMaker" if self.service == SAGEMAKER else self.service.upper()
        return f"{owner}'s name rule for {self.shape}{pattern}, botocore {BOTOCORE_VERSION}"


@functools.cache
def string_rule(shape_name: str, service: str = SAGEMAKER) -> StringRule:
    """The pattern and lengths of ``service``'s string shape ``shape_name`` (e.g. ``EndpointName``)."""
    shape = shapes(service)[shape_name]
    assert shape["type"] == "string", shape_name
    pattern = re.compile(shape["pattern"]) if "pattern" in shape else None
    return StringRule(shape_name, pattern, int(shape.get("min", 0)), shape.get("max"), service)


def numeric_range(shape_name: str, service: str = SAGEMAKER) -> tuple[float | None, float | None]:
    """``(min, max)`` of ``service``'s numeric shape such as ``InitialTaskCount``; None where unbounded."""
    shape = shapes(service)[shape_name]
    assert shape["type"] in ("integer", "long", "float", "double"), shape_name
    return shape.get("min"), shape.get("max")


def list_bounds(shape_name: str) -> tuple[int, int | None]:
    """``(min, max)`` item counts of a list or map shape such as ``ProductionVariantList``."""
    shape = shapes()[shape_name]
    assert shape["type"] in ("list", "map"), shape_name
    return int(shape.get("min", 0)), shape.get("max")


@functools.cache
def enum_values(shape_name: str) -> frozenset[str]:
    """The allowed values of an enum shape such as ``ProductionVariantInstanceType``."""
    return frozenset(shapes()[shape_name]["enum"])


def member_documentation(structure: str, member: str, service: str = SAGEMAKER) -> str:
    """The API reference text of ``service``'s ``structure.member`` (HTML tags removed)."""
    text: str = shapes(service)[structure]["members"][member].get("documentation", "")
    return re.sub(r"<[^>]+>", "", text)


@functools.cache
def _partition_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """botocore's ``partitions.json``: each AWS partition's id and the regex its region names match."""
    data = json.loads((DATA / "partitions.json").read_text())
    return tuple((p["id"], re.compile(p["regionRegex"])) for p in data["partitions"])


def partition_of_region(region: str) -> str | None:
    """The partition a region belongs to (``cn-north-1`` → ``aws-cn``, ``us-gov-west-1`` → ``aws-us-gov``),
    from botocore's partition table (the SDKs' source for ARNs and endpoints); ``None`` for a name no
    partition claims. GovCloud regions share the ``amazonaws.com`` domain with ``aws``, so a host name
    cannot tell them apart: the region can."""
    matches = [partition for partition, pattern in _partition_patterns() if pattern.match(region)]
    return matches[0] if len(matches) == 1 else None
