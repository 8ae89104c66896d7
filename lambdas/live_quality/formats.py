"""SageMaker's own record formats and S3 layouts for data capture and ground-truth labels, in one place.

Data capture (real-time endpoints), from "Capture data from real-time endpoint", section "View
Captured Data" (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html):
one JSON object per line, in objects named

    <DestinationS3Uri>/<endpoint-name>/<variant-name>/yyyy/mm/dd/hh/<file>.jsonl

(the hour of the invocation, UTC), each line

    {"captureData": {"endpointInput":  {"observedContentType": "text/csv", "mode": "INPUT",
                                        "data": "...", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT",
                                        "data": "0.0254181120544672", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceId": "<caller's id>", "inferenceTime": "2022-02-14T17:25:49Z"},
     "eventVersion": "0"}

``inferenceId`` is there only when the caller passed ``InferenceId`` to InvokeEndpoint ("If you provide
a value, it is added to the captured data", InvokeEndpoint API reference). ``encoding`` is ``CSV`` or
``JSON`` for content types named in ``CaptureContentTypeHeader`` and ``BASE64`` otherwise ("If no
headers are specified SageMaker AI will by default base64 encode", DataCaptureConfig API reference).

Ground truth, from "Ingest Ground Truth labels and merge them with predictions"
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html): one JSON
object per line,

    {"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "<id>"}, "eventVersion": "0"}

where ``eventId`` holds the capture's ``inferenceId`` when it has one and its ``eventId`` otherwise
(that is how Model Monitor merges), in objects named ``<prefix>/yyyy/mm/dd/hh/<file>.jsonl``: "the date
in this path is the date when the ground truth label is collected, and does not have to match the date
when the inference was generated". That path hour is therefore the only label time there is, and label
delays are measured in whole hours.

Pure: no AWS calls. The query (``sql/live_quality.sql``) reads the same fields; this module writes them
(the labels command, tests, benchmarks) and names the rules both follow.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# InvokeEndpoint's InferenceId: 1 to 64 characters, the first not whitespace, all printable
# (botocore's sagemaker-runtime model: min 1, max 64, pattern \A\S[\p{Print}]*\z; a test reads it).
# \p{Print} is a Java regex class, which is US-ASCII unless told otherwise: space to tilde.
INFERENCE_ID_MIN_LENGTH = 1
INFERENCE_ID_MAX_LENGTH = 64
# The only eventVersion either page shows; a record with another one is reported, not guessed at.
EVENT_VERSION = "0"
# Model Monitor's merge reads CSV ground truth only ("only CSV supported", the merge page's sample).
GROUND_TRUTH_ENCODING = "CSV"
LABEL_VALUES = ("0", "1")
# yyyy/mm/dd/hh, the hour segments of both layouts.
HOUR_FORMAT = "%Y/%m/%d/%H"
HOUR_PATTERN = re.compile(r"^\d{4}/\d{2}/\d{2}/\d{2}$")


class InvalidRecord(ValueError):
    """A value that SageMaker's formats cannot carry (an inference id, a label, an hour)."""


def check_inference_id(value: str) -> str:
    """``value`` if InvokeEndpoint would accept it as ``InferenceId``; otherwise :class:`InvalidRecord` saying why."""
    if not isinstance(value, str) or not value:
        raise InvalidRecord("inference id is empty; InvokeEndpoint needs 1 to 64 printable characters")
    if len(value) > INFERENCE_ID_MAX_LENGTH:
        raise InvalidRecord(f"inference id {value[:20]!r}… has {len(value)} characters; at most 64 are allowed")
    if value[0].isspace():
        raise InvalidRecord(f"inference id {value!r} starts with whitespace; InvokeEndpoint refuses that")
    bad = next((c for c in value if not " " <= c <= "~"), None)
    if bad is not None:
        raise InvalidRecord(f"inference id {value!r} has {bad!r}; only printable ASCII (space to ~) is allowed")
    return value


def check_label(value: str) -> str:
    """The label as SageMaker's CSV ground truth carries it, ``"0"`` or ``"1"`` (surrounding spaces ignored)."""
    text = value.strip() if isinstance(value, str) else ""
    if text not in LABEL_VALUES:
        raise InvalidRecord(f"label is {value!r}; binary ground truth must be 0 or 1")
    return text


def hour_of(moment: datetime) -> str:
    """``yyyy/mm/dd/hh`` of an aware datetime, in UTC (SageMaker's path hours are UTC)."""
    if moment.tzinfo is None:
        raise InvalidRecord(f"time {moment.isoformat()} has no time zone; give it in UTC")
    return moment.astimezone(UTC).strftime(HOUR_FORMAT)


