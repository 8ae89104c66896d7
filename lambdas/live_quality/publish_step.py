"""The publish step: Athena's result to a report in S3 and live metrics in CloudWatch (clients injected).

Order matters: every check (the query's state, parameters and text, the result's header and rows, the
report and its Markdown) comes before the first write, so bad input leaves nothing behind; the
reports are written before the metrics, and both are keyed by the plan's run id, so a retry after a
failed PutMetricData rewrites the same two objects and dates the metrics alike (``metric_time``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from evaluate.aws_io import metric_publisher, write_reports_s3
from live_quality.athena_results import MAX_RESULTS_PER_PAGE, finished_query, rows_from_pages
from live_quality.events import PublishRequest
from live_quality.metric_time import check_metric_time, metric_time
from live_quality.query import athena_query
from live_quality.report import build_report, to_markdown
from live_quality.results import parse_rows
from live_quality.settings import PublishSettings

NO_LABELS_YET = "no variant has labelled requests in the window yet: no metric published"


def run_publish(
    request: PublishRequest,
    settings: PublishSettings,
    *,
    athena: Any,
    s3: Any,
    cloudwatch: Any,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Read the query's result, write report.json/report.md, publish the metrics; returns what it did.
    ``now`` (default: the clock) is when CloudWatch receives the metrics, for its timestamp limits."""
    stamp = metric_time(request.window)
    check_metric_time(stamp, now or datetime.now(UTC))
    query = finished_query(
        athena.get_query_execution(QueryExecutionId=request.query_execution_id),
        request.execution_parameters,
        athena_query(request.window.threshold),
    )
    pages = athena.get_paginator("get_query_results").paginate(
        QueryExecutionId=request.query_execution_id, PaginationConfig={"PageSize": MAX_RESULTS_PER_PAGE}
    )
    result = parse_rows(rows_from_pages(pages))
    report = {
        **build_report(
            result,
            request.window,
            settings.variants,
            alpha=settings.alpha,
            sampling_percentage=settings.sampling_percentage,
            window_start=request.window_start,
            sample_excerpt_chars=settings.sample_excerpt_chars,
        ),
        "run_id": request.run_id,
        "query": query.as_report_section(),
    }
    metrics: dict[str, dict[str, float]] = report["metrics_to_publish"]

    locations = write_reports_s3(
        s3, report, settings.bucket, settings.prefix, request.run_id, render_markdown=to_markdown
    )
    if metrics:
        put = metric_publisher(cloudwatch, settings.namespace, settings.endpoint, timestamp=stamp)
        for variant, values in metrics.items():
            put(variant, values)
    return {
        "run_id": request.run_id,
        "reports": locations,
        "query": {"query_execution_id": query.execution_id, "data_scanned_bytes": query.data_scanned_bytes},
        "metrics": {"published": bool(metrics), "variants": list(metrics)}
        | ({} if metrics else {"reason": NO_LABELS_YET}),
        "comparisons": [
            {
                "baseline": c["variant_a"],
                "candidate": c["variant_b"],
                "status": c["status"],
                "winner": c["verdict"]["winner"],
            }
            for c in report["comparisons"]
        ],
    }
