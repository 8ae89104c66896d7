"""The evaluation report as Markdown, for people; the JSON report is the runner's dict itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

METRIC_LABELS = (
    ("accuracy", "Accuracy"),
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("f1", "F1"),
    ("roc_auc", "ROC AUC"),
)


_FIGURES = (("roc", "ROC curve"), ("confusion", "Confusion matrix"))


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"
    return str(value)


def to_markdown(report: Mapping[str, Any], figures: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The report for people. ``figures`` (variant → {"roc", "confusion"} → image file next to the
    report, from ``scripts/evaluation_figures.py``) are linked under "Figures"; without them (the
    Lambda has no plotting library) the report says how to draw them from report.json."""
    variants: Mapping[str, Mapping[str, Any]] = report["variants"]
    names = list(variants)
    lines = [
        f"# Evaluation of endpoint `{report['endpoint_name']}`",
        "",
        f"Test set `{report['data_uri']}`: {report['rows']} rows, threshold {report['settings']['threshold']}, "
        f"{report['settings']['batch_size']} rows per request, alpha {report['settings']['alpha']}.",
        "",
    ]
    if report["comparisons"]:
        lines += [
            f"Baseline `{report['baseline']}`: every other variant is compared with it on accuracy (McNemar) "
            f"and ROC AUC (DeLong), and the {report['family_tests']} p-values are Holm-adjusted together, so the "
            "chance of finding a difference where there is none, anywhere in the family, is at most alpha.",
            "",
        ]
    if not report["complete"]:
        lines += [
            f"> **Partial result**: {', '.join(report['incomplete_variants'])} did not score every row; "
            "their metrics were not published.",
            "",
        ]
    lines += ["| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines.append("| status | " + " | ".join(variants[n]["status"] for n in names) + " |")
    for key, label in METRIC_LABELS:
        lines.append(f"| {label} | " + " | ".join(_fmt(variants[n].get("metrics", {}).get(key)) for n in names) + " |")
    lines.append(
        "| rows scored | " + " | ".join(f"{variants[n]['rows_scored']} / {variants[n]['rows']}" for n in names) + " |"
    )
    lines.append(
        "| requests (failed) | "
        + " | ".join(f"{variants[n]['requests']} ({variants[n]['failed_requests']})" for n in names)
        + " |"
    )
    for percentile in ("p50", "p90", "p99"):
        lines.append(
            f"| request latency {percentile} (ms) | "
            + " | ".join(_fmt((variants[n].get("latency_ms") or {}).get(percentile), 1) for n in names)
            + " |"
        )
    lines.append(
        "| confusion (tp/fp/tn/fn) | "
        + " | ".join(
            "/".join(str(variants[n]["confusion"][k]) for k in ("tp", "fp", "tn", "fn"))
            if "confusion" in variants[n]
            else "n/a"
            for n in names
        )
        + " |"
    )
    for comparison in report["comparisons"]:
        a, b = comparison["variant_a"], comparison["variant_b"]
        lines += ["", f"## {b} vs {a} (baseline; paired, {comparison['paired_rows']} rows)", ""]
        if "mcnemar" in comparison:
            m = comparison["mcnemar"]
            lines.append(
                f"- Accuracy: {_fmt(m['accuracy_a'])} vs {_fmt(m['accuracy_b'])}; "
                f"McNemar exact p = {_fmt(m['p_value'])} ({m['b']} rows only {a} got right, {m['c']} only {b})."
            )
        if "delong" in comparison:
            d = comparison["delong"]
            lines.append(
                f"- ROC AUC: {_fmt(d['auc_a'])} vs {_fmt(d['auc_b'])}; difference {_fmt(d['difference'])} "
                f"[{_fmt(d['ci_low'])}, {_fmt(d['ci_high'])}], DeLong p = {_fmt(d['p_value'])}."
            )
        if "auc_not_tested" in comparison:
            lines.append(f"- ROC AUC not tested: {comparison['auc_not_tested']}.")
        if "bootstrap" in comparison:
            s = comparison["bootstrap"]
            lines.append(
                f"- Cross-check, paired bootstrap ({s['resamples']} resamples): difference CI "
                f"[{_fmt(s['ci_low'])}, {_fmt(s['ci_high'])}]."
            )
        v = comparison["verdict"]
        lines.append(f"- **Verdict: {v['winner'] or 'no winner'}** — {v['reason']}")
    lines += ["", "## Figures", ""]
    if figures:
        lines.append(
            "ROC curves (the dot is the operating point at the threshold) and confusion matrices "
            "(rows: actual class, with each class's shares):"
        )
        lines.append("")
        for variant, images in figures.items():
            links = [f"![{label} of {variant}]({images[kind]})" for kind, label in _FIGURES if kind in images]
            lines.append(f"**{variant}**: " + " ".join(links))
            lines.append("")
    else:
        lines += [
            "ROC curves and confusion matrices per variant: `python scripts/evaluation_figures.py report.json` "
            "draws them from this report's data (`roc_curve`, `confusion`) and links them here.",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"
