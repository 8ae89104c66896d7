"""scripts/shadow_agreement.py on the captures the InvokeEndpoint stub writes for an endpoint with a shadow
(scripts/stub_shadow.py: the sampled share copied to the shadow, captured under its folder with production's
eventId and InferenceId; Q4 assumed, UNVERIFIED), the numbers checked against the two models' answers to the
requests sent; and the command's files and exit statuses."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from scripts.generate_churn_data import MODELS, generate
from scripts.shadow_agreement import main
from scripts.stub_capture import CaptureSettings, DataCapture, fixed_capture
from scripts.stub_sagemaker_runtime import Misbehaviour, StubRuntime
from scripts.stub_shadow import ShadowRoute, fixed_shadow
from tests.test_stub_capture import ENDPOINT, runtime
from tests.test_stub_shadow import MODELS_BY_VARIANT

NOW = datetime(2026, 11, 1, 14, 25, tzinfo=UTC)  # the stub's capture clock: every record in hour 14
REQUESTS = 600


@pytest.fixture
def stub_captures(tmp_path: Path) -> Iterator[tuple[Path, list[tuple[float, ...]], int]]:
    settings = CaptureSettings(destination=str(tmp_path / "capture"), csv_content_types=frozenset({"text/csv"}))
    stub = StubRuntime(
        ENDPOINT,
        models=MODELS_BY_VARIANT,
        weights={"Current": 1.0},
        misbehaviour=Misbehaviour(seed=3),
        capture=DataCapture(fixed_capture(settings), seed=3, clock=lambda: NOW),
        shadow=fixed_shadow(ShadowRoute("Candidate", 20.0)),
    )
    sent = []
    with stub:
        client = runtime(stub)
        for n, (_, features) in enumerate(generate(REQUESTS, seed=6)):
            client.invoke_endpoint(
                EndpointName=ENDPOINT,
                ContentType="text/csv",
                Body=",".join(str(v) for v in features).encode(),
                InferenceId=f"req-{n:05d}",
            )
            sent.append(features)
        stub.flush_capture()
        copies = stub.shadow_copies["Candidate"]
    yield tmp_path, sent, copies


def run(tmp_path: Path, *extra: str) -> tuple[int, dict]:
    status = main(
        [
            "--capture",
            str(tmp_path / "capture"),
            "--endpoint",
            ENDPOINT,
            "--production",
            "Current",
            "--shadow",
            "Candidate",
            "--start",
            "2026/11/01/00",
            "--end",
            "2026/11/02/00",
            "--report-dir",
            str(tmp_path / "reports"),
            *extra,
        ]
    )
    reports = sorted((tmp_path / "reports" / ENDPOINT).glob("*/agreement.json"))
    return status, json.loads(reports[-1].read_text()) if reports else {}


def test_the_stubs_captures_pair_by_event_id_and_agree_as_the_models_do(stub_captures, capsys) -> None:
    tmp_path, sent, copies = stub_captures
    status, report = run(tmp_path, "--sampling-percentage", "20")
    assert status == 0
    assert report["captured"] == {"production": REQUESTS, "shadow": copies}  # capture at 100 %
    assert report["pairs"] == {"total": copies, "by_key": {"eventId": copies, "inferenceId": 0}}
    assert report["shadow_without_production"] == 0 and report["issues"] == {}
    assert abs(copies - 0.2 * REQUESTS) < 5 * math.sqrt(REQUESTS * 0.2 * 0.8)
    assert report["observed_sampling"]["declared_inside_interval"] is True
    # Over all requests sent, the two models' answers agree at 0.5 about as often as over the copied ones.
    baseline = np.array([MODELS["baseline"](f) for f in sent])
    challenger = np.array([MODELS["challenger"](f) for f in sent])
    agreement = report["agreement"]
    low, high = agreement["interval"]
    everyone = float(np.mean((baseline >= 0.5) == (challenger >= 0.5)))
    assert low <= everyone <= high
    assert 0 < agreement["abs_score_difference"]["mean"] <= float(np.max(np.abs(baseline - challenger)))
    table = agreement["table"]
    assert sum(sum(row.values()) for row in table.values()) == copies
    assert len(list((tmp_path / "reports" / ENDPOINT).glob("*/agreement.md"))) == 1
    assert "**Agreement at the threshold:" in capsys.readouterr().out


def test_a_shadow_that_shares_no_id_gives_no_pairs(stub_captures) -> None:
    tmp_path, _, copies = stub_captures
    for path in (tmp_path / "capture" / ENDPOINT / "Candidate").rglob("*.jsonl"):
        records = [json.loads(line) for line in path.read_text().splitlines()]
        for record in records:  # Q4 answered "no": the copy gets ids of its own
            record["eventMetadata"]["eventId"] = "shadow-" + record["eventMetadata"]["eventId"]
            record["eventMetadata"].pop("inferenceId", None)
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    status, report = run(tmp_path)
    assert status == 0 and report["agreement"] is None
    assert report["no_pairs"].startswith("no pairs: see Q4")
    assert report["shadow_without_production"] == copies


def test_bad_arguments_exit_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "capture").mkdir()
    assert run(tmp_path, "--end", "2026/10/01/00")[0] == 2  # the end before the start
    assert run(tmp_path, "--sampling-percentage", "0")[0] == 2
    assert run(tmp_path, "--threshold", "1.5")[0] == 2
    assert main(["--capture", str(tmp_path / "missing"), "--endpoint", "e", "--production", "A", "--shadow", "B",
                 "--start", "2026/11/01/00", "--end", "2026/11/02/00"]) == 2  # fmt: skip
    assert "not a folder" in capsys.readouterr().err
