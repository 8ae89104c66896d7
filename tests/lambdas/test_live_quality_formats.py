"""SageMaker's capture and ground-truth formats as written here, against the documented shapes and limits."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta, timezone

import botocore.session
import pytest

from live_quality.formats import (
    INFERENCE_ID_MAX_LENGTH,
    INFERENCE_ID_MIN_LENGTH,
    CapturedRequest,
    InvalidRecord,
    capture_key,
    capture_record,
    check_hour,
    check_inference_id,
    check_label,
    ground_truth_key,
    ground_truth_record,
    hour_of,
    json_line,
)


def inference_id_shape() -> dict:
    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    return model.operation_model("InvokeEndpoint").input_shape.members["InferenceId"].metadata


def test_inference_id_limits_are_botocores():
    shape = inference_id_shape()
    assert (shape["min"], shape["max"]) == (INFERENCE_ID_MIN_LENGTH, INFERENCE_ID_MAX_LENGTH)
    assert shape["pattern"] == r"\A\S[\p{Print}]*\z"


@pytest.mark.parametrize(
    "value",
    ["a", "order-123", "x" * 64, "with space inside", "~!@#$%^&*()"],
)
def test_inference_ids_invoke_endpoint_accepts_are_accepted(value):
    java_print = re.compile(r"\A[!-~][ -~]*\Z")  # \S then \p{Print}, both US-ASCII in Java
    assert java_print.match(value)
    assert check_inference_id(value) == value


@pytest.mark.parametrize("value", ["", " leading", "x" * 65, "tab\there", "é", "new\nline"])
def test_inference_ids_invoke_endpoint_refuses_are_refused(value):
    with pytest.raises(InvalidRecord, match="inference id"):
        check_inference_id(value)


def test_capture_record_has_the_documented_shape():
    when = datetime(2022, 2, 14, 17, 25, 49, tzinfo=UTC)
    record = capture_record(CapturedRequest("evt-1", when, "69,0,153.7", 0.0254181120544672, inference_id="order-1"))
    assert record == {
        "captureData": {
            "endpointInput": {
                "observedContentType": "text/csv",
                "mode": "INPUT",
                "data": "69,0,153.7",
                "encoding": "CSV",
            },
            "endpointOutput": {
                "observedContentType": "text/csv; charset=utf-8",
                "mode": "OUTPUT",
                "data": "0.0254181120544672",
                "encoding": "CSV",
            },
        },
        "eventMetadata": {"eventId": "evt-1", "inferenceId": "order-1", "inferenceTime": "2022-02-14T17:25:49Z"},
        "eventVersion": "0",
    }
    line = json_line(record)
    assert line.endswith("\n") and "\n" not in line[:-1]
    assert json.loads(line) == record


def test_base64_output_decodes_to_the_score_and_no_inference_id_means_no_key():
    when = datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    record = capture_record(CapturedRequest("evt", when, "1", 0.75, output_encoding="BASE64"))
    output = record["captureData"]["endpointOutput"]
    assert output["encoding"] == "BASE64" and base64.b64decode(output["data"]) == b"0.75"
    assert "inferenceId" not in record["eventMetadata"]
    assert record["eventMetadata"]["inferenceTime"] == "2025-12-31T22:00:00Z"  # UTC, as SageMaker writes it
    with pytest.raises(InvalidRecord, match="encoding"):
        capture_record(CapturedRequest("evt", when, "1", 0.75, output_encoding="XML"))


def test_ground_truth_record_has_the_documented_shape():
    assert ground_truth_record("order-1", " 1 ") == {
        "groundTruthData": {"data": "1", "encoding": "CSV"},
        "eventMetadata": {"eventId": "order-1"},
        "eventVersion": "0",
    }
    for bad in ("2", "yes", "", "0.5"):
        with pytest.raises(InvalidRecord, match="0 or 1"):
            check_label(bad)


def test_s3_layouts():
    assert capture_key("capture/", "churn-ab", "Variant1", "2026/11/01/07", "a.jsonl") == (
        "capture/churn-ab/Variant1/2026/11/01/07/a.jsonl"
    )
    assert ground_truth_key("", "2026/11/01/07", "l.jsonl") == "2026/11/01/07/l.jsonl"
    assert hour_of(datetime(2026, 11, 1, 7, 59, tzinfo=UTC)) == "2026/11/01/07"
    for bad in ("2026/11/1/07", "2026/02/30/00", "2026/11/01/24"):
        with pytest.raises(InvalidRecord, match="hour"):
            check_hour(bad)
    with pytest.raises(InvalidRecord, match="time zone"):
        hour_of(datetime(2026, 11, 1))
