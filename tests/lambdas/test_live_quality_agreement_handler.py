"""The agreement step of the live-quality state machine against moto: the plan gives the agreement query's
parameters beside a shadow, and publish_agreement turns its result into agreement.json/.md and the shadow's
ShadowPairs/ShadowAgreement metrics.

moto's Athena runs no SQL (its GetQueryResults answers with rows queued in its backend): the rows queued here are
the real agreement query's, run on DuckDB over hand-made capture lines (test_live_quality_agreement.py's scenario)
and turned into Athena's strings by the live-quality tests' own helpers (athena_rows.py), as the live-quality
handler tests do.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from live_quality import agreement_text, handler
from live_quality.agreement import build_agreement_report
from live_quality.agreement_query import run_agreement_on_folder
from live_quality.agreement_step import AGREEMENT_METRIC, PAIRS_METRIC
from live_quality.athena_results import InvalidAthenaResult, QueryNotUsable
from live_quality.query import QueryWindow
from live_quality.settings import InvalidLiveRun
from tests.lambdas import test_live_quality_agreement as pairs_data
from tests.lambdas import test_live_quality_handler as live
from tests.lambdas.athena_rows import athena_rows, queue_result
from tests.lambdas.test_live_quality_handler import (
    BUCKET,
    ENDPOINT,
    NAMESPACE,
    PUBLISH_TIME,
    RUN_TIME,
    WORKGROUP,
    metric_points,
    metric_value,
    published_metrics,
    start_query,
    written_reports,
)

# The live-quality handler tests' moto clients (fresh, empty services per test).
module_clients = live.module_clients
clients = live.clients
PRODUCTION, SHADOW = pairs_data.PRODUCTION, pairs_data.SHADOW
# A manual run over the live-quality tests' window (their METRIC_TIME is its end); no AWS call in the plan.
HOURS = {"capture_start_hour": "2026/11/01/00", "capture_end_hour": "2026/11/04/00", "label_end_hour": "2026/11/04/01"}
WINDOW = QueryWindow(ENDPOINT, *HOURS.values(), 0.5)
RUN = "20261104T001705Z"


@pytest.fixture(autouse=True)
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ENDPOINT_NAME": ENDPOINT,
        "LOOKBACK_DAYS": "3",
        "THRESHOLD": "0.5",
        "PRODUCTION_VARIANT": PRODUCTION,
        "SHADOW_VARIANT": SHADOW,
        "REPORT_BUCKET": BUCKET,
        "REPORT_PREFIX": "live-quality/",
        "METRICS_NAMESPACE": NAMESPACE,
    }.items():
        monkeypatch.setenv(name, value)


def duckdb_rows(root: Path, lines: list[pairs_data.Line]) -> list[dict[str, Any]]:
    pairs_data.write(root, lines)
    return run_agreement_on_folder(root, pairs_data.WINDOW, PRODUCTION, SHADOW, threads=1)


@pytest.fixture(scope="module")
def agreement_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return duckdb_rows(tmp_path_factory.mktemp("pairs"), pairs_data.scenario(5))


def plan() -> dict[str, Any]:
    return handler.plan({"time": RUN_TIME, **HOURS}, None, now=PUBLISH_TIME - timedelta(minutes=2))


def publish(clients: dict[str, Any], query_id: str, the_plan: dict[str, Any]) -> dict[str, Any]:
    event = {"query_execution_id": query_id, "plan": the_plan}
    return handler.publish_agreement(event, None, **clients, now=PUBLISH_TIME)


def start_agreement(clients: dict[str, Any], the_plan: dict[str, Any]) -> str:
    return start_query(clients["athena"], the_plan["agreement_execution_parameters"], text=agreement_text.athena_query)


def test_beside_a_shadow_the_plan_gives_the_agreement_querys_parameters():
    the_plan = plan()
    assert the_plan["agreement_execution_parameters"] == [
        f"'{ENDPOINT}'",
        "'2026/11/01/00'",
        "'2026/11/04/00'",
        f"'{PRODUCTION}'",
        f"'{SHADOW}'",
    ]
    assert the_plan["execution_parameters"] == WINDOW.athena_execution_parameters()  # live quality's, unchanged


def test_without_a_shadow_the_plan_has_no_agreement_key(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PRODUCTION_VARIANT")
    monkeypatch.delenv("SHADOW_VARIANT")
    assert "agreement_execution_parameters" not in plan()
    monkeypatch.setenv("SHADOW_VARIANT", SHADOW)
    with pytest.raises(InvalidLiveRun, match="only SHADOW_VARIANT is set"):
        plan()


def test_publish_agreement_writes_the_report_and_the_shadows_two_metrics(clients, agreement_rows):
    the_plan = plan()
    query_id = start_agreement(clients, the_plan)
    queue_result(athena_rows(agreement_rows, agreement_text.RESULT_COLUMNS), agreement_text.RESULT_COLUMNS)

    outcome = publish(clients, query_id, the_plan)

    base = f"live-quality/{ENDPOINT}/{RUN}/"
    assert written_reports(clients["s3"]) == [base + "agreement.json", base + "agreement.md"]
    written = json.loads(clients["s3"].get_object(Bucket=BUCKET, Key=base + "agreement.json")["Body"].read())
    expected = build_agreement_report(
        agreement_rows,
        endpoint=ENDPOINT,
        production_variant=PRODUCTION,
        shadow_variant=SHADOW,
        window={"start": HOURS["capture_start_hour"], "end": HOURS["capture_end_hour"]},
        threshold=0.5,
    )
    query = {"engine": "Athena", "query_execution_id": query_id, "workgroup": WORKGROUP, "data_scanned_bytes": 0}
    assert written == json.loads(json.dumps({**expected, "run_id": RUN, "query": query}))
    pairs = expected["pairs"]["total"]
    assert pairs > 50
    # Dimensions EndpointName and VariantName = the shadow; nothing under the production variant.
    listed = {
        (m["MetricName"], {d["Name"]: d["Value"] for d in m["Dimensions"]}["VariantName"])
        for m in published_metrics(clients["cloudwatch"])
    }
    assert listed == {(PAIRS_METRIC, SHADOW), (AGREEMENT_METRIC, SHADOW)}
    assert metric_value(clients["cloudwatch"], PAIRS_METRIC, SHADOW) == pairs
    agreement = metric_value(clients["cloudwatch"], AGREEMENT_METRIC, SHADOW)
    assert agreement == pytest.approx(100 * expected["agreement"]["agreement"]) and 0 < agreement < 100
    assert outcome["metrics"] == {PAIRS_METRIC: pairs, AGREEMENT_METRIC: pytest.approx(agreement)}


def test_no_pairs_is_no_agreement_datapoint_never_zero_percent(clients, tmp_path: Path):
    """Q4 failing (the shadow's copies share no id with production) looks like this: pairs 0, and no
    ShadowAgreement at all: a 0 % would read as a shadow that always decides otherwise."""
    start = pairs_data.START
    lines = [
        pairs_data.Line(PRODUCTION, start, "p-1", "r-1", 0.7),
        pairs_data.Line(SHADOW, start, "s-1", "other-1", 0.7),
    ]
    the_plan = plan()
    query_id = start_agreement(clients, the_plan)
    rows = duckdb_rows(tmp_path, lines)
    queue_result(athena_rows(rows, agreement_text.RESULT_COLUMNS), agreement_text.RESULT_COLUMNS)

    outcome = publish(clients, query_id, the_plan)

    assert outcome["metrics"] == {PAIRS_METRIC: 0.0} and outcome["no_pairs"].startswith("no pairs")
    assert metric_value(clients["cloudwatch"], PAIRS_METRIC, SHADOW) == 0
    assert metric_points(clients["cloudwatch"], AGREEMENT_METRIC, SHADOW) == []


def test_the_live_quality_querys_result_is_refused_and_nothing_written(clients, agreement_rows):
    the_plan = plan()
    query_id = start_query(clients["athena"], the_plan["agreement_execution_parameters"])  # live quality's text
    queue_result(athena_rows(agreement_rows, agreement_text.RESULT_COLUMNS), agreement_text.RESULT_COLUMNS)
    with pytest.raises(QueryNotUsable, match=r"another text than this plan's \(the shadow-agreement query"):
        publish(clients, query_id, the_plan)
    assert written_reports(clients["s3"]) == [] and published_metrics(clients["cloudwatch"]) == []


def test_a_result_with_another_header_is_refused(clients, agreement_rows):
    the_plan = plan()
    query_id = start_agreement(clients, the_plan)
    queue_result(athena_rows(agreement_rows[:1], ("other", *agreement_text.RESULT_COLUMNS[1:])))
    with pytest.raises(InvalidAthenaResult, match=r"shadow_agreement\.athena\.sql"):
        publish(clients, query_id, the_plan)
    assert written_reports(clients["s3"]) == []


def test_a_plan_without_or_with_edited_agreement_parameters_is_refused(clients):
    the_plan = plan()
    query_id = start_agreement(clients, the_plan)
    edited = {
        **the_plan,
        "agreement_execution_parameters": [*the_plan["agreement_execution_parameters"][:3], "'X'", "'Y'"],
    }
    for bad in ({k: v for k, v in the_plan.items() if k != "agreement_execution_parameters"}, edited):
        with pytest.raises(InvalidLiveRun, match="agreement_execution_parameters"):
            publish(clients, query_id, bad)
    assert written_reports(clients["s3"]) == []
