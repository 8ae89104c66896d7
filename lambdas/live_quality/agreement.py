"""Agreement between the production variant and its shadow, from the agreement query's rows: pure, no AWS, no SQL.

The rows come from ``sql/shadow_agreement.sql`` (``live_quality.agreement_query``): per side the good capture
lines and how many of them paired, per pairing key the pairs' 2x2 table at the threshold and the absolute score
differences, and every input issue with its first lines. This module turns them into the report (JSON-ready
dict) and its Markdown.

What the numbers rest on, UNVERIFIED (docs/design/shadow-and-guardrails.md §5):

* **Q4**: that the shadow's copy is captured under the shadow's variant folder with the production record's
  ``eventId``. The fallback key is the caller's ``InferenceId`` ("If you provide a value, it is added to the
  captured data when you enable data capture on the endpoint", InvokeEndpoint API reference,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html); that the shadow's
  copy carries it as well is not documented either. If SageMaker
  does neither, there are no pairs, and the report says "no pairs: see Q4" rather than an agreement of 0 %.
* **Q1 / H1**: that the share of production's requests copied to the shadow is the declared
  ``sampling_percentage`` (hypothesis H1, ``lambdas/endpoint_weights/shadow_sampling.py``). The observed
  sampling (pairs / production captured) is set beside it, labelled UNVERIFIED: a gap is first a question
  about H1 (or about whether the copy is captured when the production record is), not a fault.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from statistics import NormalDist
from typing import Any

from live_quality.report import fmt_value
from live_quality.results import ISSUES as LIVE_ISSUES

CONFIDENCE = 0.95
PAIRING_KEYS = ("eventId", "inferenceId")
SIDES = ("production", "shadow")
NO_PAIRS = "no pairs: see Q4"

# What each issue means: the capture line issues are the live-quality query's own (the reused parsing), with
# its texts; the pairing adds its own.
_LIVE_ONLY = ("capture_duplicate_id", "capture_without_inference_id")  # label attribution, not pairing
ISSUES = {
    **{name: text for name, text in LIVE_ISSUES.items() if name.startswith("capture_") and name not in _LIVE_ONLY},
    "duplicate_event_id": "the same eventId more than once on this side: its copies do not pair by eventId",
    "duplicate_inference_id": "the same inferenceId more than once among this side's lines left unpaired by "
    "eventId: they do not pair by inferenceId",
    "shadow_without_production": "a shadow record with no production record (every copy should have one): "
    "a finding (an id the shadow changed, a production record outside the window or left out above)",
    "content_type_mismatch": "a pair whose input or output observedContentType differs (production | shadow): "
    "still compared when both scores parse; check that the shadow answers in production's format",
}


class InvalidAgreementRows(ValueError):
    """Rows the agreement query cannot have produced."""


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The Wilson score interval of ``successes / trials`` (None for no trials): unlike the normal
    interval it stays inside 0..1 and keeps its coverage near 0 and 1, where agreement usually is."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise InvalidAgreementRows(f"{successes} successes out of {trials} trials")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    rate = successes / trials
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


def _count(row: Mapping[str, Any], column: str) -> int:
    value = row.get(column)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidAgreementRows(f"row {dict(row)} has {column}={value!r}, not a count")
    return value


def _pairs_section(row: Mapping[str, Any]) -> dict[str, Any]:
    n = _count(row, "n")
    table = {
        "production_positive": {
            "shadow_positive": _count(row, "both_positive"),
            "shadow_negative": _count(row, "production_only_positive"),
        },
        "production_negative": {
            "shadow_positive": _count(row, "shadow_only_positive"),
            "shadow_negative": _count(row, "both_negative"),
        },
    }
    agreeing = table["production_positive"]["shadow_positive"] + table["production_negative"]["shadow_negative"]
    if sum(sum(side.values()) for side in table.values()) != n:
        raise InvalidAgreementRows(f"the 2x2 table of row {dict(row)} does not add up to its {n} pairs")
    interval = wilson_interval(agreeing, n)
    return {
        "pairs": n,
        "agreement": agreeing / n if n else None,
        "interval": list(interval) if interval else None,
        "table": table,
        "content_type_mismatch": _count(row, "content_type_mismatch"),
        "abs_score_difference": {
            "mean": row.get("mean_abs_difference"),
            "median": row.get("median_abs_difference"),
            "p95": row.get("p95_abs_difference"),
        },
    }


def _issues(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    issues: dict[str, Any] = {}
    rows = list(rows)
    for row in rows:
        if row["row_kind"] == "issue_count":
            entry = issues.setdefault(
                row["issue"],
                {
                    "count": 0,
                    "meaning": ISSUES.get(row["issue"], "reported by the query"),
                    "by_side": {},
                    "samples": [],
                },
            )
            entry["count"] += _count(row, "n")
            entry["by_side"][row["side"]] = _count(row, "n")
    for row in rows:
        if row["row_kind"] == "issue_sample" and row["issue"] in issues:
            issues[row["issue"]]["samples"].append(
                {"file": row["source_file"], "line": row["line_number"], "side": row["side"], "detail": row["detail"]}
            )
    return dict(sorted(issues.items()))


def _observed_sampling(pairs: int, production: int, declared: float | None) -> dict[str, Any]:
    interval = wilson_interval(pairs, production)
    section: dict[str, Any] = {
        "percentage": 100 * pairs / production if production else None,
        "interval_percent": [100 * bound for bound in interval] if interval else None,
        "declared_percentage": declared,
        "status": "UNVERIFIED: the declared percentage is what hypothesis H1 predicts (Q1); the observed one "
        "also assumes the copy is captured exactly when the production record is",
    }
    if declared is not None and interval is not None:
        section["declared_inside_interval"] = 100 * interval[0] <= declared <= 100 * interval[1]
    return section


def build_agreement_report(
    rows: Iterable[Mapping[str, Any]],
    *,
    endpoint: str,
    production_variant: str,
    shadow_variant: str,
    window: Mapping[str, str],
    threshold: float,
    declared_sampling_percentage: float | None = None,
) -> dict[str, Any]:
    """The report of one run. ``declared_sampling_percentage``: the shadow's ``sampling_percentage`` in the
    config (None: not compared). The agreement is None, with :data:`NO_PAIRS` as the reason, when nothing paired."""
    rows = list(rows)
    sides = {side: {"captured": 0, "paired": 0} for side in SIDES}
    by_key: dict[str, Any] = {}
    overall: dict[str, Any] | None = None
    for row in rows:
        if row["row_kind"] == "side":
            if row["side"] not in sides:
                raise InvalidAgreementRows(f"row {dict(row)} names side {row['side']!r}")
            sides[row["side"]] = {"captured": _count(row, "n"), "paired": _count(row, "paired")}
        elif row["row_kind"] == "pairs":
            section = _pairs_section(row)
            if row["paired_by"] == "all":
                overall = section
            elif row["paired_by"] in PAIRING_KEYS:
                by_key[row["paired_by"]] = section
            else:
                raise InvalidAgreementRows(f"row {dict(row)} names pairing key {row['paired_by']!r}")
    pairs = overall["pairs"] if overall else 0
    for side, counts in sides.items():
        if counts["paired"] != pairs:
            raise InvalidAgreementRows(f"{counts['paired']} {side} lines paired, but {pairs} pairs")
    production, shadow = sides["production"]["captured"], sides["shadow"]["captured"]
    report: dict[str, Any] = {
        "endpoint": endpoint,
        "production_variant": production_variant,
        "shadow_variant": shadow_variant,
        "window": dict(window),
        "threshold": threshold,
        "captured": {"production": production, "shadow": shadow},
        "pairs": {
            "total": pairs,
            "by_key": {key: by_key[key]["pairs"] if key in by_key else 0 for key in PAIRING_KEYS},
        },
        "production_without_shadow": {
            "count": production - pairs,
            "share": (production - pairs) / production if production else None,
            "expected_share": 1 - declared_sampling_percentage / 100
            if declared_sampling_percentage is not None
            else None,
        },
        "shadow_without_production": shadow - pairs,
        "observed_sampling": _observed_sampling(pairs, production, declared_sampling_percentage),
        "agreement": overall if pairs else None,
        "agreement_by_key": {key: section for key, section in by_key.items() if section["pairs"]},
        "issues": _issues(rows),
    }
    if not pairs:
        where = "no shadow capture record in the window" if not shadow else f"{shadow} shadow records, none paired"
        report["no_pairs"] = f"{NO_PAIRS} ({where}; {production} production records)"
    return report


def to_markdown(report: Mapping[str, Any]) -> str:
    """The report for people: pairs and unpaired per side, the observed sampling, agreement, the 2x2 table,
    score differences, input issues with files and lines."""
    window = report["window"]
    captured, pairs = report["captured"], report["pairs"]
    lines = [
        f"# Shadow agreement: {report['endpoint']}, {report['production_variant']} (production) vs "
        f"{report['shadow_variant']} (shadow)",
        "",
        f"Captures from {window['start']} to {window['end']} (UTC hours, end excluded); threshold "
        f"{report['threshold']:g}. Pairing assumes the shadow's copy is captured under its own variant folder with "
        "the production record's eventId, or at least its InferenceId (**UNVERIFIED**, Q4).",
        "",
        "| | production | shadow |",
        "|---|---:|---:|",
        f"| good capture records | {captured['production']} | {captured['shadow']} |",
        f"| paired | {pairs['total']} | {pairs['total']} |",
        f"| unpaired | {report['production_without_shadow']['count']} (expected: the shadow receives a sample) "
        f"| {report['shadow_without_production']}"
        + (" (a finding)" if report["shadow_without_production"] else "")
        + " |",
        "",
        f"Pairs by eventId: {pairs['by_key']['eventId']}; by inferenceId (eventId left them unpaired): "
        f"{pairs['by_key']['inferenceId']}.",
    ]
    sampling = report["observed_sampling"]
    if sampling["percentage"] is not None:
        low, high = sampling["interval_percent"]
        text = f"Observed sampling (pairs / production records): {sampling['percentage']:.2f} % [{low:.2f}, {high:.2f}]"
        if sampling["declared_percentage"] is not None:
            inside = "inside" if sampling["declared_inside_interval"] else "**outside**"
            text += f"; declared {sampling['declared_percentage']:g} %, {inside} the interval"
        lines += ["", text + f" (**UNVERIFIED**, H1: {sampling['status'].split(': ', 1)[1]})."]
    agreement = report["agreement"]
    if agreement is None:
        lines += ["", f"**{report['no_pairs']}**: no agreement is computed."]
    else:
        low, high = agreement["interval"]
        table, diff = agreement["table"], agreement["abs_score_difference"]
        lines += [
            "",
            f"**Agreement at the threshold: {100 * agreement['agreement']:.2f} %** [{100 * low:.2f}, {100 * high:.2f}] "
            f"({CONFIDENCE:.0%} Wilson) over {agreement['pairs']} pairs.",
            "",
            "| | shadow positive | shadow negative |",
            "|---|---:|---:|",
            f"| production positive | {table['production_positive']['shadow_positive']} "
            f"| {table['production_positive']['shadow_negative']} |",
            f"| production negative | {table['production_negative']['shadow_positive']} "
            f"| {table['production_negative']['shadow_negative']} |",
            "",
            f"|production score − shadow score|: mean {fmt_value(diff['mean'])}, median {fmt_value(diff['median'])}, "
            f"p95 {fmt_value(diff['p95'])}. Pairs whose content types differ: {agreement['content_type_mismatch']}.",
        ]
        for key, section in report["agreement_by_key"].items():
            lines.append(f"- paired by {key}: {section['pairs']} pairs, agreement {100 * section['agreement']:.2f} %")
    if report["issues"]:
        lines += [
            "",
            "## Input issues",
            "",
            "| issue | count | by side | meaning | first lines |",
            "|---|---:|---|---|---|",
        ]
        for name, issue in report["issues"].items():
            where = ", ".join(
                f"{s['file']}" + (f":{s['line']}" if s["line"] is not None else "") for s in issue["samples"][:3]
            )
            by_side = ", ".join(f"{side} {count}" for side, count in issue["by_side"].items())
            lines.append(f"| `{name}` | {issue['count']} | {by_side} | {issue['meaning']} | {where or 'n/a'} |")
    return "\n".join(lines) + "\n"
