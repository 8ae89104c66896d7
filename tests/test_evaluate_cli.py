"""`python scripts/evaluate.py` as a pipeline runs it, against moto's server and the stub runtime,
both on 127.0.0.1: control plane and S3 from moto, InvokeEndpoint from the stub (moto's ignores
TargetVariant and returns canned bodies)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from scripts.generate_churn_data import generate, to_csv
from scripts.stub_sagemaker_runtime import StubRuntime
from tests.conftest import ROOT
from tests.lambdas.conftest import create_endpoint

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def endpoint(moto_url: str) -> str:
    sagemaker = boto3.client("sagemaker", endpoint_url=moto_url, region_name="us-east-1", **_keys())
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1}, name="cli-ab")
    return "cli-ab"


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **CREDENTIALS}
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [sys.executable, "scripts/evaluate.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_local_file_in_local_report_out(tmp_path: Path, moto_url: str, endpoint: str):
    data = tmp_path / "churn.csv"
    data.write_text(to_csv(generate(400, seed=11)))
    with StubRuntime(endpoint) as stub:
        result = run_cli(
            "--endpoint", endpoint, "--data", str(data), "--report-dir", str(tmp_path / "reports"),
            "--endpoint-url", moto_url, "--runtime-endpoint-url", stub.url, "--bootstrap-resamples", "200",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    report = json.loads(Path(summary["reports"]["json"]).read_text())
    assert report["complete"] and report["rows"] == 400
    markdown = Path(summary["reports"]["markdown"]).read_text()
    assert markdown.startswith(f"# Evaluation of endpoint `{endpoint}`")
    assert dict(stub.requests) == {"Variant1": 4, "Variant2": 4}
    # A local report directory gets the ROC curves and confusion matrices, linked from report.md.
    directory = Path(summary["reports"]["markdown"]).parent
    for variant in ("Variant1", "Variant2"):
        for image in (f"roc-{variant}.png", f"confusion-{variant}.png"):
            assert f"]({image})" in markdown and (directory / image).read_bytes().startswith(b"\x89PNG")


def test_s3_test_set_and_s3_reports(tmp_path: Path, moto_url: str, endpoint: str):
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1", **_keys())
    s3.create_bucket(Bucket="eval-bucket")
    s3.put_object(Bucket="eval-bucket", Key="datasets/churn.csv", Body=to_csv(generate(200, seed=5)).encode())
    with StubRuntime(endpoint) as stub:
        result = run_cli(
            "--endpoint", endpoint, "--data", "s3://eval-bucket/datasets/churn.csv",
            "--report-s3", "s3://eval-bucket/reports/", "--endpoint-url", moto_url,
            "--runtime-endpoint-url", stub.url, "--bootstrap-resamples", "0",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="eval-bucket")["Contents"]}
    assert {k for k in keys if k.startswith("reports/")} == {
        k for k in keys if k.startswith(f"reports/{endpoint}/") and k.endswith(("report.json", "report.md"))
    }
    assert len(keys) == 3


def test_bad_input_exits_2_with_a_reason(tmp_path: Path, moto_url: str, endpoint: str):
    data = tmp_path / "bad.csv"
    data.write_text("1,2,3\n7,4,5\n")
    result = run_cli("--endpoint", endpoint, "--data", str(data), "--endpoint-url", moto_url)
    assert result.returncode == 2
    assert "line 2" in result.stderr and "Traceback" not in result.stderr


def test_non_loopback_endpoint_urls_are_refused(tmp_path: Path):
    result = run_cli("--endpoint", "x", "--data", "s3://b/k", "--endpoint-url", "http://10.0.0.1:5000")
    assert result.returncode == 2 and "loopback" in result.stderr
