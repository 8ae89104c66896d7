"""Sample-ratio-mismatch (SRM) check, run on a schedule.

Compares the requests each variant received over the last window (CloudWatch ``Invocations``)
with the shares the endpoint's live weights ask for (DescribeEndpoint), with an exact test
(``srm_stats.srm_test``: binomial for two variants, Bonferroni over per-variant binomials for
more, p = 0 when a zero-weight variant got requests), and publishes the p-value and the observed
and expected shares. A tiny p-value means traffic is not split the way the weights say: routing,
a client pinning ``TargetVariant``, or a variant failing before it is counted, and any A/B
comparison drawn from that traffic is suspect.

It publishes nothing, and says why in the log, when the result would mislead: the endpoint is
gone or not InService, its weights changed inside the window, or the window holds fewer than
``MIN_INVOCATIONS`` requests. There is no expected-count gate: the test is exact, so a variant
with a tiny share cannot raise false alarms above the alarm's level, and one that should get
nothing but got requests is always reported.

Environment: ``ENDPOINT_NAME``, ``METRICS_NAMESPACE``, ``WINDOW_MINUTES``, ``MIN_INVOCATIONS``.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from endpoint_weights.endpoint import IN_SERVICE, RETRY_CONFIG, describe, sagemaker_client
from endpoint_weights.variant_metrics import invocations_per_variant
from srm_check.srm_stats import NotEnoughTraffic, SrmResult, enough_traffic, srm_test

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)


def _window(now: datetime, minutes: int) -> tuple[datetime, datetime]:
    end = now.replace(second=0, microsecond=0)
    return end - timedelta(minutes=minutes), end


def publish(cloudwatch: Any, namespace: str, endpoint_name: str, result: SrmResult, when: datetime) -> None:
    endpoint_dims = [{"Name": "EndpointName", "Value": endpoint_name}]
    data: list[dict[str, Any]] = [
        {"MetricName": "SrmPValue", "Dimensions": endpoint_dims, "Value": result.p_value, "Unit": "None"},
        {"MetricName": "SrmInvocations", "Dimensions": endpoint_dims, "Value": float(result.total), "Unit": "Count"},
    ]
    for variant in sorted(result.observed):
        dims = [*endpoint_dims, {"Name": "VariantName", "Value": variant}]
        data.append(
            {
                "MetricName": "ObservedShare",
                "Dimensions": dims,
                "Value": 100 * result.observed_share[variant],
                "Unit": "Percent",
            }
        )
        data.append(
            {
                "MetricName": "ExpectedShare",
                "Dimensions": dims,
                "Value": 100 * result.expected_share[variant],
                "Unit": "Percent",
            }
        )
    for item in data:
        item["Timestamp"] = when
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)


def _skip(reason: str, endpoint_name: str, **details: Any) -> dict[str, Any]:
    LOG.info("SRM check skipped: %s", reason, extra={"endpoint": endpoint_name, **details})
    return {"endpoint_name": endpoint_name, "published": False, "reason": reason, **details}


def handle(
    event: Any, context: Any, client: Any = None, cloudwatch: Any = None, now: datetime | None = None
) -> dict[str, Any]:
    endpoint_name = os.environ["ENDPOINT_NAME"]
    namespace = os.environ["METRICS_NAMESPACE"]
    window_minutes = int(os.environ.get("WINDOW_MINUTES", "60"))
    min_invocations = int(os.environ.get("MIN_INVOCATIONS", "1000"))
    client = client or sagemaker_client()
    cloudwatch = cloudwatch or boto3.client("cloudwatch", config=RETRY_CONFIG)
    start, end = _window(now or datetime.now(UTC), window_minutes)

    state = describe(client, endpoint_name)
    if state is None:
        return _skip("endpoint does not exist", endpoint_name)
    if state.status != IN_SERVICE:
        return _skip(f"endpoint is {state.status}", endpoint_name)
    if state.last_modified and state.last_modified > start:
        # Weights may have changed inside the window; requests before and after the change
        # were split differently, and one set of expected shares would flag a false mismatch.
        return _skip("endpoint changed inside the window", endpoint_name, last_modified=state.last_modified.isoformat())

    counts = invocations_per_variant(cloudwatch, endpoint_name, sorted(state.variants), start, end)
    total = int(sum(counts.values()))
    if not enough_traffic(total, min_invocations):
        return _skip("not enough traffic", endpoint_name, invocations=total, min_invocations=min_invocations)
    try:
        result = srm_test(counts, state.current_weights)
    except NotEnoughTraffic as err:
        return _skip(str(err), endpoint_name, invocations=total)
    except ValueError as err:  # e.g. weights SageMaker reports that the test cannot use
        return _skip(f"cannot test this split: {err}", endpoint_name, invocations=total)

    publish(cloudwatch, namespace, endpoint_name, result, end)
    LOG.info(
        "SRM check",
        extra={"endpoint": endpoint_name, "p_value": result.p_value, "observed": result.observed, "total": total},
    )
    return {
        "endpoint_name": endpoint_name,
        "published": True,
        "p_value": result.p_value,
        "method": result.method,
        "invocations": total,
        "observed_share": result.observed_share,
        "expected_share": result.expected_share,
    }