def check_hour(value: str) -> str:
    """A ``yyyy/mm/dd/hh`` string that names a real hour."""
    if not isinstance(value, str) or not HOUR_PATTERN.match(value):
        raise InvalidRecord(f"hour {value!r} is not yyyy/mm/dd/hh")
    try:
        datetime.strptime(value, HOUR_FORMAT)
    except ValueError as err:
        raise InvalidRecord(f"hour {value!r} is not a real hour: {err}") from None
    return value


def capture_key(prefix: str, endpoint: str, variant: str, hour: str, file_name: str) -> str:
    """``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file_name>``, SageMaker's capture layout (prefix may be empty)."""
    parts = [prefix.strip("/"), endpoint, variant, check_hour(hour), file_name]
    return "/".join(part for part in parts if part)


def ground_truth_key(prefix: str, hour: str, file_name: str) -> str:
    """``<prefix>/yyyy/mm/dd/hh/<file_name>``: the hour is when the labels were collected."""
    parts = [prefix.strip("/"), check_hour(hour), file_name]
    return "/".join(part for part in parts if part)


@dataclass(frozen=True)
class CapturedRequest:
    """What a test or benchmark needs to write one capture line: one request, one score."""

    event_id: str
    inference_time: datetime
    input_csv: str
    score: float
    inference_id: str | None = None
    output_encoding: str = "CSV"  # "CSV", "JSON" or "BASE64", as SageMaker writes them


CAPTURE_ENCODINGS = ("CSV", "JSON", "BASE64")


def _captured_data(payload: str, encoding: str) -> str:
    if encoding == "BASE64":
        return base64.b64encode(payload.encode()).decode()
    if encoding in ("CSV", "JSON"):
        return payload
    raise InvalidRecord(f"capture encoding {encoding!r} is not CSV, JSON or BASE64")


def exchange_record(
    *,
    event_id: str,
    inference_time: datetime,
    inference_id: str | None,
    input_data: str,
    input_content_type: str,
    input_encoding: str,
    output_data: str,
    output_content_type: str,
    output_encoding: str,
) -> dict[str, Any]:
    """One data-capture record in SageMaker's shape for a request and response as they went over the wire.

    ``input_data``/``output_data`` are the bodies as text; an ``*_encoding`` of ``BASE64`` stores them
    base64-encoded, as SageMaker does for content types not named in ``CaptureContentTypeHeader``.
    """
    metadata: dict[str, str] = {"eventId": event_id}
    if inference_id is not None:
        metadata["inferenceId"] = check_inference_id(inference_id)
    metadata["inferenceTime"] = inference_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "captureData": {
            "endpointInput": {
                "observedContentType": input_content_type,
                "mode": "INPUT",
                "data": _captured_data(input_data, input_encoding),
                "encoding": input_encoding,
            },
            "endpointOutput": {
                "observedContentType": output_content_type,
                "mode": "OUTPUT",
                "data": _captured_data(output_data, output_encoding),
                "encoding": output_encoding,
            },
        },
        "eventMetadata": metadata,
        "eventVersion": EVENT_VERSION,
    }


def capture_record(request: CapturedRequest) -> dict[str, Any]:
    """One data-capture record in SageMaker's shape (input and output captured, one score answered)."""
    if request.output_encoding not in CAPTURE_ENCODINGS:
        raise InvalidRecord(f"output encoding {request.output_encoding!r} is not CSV, JSON or BASE64")
    return exchange_record(
        event_id=request.event_id,
        inference_time=request.inference_time,
        inference_id=request.inference_id,
        input_data=request.input_csv,
        input_content_type="text/csv",
        input_encoding="CSV",
        output_data=repr(float(request.score)),
        output_content_type="text/csv; charset=utf-8",
        output_encoding=request.output_encoding,
    )


def ground_truth_record(event_id: str, label: str) -> dict[str, Any]:
    """One ground-truth record as Model Monitor merges it; ``event_id`` is the capture's inferenceId."""
    return {
        "groundTruthData": {"data": check_label(label), "encoding": GROUND_TRUTH_ENCODING},
        "eventMetadata": {"eventId": check_inference_id(event_id)},
        "eventVersion": EVENT_VERSION,
    }


def json_line(record: dict[str, Any]) -> str:
    """A record as one JSON Lines line (compact, no newline inside, newline at the end)."""
    return json.dumps(record, separators=(",", ":")) + "\n"
