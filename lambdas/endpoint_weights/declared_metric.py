"""Publish the weights just applied as the ``DeclaredWeight`` metric, one datapoint per variant.

The dashboard draws the declared split from it beside the observed split, and because every
application publishes, the metric is also the history of weight changes. Publishing is best
effort: a CloudWatch hiccup must never fail a weight change that already happened.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from endpoint_weights.endpoint import RETRY_CONFIG

LOG = logging.getLogger(__name__)
METRIC_NAME = "DeclaredWeight"


def publish_declared_weights(
    endpoint_name: str,
    weights: Mapping[str, float],
    *,
    cloudwatch: Any = None,
    namespace: str | None = None,
    config: Config = RETRY_CONFIG,
) -> bool:
    """Put one ``DeclaredWeight`` datapoint per variant; say whether it worked.

    The namespace comes from ``METRICS_NAMESPACE`` (set by the stack); without it nothing is
    published. ``config`` (default ``RETRY_CONFIG``) is the CloudWatch client's, when
    ``cloudwatch`` is not given: callers with a deadline pass a bounded one.
    """
    namespace = namespace or os.environ.get("METRICS_NAMESPACE")
    if not namespace:
        LOG.warning("METRICS_NAMESPACE not set: declared weights not published")
        return False
    data = [
        {
            "MetricName": METRIC_NAME,
            "Dimensions": [
                {"Name": "EndpointName", "Value": endpoint_name},
                {"Name": "VariantName", "Value": variant},
            ],
            "Value": float(weight),
            "Unit": "None",
        }
        for variant, weight in sorted(weights.items())
    ]
    try:
        (cloudwatch or boto3.client("cloudwatch", config=config)).put_metric_data(Namespace=namespace, MetricData=data)
    except (ClientError, BotoCoreError) as err:
        LOG.warning("declared weights not published", extra={"endpoint": endpoint_name, "error": str(err)})
        return False
    return True
