"""The agreement step beside a shadow: the agreement query's Athena result to a report in S3 and two metrics in
CloudWatch (clients injected). Runs after live quality's publish, in the same state machine, with the same plan.

Everything is checked before the first write, as in ``publish_step``: the query succeeded with this plan's
agreement parameters and the committed agreement text at the plan's threshold, the result's header and rows, the
report (``agreement.build_agreement_report``, the same as ``scripts/shadow_agreement.py`` on DuckDB). Then
``agreement.json`` and ``agreement.md`` under ``s3://$REPORT_BUCKET/$REPORT_PREFIX<endpoint>/<run id>/`` (beside
the run's live-quality report), then the metrics, dated as live quality's (``metric_time``), dimensions
EndpointName and VariantName = the shadow variant:

* ``ShadowPairs``: the pairs found (0 included: it is a count, and 0 is what Q4 failing looks like);
* ``ShadowAgreement``: 100 × the share of pairs on the same side of the threshold, **only when there are pairs**.
  No pairs is no datapoint, never 0 %: 0 % would read as "the shadow always disagrees" (README, Q4).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from evaluate.aws_io import metric_publisher
from live_quality import agreement_text
from live_quality.agreement import build_agreement_report, to_markdown
from live_quality.athena_results import MAX_RESULTS_PER_PAGE, finished_query, rows_from_pages
from live_quality.events import AgreementRequest
from live_quality.metric_time import check_metric_time, metric_time
from live_quality.settings import AgreementSettings

AGREEMENT_METRIC = "ShadowAgreement"
PAIRS_METRIC = "ShadowPairs"
REPORT_STEM = "agreement"


def agreement_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The shadow's metrics of one report: its pairs always, its agreement (percent) only when it has pairs."""
    pairs = report["pairs"]["total"]
    metrics: dict[str, float] = {PAIRS_METRIC: float(pairs)}
    if pairs and report["agreement"] is not None:
        metrics[AGREEMENT_METRIC] = 100 * report["agreement"]["agreement"]
    return metrics


def run_publish_agreement(
    request: AgreementRequest,
    settings: AgreementSettings,
    *,
    athena: Any,
    s3: Any,
    cloudwatch: Any,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Read the agreement query's result, write agreement.json/.md, publish the shadow's two metrics."""
    stamp = metric_time(request.window)
    check_metric_time(stamp, now or datetime.now(UTC))
    query = finished_query(
        athena.get_query_execution(QueryExecutionId=request.query_execution_id),
        request.execution_parameters,
        agreement_text.athena_query(request.window.threshold),
        "shadow-agreement",
    )
    pages = athena.get_paginator("get_query_results").paginate(
        QueryExecutionId=request.query_execution_id, PaginationConfig={"PageSize": MAX_RESULTS_PER_PAGE}
    )
    rows = rows_from_pages(pages, agreement_text.RESULT_COLUMNS, "shadow_agreement")
    window = request.window
    report = {
        **build_agreement_report(
            [agreement_text.typed_row(row) for row in rows],
            endpoint=settings.endpoint,
            production_variant=settings.production_variant,
            shadow_variant=settings.shadow_variant,
            window={"start": window.capture_start_hour, "end": window.capture_end_hour},
            threshold=window.threshold,
        ),
        "run_id": request.run_id,
        "query": query.as_report_section(),
    }
    metrics = agreement_metrics(report)
    bodies = {
        f"{REPORT_STEM}.json": (json.dumps(report, indent=2).encode(), "application/json"),
        f"{REPORT_STEM}.md": (to_markdown(report).encode(), "text/markdown"),
    }
    base = f"{settings.prefix}{settings.endpoint}/{request.run_id}/"
    for name, (body, content_type) in bodies.items():
        s3.put_object(Bucket=settings.bucket, Key=base + name, Body=body, ContentType=content_type)
    metric_publisher(cloudwatch, settings.namespace, settings.endpoint, timestamp=stamp)(
        settings.shadow_variant, metrics
    )
    return {
        "run_id": request.run_id,
        "reports": [f"s3://{settings.bucket}/{base}{name}" for name in bodies],
        "query": {"query_execution_id": query.execution_id, "data_scanned_bytes": query.data_scanned_bytes},
        "metrics": metrics,
    } | ({"no_pairs": report["no_pairs"]} if "no_pairs" in report else {})
