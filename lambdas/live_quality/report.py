"""One live-quality run's report: JSON (this dict) and Markdown, from the query's result.

Pure: the Lambda (later) and ``scripts/live_quality.py`` both call :func:`build_report` on the typed
query result, so any report can be rebuilt from the query's rows.

Variants are sorted into three groups: *current* ones (on the endpoint now; the first is the
baseline), *retired* ones (captured in the window but no longer on the endpoint: their metrics are
reported, they are not compared, and labels that still arrive for them are counted there), and
current variants with *no captured traffic* in the window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evaluate.metrics import linear_quantile, threshold_metrics
from evaluate.report import METRIC_LABELS
from live_quality.comparison import (
    AUC_NOT_A_DECISION,
    LABEL_MIX_ALPHA,
    MIN_LABELS_PER_CLASS,
    LiveComparison,
    MetricTest,
    VariantEvidence,
    compare_with_baseline,
    family_size,
)
from live_quality.left_out import LEFT_OUT_ALPHA, left_out_captures
from live_quality.query import QueryWindow
from live_quality.results import ISSUES, PeriodStats, QueryResult
from live_quality.strata import choose_strata, split_changed_days
from live_quality.stratified import AUC_MIN_PER_CLASS, Stratum
from live_quality.tables import MAX_ISSUE_DETAIL_CHARS
from live_quality.unsampled import UNMATCHED_ISSUE, labels_not_captured, unmatched_and_matched
from live_quality.unsampled import markdown_line as unsampled_markdown_line
from live_quality.window import MANUAL_START, SOURCE_SERVING_SINCE, START_ANCHOR, START_HORIZON, WindowStart

# CloudWatch metric names the run publishes per variant (namespace and dimensions as the offline
# evaluation's: EndpointName, VariantName), beside the offline Accuracy, Precision, … .
LIVE_METRICS = {
    "accuracy": "LiveAccuracy",
    "precision": "LivePrecision",
    "recall": "LiveRecall",
    "f1": "LiveF1",
    "roc_auc": "LiveRocAuc",
    "label_coverage": "LiveLabelCoverage",
    "labelled": "LiveLabelledRequests",
    "label_delay_p50_hours": "LiveLabelDelayP50Hours",
    "label_delay_p90_hours": "LiveLabelDelayP90Hours",
}


class _Expanded(Sequence[float]):
    """A delay histogram seen as the sorted list of its values, without building the list."""

    def __init__(self, histogram: Mapping[int, int]) -> None:
        self._bins = sorted((hours, count) for hours, count in histogram.items() if count > 0)
        self._length = sum(count for _, count in self._bins)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            raise TypeError("slicing is not supported")
        if index < 0:
            index += self._length
        for hours, count in self._bins:
            if index < count:
                return float(hours)
            index -= count
        raise IndexError(index)


def delay_percentiles(histogram: Mapping[int, int]) -> dict[str, float] | None:
    """p50 and p90 of whole-hour label delays, numpy's 'linear' method; ``None`` without labels."""
    values = _Expanded(histogram)
    if not len(values):
        return None
    return {"p50": linear_quantile(values, 0.5), "p90": linear_quantile(values, 0.9)}


def _period_section(stats: PeriodStats) -> dict[str, Any]:
    section: dict[str, Any] = {
        "captured": stats.captured,
        "labelled": stats.labelled,
        "label_coverage": stats.label_coverage,
        "positives": stats.positives,
        "negatives": stats.negatives,
        "without_inference_id": stats.without_inference_id,
        "confusion": stats.confusion.as_dict(),
    }
    if stats.labelled:
        section["metrics"] = {**threshold_metrics(stats.confusion), "roc_auc": stats.roc_auc}
    return section


def _stratum(stats: PeriodStats) -> Stratum:
    return Stratum(
        period=stats.period,
        labelled=stats.labelled,
        positives=stats.positives,
        negatives=stats.negatives,
        correct=stats.confusion.tp + stats.confusion.tn,
        roc_auc=stats.roc_auc,
        v10_variance=stats.v10_variance,
        v01_variance=stats.v01_variance,
    )


def _evidence(stats: PeriodStats, strata: Sequence[Stratum], left_out: int) -> VariantEvidence:
    return VariantEvidence(
        name=stats.variant,
        captured=stats.captured,
        labelled=stats.labelled,
        positives=stats.positives,
        negatives=stats.negatives,
        correct=stats.confusion.tp + stats.confusion.tn,
        roc_auc=stats.roc_auc,
        v10_variance=stats.v10_variance,
        v01_variance=stats.v01_variance,
        strata=tuple(s for s in strata if s.labelled),
        left_out=left_out,
    )


