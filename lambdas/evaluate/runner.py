"""One evaluation run: test set in, scores per variant, metrics, paired comparisons, verdicts, report.

The first variant is the baseline and every other one is compared with it; the verdicts control the
family-wise error over all those comparisons (``evaluate.verdicts``).

Shared by the Lambda (``handler.py``) and the command (``cli.py``); the AWS clients and the
places data comes from and reports go to are passed in.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from evaluate.dataset import Dataset, parse_csv
from evaluate.errors import InvalidEvaluation  # re-exported: callers import it from here too
from evaluate.metrics import binary_metrics, correct_predictions, latency_percentiles, roc_curve
from evaluate.paired_tests import AucDifference, AucNotTestable, delong_test, mcnemar_exact, paired_bootstrap_auc
from evaluate.scoring import VariantScores, score_variant
from evaluate.variants import LiveVariants  # re-exported: callers import it from here too
from evaluate.verdicts import CandidateTests, family_size, verdicts_against_baseline

LOG = logging.getLogger(__name__)

QUALITY_METRICS = {
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "roc_auc": "RocAuc",
}
# The JSON type each event key must have, checked for every key before anything else is read: a
# value of another type is refused, never coerced ("has_header": "false" is a non-empty string,
# so truthy, and would silently treat the first data row as a header). ``float`` is any JSON
# number, ``int`` a whole one; ``None`` means the key may be null (its default then applies);
# true/false is never a number. Ranges and whole-number rules are checked afterwards.
FIELD_TYPES: dict[str, tuple[type | None, ...]] = {
    "data_uri": (str,),
    "label_column": (int, str),
    "has_header": (bool, None),
    "content_type": (str,),
    "threshold": (float,),
    "variants": (list, None),
    "max_rows": (float, None),
    "batch_size": (float,),
    "concurrency": (float,),
    "alpha": (float,),
    "max_failure_rate": (float,),
    "bootstrap_resamples": (float,),
}
ALLOWED_KEYS = set(FIELD_TYPES)
_JSON_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", list: "a list"}


@dataclass(frozen=True)
class EvaluationRequest:
    """What to evaluate. Defaults: label in column 0, header detected, CSV, threshold 0.5, all
    variants in the endpoint's order (the first one is the baseline), every row, 100 rows per
    request, 4 requests at a time, family-wise alpha 0.05, a variant with more than 5 % failed
    requests is marked failed, 1000 bootstrap resamples (0 skips it)."""

    endpoint_name: str
    data_uri: str
    label_column: int | str = 0
    has_header: bool | None = None
    content_type: str = "text/csv"
    threshold: float = 0.5
    variants: tuple[str, ...] | None = None
    max_rows: int | None = None
    batch_size: int = 100
    concurrency: int = 4
    alpha: float = 0.05
    max_failure_rate: float = 0.05
    bootstrap_resamples: int = 1000


def _number(event: Mapping[str, Any], key: str, default: float, low: float, high: float, *, whole: bool) -> Any:
    value = event.get(key, default)
    kind = "whole number" if whole else "number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidEvaluation(f"{key} must be a {kind} (got {value!r})")
    # Python's json (and so Lambda's event) reads NaN and Infinity; neither compares or converts.
    if not math.isfinite(value):
        raise InvalidEvaluation(f"{key} must be a finite {kind} (got {value!r})")
    if whole and value != int(value):
        raise InvalidEvaluation(f"{key} must be a {kind} (got {value!r})")
    if not low <= value <= high:
        raise InvalidEvaluation(f"{key} must be between {low:g} and {high:g} (got {value!r})")
    return int(value) if whole else float(value)


def _has_type(value: Any, allowed: tuple[type | None, ...]) -> bool:
    if value is None:
        return None in allowed
    if isinstance(value, bool):
        return bool in allowed
    if float in allowed and isinstance(value, (int, float)):
        return True
    return any(kind in (int, str, list) and isinstance(value, kind) for kind in allowed)


def _check_types(event: Mapping[str, Any]) -> None:
    """Every key has its JSON type from :data:`FIELD_TYPES`; the error names key, value and type."""
    for key, value in event.items():
        allowed = FIELD_TYPES[key]
        if not _has_type(value, allowed):
            names = dict.fromkeys(_JSON_NAMES[kind] for kind in allowed if kind is not None)
            if None in allowed:
                names["null"] = None
            raise InvalidEvaluation(
                f"{key} must be {' or '.join(names)} (got {value!r}, {_json_type(value)}); nothing was evaluated"
            )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _content_type(event: Mapping[str, Any]) -> str:
    value = event.get("content_type", "text/csv")
    if not value.strip():
        raise InvalidEvaluation(f'content_type must be a MIME type such as "text/csv" (got {value!r})')
    return str(value)


def parse_request(event: Mapping[str, Any], endpoint_name: str) -> EvaluationRequest:
    """Validate an evaluation request (the Lambda's event, or the command's options).

    Every key is type-checked (:data:`FIELD_TYPES`) before any value is used.
    """
    if not isinstance(event, Mapping):
        raise InvalidEvaluation(f"event must be an object (got {type(event).__name__})")
    unknown = sorted(set(event) - ALLOWED_KEYS)
    if unknown:
        raise InvalidEvaluation(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(ALLOWED_KEYS))}")
    _check_types(event)
    data_uri = event.get("data_uri")
    if not isinstance(data_uri, str) or not data_uri:
        raise InvalidEvaluation('"data_uri" is required, e.g. "s3://bucket/datasets/churn-test.csv"')
    label_column = event.get("label_column", 0)
    # A negative index would count from the right and quietly make another column the label.
    if (
        isinstance(label_column, bool)
        or not isinstance(label_column, (int, str))
        or (isinstance(label_column, int) and label_column < 0)
    ):
        raise InvalidEvaluation(f"label_column must be a column index from 0 or a column name (got {label_column!r})")
    variants = event.get("variants")
    if variants is not None and (
        not isinstance(variants, list) or not variants or not all(isinstance(v, str) and v for v in variants)
    ):
        raise InvalidEvaluation(f"variants must be a non-empty list of variant names (got {variants!r})")
    repeated = sorted({v for v in variants if variants.count(v) > 1}) if variants else []
    if repeated:
        raise InvalidEvaluation(f"variants must name each variant once ({', '.join(repeated)} is repeated)")
    max_rows = event.get("max_rows")
    return EvaluationRequest(
        endpoint_name=endpoint_name,
        data_uri=data_uri,
        label_column=label_column,
        has_header=event.get("has_header"),
        content_type=_content_type(event),
        threshold=_number(event, "threshold", 0.5, 0.0, 1.0, whole=False),
        variants=tuple(variants) if variants else None,
        max_rows=None if max_rows is None else _number(event, "max_rows", 0, 1, 10_000_000, whole=True),
        batch_size=_number(event, "batch_size", 100, 1, 10_000, whole=True),
        concurrency=_number(event, "concurrency", 4, 1, 32, whole=True),
        alpha=_number(event, "alpha", 0.05, 1e-6, 0.5, whole=False),
        max_failure_rate=_number(event, "max_failure_rate", 0.05, 0.0, 1.0, whole=False),
        bootstrap_resamples=_number(event, "bootstrap_resamples", 1000, 0, 100_000, whole=True),
    )


def load_dataset(text: str, request: EvaluationRequest) -> Dataset:
    try:
        dataset = parse_csv(text, label_column=request.label_column, has_header=request.has_header)
    except ValueError as err:
        raise InvalidEvaluation(f"{request.data_uri}: {err}") from err
    if request.max_rows and len(dataset.labels) > request.max_rows:
        dataset = Dataset(
            labels=dataset.labels[: request.max_rows],
            rows=dataset.rows[: request.max_rows],
            header=dataset.header,
            label_name=dataset.label_name,
        )
    return dataset


def choose_variants(live: LiveVariants, requested: Sequence[str] | None, endpoint_name: str) -> list[str]:
    """The variants to evaluate: every production variant, or those ``requested``. A shadow is refused.

    The evaluation sends each variant its rows with InvokeEndpoint's TargetVariant, "the production variant to
    send the inference request to" (InvokeEndpoint API reference,
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html); what SageMaker
    does with a shadow's name there is not documented (design F11), and a shadow's answers are discarded.
    """
    if requested is None:
        return list(live.production)
    shadows = [v for v in dict.fromkeys(requested) if v in live.shadows]
    if shadows:
        raise InvalidEvaluation(
            f"variant(s) {', '.join(shadows)} of endpoint {endpoint_name} are its shadow: a shadow answers nobody "
            "(its answers are discarded) and the evaluation targets production variants only (InvokeEndpoint "
            "TargetVariant); watch the shadow on the dashboard's shadow row and in its data captures, and evaluate "
            f"it after promotion. Production variant(s): {', '.join(live.production)}"
        )
    unknown = sorted(set(requested) - set(live.production))
    if unknown:
        raise InvalidEvaluation(
            f"endpoint {endpoint_name} has no variant(s) {', '.join(unknown)}; "
            f"its variants are {', '.join(live.production)}"
        )
    return list(dict.fromkeys(requested))


def _variant_section(scored: VariantScores, labels: Sequence[int], request: EvaluationRequest) -> dict[str, Any]:
    section: dict[str, Any] = {
        "status": _status(scored, request),
        "rows_scored": scored.rows_scored,
        "rows": len(labels),
        "requests": scored.requests,
        "failed_requests": scored.failed_requests,
        "skipped_requests": scored.skipped_requests,
        "errors": scored.errors,
        "latency_ms": latency_percentiles(scored.latencies_ms) if scored.latencies_ms else None,
    }
    kept = [(label, score) for label, score in zip(labels, scored.scores, strict=True) if score is not None]
    if kept:
        metrics = binary_metrics([k[0] for k in kept], [k[1] for k in kept], request.threshold)
        section["metrics"] = {name: getattr(metrics, name) for name in QUALITY_METRICS}
        section["confusion"] = asdict(metrics.confusion)
        curve = roc_curve([k[0] for k in kept], [k[1] for k in kept])
        if curve is not None:  # for the report's ROC figure (scripts/evaluation_figures.py)
            section["roc_curve"] = curve.as_dict()
    return section


def _comparison(
    baseline: str,
    candidate: str,
    scored: Mapping[str, VariantScores],
    labels: Sequence[int],
    request: EvaluationRequest,
) -> tuple[dict[str, Any], CandidateTests | None]:
    """Paired tests of ``candidate`` against ``baseline`` on the rows both scored; no verdict yet.

    Returns the report section and the tests, or ``None`` (with a verdict saying why) when there is
    nothing to test: such a comparison adds no p-value to the family. When only the ROC AUC cannot be
    tested (``evaluate.paired_tests.AucNotTestable``), the McNemar test alone enters the family and
    the section says why under ``auc_not_tested``.
    """
    pairs = [
        (label, a, b)
        for label, a, b in zip(labels, scored[baseline].scores, scored[candidate].scores, strict=True)
        if a is not None and b is not None
    ]
    section: dict[str, Any] = {"variant_a": baseline, "variant_b": candidate, "paired_rows": len(pairs)}
    statuses = {name: _status(scored[name], request) for name in (baseline, candidate)}
    if "failed" in statuses.values():
        failed = ", ".join(n for n, s in statuses.items() if s == "failed")
        section["verdict"] = {
            "winner": None,
            "reason": f"no verdict: too many failed requests on {failed}",
            "significant": False,
        }
        return section, None
    if not pairs:
        section["verdict"] = {"winner": None, "reason": "no row was scored by both variants", "significant": False}
        return section, None
    paired_labels = [p[0] for p in pairs]
    a_scores, b_scores = [p[1] for p in pairs], [p[2] for p in pairs]
    mcnemar = mcnemar_exact(
        correct_predictions(paired_labels, a_scores, request.threshold),
        correct_predictions(paired_labels, b_scores, request.threshold),
    )
    section["mcnemar"] = asdict(mcnemar)
    auc: AucDifference | None = None
    try:
        auc = delong_test(paired_labels, a_scores, b_scores)
    except AucNotTestable as err:  # one class, too few rows of one, or no variability
        # The accuracy test is still sound; only the AUC stays out of the family.
        section["auc_not_tested"] = str(err)
    if auc is not None:
        section["delong"] = asdict(auc)
        if request.bootstrap_resamples:
            section["bootstrap"] = asdict(
                paired_bootstrap_auc(paired_labels, a_scores, b_scores, resamples=request.bootstrap_resamples)
            )
    if "partial" in statuses.values():
        section["partial"] = True
    return section, CandidateTests(candidate, mcnemar, auc)


def compare_with_baseline(
    variants: Sequence[str], scored: Mapping[str, VariantScores], labels: Sequence[int], request: EvaluationRequest
) -> tuple[int, list[dict[str, Any]]]:
    """The family size (p-values Holm-adjusted together) and one comparison section per candidate
    (every variant after the first, the baseline), with verdicts adjusted family-wise over all
    candidates' tests (see ``evaluate.verdicts``)."""
    baseline = variants[0]
    compared = [_comparison(baseline, candidate, scored, labels, request) for candidate in variants[1:]]
    tested = [tests for _, tests in compared if tests is not None]
    family = family_size(tested)
    outcomes = iter(verdicts_against_baseline(baseline, tested, alpha=request.alpha))
    for section, tests in compared:
        if tests is None:
            continue
        outcome = asdict(next(outcomes))
        if section.get("partial"):
            outcome["reason"] = f"PARTIAL ({section['paired_rows']} of {len(labels)} rows): {outcome['reason']}"
        section["verdict"] = outcome
    return family, [section for section, _ in compared]


