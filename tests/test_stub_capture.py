"""The InvokeEndpoint stub's data capture: SageMaker's format, layout, sampling and config, read back by the query.

The capture files the stub writes are read by the live-quality query on DuckDB (the engine tests and the
local demo use) and the per-variant metrics compared with scikit-learn's on the same scores and labels:
if the stub wrote anything the query reads differently from SageMaker's documented records, they differ.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.session
import pytest
from moto import mock_aws
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from live_quality.formats import ground_truth_key, ground_truth_record, hour_of, json_line
from live_quality.local_engine import run_on_folders
from live_quality.query import QueryWindow
from live_quality.report import build_report
from live_quality.results import parse_rows
from scripts.generate_churn_data import generate
from scripts.stub_capture import (
    CaptureSettings,
    DataCapture,
    DeployedCaptureConfig,
    fixed_capture,
    settings_from_data_capture_config,
)
from scripts.stub_sagemaker_runtime import Misbehaviour, StubRuntime

ENDPOINT = "churn-ab"
REGION = "us-east-1"
# <endpoint>/<variant>/yyyy/mm/dd/hh/<mm>-<ss>-<mmm>-<uuid>.jsonl, as SageMaker names capture objects.
CAPTURE_PATH = re.compile(
    r"^(?P<endpoint>[^/]+)/(?P<variant>[^/]+)/(?P<hour>\d{4}/\d{2}/\d{2}/\d{2})/"
    r"\d{2}-\d{2}-\d{3}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.jsonl$"
)
ROW = b"1,0,0,0,180.0,100,200.0,200.0,10.0,4,1"  # one customer's features (scripts/generate_churn_data.py)
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def runtime(stub: StubRuntime) -> Any:
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=stub.url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def invoke_rows(stub: StubRuntime, rows: list[tuple[int, tuple[float, ...]]], prefix: str = "req") -> dict[str, Any]:
    """One request per row with InferenceId ``<prefix>-<n>``; per id: variant, score and true label."""
    client = runtime(stub)
    sent: dict[str, Any] = {}
    for n, (label, features) in enumerate(rows):
        inference_id = f"{prefix}-{n:05d}"
        answer = client.invoke_endpoint(
            EndpointName=ENDPOINT,
            ContentType="text/csv",
            Body=",".join(str(v) for v in features).encode(),
            InferenceId=inference_id,
        )
        sent[inference_id] = {
            "variant": answer["InvokedProductionVariant"],
            "score": float(answer["Body"].read()),
            "label": label,
        }
    return sent


def capture_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.jsonl"))


def records(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in capture_files(root) for line in path.read_text().splitlines()]


def decoded(part: dict[str, Any]) -> str:
    return base64.b64decode(part["data"]).decode() if part["encoding"] == "BASE64" else part["data"]


RECORD: dict[str, Any] = {
    "endpoint": ENDPOINT,
    "variant": "Variant1",
    "inference_id": None,
    "request_body": "1,2",
    "request_content_type": "text/csv",
    "response_body": "0.5",
    "response_content_type": "text/csv",
}


@pytest.fixture
def folder_stub(tmp_path: Path) -> Iterator[tuple[StubRuntime, Path]]:
    settings = CaptureSettings(destination=str(tmp_path / "capture"), csv_content_types=frozenset({"text/csv"}))
    with StubRuntime(ENDPOINT, capture=DataCapture(fixed_capture(settings), seed=5)) as stub:
        yield stub, tmp_path / "capture"


# --- the header and the id's rules -------------------------------------------------------------------


def test_the_stub_reads_the_header_botocore_sends_inference_id_in() -> None:
    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    shape = model.operation_model("InvokeEndpoint").input_shape.members["InferenceId"]
    assert shape.serialization == {"location": "header", "name": "X-Amzn-SageMaker-Inference-Id"}
    source = Path("scripts/stub_sagemaker_runtime.py").read_text()
    assert '"x-amzn-sagemaker-inference-id"' in source


# A leading space cannot be sent: HTTP drops whitespace around a header's value.
@pytest.mark.parametrize(
    ("inference_id", "why"),
    [("x" * 65, "65 characters"), ("tab\tinside", "'\\t'"), ("caf\u00e9", "only printable ASCII")],
)
def test_an_inference_id_invoke_endpoint_refuses_is_refused_and_not_captured(
    folder_stub: tuple[StubRuntime, Path], inference_id: str, why: str
) -> None:
    stub, root = folder_stub
    client = runtime(stub)
    with pytest.raises(client.exceptions.ValidationError) as raised:
        client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="text/csv", Body=ROW, InferenceId=inference_id)
    assert why in str(raised.value)
    assert sum(stub.requests.values()) == 0
    assert stub.flush_capture() == []
    assert not root.exists()


# --- format and layout, read back by the query ---------------------------------------------------------


def test_captured_records_are_sagemakers_and_the_query_reads_them_as_sklearn_does(
    folder_stub: tuple[StubRuntime, Path], tmp_path: Path
) -> None:
    stub, root = folder_stub
    started = datetime.now(UTC)
    sent = invoke_rows(stub, generate(300, seed=11))
    written = stub.flush_capture()

    assert written and all(CAPTURE_PATH.match(str(Path(p).relative_to(root))) for p in written)
    captured = records(root)
    assert len(captured) == 300
    for record in captured:
        assert set(record) == {"captureData", "eventMetadata", "eventVersion"}
        assert record["eventVersion"] == "0"
        meta = record["eventMetadata"]
        assert set(meta) == {"eventId", "inferenceId", "inferenceTime"}
        assert UUID4.match(meta["eventId"])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", meta["inferenceTime"])
        request, response = record["captureData"]["endpointInput"], record["captureData"]["endpointOutput"]
        assert (request["mode"], request["encoding"], request["observedContentType"]) == ("INPUT", "CSV", "text/csv")
        assert (response["mode"], response["encoding"]) == ("OUTPUT", "CSV")
        assert float(response["data"]) == sent[meta["inferenceId"]]["score"]
    assert len({r["eventMetadata"]["eventId"] for r in captured}) == 300
    # Each file holds one variant's records of one hour: the path says which.
    for path in capture_files(root):
        variant = CAPTURE_PATH.match(str(path.relative_to(root)))["variant"]  # type: ignore[index]
        ids = [json.loads(line)["eventMetadata"]["inferenceId"] for line in path.read_text().splitlines()]
        assert {sent[i]["variant"] for i in ids} == {variant}

    # Labels for 70 % of the requests, then the query and the report, against scikit-learn.
    labelled = {i: v for n, (i, v) in enumerate(sent.items()) if n % 10 < 7}
    labels = tmp_path / "labels"
    key = ground_truth_key("", hour_of(datetime.now(UTC)), "labels.jsonl")
    (labels / key).parent.mkdir(parents=True)
    (labels / key).write_text("".join(json_line(ground_truth_record(i, str(v["label"]))) for i, v in labelled.items()))
    hour = hour_of(started)
    end = hour_of(datetime.now(UTC) + timedelta(hours=1))
    window = QueryWindow(ENDPOINT, hour, end, end)
    report = build_report(parse_rows(run_on_folders(root, labels, window, threads=1)), window, ["Variant1", "Variant2"])

    for variant in ("Variant1", "Variant2"):
        mine = [v for v in labelled.values() if v["variant"] == variant]
        truth = [v["label"] for v in mine]
        scores = [v["score"] for v in mine]
        predicted = [int(s >= 0.5) for s in scores]
        section = report["variants"][variant]
        assert section["captured"] == sum(v["variant"] == variant for v in sent.values())
        assert section["labelled"] == len(mine)
        assert section["label_coverage"] == pytest.approx(len(mine) / section["captured"])
        metrics = section["metrics"]
        assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, predicted))
        assert metrics["precision"] == pytest.approx(precision_score(truth, predicted, zero_division=0))
        assert metrics["recall"] == pytest.approx(recall_score(truth, predicted))
        assert metrics["f1"] == pytest.approx(f1_score(truth, predicted))
        assert metrics["roc_auc"] == pytest.approx(roc_auc_score(truth, scores))
    assert report["issues"] == {}


def test_without_capture_content_types_both_bodies_are_base64_and_the_query_decodes_them(tmp_path: Path) -> None:
    settings = CaptureSettings(destination=str(tmp_path / "capture"))  # no CaptureContentTypeHeader
    with StubRuntime(ENDPOINT, capture=DataCapture(fixed_capture(settings))) as stub:
        sent = invoke_rows(stub, generate(60, seed=2))
        stub.flush_capture()
    captured = records(tmp_path / "capture")
    assert {r["captureData"]["endpointInput"]["encoding"] for r in captured} == {"BASE64"}
    assert {r["captureData"]["endpointOutput"]["encoding"] for r in captured} == {"BASE64"}
    for record in captured:
        score = float(decoded(record["captureData"]["endpointOutput"]))
        assert score == sent[record["eventMetadata"]["inferenceId"]]["score"]
        assert decoded(record["captureData"]["endpointInput"]).count(",") == 10
    hour = hour_of(datetime.now(UTC) - timedelta(minutes=5))
    end = hour_of(datetime.now(UTC) + timedelta(hours=1))
    (tmp_path / "labels").mkdir()
    rows = parse_rows(run_on_folders(tmp_path / "capture", tmp_path / "labels", QueryWindow(ENDPOINT, hour, end, end)))
    assert sum(s.captured for s in (rows.overall("Variant1"), rows.overall("Variant2")) if s) == 60
    assert rows.issue_counts == {}


def test_a_request_without_inference_id_is_captured_with_its_event_id_only(
    folder_stub: tuple[StubRuntime, Path],
) -> None:
    stub, root = folder_stub
    runtime(stub).invoke_endpoint(EndpointName=ENDPOINT, ContentType="text/csv", Body=b"1,0,0,0,180,100,200,200,10,4,1")
    stub.flush_capture()
    (record,) = records(root)
    assert set(record["eventMetadata"]) == {"eventId", "inferenceTime"}


def test_failed_and_throttled_requests_are_not_captured(tmp_path: Path) -> None:
    settings = CaptureSettings(destination=str(tmp_path / "capture"))
    misbehaviour = Misbehaviour(throttle_first=1, model_error_variants=frozenset({"Variant1"}))
    with StubRuntime(ENDPOINT, misbehaviour=misbehaviour, capture=DataCapture(fixed_capture(settings))) as stub:
        rt = boto3.client(
            "sagemaker-runtime",
            endpoint_url=stub.url,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=botocore.config.Config(retries={"total_max_attempts": 1}),
        )
        outcomes = []
        for target in ("Variant2", "Variant1", "Variant2"):
            try:
                rt.invoke_endpoint(EndpointName=ENDPOINT, TargetVariant=target, ContentType="text/csv", Body=ROW)
                outcomes.append("ok")
            except rt.exceptions.ClientError as err:
                outcomes.append(err.response["Error"]["Code"])
        stub.flush_capture()
    assert outcomes == ["ThrottlingException", "ModelError", "ok"]
    assert len(records(tmp_path / "capture")) == 1


# --- sampling ------------------------------------------------------------------------------------------


def captured_count(tmp: Path, percentage: int, seed: int, requests: int) -> tuple[int, list[str]]:
    """How many of ``requests`` records a capture at ``percentage`` keeps, and their event ids."""
    settings = CaptureSettings(destination=str(tmp), sampling_percentage=percentage)
    capture = DataCapture(fixed_capture(settings), seed=seed)
    kept = [capture.record(settings, **RECORD) for _ in range(requests)]
    events = [
        json.loads(line)["eventMetadata"]["eventId"] for batch in capture._batches.values() for line in batch.lines
    ]
    return sum(k is not None for k in kept), events


def test_sampling_percentage_is_honoured_and_reproducible_with_the_seed(tmp_path: Path) -> None:
    kept, events = captured_count(tmp_path / "a", 30, seed=9, requests=2000)
    assert (kept, events) == captured_count(tmp_path / "b", 30, seed=9, requests=2000)
    assert events != captured_count(tmp_path / "c", 30, seed=10, requests=2000)[1]
    # Binomial(2000, 0.3): mean 600, standard deviation 20.5; 5 standard deviations either side.
    assert abs(kept - 600) < 5 * math.sqrt(2000 * 0.3 * 0.7)
    assert captured_count(tmp_path / "d", 0, seed=9, requests=200)[0] == 0
    assert captured_count(tmp_path / "e", 100, seed=9, requests=200)[0] == 200


def test_the_stub_samples_what_it_answers(tmp_path: Path) -> None:
    settings = CaptureSettings(destination=str(tmp_path), sampling_percentage=50)
    with StubRuntime(ENDPOINT, capture=DataCapture(fixed_capture(settings), seed=3)) as stub:
        sent = invoke_rows(stub, generate(60, seed=1))
        stub.flush_capture()
        assert stub.capture is not None
        assert (stub.capture.captured, stub.capture.sampled_out) == (
            len(records(tmp_path)),
            60 - len(records(tmp_path)),
        )
    assert 0 < len(records(tmp_path)) < 60
    assert {r["eventMetadata"]["inferenceId"] for r in records(tmp_path)} < set(sent)


# --- batching: objects per variant and hour, delivered by age or size ------------------------------------


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def record_one(capture: DataCapture, settings: CaptureSettings, variant: str = "Variant1") -> None:
    capture.record(settings, **{**RECORD, "variant": variant})


def test_records_are_delivered_in_batches_per_variant_and_hour_once_a_minute_old(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 11, 2, 9, 58, 30, 123000, tzinfo=UTC))
    settings = CaptureSettings(destination=str(tmp_path))
    capture = DataCapture(fixed_capture(settings), clock=clock)
    record_one(capture, settings)
    clock.now += timedelta(seconds=20)
    record_one(capture, settings)
    record_one(capture, settings, "Variant2")
    assert capture.delivered == []  # nothing is a minute old yet
    clock.now += timedelta(seconds=75)  # 10:00:05: the batches are 95 and 75 s old, a new hour starts
    record_one(capture, settings)
    delivered = [str(Path(p).relative_to(tmp_path)) for p in capture.delivered]
    assert [p.rsplit("-", 5)[0] for p in delivered] == [
        "churn-ab/Variant1/2026/11/02/09/58-30-123",
        "churn-ab/Variant2/2026/11/02/09/58-50-123",
    ]
    assert [len(Path(p).read_text().splitlines()) for p in capture.delivered] == [2, 1]
    capture.close()
    assert str(Path(capture.delivered[-1]).relative_to(tmp_path)).startswith("churn-ab/Variant1/2026/11/02/10/00-05-")


def test_a_batch_is_delivered_early_when_it_reaches_the_size_limit(tmp_path: Path) -> None:
    settings = CaptureSettings(destination=str(tmp_path))
    capture = DataCapture(fixed_capture(settings), flush_bytes=1000)
    for _ in range(6):  # about 400 bytes per record
        record_one(capture, settings)
    assert len(capture.delivered) == 2
    capture.close()
    assert sum(len(Path(p).read_text().splitlines()) for p in capture.delivered) == 6


# --- the settings come from the deployed endpoint config -------------------------------------------------


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)
        kms = boto3.client("kms", region_name=REGION)
        s3.create_bucket(Bucket="evaluation-bucket")
        sagemaker.create_model(
            ModelName="m",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
            PrimaryContainer={"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
        )
        yield {"sagemaker": sagemaker, "s3": s3, "key": kms.create_key()["KeyMetadata"]["Arn"]}


def deploy(sagemaker: Any, config_name: str, capture: dict[str, Any] | None) -> None:
    variants = [
        {"VariantName": v, "ModelName": "m", "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1}
        for v in ("Variant1", "Variant2")
    ]
    extra = {"DataCaptureConfig": capture} if capture else {}
    sagemaker.create_endpoint_config(EndpointConfigName=config_name, ProductionVariants=variants, **extra)
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=config_name)


def capture_config(key: str, **changes: Any) -> dict[str, Any]:
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": "s3://evaluation-bucket/capture",
        "KmsKeyId": key,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        **changes,
    }


def test_the_deployed_config_decides_and_objects_go_to_its_destination_with_its_key(aws: dict[str, Any]) -> None:
    deploy(aws["sagemaker"], "with-capture", capture_config(aws["key"]))
    capture = DataCapture(DeployedCaptureConfig(aws["sagemaker"]), aws["s3"])
    with StubRuntime(ENDPOINT, capture=capture) as stub:
        sent = invoke_rows(stub, generate(20, seed=4))
        written = stub.flush_capture()
    assert written and all(w.startswith(f"s3://evaluation-bucket/capture/{ENDPOINT}/") for w in written)
    listed = aws["s3"].list_objects_v2(Bucket="evaluation-bucket", Prefix="capture/")["Contents"]
    total = 0
    for item in listed:
        assert CAPTURE_PATH.match(item["Key"].removeprefix("capture/"))
        head = aws["s3"].head_object(Bucket="evaluation-bucket", Key=item["Key"])
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", aws["key"])
        body = aws["s3"].get_object(Bucket="evaluation-bucket", Key=item["Key"])["Body"].read().decode()
        total += len(body.splitlines())
    assert total == len(sent) == 20


@pytest.mark.parametrize("disabled", [False, True], ids=["no DataCaptureConfig", "EnableCapture false"])
def test_no_capture_unless_the_deployed_config_enables_it(aws: dict[str, Any], disabled: bool) -> None:
    config = capture_config(aws["key"], EnableCapture=False) if disabled else None
    deploy(aws["sagemaker"], "no-capture", config)
    with StubRuntime(ENDPOINT, capture=DataCapture(DeployedCaptureConfig(aws["sagemaker"]), aws["s3"])) as stub:
        invoke_rows(stub, generate(5, seed=4))
        assert stub.flush_capture() == []
    assert aws["s3"].list_objects_v2(Bucket="evaluation-bucket").get("KeyCount") == 0


def test_settings_read_cloudformation_strings_and_content_type_headers() -> None:
    settings = settings_from_data_capture_config(
        {
            "EnableCapture": "true",
            "InitialSamplingPercentage": "25",
            "DestinationS3Uri": "s3://b/p",
            "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
        }
    )
    assert settings is not None
    assert settings.sampling_percentage == 25
    assert settings.encoding("text/csv; charset=utf-8") == "CSV"
    assert settings.encoding("application/json") == "JSON"
    assert settings.encoding("application/x-npy") == "BASE64"
    assert settings_from_data_capture_config({"EnableCapture": "false", "DestinationS3Uri": "s3://b/p"}) is None
    with pytest.raises(ValueError, match="InitialSamplingPercentage is an integer 0-100"):
        CaptureSettings(destination="s3://b/p", sampling_percentage=101)


def test_an_endpoint_the_server_does_not_know_is_refused(aws: dict[str, Any]) -> None:
    capture = DataCapture(DeployedCaptureConfig(aws["sagemaker"]), aws["s3"])
    with StubRuntime(ENDPOINT, capture=capture) as stub:
        client = runtime(stub)
        with pytest.raises(client.exceptions.ValidationError, match=f"Endpoint {ENDPOINT} not found"):
            client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="text/csv", Body=b"1,2")


def test_buffered_capture_reaches_storage_before_the_local_server_stops(tmp_path: Path) -> None:
    """The e2e fixtures start the stub before the local AWS server (it needs the stub's URL), so the
    stub stops last: records of the run's last minute, still buffered, went to a server already gone
    (a teardown error in ``make e2e``). ``capture_delivered`` entered after the server delivers them first."""
    capture = tmp_path / "capture"
    settings = CaptureSettings(destination=str(capture), csv_content_types=frozenset({"text/csv"}))
    held_when_the_server_stopped: list[Path] = []

    @contextmanager
    def local_server() -> Iterator[None]:  # stands in for scripts.local_aws.local_server: its storage
        yield
        held_when_the_server_stopped.extend(capture.rglob("*.jsonl"))

    with (
        StubRuntime(ENDPOINT, capture=DataCapture(fixed_capture(settings), seed=5)) as stub,
        local_server(),
        stub.capture_delivered(),
    ):
        runtime(stub).invoke_endpoint(EndpointName=ENDPOINT, Body=ROW, ContentType="text/csv", InferenceId="last")
        assert not list(capture.rglob("*.jsonl")), "the record is buffered (delivered within the minute)"
    assert len(held_when_the_server_stopped) == 1
