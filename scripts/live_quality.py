#!/usr/bin/env python3
"""Per-variant quality on live traffic from capture and label folders, on the embedded engine (DuckDB).

    python scripts/live_quality.py --capture capture/ --labels ground-truth/ --endpoint churn-ab \\
        --variants Variant1,Variant2 --start 2026/11/01/00 --end 2026/12/01/00 --label-end 2026/12/02/00 \\
        --report-dir live-reports/

``--capture`` is the folder the endpoint's ``DestinationS3Uri`` maps to (``<endpoint>/<variant>/yyyy/mm/dd/hh/``
below it), ``--labels`` the ground-truth prefix (``yyyy/mm/dd/hh/`` below it; see
``scripts/labels_to_ground_truth.py``). ``--variants`` are the endpoint's current variants in order, the
first being the baseline; variants captured in the window but not named are reported as retired. The
query is the one Athena runs in the account (``lambdas/live_quality/sql/``). Writes
``<report-dir>/<endpoint>/<run>/report.json`` and ``report.md`` and prints the Markdown. Exit status 0,
or 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambdas"))

from live_quality.local_engine import run_on_folders
from live_quality.query import QueryWindow
from live_quality.report import build_report, to_markdown
from live_quality.results import parse_rows
from scripts.report_files import write_run_reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capture", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument(
        "--variants", required=True, help="current variants, comma-separated; the first is the baseline"
    )
    parser.add_argument("--start", required=True, help="first capture hour, yyyy/mm/dd/hh (UTC)")
    parser.add_argument("--end", required=True, help="capture hour to stop before, yyyy/mm/dd/hh")
    parser.add_argument("--label-end", help="label hour to stop before (default: --end)")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument(
        "--sampling-percentage",
        type=float,
        default=100.0,
        help="the endpoint's data_capture.sampling_percentage: labels for requests it did not capture are "
        "expected (default 100: every labelled request should have its capture record)",
    )
    parser.add_argument("--report-dir", type=Path, default=Path("live-quality-reports"))
    args = parser.parse_args(argv)

    for name in ("capture", "labels"):
        if not getattr(args, name).is_dir():
            print(f"error: --{name} {getattr(args, name)} is not a folder", file=sys.stderr)
            return 2
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    try:
        window = QueryWindow(args.endpoint, args.start, args.end, args.label_end or args.end, args.threshold)
        report = build_report(
            parse_rows(run_on_folders(args.capture, args.labels, window)),
            window,
            variants,
            alpha=args.alpha,
            sampling_percentage=args.sampling_percentage,
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_run_reports(args.report_dir, args.endpoint, "report", report, to_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
