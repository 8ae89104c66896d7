"""The evaluation end to end in-process: test set in S3 (moto), requests to a real HTTP
InvokeEndpoint server on 127.0.0.1 (scripts/stub_sagemaker_runtime.py), metrics to CloudWatch
(moto), reports to S3 (moto).

moto's own InvokeEndpoint returns queued canned bodies and ignores TargetVariant, so it cannot
show per-variant scoring, batching or retries; the stub scores each row with a real model per
variant and can throttle or fail like AWS. One test still uses moto's InvokeEndpoint to check
the request and response shapes against botocore's model of the real API.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import requests

import evaluate.handler as handler
from evaluate.metrics import MAX_ROC_POINTS, binary_metrics, roc_curve
from evaluate.runner import InvalidEvaluation
from evaluate.scoring import RUNTIME_RETRY_CONFIG, score_variant
from scripts.generate_churn_data import MODELS, generate, to_csv
from scripts.stub_sagemaker_runtime import Misbehaviour, StubRuntime
from tests.lambdas.conftest import ENDPOINT, REGION, LambdaContext, create_endpoint

BUCKET = "ab-evaluation-reports"
DATA_KEY = "datasets/churn-test.csv"
NAMESPACE = "SageMakerABTesting"
RECORDS = generate(1000, seed=7)


@pytest.fixture(autouse=True)
def stack_environment(monkeypatch: pytest.MonkeyPatch, sagemaker: Any) -> None:
    for name, value in {
        "ENDPOINT_NAME": ENDPOINT,
        "REPORT_BUCKET": BUCKET,
        "REPORT_PREFIX": "reports/",
        "METRICS_NAMESPACE": NAMESPACE,
    }.items():
        monkeypatch.setenv(name, value)
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=DATA_KEY, Body=to_csv(RECORDS).encode())


@pytest.fixture
def stub() -> Any:
    with StubRuntime(ENDPOINT) as server:
        yield server


def run(stub: StubRuntime, sagemaker: Any, event: dict[str, Any], remaining_ms: int = 900_000) -> dict[str, Any]:
    runtime = boto3.client("sagemaker-runtime", region_name=REGION, endpoint_url=stub.url, config=RUNTIME_RETRY_CONFIG)
    return handler.handle(event, LambdaContext(remaining_ms), sagemaker=sagemaker, runtime=runtime)


def stored_report(result: dict[str, Any]) -> dict[str, Any]:
    bucket, key = result["reports"]["json"][5:].split("/", 1)
    return json.loads(boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"].read())


def published_quality() -> dict[tuple[str, str], float]:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    found = {}
    for listed in cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]:
        dims = {d["Name"]: d["Value"] for d in listed["Dimensions"]}
        found[(listed["MetricName"], dims["VariantName"])] = 1.0
    return found


def bucket_keys() -> set[str]:
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
    return {o["Key"] for o in listed.get("Contents", [])}


# --- the happy path ------------------------------------------------------------------------------


def test_scores_every_row_on_every_variant_in_batches(stub, sagemaker):
    result = run(stub, sagemaker, {"data_uri": f"s3://{BUCKET}/{DATA_KEY}"})
    assert result["complete"] is True
    assert dict(stub.requests) == {"Variant1": 10, "Variant2": 10}  # 1000 rows / 100 per request
    assert dict(stub.rows) == {"Variant1": 1000, "Variant2": 1000}


def test_metrics_are_those_of_the_variants_models(stub, sagemaker):
    report = stored_report(run(stub, sagemaker, {"data_uri": f"s3://{BUCKET}/{DATA_KEY}"}))
    labels = [label for label, _ in RECORDS]
    for variant, model in (("Variant1", "baseline"), ("Variant2", "challenger")):
        # the stub answers with six decimals, as a CSV response would
        expected = binary_metrics(labels, [round(MODELS[model](f), 6) for _, f in RECORDS])
        section = report["variants"][variant]
        assert section["status"] == "complete" and section["rows_scored"] == 1000
        assert section["metrics"]["accuracy"] == pytest.approx(expected.accuracy)
        assert section["metrics"]["roc_auc"] == pytest.approx(expected.roc_auc)
        assert set(section["latency_ms"]) == {"p50", "p90", "p99"}
        # The ROC points for the report's figure: the pure module's curve, within its size budget.
        curve = roc_curve(labels, [round(MODELS[model](f), 6) for _, f in RECORDS])
        assert curve is not None and section["roc_curve"] == curve.as_dict()
        assert len(section["roc_curve"]["fpr"]) <= MAX_ROC_POINTS


def test_the_better_model_wins_and_the_verdict_is_reported(stub, sagemaker):
    result = run(stub, sagemaker, {"data_uri": f"s3://{BUCKET}/{DATA_KEY}"})
    (verdict,) = result["verdicts"]
    assert verdict["winner"] == "Variant2" and verdict["significant"] is True
    report = stored_report(result)
    (comparison,) = report["comparisons"]
    assert comparison["paired_rows"] == 1000
    assert {"mcnemar", "delong", "bootstrap", "verdict"} <= set(comparison)


def test_quality_metrics_are_published_for_complete_variants(stub, sagemaker):
    run(stub, sagemaker, {"data_uri": f"s3://{BUCKET}/{DATA_KEY}"})
    assert set(published_quality()) == {
        (name, variant)
        for name in ("Accuracy", "Precision", "Recall", "F1", "RocAuc")
        for variant in ("Variant1", "Variant2")
    }


def test_reports_are_written_under_the_report_prefix_only(stub, sagemaker):
    before = bucket_keys()
    result = run(stub, sagemaker, {"data_uri": f"s3://{BUCKET}/{DATA_KEY}"})
    added = bucket_keys() - before
    assert len(added) == 2 and all(k.startswith(f"reports/{ENDPOINT}/") for k in added)
    markdown_key = result["reports"]["markdown"].split("/", 3)[3]
    markdown = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=markdown_key)["Body"].read()
    assert b"Verdict: Variant2" in markdown
    # The Lambda draws no images (no matplotlib in its runtime): the report says how to draw them.
    assert b"python scripts/evaluation_figures.py report.json" in markdown and b".png" not in markdown


def test_one_row_per_request_when_asked(stub, sagemaker):
    run(stub, sagemaker, {"data_uri": f"s3://{BUCKET}/{DATA_KEY}", "batch_size": 1, "max_rows": 50, "concurrency": 8})
    assert dict(stub.requests) == {"Variant1": 50, "Variant2": 50}


def test_only_the_named_variants_are_evaluated(stub, sagemaker):
    result = run(stub, sagemaker, {"data_uri": f"s3://{BUCKET}/{DATA_KEY}", "variants": ["Variant2"], "max_rows": 200})
    assert dict(stub.requests) == {"Variant2": 2}
    assert result["verdicts"] == []


# --- retries, failures, time budget ------------------------------------------------------------


def test_throttled_requests_are_retried(sagemaker):
    with StubRuntime(ENDPOINT, misbehaviour=Misbehaviour(throttle_first=2)) as stub:
        result = run(stub, sagemaker, {"data_uri": f"s3://{BUCKET}/{DATA_KEY}", "max_rows": 300, "concurrency": 1})
    assert result["complete"] is True
    assert stub.requests["throttled"] == 2
    assert dict(stub.rows) == {"Variant1": 300, "Variant2": 300}


def test_5xx_answers_are_retried(sagemaker):
    with StubRuntime(ENDPOINT, misbehaviour=Misbehaviour(fail_fraction={"Variant1": 0.3}, seed=3)) as stub:
        result = run(stub, sagemaker, {"data_uri": f"s3://{BUCKET}/{DATA_KEY}", "max_rows": 500})
    assert result["complete"] is True
    assert stub.requests["Variant1"] > 5, "some requests needed more than one attempt"


def test_a_variant_failing_beyond_the_threshold_is_marked_failed_and_not_published(sagemaker):
    misbehaviour = Misbehaviour(model_error_variants=frozenset({"Variant2"}))  # 424: not retried
    with StubRuntime(ENDPOINT, misbehaviour=misbehaviour) as stub:
        result = run(stub, sagemaker, {"data_uri": f"s3://{BUCKET}/{DATA_KEY}", "max_rows": 300})
    assert result["complete"] is False and result["incomplete_variants"] == ["Variant2"]
    (verdict,) = result["verdicts"]
    assert verdict["winner"] is None and "too many failed requests on Variant2" in verdict["reason"]
    report = stored_report(result)
    assert report["variants"]["Variant2"]["status"] == "failed"
    assert "ModelError" in report["variants"]["Variant2"]["errors"][0]
    assert {variant for _, variant in published_quality()} == {"Variant1"}


def test_running_out_of_time_gives_a_clearly_partial_result(stub, sagemaker):
    # 59 s left is inside the reporting margin: no request may start.
    result = run(stub, sagemaker, {"data_uri": f"s3://{BUCKET}/{DATA_KEY}"}, remaining_ms=59_000)
    assert result["complete"] is False and sorted(result["incomplete_variants"]) == ["Variant1", "Variant2"]
    report = stored_report(result)
    assert report["variants"]["Variant1"]["skipped_requests"] == 10
    assert published_quality() == {}
    assert dict(stub.requests) == {}


# --- bad input: a clear error, nothing published, nothing written ----------------------------------


def put_data(text: str, key: str = "datasets/bad.csv") -> str:
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=text.encode())
    return f"s3://{BUCKET}/{key}"


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"data_uri": "CSV"}, r"data_uri must be an s3:// URI"),
        ({}, r'"data_uri" is required'),
        ({"data_uri": f"s3://{BUCKET}/datasets/missing.csv"}, r"cannot read .*missing\.csv: (NoSuchKey|404)"),
        ({"data_uri": f"s3://{BUCKET}/{DATA_KEY}", "variants": ["Variant9"]}, r"has no variant\(s\) Variant9"),
        ({"data_uri": f"s3://{BUCKET}/{DATA_KEY}", "label_column": "churned"}, r"churned"),
        ({"data_uri": f"s3://{BUCKET}/{DATA_KEY}", "batch_size": 0}, r"batch_size must be between"),
        ({"data_uri": f"s3://{BUCKET}/{DATA_KEY}", "treshold": 0.3}, r"unknown key\(s\) treshold"),
        # A string is truthy: read as true, it dropped the first data row as a header.
        ({"data_uri": f"s3://{BUCKET}/{DATA_KEY}", "has_header": "false"}, r"has_header must be true or false"),
        ({"data_uri": f"s3://{BUCKET}/{DATA_KEY}", "content_type": 0}, r"content_type must be a string"),
    ],
)
def test_bad_requests_fail_clearly(stub, sagemaker, event, reason):
    before = bucket_keys()
    with pytest.raises(InvalidEvaluation, match=reason):
        run(stub, sagemaker, event)
    assert bucket_keys() == before and published_quality() == {} and dict(stub.requests) == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", r"empty"),
        ("1,2,3\n2,4,5\n", r"line 2.*(binary|0 or 1|label)"),
        ("1,2,3\nyes,4,5\n", r"line 2"),
        ("1,2,3\n0,4\n", r"line 2.*column"),
    ],
)
def test_bad_data_fails_clearly_with_the_line(stub, sagemaker, text, reason):
    before = bucket_keys() | {"datasets/bad.csv"}
    with pytest.raises(InvalidEvaluation, match=reason):
        run(stub, sagemaker, {"data_uri": put_data(text)})
    assert bucket_keys() == before and published_quality() == {} and dict(stub.requests) == {}


def test_missing_endpoint_fails_clearly(stub, sagemaker, monkeypatch):
    monkeypatch.setenv("ENDPOINT_NAME", "no-such-endpoint")
    with pytest.raises(InvalidEvaluation, match="endpoint no-such-endpoint does not exist"):
        run(stub, sagemaker, {"data_uri": f"s3://{BUCKET}/{DATA_KEY}"})


# --- the real API shapes ------------------------------------------------------------------------


def test_batched_request_and_csv_response_shapes_match_the_real_api():
    """Through moto's InvokeEndpoint (botocore validates the request against the real API
    model); moto answers queued canned bodies, here in the two forms XGBoost uses."""
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
        json={
            "account_id": "123456789012",
            "region": REGION,
            "results": [
                {"Body": "0.1,0.9,0.5", "ContentType": "text/csv", "InvokedProductionVariant": "Variant2"},
                {"Body": "0.2\n0.8\n", "ContentType": "text/csv", "InvokedProductionVariant": "Variant2"},
            ],
        },
        timeout=5,
    )
    runtime = boto3.client("sagemaker-runtime", region_name=REGION)
    scored = score_variant(
        runtime, ENDPOINT, "Variant2", ["1,2", "3,4", "5,6", "7,8", "9,10"], batch_size=3, concurrency=1
    )
    assert scored.scores == [0.1, 0.9, 0.5, 0.2, 0.8]
    assert scored.requests == 2 and scored.failed_requests == 0