def _status(scored: VariantScores, request: EvaluationRequest) -> str:
    if scored.failure_rate > request.max_failure_rate:
        return "failed"
    return "complete" if scored.complete else "partial"


def evaluate(
    request: EvaluationRequest,
    *,
    read_text: Callable[[str], str],
    describe_variants: Callable[[str], LiveVariants],
    runtime: Any,
    publish: Callable[[str, Mapping[str, float]], None] | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Run the evaluation and return the report (a JSON-ready dict).

    :param read_text: reads the test set at a URI.
    :param describe_variants: the endpoint's live variants (raises when it does not exist).
    :param publish: called with (variant, metrics) for every *complete* variant; default none.
    :param deadline: ``time.monotonic()`` value after which no new request starts.
    """
    variants = choose_variants(describe_variants(request.endpoint_name), request.variants, request.endpoint_name)
    dataset = load_dataset(read_text(request.data_uri), request)
    LOG.info("evaluating", extra={"endpoint": request.endpoint_name, "rows": len(dataset.rows), "variants": variants})
    started = time.monotonic()
    scored = {
        variant: score_variant(
            runtime,
            request.endpoint_name,
            variant,
            dataset.rows,
            content_type=request.content_type,
            batch_size=request.batch_size,
            concurrency=request.concurrency,
            deadline=deadline,
        )
        for variant in variants
    }
    sections = {v: _variant_section(scored[v], dataset.labels, request) for v in variants}
    family_tests, comparisons = compare_with_baseline(variants, scored, dataset.labels, request)

    published = []
    for variant, section in sections.items():
        if section["status"] == "complete" and publish is not None:
            values = {
                QUALITY_METRICS[k]: v
                for k, v in section["metrics"].items()
                if v is not None and not (isinstance(v, float) and math.isnan(v))
            }
            publish(variant, values)
            published.append(variant)

    incomplete = sorted(v for v, s in sections.items() if s["status"] != "complete")
    return {
        "endpoint_name": request.endpoint_name,
        "data_uri": request.data_uri,
        "rows": len(dataset.rows),
        "settings": {
            "threshold": request.threshold,
            "batch_size": request.batch_size,
            "concurrency": request.concurrency,
            "alpha": request.alpha,
            "content_type": request.content_type,
        },
        "seconds": round(time.monotonic() - started, 3),
        "complete": not incomplete,
        "incomplete_variants": incomplete,
        "published_metrics_for": published,
        "baseline": variants[0],
        "family_tests": family_tests,
        "variants": sections,
        "comparisons": comparisons,
    }
