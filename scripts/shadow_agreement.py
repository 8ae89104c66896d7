#!/usr/bin/env python3
"""Agreement between the production variant and its shadow, from captured pairs, on the embedded engine (DuckDB).

    python scripts/shadow_agreement.py --capture capture/ --endpoint churn-shadow \\
        --production Current --shadow Candidate --start 2026/11/01/00 --end 2026/11/02/00 \\
        --sampling-percentage 20 --report-dir shadow-reports/

``--capture`` is the folder the endpoint's ``DestinationS3Uri`` maps to (``<endpoint>/<variant>/yyyy/mm/dd/hh/``
below it; a local copy of the S3 prefix: ``aws s3 sync <CaptureS3Uri> capture/``), as for
``scripts/live_quality.py``. Each production capture record is paired with the shadow's copy by eventId, else by
InferenceId (``lambdas/live_quality/agreement.py`` says what is assumed: Q4, UNVERIFIED). Writes
``<report-dir>/<endpoint>/<run>/agreement.json`` and ``agreement.md`` and prints the Markdown. Exit status 0 (also
with no pairs: the report says so), or 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambdas"))

from live_quality.agreement import build_agreement_report, to_markdown
from live_quality.agreement_query import run_agreement_on_folder
from live_quality.query import QueryWindow
from scripts.report_files import write_run_reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capture", type=Path, required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--production", required=True, help="the production variant's name")
    parser.add_argument("--shadow", required=True, help="the shadow variant's name")
    parser.add_argument("--start", required=True, help="first capture hour, yyyy/mm/dd/hh (UTC)")
    parser.add_argument("--end", required=True, help="capture hour to stop before, yyyy/mm/dd/hh")
    parser.add_argument("--threshold", type=float, default=0.5, help="live_quality.threshold (default 0.5)")
    parser.add_argument(
        "--sampling-percentage",
        type=float,
        help="the shadow's declared shadow.sampling_percentage, set beside the observed one (default: not compared)",
    )
    parser.add_argument("--report-dir", type=Path, default=Path("shadow-agreement-reports"))
    args = parser.parse_args(argv)

    if not args.capture.is_dir():
        print(f"error: --capture {args.capture} is not a folder", file=sys.stderr)
        return 2
    if args.sampling_percentage is not None and not 0 < args.sampling_percentage <= 100:
        print(f"error: --sampling-percentage {args.sampling_percentage:g} is not in (0, 100]", file=sys.stderr)
        return 2
    try:
        window = QueryWindow(args.endpoint, args.start, args.end, args.end, args.threshold)
        report = build_agreement_report(
            run_agreement_on_folder(args.capture, window, args.production, args.shadow),
            endpoint=args.endpoint,
            production_variant=args.production,
            shadow_variant=args.shadow,
            window={"start": args.start, "end": args.end},
            threshold=args.threshold,
            declared_sampling_percentage=args.sampling_percentage,
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_run_reports(args.report_dir, args.endpoint, "agreement", report, to_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
