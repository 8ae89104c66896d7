"""Data capture for the InvokeEndpoint stub (``scripts/stub_sagemaker_runtime.py``), as SageMaker does it.

What SageMaker does for a real-time endpoint whose endpoint config has a ``DataCaptureConfig``, and what
is imitated here (sources: "Capture data from real-time endpoint",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html; the
DataCaptureConfig and InvokeEndpoint API references):

- **Which config.** Capture follows the endpoint's *current* endpoint config: the stub asks
  DescribeEndpoint for its ``EndpointConfigName`` and DescribeEndpointConfig for its
  ``DataCaptureConfig`` (:class:`DeployedCaptureConfig`), so it captures only when the deployed config
  says so, and stops or starts when the endpoint moves to another config.
- **What.** ``EnableCapture`` (default: enabled), ``InitialSamplingPercentage`` (each request is captured
  with that probability; a seeded draw here), ``DestinationS3Uri``, ``KmsKeyId`` (the objects are written
  with SSE-KMS under it). Input and output are both captured (this stack's ``CaptureOptions``).
  ``CaptureContentTypeHeader`` decides the encoding: a content type it lists as CSV or JSON is stored as
  text, anything else base64 ("If no headers are specified SageMaker AI will by default base64 encode").
- **Which requests.** Answered ones (HTTP 200): a throttled or failed request has no response to record.
  The caller's ``InferenceId`` (header ``X-Amzn-SageMaker-Inference-Id``) goes to
  ``eventMetadata.inferenceId``; ``eventId`` is an id SageMaker generates per request (a UUID);
  ``inferenceTime`` the request's time, to the second, UTC.
- **Where and when.** ``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-mmm>-<uuid>.jsonl``,
  the hour of the invocation (UTC); the object name starts with the minute, second and millisecond of
  its first record, as the objects SageMaker writes do (listings in AWS's examples:
  ``12-26-957-d5938b7b-….jsonl``). SageMaker buffers records on the instance and delivers them in
  batches ("The delivery of capture data to Amazon S3 can require a couple of minutes"; the listings
  show about one object per minute of traffic). Imitated: one batch per endpoint, variant and hour,
  delivered when its first record is ``flush_seconds`` old (default 60) or it holds ``flush_bytes``
  (default 1 MiB; SageMaker documents no size), and on :meth:`DataCapture.flush` / close (a demo that
  wants its captures now asks for them instead of waiting a minute).

The record itself is written by ``live_quality.formats.exchange_record``, the one writer of SageMaker's
capture format in this repository. A destination may also be a local folder (tests): the same keys
below it.
"""

from __future__ import annotations

import random
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambdas"))

from live_quality.formats import capture_key, exchange_record, hour_of, json_line

DEFAULT_FLUSH_SECONDS = 60.0
DEFAULT_FLUSH_BYTES = 1 << 20


class EndpointNotFound(LookupError):
    """DescribeEndpoint does not know the endpoint: InvokeEndpoint would answer ValidationError."""


@dataclass(frozen=True)
class CaptureSettings:
    """One endpoint config's ``DataCaptureConfig``, as far as capture needs it.

    ``destination``: ``s3://bucket/prefix`` or a local folder. ``sampling_percentage``: 0-100.
    ``csv_content_types`` / ``json_content_types``: ``CaptureContentTypeHeader`` (default none: base64).
    """

    destination: str
    sampling_percentage: int = 100
    kms_key_id: str | None = None
    csv_content_types: frozenset[str] = field(default_factory=frozenset)
    json_content_types: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.destination:
            raise ValueError("capture destination is empty; give s3://bucket/prefix or a folder")
        percentage = self.sampling_percentage
        if isinstance(percentage, bool) or not isinstance(percentage, int) or not 0 <= percentage <= 100:
            raise ValueError(f"sampling percentage is {percentage!r}; InitialSamplingPercentage is an integer 0-100")

    def encoding(self, content_type: str) -> str:
        """``CSV``, ``JSON`` or ``BASE64`` for a body of ``content_type`` (its parameters, e.g. charset, ignored)."""
        media = content_type.split(";", 1)[0].strip().lower()
        if media in self.csv_content_types:
            return "CSV"
        if media in self.json_content_types:
            return "JSON"
        return "BASE64"