def _strata(result: QueryResult, variant: str, by_hour: set[str]) -> tuple[Stratum, ...]:
    days = [_stratum(s) for s in result.days(variant)]
    return choose_strata(days, [_stratum(s) for s in result.hours(variant)], by_hour)


def _metric_section(test: MetricTest, p_adjusted: float | None) -> dict[str, Any]:
    return {
        "value_a": test.value_a,
        "value_b": test.value_b,
        "difference": test.difference,
        "standard_error": test.standard_error,
        "p_value": test.p_value,
        "p_value_adjusted": p_adjusted,
        "ci_low": test.ci_low,
        "ci_high": test.ci_high,
        "interval_confidence": test.interval_confidence,
        "days_used": test.estimate.strata_used - test.estimate.hours_used,
        "hours_used": test.estimate.hours_used,  # hours of days whose split changed (live_quality.strata)
        "days_left_out": test.estimate.strata_left_out,
    }


def _comparison_section(c: LiveComparison) -> dict[str, Any]:
    section: dict[str, Any] = {
        "variant_a": c.baseline,
        "variant_b": c.candidate,
        "status": c.status,
        "verdict": {"winner": c.winner, "significant": c.significant, "reason": c.reason},
    }
    if c.accuracy is not None:
        section["accuracy"] = _metric_section(c.accuracy, c.p_accuracy_adjusted)
    if c.auc is not None:
        # Descriptive only (live_quality.comparison): its difference and interval, no p-value to act on.
        auc = _metric_section(c.auc, None)
        del auc["p_value"], auc["p_value_adjusted"]
        section["roc_auc"] = {**auc, "decision": False, "note": AUC_NOT_A_DECISION}
    if c.auc_not_tested:
        section["auc_not_tested"] = c.auc_not_tested
    if c.label_mix is not None:
        section["labelled_positive_share"] = {
            "share_a": c.label_mix.share_a,
            "share_b": c.label_mix.share_b,
            "difference_within_days": c.label_mix.difference,
            "p_value": c.label_mix.p_value,
            "days": c.label_mix.strata_used,
        }
    return section


def _excerpt(detail: str | None, chars: int) -> str | None:
    """The first ``chars`` characters of an issue's detail (a malformed line's start, or a request's id); None
    for 0: the sample then names its file and line only."""
    return detail[:chars] if detail and chars > 0 else None


