"""Where an evaluation reads its test set, learns the variants, publishes metrics and writes reports."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from endpoint_weights.endpoint import describe
from evaluate.errors import InvalidEvaluation
from evaluate.report import to_markdown
from evaluate.variants import LiveVariants

LOG = logging.getLogger(__name__)
MAX_TEST_SET_BYTES = 256 * 1024 * 1024  # read whole into memory: refuse what cannot fit


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise InvalidEvaluation(f"not an s3://bucket/key URI: {uri}")
    bucket, key = uri[5:].split("/", 1)
    if not bucket or not key:
        raise InvalidEvaluation(f"not an s3://bucket/key URI: {uri}")
    return bucket, key


def text_reader(s3: Any, *, allow_local: bool = False) -> Callable[[str], str]:
    """Reads ``s3://`` URIs (and local paths when ``allow_local``, for the command)."""

    def read(uri: str) -> str:
        if not uri.startswith("s3://"):
            if not allow_local:
                raise InvalidEvaluation(f"data_uri must be an s3:// URI (got {uri})")
            path = Path(uri)
            if not path.is_file():
                raise InvalidEvaluation(f"{uri}: no such file")
            return path.read_text(encoding="utf-8")
        bucket, key = split_s3_uri(uri)
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
            if head["ContentLength"] > MAX_TEST_SET_BYTES:
                raise InvalidEvaluation(f"{uri} is {head['ContentLength']} bytes; the limit is {MAX_TEST_SET_BYTES}")
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as err:
            raise InvalidEvaluation(f"cannot read {uri}: {err.response.get('Error', {}).get('Code', err)}") from err
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InvalidEvaluation(f"{uri} is not UTF-8 text") from err

    return read


def variant_lister(sagemaker: Any) -> Callable[[str], LiveVariants]:
    """The endpoint's production variants and, apart, its shadow (DescribeEndpoint's ShadowProductionVariants),
    so that a request naming the shadow is refused by name (runner.choose_variants)."""

    def variants(endpoint_name: str) -> LiveVariants:
        state = describe(sagemaker, endpoint_name)
        if state is None:
            raise InvalidEvaluation(f"endpoint {endpoint_name} does not exist")
        if state.status != "InService":
            raise InvalidEvaluation(f"endpoint {endpoint_name} is {state.status}, not InService")
        return LiveVariants(tuple(state.variants), tuple(state.shadow_variants))

    return variants


# PutMetricData: "Each PutMetricData request is limited to 1 MB in size for HTTP POST requests ...
# Each request is also limited to no more than 1000 different metrics" (CloudWatch API reference,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html).
PUT_METRIC_DATA_MAX_METRICS = 1000
PUT_METRIC_DATA_MAX_BYTES = 1_000_000  # 1 MB read as 10^6 bytes, the smaller reading
# Room for Action, Version and Namespace (at most 255 characters) around the metric data.
_REQUEST_OVERHEAD_BYTES = 1_000
# The longest key prefix one datum's field gets in the query protocol, the most verbose of the
# protocols botocore may use for CloudWatch (query, JSON, CBOR): "&MetricData.member.1000." + "=".
_QUERY_KEY_PREFIX_BYTES = len("&MetricData.member.1000.=")


def _encoded_size(path: str, value: Any) -> int:
    """An upper bound of one datum's size in a query-protocol body (percent-encoding at most triples a byte)."""
    if isinstance(value, Mapping):
        return sum(_encoded_size(f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_encoded_size(f"{path}.member.{i + 1}", v) for i, v in enumerate(value))
    return _QUERY_KEY_PREFIX_BYTES + len(path) + 3 * len(str(value).encode())


def metric_data_batches(
    data: Sequence[Mapping[str, Any]],
    *,
    max_metrics: int = PUT_METRIC_DATA_MAX_METRICS,
    max_bytes: int = PUT_METRIC_DATA_MAX_BYTES,
) -> list[list[Mapping[str, Any]]]:
    """``data`` (MetricDatum dicts) split into PutMetricData calls, in order, each within both limits."""
    batches: list[list[Mapping[str, Any]]] = []
    size = 0
    for datum in data:
        datum_size = _encoded_size("", datum)
        if datum_size + _REQUEST_OVERHEAD_BYTES > max_bytes:
            raise ValueError(f"metric {datum.get('MetricName')!r} alone exceeds PutMetricData's {max_bytes} bytes")
        if not batches or len(batches[-1]) >= max_metrics or size + datum_size + _REQUEST_OVERHEAD_BYTES > max_bytes:
            batches.append([])
            size = 0
        batches[-1].append(datum)
        size += datum_size
    return batches


def metric_publisher(
    cloudwatch: Any, namespace: str, endpoint_name: str, *, timestamp: datetime | None = None
) -> Callable[[str, Mapping[str, float]], None]:
    """Publishes one variant's metrics (dimensions EndpointName, VariantName), in as few calls as
    PutMetricData's limits allow (one, for the few metrics a report has). ``timestamp`` (default: none,
    CloudWatch then dates each datum when it arrives) dates every datum; the caller checks it is within
    what CloudWatch accepts."""

    def publish(variant: str, values: Mapping[str, float]) -> None:
        dims = [{"Name": "EndpointName", "Value": endpoint_name}, {"Name": "VariantName", "Value": variant}]
        dated = {} if timestamp is None else {"Timestamp": timestamp}
        data = [
            {"MetricName": name, "Dimensions": dims, "Value": float(value), "Unit": "None", **dated}
            for name, value in sorted(values.items())
        ]
        for batch in metric_data_batches(data):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=batch)

    return publish


def run_id(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def write_reports_s3(
    s3: Any,
    report: Mapping[str, Any],
    bucket: str,
    prefix: str,
    run: str,
    *,
    render_markdown: Callable[[Mapping[str, Any]], str] = to_markdown,
) -> dict[str, str]:
    """report.json and report.md under ``<prefix><endpoint>/<run>/``: nothing anywhere else.

    ``render_markdown`` (default: the evaluation's ``to_markdown``) turns the report into report.md;
    both bodies are made before the first write, so a report that cannot be rendered writes nothing.
    """
    base = f"{prefix}{report['endpoint_name']}/{run}/"
    json_body = json.dumps(report, indent=2).encode()
    markdown_body = render_markdown(report).encode()
    s3.put_object(Bucket=bucket, Key=base + "report.json", Body=json_body, ContentType="application/json")
    s3.put_object(Bucket=bucket, Key=base + "report.md", Body=markdown_body, ContentType="text/markdown")
    return {"json": f"s3://{bucket}/{base}report.json", "markdown": f"s3://{bucket}/{base}report.md"}


FigureDrawer = Callable[[Mapping[str, Any], Path], Mapping[str, Mapping[str, str]]]
"""Draws a report's images into a directory; returns variant → kind → file name (see to_markdown)."""


def write_reports_local(
    report: Mapping[str, Any], directory: Path, run: str, *, draw_figures: FigureDrawer | None = None
) -> dict[str, str]:
    """report.json and report.md under ``<directory>/<endpoint>/<run>/``; with ``draw_figures``
    (a local run with matplotlib: ``scripts/evaluation_figures.draw_figures``) the images too, linked
    from report.md."""
    base = directory / str(report["endpoint_name"]) / run
    base.mkdir(parents=True, exist_ok=True)
    (base / "report.json").write_text(json.dumps(report, indent=2))
    figures = draw_figures(report, base) if draw_figures is not None else None
    (base / "report.md").write_text(to_markdown(report, figures))
    return {"json": str(base / "report.json"), "markdown": str(base / "report.md")}
