"""Evaluation Lambda: compare this endpoint's variants on a labelled test set in S3.

Event (every key but ``data_uri`` optional; see ``runner.EvaluationRequest`` for defaults)::

    {"data_uri": "s3://<report bucket>/datasets/churn-test.csv", "variants": ["Variant1", "Variant2"],
     "label_column": 0, "threshold": 0.5, "batch_size": 100, "max_rows": 10000}

Every key is type-checked (``runner.FIELD_TYPES``) before anything is read, sent or written: a
value of the wrong type (``"has_header": "false"``, a string) is an error, never coerced.

Writes ``report.json`` and ``report.md`` under ``s3://$REPORT_BUCKET/$REPORT_PREFIX<endpoint>/<run>/``,
publishes Accuracy, Precision, Recall, F1 and RocAuc for every variant that scored every row, and
returns where the reports are with the verdicts. It stops sending requests a minute before its
own timeout and then reports what it has, marked partial.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import boto3

from endpoint_weights.endpoint import RETRY_CONFIG, sagemaker_client
from evaluate.aws_io import metric_publisher, run_id, text_reader, variant_lister, write_reports_s3
from evaluate.runner import evaluate, parse_request
from evaluate.scoring import RUNTIME_RETRY_CONFIG

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

REPORTING_MARGIN_SECONDS = 60  # stop scoring this long before the timeout, to write the report


def handle(
    event: Any, context: Any, *, sagemaker: Any = None, runtime: Any = None, s3: Any = None, cloudwatch: Any = None
) -> dict[str, Any]:
    endpoint_name = os.environ["ENDPOINT_NAME"]
    request = parse_request(event, endpoint_name)
    s3 = s3 or boto3.client("s3", config=RETRY_CONFIG)
    remaining = context.get_remaining_time_in_millis() / 1000 if context else 900
    report = evaluate(
        request,
        read_text=text_reader(s3),
        describe_variants=variant_lister(sagemaker or sagemaker_client()),
        runtime=runtime or boto3.client("sagemaker-runtime", config=RUNTIME_RETRY_CONFIG),
        publish=metric_publisher(
            cloudwatch or boto3.client("cloudwatch", config=RETRY_CONFIG),
            os.environ["METRICS_NAMESPACE"],
            endpoint_name,
        ),
        deadline=time.monotonic() + remaining - REPORTING_MARGIN_SECONDS,
    )
    locations = write_reports_s3(
        s3, report, os.environ["REPORT_BUCKET"], os.environ.get("REPORT_PREFIX", "reports/"), run_id()
    )
    return {
        "reports": locations,
        "complete": report["complete"],
        "incomplete_variants": report["incomplete_variants"],
        "verdicts": [c["verdict"] for c in report["comparisons"]],
    }
