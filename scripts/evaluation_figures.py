#!/usr/bin/env python3
"""ROC curves and confusion matrices of an evaluation report, drawn from its report.json.

    python scripts/evaluation_figures.py evaluation-reports/churn-ab/20250101T000000Z/report.json

Writes, next to the report, ``roc-<variant>.png`` (the variant's ROC curve from the report's
``roc_curve`` points, the other variants' curves faint behind it, the operating point at the
report's threshold marked) and ``confusion-<variant>.png`` (the 2×2 matrix at that threshold,
counts and shares of each actual class), then rewrites ``report.md`` beside it with the images
linked. The evaluation Lambda has no matplotlib (its runtime ships boto3 only): it stores the
points in report.json, and this draws them wherever the report is read; ``scripts/evaluate.py``
calls it for local report directories. Exit status 2 for a file that is not such a report.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # no display: files only

from matplotlib.figure import Figure  # noqa: E402

from evaluate.report import to_markdown  # noqa: E402

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
DEFAULT_DPI = 100


def _file_part(variant: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", variant)


def roc_figure(report: Mapping[str, Any], variant: str) -> Figure:
    """``variant``'s ROC curve in front of the others', with its operating point at the threshold."""
    variants: Mapping[str, Mapping[str, Any]] = report["variants"]
    figure = Figure(figsize=(3.6, 3.4))
    ax = figure.add_axes((0.16, 0.14, 0.8, 0.76))
    ax.plot([0, 1], [0, 1], color="#aab7b8", linestyle=":", linewidth=0.8, label="chance")
    for index, (name, section) in enumerate(variants.items()):
        curve = section.get("roc_curve")
        if not curve:
            continue
        auc = (section.get("metrics") or {}).get("roc_auc")
        mine = name == variant
        ax.plot(
            curve["fpr"],
            curve["tpr"],
            color=PALETTE[index % len(PALETTE)],
            linewidth=1.8 if mine else 0.9,
            alpha=1 if mine else 0.45,
            label=f"{name} (AUC {auc:.3f})" if auc is not None else name,
            zorder=3 if mine else 2,
        )
    confusion = variants[variant].get("confusion")
    if confusion and confusion["fp"] + confusion["tn"] and confusion["tp"] + confusion["fn"]:
        fpr = confusion["fp"] / (confusion["fp"] + confusion["tn"])
        tpr = confusion["tp"] / (confusion["tp"] + confusion["fn"])
        ax.plot(
            [fpr],
            [tpr],
            "o",
            color="#16191f",
            markersize=4,
            zorder=4,
            label=f"threshold {report['settings']['threshold']}",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate", fontsize=8)
    ax.set_ylabel("true positive rate", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(f"ROC curve: {variant}", fontsize=9, fontweight="bold")
    ax.grid(True, color="#eceff3", linewidth=0.6)
    ax.legend(loc="lower right", fontsize=6.5, frameon=False)
    return figure


def confusion_figure(report: Mapping[str, Any], variant: str) -> Figure:
    """The 2×2 matrix (rows: actual, columns: predicted), counts and each actual class's shares."""
    c = report["variants"][variant]["confusion"]
    cells = [[c["tn"], c["fp"]], [c["fn"], c["tp"]]]
    figure = Figure(figsize=(3.2, 2.9))
    ax = figure.add_axes((0.24, 0.08, 0.7, 0.72))
    shares = [[value / max(sum(row), 1) for value in row] for row in cells]
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for r in range(2):
        for col in range(2):
            ax.text(
                col,
                r,
                f"{cells[r][col]}\n{100 * shares[r][col]:.1f} %",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if shares[r][col] > 0.6 else "#16191f",
            )
    ax.set_xticks([0, 1], ["0", "1"], fontsize=7)
    ax.set_yticks([0, 1], ["0", "1"], fontsize=7)
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    ax.set_xlabel(f"predicted (score ≥ {report['settings']['threshold']})", fontsize=7.5)
    ax.set_ylabel("actual", fontsize=7.5)
    figure.suptitle(f"Confusion matrix: {variant}", fontsize=9, fontweight="bold", y=0.99)
    return figure


def draw_figures(report: Mapping[str, Any], directory: Path, *, dpi: int = DEFAULT_DPI) -> dict[str, dict[str, str]]:
    """Draw every variant's images into ``directory``; returns variant → {"roc", "confusion"} → file name.

    A variant without a confusion matrix (it scored no row) gets no images; one without ROC points
    (a single class in the labels) gets the confusion matrix only.
    """
    drawn: dict[str, dict[str, str]] = {}
    for variant, section in report["variants"].items():
        images: dict[str, str] = {}
        if "confusion" not in section:
            continue
        if section.get("roc_curve"):
            images["roc"] = f"roc-{_file_part(variant)}.png"
            roc_figure(report, variant).savefig(directory / images["roc"], dpi=dpi, metadata={"Software": None})
        images["confusion"] = f"confusion-{_file_part(variant)}.png"
        confusion_figure(report, variant).savefig(directory / images["confusion"], dpi=dpi, metadata={"Software": None})
        drawn[variant] = images
    return drawn


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="evaluation_figures.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("report", type=Path, help="a report.json written by the evaluation")
    parser.add_argument("--dpi", type=int, default=DEFAULT_DPI)
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
        if not isinstance(report, dict) or not isinstance(report.get("variants"), dict):
            raise ValueError('no "variants" object: not an evaluation report')
    except (OSError, ValueError) as err:
        print(f"error: {args.report}: {err}", file=sys.stderr)
        return 2
    figures = draw_figures(report, args.report.parent, dpi=args.dpi)
    markdown = args.report.parent / "report.md"
    markdown.write_text(to_markdown(report, figures))
    for variant, images in figures.items():
        print(f"{variant}: {', '.join(str(args.report.parent / name) for name in images.values())}")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
