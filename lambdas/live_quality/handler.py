"""Live-quality Lambda: two steps of the scheduled state machine around Athena's query.

``plan`` (event ``{"time": "<$$.Execution.StartTime>"}``, optionally the three window hours of a
manual run or its ``anchor_hour``) reads where the window starts (when the endpoint's current
endpoint config began to serve alone: DescribeEndpoint, DescribeEndpointConfig, ListTags,
``endpoint_anchor``; during a deployment it raises ``DeploymentInProgress``), refuses a window whose
metrics CloudWatch would no longer take (``metric_time.check_plannable``), and returns
the run id, the window (with the threshold), where it starts and why (``window_start``) and the query's
``ExecutionParameters`` (the endpoint and the four hours);
the state machine runs the committed Athena text with them (``.sync``) and calls ``publish``
(event ``{"query_execution_id": "<id>", "plan": <plan's output>}``), which reads the result, builds
the report (``report.build_report``, the same as ``scripts/live_quality.py`` on DuckDB), writes
``report.json`` and ``report.md`` under ``s3://$REPORT_BUCKET/$REPORT_PREFIX<endpoint>/<run id>/`` and
publishes the per-variant live metrics (``report.LIVE_METRICS``, dimensions EndpointName and
VariantName). Environment: see ``settings``.

Everything is checked before the first write: the event and environment, that the query succeeded
with this plan's parameters and with the committed text carrying this plan's threshold, the result's
header and rows, the report. A failed or cancelled query,
or a result that is not the live-quality query's, writes and publishes nothing. A report without any
labelled variant is written (it says what was captured and what went wrong) but publishes no metric.
The run id comes from the plan, so a retried publish overwrites the same two objects.

Beside a shadow, the plan also gives the agreement query's parameters, the state machine runs the committed
agreement text with them after ``publish``, and ``publish_agreement`` (the same event shape, with the agreement
query's id) writes ``agreement.json``/``agreement.md`` and the shadow's ShadowPairs/ShadowAgreement
(``agreement_step``).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

import boto3

from endpoint_weights.endpoint import RETRY_CONFIG
from evaluate.aws_io import run_id
from live_quality.endpoint_anchor import read_endpoint_anchor
from live_quality.events import agreement_request, plan_output, plan_request, plan_window, publish_request
from live_quality.metric_time import check_plannable
from live_quality.settings import agreement_settings, plan_settings, publish_settings

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)


def plan(event: Any, context: Any, *, sagemaker: Any = None, now: datetime | None = None) -> dict[str, Any]:
    settings = plan_settings(os.environ)
    request = plan_request(event)
    anchor = None
    if request.needs_endpoint_anchor:
        client = sagemaker or boto3.client("sagemaker", config=RETRY_CONFIG)
        anchor = read_endpoint_anchor(client, settings.endpoint)
    window, start = plan_window(request, settings, anchor)
    check_plannable(window, now or datetime.now(UTC))
    output = plan_output(run_id(request.moment), window, start, settings.agreement_variants)
    LOG.info("live-quality plan", extra={"plan": output})
    return output


def publish(
    event: Any, context: Any, *, athena: Any = None, s3: Any = None, cloudwatch: Any = None, now: datetime | None = None
) -> dict[str, Any]:
    settings = publish_settings(os.environ)
    request = publish_request(event, settings.endpoint)
    # Imported on the first publish, not with the module: the report's statistics are publish's
    # alone, and plan, the asset's other entry point, starts a cold Lambda without them.
    from live_quality.publish_step import run_publish

    outcome = run_publish(
        request,
        settings,
        **_report_clients(athena, s3, cloudwatch),
        now=now,
    )
    LOG.info("live-quality published", extra={"outcome": outcome})
    return outcome


def publish_agreement(
    event: Any, context: Any, *, athena: Any = None, s3: Any = None, cloudwatch: Any = None, now: datetime | None = None
) -> dict[str, Any]:
    settings = agreement_settings(os.environ)
    request = agreement_request(event, settings.endpoint, settings.production_variant, settings.shadow_variant)
    from live_quality.agreement_step import run_publish_agreement

    outcome = run_publish_agreement(
        request,
        settings,
        **_report_clients(athena, s3, cloudwatch),
        now=now,
    )
    LOG.info("shadow agreement published", extra={"outcome": outcome})
    return outcome


def _report_clients(athena: Any, s3: Any, cloudwatch: Any) -> dict[str, Any]:
    """The clients a publish step reads results and writes reports and metrics with (given ones, for tests)."""
    return {
        "athena": athena or boto3.client("athena", config=RETRY_CONFIG),
        "s3": s3 or boto3.client("s3", config=RETRY_CONFIG),
        "cloudwatch": cloudwatch or boto3.client("cloudwatch", config=RETRY_CONFIG),
    }