def settings_from_data_capture_config(config: Mapping[str, Any] | None) -> CaptureSettings | None:
    """A ``DataCaptureConfig`` as DescribeEndpointConfig returns it; ``None`` when capture is off or absent.

    CloudFormation delivers template values as it found them, so ``EnableCapture`` may be ``"true"`` and
    the percentage ``"100"`` (moto's CloudFormation passes them through to DescribeEndpointConfig).
    """
    if not config:
        return None
    if str(config.get("EnableCapture", True)).lower() == "false":  # "defaults to enabled"
        return None
    headers = config.get("CaptureContentTypeHeader") or {}
    return CaptureSettings(
        destination=str(config["DestinationS3Uri"]),
        sampling_percentage=int(config.get("InitialSamplingPercentage", 0)),
        kms_key_id=config.get("KmsKeyId") or None,
        csv_content_types=frozenset(t.lower() for t in headers.get("CsvContentTypes", [])),
        json_content_types=frozenset(t.lower() for t in headers.get("JsonContentTypes", [])),
    )


class CaptureSource(Protocol):
    def __call__(self, endpoint: str) -> CaptureSettings | None:
        """The capture settings in force for ``endpoint`` now (``None``: no capture)."""
        ...


def fixed_capture(settings: CaptureSettings | None) -> CaptureSource:
    """The same settings for every endpoint: for tests that give a destination directly."""
    return lambda endpoint: settings


class DeployedCaptureConfig:
    """The capture settings of an endpoint's current config, as SageMaker applies them.

    DescribeEndpoint on every request (an endpoint moves to a new config on UpdateEndpoint), then
    DescribeEndpointConfig once per config name (a config never changes: every property change makes
    a new one). ``sagemaker`` is a boto3 SageMaker client (the local server's).
    """

    def __init__(self, sagemaker: Any) -> None:
        self.sagemaker = sagemaker
        self._by_config: dict[str, CaptureSettings | None] = {}
        self._lock = threading.Lock()

    def __call__(self, endpoint: str) -> CaptureSettings | None:
        try:
            config_name = self.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
        except self.sagemaker.exceptions.ClientError as err:
            raise EndpointNotFound(f"Endpoint {endpoint} not found ({err.response['Error']['Message']})") from None
        with self._lock:
            if config_name not in self._by_config:
                described = self.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
                self._by_config[config_name] = settings_from_data_capture_config(described.get("DataCaptureConfig"))
            return self._by_config[config_name]


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix without slashes at either end)."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket:
        raise ValueError(f"{uri!r} is not an s3://bucket/prefix URI")
    return bucket, prefix.strip("/")


@dataclass
class _Batch:
    settings: CaptureSettings
    key: str  # the object's key (or path) below the destination
    opened: datetime
    lines: list[str] = field(default_factory=list)
    size: int = 0