def _issues_section(result: QueryResult, excerpt_chars: int) -> dict[str, Any]:
    issues: dict[str, Any] = {}
    for (issue, variant), count in sorted(result.issue_counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        entry = issues.setdefault(
            issue, {"count": 0, "meaning": ISSUES.get(issue, "reported by the query"), "by_variant": {}, "samples": []}
        )
        entry["count"] += count
        if variant is not None:
            entry["by_variant"][variant] = count
    for sample in result.issue_samples:
        if sample.issue in issues:
            issues[sample.issue]["samples"].append(
                {
                    "file": sample.source_file,
                    "line": sample.line_number,
                    "variant": sample.variant,
                    "detail": _excerpt(sample.detail, excerpt_chars),
                }
            )
    return issues


def build_report(
    result: QueryResult,
    window: QueryWindow,
    current_variants: Sequence[str],
    *,
    alpha: float = 0.05,
    sampling_percentage: float = 100.0,
    window_start: WindowStart = MANUAL_START,
    sample_excerpt_chars: int = MAX_ISSUE_DETAIL_CHARS,
) -> dict[str, Any]:
    """The run's report (see the module docstring for the variant groups); ``current_variants`` in endpoint order.

    ``sample_excerpt_chars``: how much of each input-issue sample's detail the report keeps (default all the
    query returns, ``MAX_ISSUE_DETAIL_CHARS``; 0: none, only file and line). The detail of a malformed line is
    its start, which can be request or label data, possibly personal.

    ``sampling_percentage`` is the endpoint's capture sampling (default 100: every labelled request should
    have its capture record); labels without one are accounted for against it (``live_quality.unsampled``).
    ``window_start``: where the window starts and why (the plan's; default: a window named by hand)."""
    if not current_variants:
        raise ValueError("no current variants: name the endpoint's variants, the first one is the baseline")
    seen = result.variants()
    retired = [v for v in seen if v not in current_variants]
    variants: dict[str, Any] = {}
    for name in [*current_variants, *retired]:
        overall = result.overall(name)
        if overall is None:
            variants[name] = {"status": "no_captured_traffic", "captured": 0, "labelled": 0}
            continue
        section = {"status": "current" if name in current_variants else "retired", **_period_section(overall)}
        delays = delay_percentiles(result.delays.get(name, {}))
        section["label_delay_hours"] = delays
        section["days"] = {s.period: _period_section(s) for s in result.days(name)}
        variants[name] = section

    baseline = current_variants[0]
    comparisons: list[LiveComparison] = []
    base_stats = result.overall(baseline)
    candidates = [result.overall(v) for v in current_variants[1:]]
    # Days whose traffic split changed within them are compared by hour (live_quality.strata).
    by_hour = split_changed_days({v: {h.period: h.captured for h in result.hours(v)} for v in current_variants})
    if base_stats is not None:
        comparisons = compare_with_baseline(
            _evidence(base_stats, _strata(result, baseline, by_hour), left_out_captures(result.issue_counts, baseline)),
            [
                _evidence(c, _strata(result, c.variant, by_hour), left_out_captures(result.issue_counts, c.variant))
                for c in candidates
                if c is not None
            ],
            alpha,
            family_candidates=len(candidates),
        )
    if not 0 <= sample_excerpt_chars <= MAX_ISSUE_DETAIL_CHARS:
        raise ValueError(f"sample_excerpt_chars must be 0 to {MAX_ISSUE_DETAIL_CHARS} (got {sample_excerpt_chars})")
    issues = _issues_section(result, sample_excerpt_chars)
    unmatched, matched = unmatched_and_matched(
        {name: section.get("labelled", 0) for name, section in variants.items()},
        {name: issue["count"] for name, issue in issues.items()},
    )
    not_captured = labels_not_captured(matched, unmatched, sampling_percentage)
    if UNMATCHED_ISSUE in issues and not not_captured["more_than_sampling_explains"]:
        del issues[UNMATCHED_ISSUE]  # what sampling explains is not an input issue
    elif UNMATCHED_ISSUE in issues:
        issues[UNMATCHED_ISSUE]["meaning"] += f"; more than {sampling_percentage:g} % capture sampling explains"
    return {
        "endpoint_name": window.endpoint,
        "window": {
            "capture_start_hour": window.capture_start_hour,
            "capture_end_hour": window.capture_end_hour,
            "label_end_hour": window.label_end_hour,
            "start": window_start.fields(),
        },
        "settings": {
            "threshold": window.threshold,
            "alpha": alpha,
            "min_labels_per_class": MIN_LABELS_PER_CLASS,
            "auc_min_labels_per_class": AUC_MIN_PER_CLASS,
            "label_mix_alpha": LABEL_MIX_ALPHA,
            "left_out_alpha": LEFT_OUT_ALPHA,
            "sample_excerpt_chars": sample_excerpt_chars,
        },
        "baseline": baseline,
        "days_compared_by_hour": sorted(by_hour),
        "family_tests": family_size(len(candidates)),
        "variants": variants,
        "retired_variants": retired,
        "comparisons": [_comparison_section(c) for c in comparisons],
        "labels_not_captured": not_captured,
        "issues": issues,
        "metrics_to_publish": metrics_to_publish(variants),
    }


def metrics_to_publish(variants: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Per current or retired variant with labels: CloudWatch metric name -> value (:data:`LIVE_METRICS`)."""
    out: dict[str, dict[str, float]] = {}
    for name, section in variants.items():
        if not section.get("labelled"):
            continue
        values: dict[str, float | None] = {**section.get("metrics", {})}
        values["label_coverage"] = section["label_coverage"]
        values["labelled"] = float(section["labelled"])
        delays = section.get("label_delay_hours") or {}
        values["label_delay_p50_hours"] = delays.get("p50")
        values["label_delay_p90_hours"] = delays.get("p90")
        out[name] = {LIVE_METRICS[k]: float(v) for k, v in values.items() if v is not None}
    return out


def fmt_value(value: Any, digits: int = 4) -> str:
    """A report number as Markdown shows it: n/a for None, floats to `digits` places."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _query_lines(query: Mapping[str, Any] | None) -> list[str]:
    """Which query execution the numbers come from and what it scanned (the Lambda adds ``query``)."""
    if not query:
        return []
    scanned = query.get("data_scanned_bytes")
    cost = f"; it scanned {scanned:,} bytes ({scanned / 2**20:,.1f} MiB)" if scanned is not None else ""
    return [f"{query['engine']} query `{query['query_execution_id']}`{cost}.", ""]


def _window_start_text(window: Mapping[str, Any]) -> str:
    """Where the window starts and why, and what that means for the anytime-valid guarantee."""
    start: Mapping[str, Any] = window.get("start") or MANUAL_START.fields()
    anchor = start.get("anchor_hour")
    if start.get("anchor_source") == SOURCE_SERVING_SINCE:
        origin = (
            f"the first whole hour after the endpoint's current endpoint config `{start['endpoint_config_name']}` "
            f"began to serve alone ({start['serving_since']}, recorded on the endpoint when its deployment "
            f"ended; created {start['endpoint_config_created']})"
        )
    elif start.get("endpoint_config_name"):
        origin = (
            f"the first whole hour after the endpoint's current endpoint config `{start['endpoint_config_name']}` "
            f"was created ({start['endpoint_config_created']})"
        )
        if start.get("anchor_note"):
            origin += f" ({start['anchor_note']}: captures of the deployment that put it there may be included)"
    else:
        origin = "the anchor this manual run named (`anchor_hour`)"
    if start.get("start") == START_ANCHOR:
        return (
            f"**The window starts at {anchor}**, {origin}: requests that an earlier endpoint config (other "
            "variants, models or fleet) served are not mixed in. Every run since then has read one growing "
            "sample, so a verdict at any of them keeps the family-wise error approximately (asymptotically) at "
            "alpha over all of them, "
            f"until the window reaches its longest, {start['lookback_days']} days (`lookback_days`)."
        )
    if start.get("start") == START_HORIZON:
        return (
            f"**The window is cut at its longest, {start['lookback_days']} days** (`lookback_days`): it would "
            f"start at {anchor}, {origin}, but captures before {window['capture_start_hour']} are no longer "
            "read. Runs now drop their oldest requests, so they no longer look at one growing sample: the "
            "run-to-run guarantee no longer holds, and each run's p-values are valid for that run alone "
            "(read a verdict as one fixed-window test; for a decision over all runs, raise `lookback_days` "
            "to cover the experiment, or run by hand with a fixed start)."
        )
    return (
        "**The window was named by hand** (its three hours): verdicts keep the family-wise error approximately "
        "(asymptotically) at alpha over the runs that share this start."
    )


def _metric_line(label: str, m: Mapping[str, Any]) -> str:
    return f"{_difference_text(label, m)}, p = {m['p_value']:.3g}, Holm-adjusted {m['p_value_adjusted']:.3g}."


def _descriptive_line(label: str, m: Mapping[str, Any]) -> str:
    return f"{_difference_text(label, m)}; descriptive, {m['note']}."


def _difference_text(label: str, m: Mapping[str, Any]) -> str:
    """A metric's values, its within-day difference and interval: what tested and descriptive lines share."""
    left_out = f", {m['days_left_out']} left out" if m["days_left_out"] else ""
    return (
        f"- {label}: {fmt_value(m['value_a'])} vs {fmt_value(m['value_b'])} over the window; within inference days "
        f"({m['days_used']} days{left_out}) difference {fmt_value(m['difference'])} "
        f"[{fmt_value(m['ci_low'])}, {fmt_value(m['ci_high'])}] ({m['interval_confidence']:.2%} confidence sequence)"
    )


def _by_hour_lines(days: Sequence[str]) -> list[str]:
    if not days:
        return []
    return [
        f"Compared by capture hour, not as whole days: {', '.join(days)}. The traffic split changed inside "
        "these days (their captured requests per hour and variant, tested per day and over all days "
        "together), so within a whole day one variant would have more of some hours than the other "
        "(`live_quality.strata`).",
        "",
    ]


def to_markdown(report: Mapping[str, Any]) -> str:
    """The report for people: per-variant table, comparisons with verdicts, issues with files and lines."""
    variants: Mapping[str, Mapping[str, Any]] = report["variants"]
    names = list(variants)
    window = report["window"]
    lines = [
        f"# Live quality of endpoint `{report['endpoint_name']}`",
        "",
        f"Captured requests from hour {window['capture_start_hour']} to {window['capture_end_hour']} (UTC, end "
        f"excluded), labels collected until {window['label_end_hour']}; threshold {report['settings']['threshold']}, "
        f"alpha {report['settings']['alpha']}.",
        "",
        _window_start_text(window),
        "",
        *_query_lines(report.get("query")),
        "Each request went to one variant, so variants are compared as independent samples, within each "
        "inference day (a traffic split that changes while the base rate moves would otherwise favour one "
        "variant), the days combined with Cochran-Mantel-Haenszel weights: accuracy as a Mantel-Haenszel "
        "difference (p-value: the Cochran-Mantel-Haenszel test; interval: Sato's variance), ROC AUC per day "
        "with DeLong's variances. The p-values are "
        "anytime-valid (a normal-mixture e-process), because this comparison runs again on every schedule: "
        "a verdict at any run keeps the family-wise error approximately (asymptotically: the normal "
        "approximation of each difference) at alpha over all runs whose window has the same "
        "start (above). Every p-value is Holm-adjusted together, over a family of fixed size "
        f"({report['family_tests']} tests: every candidate's accuracy and ROC AUC; a test that cannot run yet "
        "counts with p = 1, so an early run with fewer tests ready is not held to a looser level). "
        f"Baseline: `{report['baseline']}`. Only accuracy decides: ROC AUC is shown, once each variant has "
        f"{AUC_MIN_PER_CLASS} labelled requests of each class, with its difference and interval, but it counts "
        "in Holm with p = 1 and names no winner. Its variance (the larger of DeLong's with each class's "
        "placement variance pooled over both variants and the unpooled one) is too small for some shapes of "
        "scores, e.g. a small variant whose positives are mostly scored confidently right and some far off; "
        "neither form is right for every shape, so its interval is descriptive too. "
        "Intervals are anytime-valid confidence sequences at 1 − alpha/m (m: tests in the family), "
        "the level of Holm's first step: one excludes 0 about when that metric alone would be significant there; "
        "Holm's later steps can name a metric significant whose interval still touches 0. The table "
        "shows each variant over the whole window, so a difference within days need not be the difference "
        "of the table's numbers.",
        "",
        *_by_hour_lines(report.get("days_compared_by_hour", [])),
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
        "| status | " + " | ".join(variants[n]["status"] for n in names) + " |",
        "| captured | " + " | ".join(str(variants[n]["captured"]) for n in names) + " |",
        "| labelled | " + " | ".join(str(variants[n]["labelled"]) for n in names) + " |",
        "| label coverage (of requests with an InferenceId) | "
        + " | ".join(fmt_value(variants[n].get("label_coverage")) for n in names)
        + " |",
    ]
    for key, label in METRIC_LABELS:  # the offline report's rows, in its order
        values = (fmt_value(variants[n].get("metrics", {}).get(key)) for n in names)
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    for p in ("p50", "p90"):
        lines.append(
            f"| label delay {p} (hours) | "
            + " | ".join(fmt_value((variants[n].get("label_delay_hours") or {}).get(p), 1) for n in names)
            + " |"
        )
    lines.append(
        "| without InferenceId (not in the coverage) | "
        + " | ".join(str(variants[n].get("without_inference_id", 0)) for n in names)
        + " |"
    )
    lines += ["", unsampled_markdown_line(report["labels_not_captured"])]
    if report["retired_variants"]:
        lines += [
            "",
            f"Retired (captured in the window, no longer on the endpoint; reported, not compared): "
            f"{', '.join(report['retired_variants'])}.",
        ]
    for c in report["comparisons"]:
        lines += ["", f"## {c['variant_b']} vs {c['variant_a']} (baseline)", ""]
        if "accuracy" in c:
            lines.append(_metric_line("Accuracy", c["accuracy"]))
        if "roc_auc" in c:
            lines.append(_descriptive_line("ROC AUC", c["roc_auc"]))
        if "labelled_positive_share" in c:
            mix = c["labelled_positive_share"]
            lines.append(
                f"- Positives among labelled requests: {mix['share_a']:.1%} vs {mix['share_b']:.1%}; within days "
                f"{mix['difference_within_days']:+.1%}, Cochran-Mantel-Haenszel p = {mix['p_value']:.3g} (labels "
                f"not comparable below {report['settings']['label_mix_alpha']:g}). Accuracy depends on the class "
                "mix of the labels that have arrived, which is not the traffic's when positives (or negatives) are "
                "known first; ROC AUC, recall and specificity do not, when arrival depends on the class only."
            )
        verdict = c["verdict"]
        headline = verdict["winner"] or ("no winner" if c["status"] == "tested" else c["status"].replace("_", " "))
        lines.append(f"- **Verdict: {headline}** — {verdict['reason']}")
    if report["issues"]:
        lines += ["", "## Input issues", "", "| issue | count | meaning | first lines |", "|---|---:|---|---|"]
        for name, issue in report["issues"].items():
            where = "; ".join(
                f"{s['file']}" + (f":{s['line']}" if s["line"] is not None else "") for s in issue["samples"][:3]
            )
            lines.append(f"| `{name}` | {issue['count']} | {issue['meaning']} | {where or 'n/a'} |")
    return "\n".join(lines) + "\n"
