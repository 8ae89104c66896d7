"""The evaluation as a command, for pipelines and laptops: same logic as the Lambda.

    python scripts/evaluate.py --endpoint churn-ab --data s3://bucket/datasets/churn-test.csv
    python scripts/evaluate.py --endpoint churn-ab --data data/churn-test.csv --report-dir reports/

Reports go to ``--report-dir`` (default ``evaluation-reports/``) or ``--report-s3 s3://bucket/prefix/``.
``--publish-metrics`` also publishes the quality metrics to CloudWatch (off by default: a laptop
run should not move the dashboard). ``--endpoint-url`` points every client at a local emulator;
only loopback addresses are accepted. Exit status: 0 when every variant scored every row,
3 for a partial result, 2 for a bad request or data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3

from endpoint_weights.endpoint import RETRY_CONFIG
from evaluate.aws_io import (
    FigureDrawer,
    metric_publisher,
    run_id,
    split_s3_uri,
    text_reader,
    variant_lister,
    write_reports_local,
    write_reports_s3,
)
from evaluate.runner import InvalidEvaluation, evaluate, parse_request
from evaluate.scoring import RUNTIME_RETRY_CONFIG

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEFAULT_NAMESPACE = "SageMakerABTesting"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoint", required=True, help="endpoint name")
    parser.add_argument("--data", required=True, help="labelled CSV: s3://bucket/key or a local path")
    parser.add_argument("--label-column", default="0", help="index or header name of the label (default 0)")
    header = parser.add_mutually_exclusive_group()
    header.add_argument("--header", dest="has_header", action="store_true", default=None)
    header.add_argument("--no-header", dest="has_header", action="store_false")
    parser.add_argument("--content-type", default="text/csv")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--variants", help="comma-separated variant names (default: all)")
    parser.add_argument("--max-rows", type=int)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--max-failure-rate", type=float, default=0.05)
    parser.add_argument("--bootstrap-resamples", type=int, default=1000)
    parser.add_argument("--time-budget", type=float, default=None, help="seconds before no new request starts")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--report-dir", type=Path, default=Path("evaluation-reports"))
    out.add_argument("--report-s3", help="s3://bucket/prefix/ for report.json and report.md")
    parser.add_argument("--publish-metrics", action="store_true")
    parser.add_argument("--namespace", default=DEFAULT_NAMESPACE)
    parser.add_argument("--endpoint-url", help="a local AWS emulator (loopback only)")
    parser.add_argument("--runtime-endpoint-url", help="a local InvokeEndpoint server (loopback only)")
    parser.add_argument("--region")
    return parser.parse_args(argv)


def _loopback(url: str, option: str) -> str:
    host = urlparse(url).hostname
    if host not in LOOPBACK:
        raise InvalidEvaluation(f"{option} must be a loopback address (got {host})")
    return url


def _clients(args: argparse.Namespace) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if args.endpoint_url:
        extra["endpoint_url"] = _loopback(args.endpoint_url, "--endpoint-url")
    if args.region:
        extra["region_name"] = args.region
    runtime_extra = dict(extra)
    if args.runtime_endpoint_url:
        runtime_extra["endpoint_url"] = _loopback(args.runtime_endpoint_url, "--runtime-endpoint-url")
    return {
        "sagemaker": boto3.client("sagemaker", config=RETRY_CONFIG, **extra),
        "runtime": boto3.client("sagemaker-runtime", config=RUNTIME_RETRY_CONFIG, **runtime_extra),
        "s3": boto3.client("s3", config=RETRY_CONFIG, **extra),
        "cloudwatch": boto3.client("cloudwatch", config=RETRY_CONFIG, **extra),
    }


def main(argv: Sequence[str] | None = None, *, draw_figures: FigureDrawer | None = None) -> int:
    """Run the command. ``draw_figures`` draws ROC curves and confusion matrices into a local report
    directory (``scripts/evaluate.py`` passes it when matplotlib is installed); S3 reports get none."""
    args = _arguments(argv)
    label: int | str = int(args.label_column) if args.label_column.lstrip("-").isdigit() else args.label_column
    event = {
        "data_uri": args.data,
        "label_column": label,
        "content_type": args.content_type,
        "threshold": args.threshold,
        "batch_size": args.batch_size,
        "concurrency": args.concurrency,
        "alpha": args.alpha,
        "max_failure_rate": args.max_failure_rate,
        "bootstrap_resamples": args.bootstrap_resamples,
    }
    if args.has_header is not None:
        event["has_header"] = args.has_header
    if args.variants:
        event["variants"] = [v.strip() for v in args.variants.split(",") if v.strip()]
    if args.max_rows is not None:
        event["max_rows"] = args.max_rows
    try:
        request = parse_request(event, args.endpoint)
        clients = _clients(args)
        report = evaluate(
            request,
            read_text=text_reader(clients["s3"], allow_local=True),
            describe_variants=variant_lister(clients["sagemaker"]),
            runtime=clients["runtime"],
            publish=metric_publisher(clients["cloudwatch"], args.namespace, args.endpoint)
            if args.publish_metrics
            else None,
            deadline=time.monotonic() + args.time_budget if args.time_budget else None,
        )
    except InvalidEvaluation as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    run = run_id()
    if args.report_s3:
        bucket, prefix = split_s3_uri(args.report_s3.rstrip("/") + "/")
        locations = write_reports_s3(clients["s3"], report, bucket, prefix, run)
    else:
        locations = write_reports_local(report, args.report_dir, run, draw_figures=draw_figures)
    print(json.dumps({"reports": locations, "verdicts": [c["verdict"] for c in report["comparisons"]]}, indent=2))
    return 0 if report["complete"] else 3


if __name__ == "__main__":
    sys.exit(main())