class DataCapture:
    """Samples, formats, batches and delivers capture records; thread-safe.

    ``source`` says per endpoint whether and where to capture; ``s3`` is the boto3 S3 client for
    ``s3://`` destinations; ``seed`` makes the sampling draws and the object names reproducible;
    ``clock`` (default: now, UTC) timestamps records and ages batches. Whoever runs it calls
    :meth:`flush_due` now and then (the stub: every second) and :meth:`close` at the end.
    """

    def __init__(
        self,
        source: CaptureSource,
        s3: Any | None = None,
        *,
        seed: int = 0,
        flush_seconds: float = DEFAULT_FLUSH_SECONDS,
        flush_bytes: int = DEFAULT_FLUSH_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.source = source
        self.s3 = s3
        self.flush_seconds = flush_seconds
        self.flush_bytes = flush_bytes
        self.clock = clock
        self.delivered: list[str] = []  # every object written, s3:// URI or path, in order
        self.captured = 0
        self.sampled_out = 0
        self._random = random.Random(seed)
        self._batches: dict[tuple[str, str], _Batch] = {}  # (destination, endpoint/variant/hour) -> open batch
        self._lock = threading.Lock()

    def settings(self, endpoint: str) -> CaptureSettings | None:
        """What the deployed config says for ``endpoint`` (raises :class:`EndpointNotFound`)."""
        return self.source(endpoint)

    def record(
        self,
        settings: CaptureSettings,
        *,
        endpoint: str,
        variant: str,
        inference_id: str | None,
        request_body: str,
        request_content_type: str,
        response_body: str,
        response_content_type: str,
        when: datetime | None = None,
        copy_of: str | None = None,
    ) -> str | None:
        """Capture one answered request if the sampling draw says so; its ``eventId``, or None if sampled out.

        ``copy_of``: the ``eventId`` of the production record whose shadow copy this is (scripts/stub_shadow.py).
        The copy is written with that ``eventId`` and no sampling draw of its own: the caller records it only
        when the production record was captured (UNVERIFIED, design Q4: SageMaker documents neither)."""
        when = when or self.clock()
        with self._lock:
            if copy_of is None and self._random.random() * 100 >= settings.sampling_percentage:
                self.sampled_out += 1
                return None
            event_id = copy_of or str(uuid.UUID(int=self._random.getrandbits(128), version=4))
            line = json_line(
                exchange_record(
                    event_id=event_id,
                    inference_time=when,
                    inference_id=inference_id,
                    input_data=request_body,
                    input_content_type=request_content_type,
                    input_encoding=settings.encoding(request_content_type),
                    output_data=response_body,
                    output_content_type=response_content_type,
                    output_encoding=settings.encoding(response_content_type),
                )
            )
            folder = f"{endpoint}/{variant}/{hour_of(when)}"
            batch = self._batches.get((settings.destination, folder))
            if batch is None:
                unique = uuid.UUID(int=self._random.getrandbits(128), version=4)
                name = f"{when:%M-%S}-{when.microsecond // 1000:03d}-{unique}.jsonl"
                batch = _Batch(settings, capture_key("", endpoint, variant, hour_of(when), name), when)
                self._batches[(settings.destination, folder)] = batch
            batch.lines.append(line)
            batch.size += len(line)
            self.captured += 1
            if batch.size >= self.flush_bytes:
                self._deliver(self._batches.pop((settings.destination, folder)))
        self.flush_due()
        return event_id

    def flush_due(self) -> list[str]:
        """Deliver the batches whose first record is at least ``flush_seconds`` old; what was written."""
        now = self.clock()
        return self._flush(lambda batch: (now - batch.opened).total_seconds() >= self.flush_seconds)

    def flush(self) -> list[str]:
        """Deliver every open batch now; what was written."""
        return self._flush(lambda batch: True)

    def _flush(self, due: Callable[[_Batch], bool]) -> list[str]:
        with self._lock:
            keys = [k for k, batch in self._batches.items() if due(batch)]
            return [self._deliver(self._batches.pop(k)) for k in keys]

    def _deliver(self, batch: _Batch) -> str:
        body = "".join(batch.lines).encode()
        destination = batch.settings.destination
        if destination.startswith("s3://"):
            if self.s3 is None:
                raise ValueError(f"capture destination {destination} needs an S3 client")
            bucket, prefix = split_s3_uri(destination)
            key = f"{prefix}/{batch.key}" if prefix else batch.key
            extra: dict[str, str] = {}
            if batch.settings.kms_key_id:
                extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": batch.settings.kms_key_id}
            self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/jsonl", **extra)
            where = f"s3://{bucket}/{key}"
        else:
            path = Path(destination) / batch.key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            where = str(path)
        self.delivered.append(where)
        return where

    def close(self) -> None:
        """Deliver what is left (an instance shutting down delivers its buffer)."""
        self.flush()
