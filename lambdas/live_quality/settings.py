"""The live-quality Lambda's environment, read and checked once per call (pure: takes the mapping).

Environment variables are strings, set by the stack; a wrong one is a deployment mistake, so each
error names the variable and the value, and nothing is read from AWS or written before all are checked.

``plan``: ``ENDPOINT_NAME``, ``LOOKBACK_DAYS`` (the longest window: a run reads captures from the
window's anchor, but never more than these whole days before the run's hour; ``live_quality.window``),
``THRESHOLD`` (default 0.5; a score at or above it is a predicted positive).
``publish``: ``ENDPOINT_NAME``, ``VARIANTS`` (JSON list of the endpoint's variants in config order,
the first is the baseline), ``ALPHA`` (default 0.05), ``REPORT_BUCKET``, ``REPORT_PREFIX`` (default
``live-quality/``), ``METRICS_NAMESPACE`` (default ``SageMakerABTesting``),
``CAPTURE_SAMPLING_PERCENTAGE`` (the endpoint's data capture sampling, 0 to 100; default 100),
``SAMPLE_EXCERPT_CHARS`` (characters of an input-issue sample's detail the report keeps, 0 to
``tables.MAX_ISSUE_DETAIL_CHARS``; default all of them).
Beside a shadow only: ``plan`` also takes ``PRODUCTION_VARIANT`` and ``SHADOW_VARIANT`` (both or neither: then
the plan also gives the agreement query's parameters), and ``publish_agreement`` takes ``ENDPOINT_NAME``, both
of them, ``REPORT_BUCKET``, ``REPORT_PREFIX`` and ``METRICS_NAMESPACE`` as ``publish`` does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

from live_quality.tables import MAX_ISSUE_DETAIL_CHARS, MAX_LOOKBACK_DAYS
from live_quality.threshold import THRESHOLD_RANGE

DEFAULT_THRESHOLD = "0.5"
DEFAULT_ALPHA = "0.05"
DEFAULT_REPORT_PREFIX = "live-quality/"
DEFAULT_METRICS_NAMESPACE = "SageMakerABTesting"
# Without it every labelled request is expected to have its capture record (what sampling at 100 % gives).
DEFAULT_SAMPLING_PERCENTAGE = "100"
SAMPLING_RANGE = (0.0, 100.0)  # InitialSamplingPercentage, as the config loader takes it from botocore
# Every threshold and alpha the config's live_quality section accepts (strictly between 0 and 1)
# passes here: a value that synthesizes must not fail every run. Alpha as comparison.compare_with_baseline
# takes it (0 < alpha < 1); the threshold as the query text takes it (threshold.py: also 0 or 1, as the
# evaluation takes it).
ALPHA_RANGE = (0.0, 1.0)


class InvalidLiveRun(ValueError):
    """An event or environment the live-quality run cannot use; nothing was read or written."""


@dataclass(frozen=True)
class PlanSettings:
    endpoint: str
    lookback_days: int
    threshold: float
    # (production, shadow) beside a shadow; None otherwise (no agreement query).
    agreement_variants: tuple[str, str] | None = None


@dataclass(frozen=True)
class AgreementSettings:
    endpoint: str
    production_variant: str
    shadow_variant: str
    bucket: str
    prefix: str
    namespace: str


@dataclass(frozen=True)
class PublishSettings:
    endpoint: str
    variants: tuple[str, ...]
    alpha: float
    bucket: str
    prefix: str
    namespace: str
    sampling_percentage: float = float(DEFAULT_SAMPLING_PERCENTAGE)
    sample_excerpt_chars: int = MAX_ISSUE_DETAIL_CHARS


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value.strip():
        raise InvalidLiveRun(f"environment variable {name} is not set")
    return value.strip()


def _number(
    env: Mapping[str, str], name: str, default: str, low: float, high: float, *, inclusive: bool = True
) -> float:
    text = env.get(name) or default
    try:
        value = float(text)
    except ValueError:
        raise InvalidLiveRun(f"{name} is {text!r}, not a number") from None
    inside = low <= value <= high if inclusive else low < value < high
    if not math.isfinite(value) or not inside:
        bounds = "inclusive" if inclusive else "exclusive"
        raise InvalidLiveRun(f"{name} is {text!r}; it must be between {low:g} and {high:g} ({bounds})")
    return value


def _lookback_days(env: Mapping[str, str]) -> int:
    text = _required(env, "LOOKBACK_DAYS")
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LOOKBACK_DAYS:
        raise InvalidLiveRun(
            f"LOOKBACK_DAYS is {text!r}; it must be a whole number of days from 1 to {MAX_LOOKBACK_DAYS}"
        )
    return int(text)


def _variants(env: Mapping[str, str]) -> tuple[str, ...]:
    text = _required(env, "VARIANTS")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise InvalidLiveRun(f'VARIANTS is {text!r}; it must be a JSON list of variant names, e.g. ["Variant1"]')
    repeated = sorted({v for v in value if value.count(v) > 1})
    if repeated:
        raise InvalidLiveRun(f"VARIANTS names {', '.join(repeated)} more than once")
    return tuple(value)


def _prefix(env: Mapping[str, str]) -> str:
    prefix = env.get("REPORT_PREFIX", DEFAULT_REPORT_PREFIX)
    # Keys are <prefix><endpoint>/<run>/report.json: without the slash the endpoint would be glued
    # to the prefix, and a leading one makes an empty first segment that S3 keeps.
    if prefix and (not prefix.endswith("/") or prefix.startswith("/")):
        raise InvalidLiveRun(f"REPORT_PREFIX is {prefix!r}; it must end with '/' and not start with one (or be empty)")
    return prefix


def _excerpt_chars(env: Mapping[str, str]) -> int:
    text = (env.get("SAMPLE_EXCERPT_CHARS") or str(MAX_ISSUE_DETAIL_CHARS)).strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ISSUE_DETAIL_CHARS:
        raise InvalidLiveRun(
            f"SAMPLE_EXCERPT_CHARS is {text!r}; it must be a whole number from 0 to {MAX_ISSUE_DETAIL_CHARS}"
        )
    return int(text)


def _agreement_variants(env: Mapping[str, str]) -> tuple[str, str] | None:
    given = [name for name in ("PRODUCTION_VARIANT", "SHADOW_VARIANT") if (env.get(name) or "").strip()]
    if not given:
        return None
    if len(given) == 1:
        raise InvalidLiveRun(f"only {given[0]} is set; set both PRODUCTION_VARIANT and SHADOW_VARIANT, or neither")
    production, shadow = _required(env, "PRODUCTION_VARIANT"), _required(env, "SHADOW_VARIANT")
    if production == shadow:
        raise InvalidLiveRun(f"PRODUCTION_VARIANT and SHADOW_VARIANT are both {production!r}")
    return production, shadow


def plan_settings(env: Mapping[str, str]) -> PlanSettings:
    return PlanSettings(
        endpoint=_required(env, "ENDPOINT_NAME"),
        lookback_days=_lookback_days(env),
        threshold=_number(env, "THRESHOLD", DEFAULT_THRESHOLD, *THRESHOLD_RANGE),
        agreement_variants=_agreement_variants(env),
    )


def agreement_settings(env: Mapping[str, str]) -> AgreementSettings:
    variants = _agreement_variants(env)
    if variants is None:
        raise InvalidLiveRun("PRODUCTION_VARIANT and SHADOW_VARIANT are not set: this function serves a shadow")
    return AgreementSettings(
        endpoint=_required(env, "ENDPOINT_NAME"),
        production_variant=variants[0],
        shadow_variant=variants[1],
        bucket=_required(env, "REPORT_BUCKET"),
        prefix=_prefix(env),
        namespace=env.get("METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE,
    )


def publish_settings(env: Mapping[str, str]) -> PublishSettings:
    return PublishSettings(
        endpoint=_required(env, "ENDPOINT_NAME"),
        variants=_variants(env),
        alpha=_number(env, "ALPHA", DEFAULT_ALPHA, *ALPHA_RANGE, inclusive=False),
        bucket=_required(env, "REPORT_BUCKET"),
        prefix=_prefix(env),
        namespace=env.get("METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE,
        sampling_percentage=_number(env, "CAPTURE_SAMPLING_PERCENTAGE", DEFAULT_SAMPLING_PERCENTAGE, *SAMPLING_RANGE),
        sample_excerpt_chars=_excerpt_chars(env),
    )
