"""The live-quality Lambda against moto: plan a window, read Athena's result, write the report, publish metrics.

moto runs no SQL. The result the handler reads is the real query's, run on DuckDB over capture and
label files generated in SageMaker's formats, turned into the strings Athena returns
(tests/lambdas/athena_rows.py) and queued in moto's Athena. Pagination and DataScannedInBytes are
things moto does not do (it returns every row in one page and scans 0 bytes): those tests answer
with botocore's Stubber, in the response shapes of the Athena API.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from endpoint_weights.endpoint import RETRY_CONFIG
from live_quality import handler
from live_quality.athena_results import InvalidAthenaResult, QueryNotUsable
from live_quality.endpoint_anchor import DeploymentInProgress, EndpointNotReadable
from live_quality.local_engine import run_on_folders
from live_quality.publish_step import NO_LABELS_YET
from live_quality.query import RESULT_COLUMNS, QueryWindow, athena_query
from live_quality.report import LIVE_METRICS, build_report, to_markdown
from live_quality.results import parse_rows
from live_quality.settings import InvalidLiveRun
from live_quality.window import NothingToReadYet, WindowStart, anchor_hour_after
from tests.lambdas.athena_rows import athena_rows, athena_text, java_double, queue_result, set_query_state
from tests.lambdas.conftest import REGION, create_endpoint, set_endpoint_status
from tests.lambdas.live_capture_data import ENDPOINT, random_requests, write_capture, write_labels

BUCKET = "evaluation-bucket"
WORKGROUP = "live-quality"
NAMESPACE = "SageMakerABTesting"
VARIANTS = ["Variant1", "Variant2"]
# A Step Functions $$.Execution.StartTime: the run at 00:17 on 4 November reads from the endpoint config's
# creation (first whole hour after 31 October 23:05) to the run's hour: three days, LOOKBACK_DAYS exactly.
RUN_TIME = "2026-11-04T00:17:05.123Z"
CONFIG_NAME = "EndpointConfig-Ab12Cd34"
CONFIG_CREATED = datetime(2026, 10, 31, 23, 5, 41, 17000, tzinfo=UTC)
WINDOW = QueryWindow(ENDPOINT, "2026/11/01/00", "2026/11/04/00", "2026/11/04/01", 0.5)
# The run's metrics are dated at its window's end (live_quality.metric_time); publish runs minutes later.
METRIC_TIME = datetime(2026, 11, 4, tzinfo=UTC)
PUBLISH_TIME = datetime(2026, 11, 4, 0, 19, tzinfo=UTC)
ANCHORED = {
    "start": "anchor",
    "anchor_hour": "2026/11/01/00",
    "anchor_source": "endpoint_config",
    "endpoint_config_name": CONFIG_NAME,
    "endpoint_config_created": "2026-10-31T23:05:41.017Z",
    "serving_since": None,
    "anchor_note": f"the endpoint has no abtest:serving-since tag, so the window starts at the creation of "
    f"endpoint config {CONFIG_NAME}",
    "lookback_days": 3,
    "cut_at_horizon": False,
}
# When the plan runs (its Lambda's clock): a second after the execution started.
PLAN_NOW = datetime(2026, 11, 4, 0, 17, 6, tzinfo=UTC)


@pytest.fixture(autouse=True)
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ENDPOINT_NAME": ENDPOINT,
        "LOOKBACK_DAYS": "3",
        "THRESHOLD": "0.5",
        "VARIANTS": json.dumps(VARIANTS),
        "ALPHA": "0.05",
        "REPORT_BUCKET": BUCKET,
        "REPORT_PREFIX": "live-quality/",
        "METRICS_NAMESPACE": NAMESPACE,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def query_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The real query's rows (DuckDB) over three days of capture and labels for two variants."""
    root = tmp_path_factory.mktemp("live")
    requests = random_requests(7, {"Variant1": 500, "Variant2": 500})
    files = write_capture(root / "capture", requests)
    write_labels(root / "ground-truth", requests)
    with next(iter(files)).open("a") as handle:
        handle.write("{not json\n")  # a malformed line: reported in the issues, never fatal
    return run_on_folders(root / "capture", root / "ground-truth", WINDOW, threads=1)


@pytest.fixture(scope="module")
def module_clients() -> dict[str, Any]:
    """Made once (a client takes a while to build); each test's mock_aws gives them fresh, empty services."""
    fake = {"region_name": REGION, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return {name: boto3.client(name, **fake) for name in ("athena", "s3", "cloudwatch")}


@pytest.fixture
def clients(module_clients: dict[str, Any]) -> dict[str, Any]:
    module_clients["s3"].create_bucket(Bucket=BUCKET)
    return module_clients


def start_query(athena: Any, parameters: list[str], threshold: float = 0.5, text: Any = athena_query) -> str:
    """What the state machine's Athena task does: the text with the deployment's threshold written in,
    the plan's parameters (moto records them; the SQL is not run). ``text``: which query (default live quality's)."""
    if not any(w["Name"] == WORKGROUP for w in athena.list_work_groups()["WorkGroups"]):
        athena.create_work_group(Name=WORKGROUP)
    return athena.start_query_execution(
        WorkGroup=WORKGROUP,
        QueryString=text(threshold),
        QueryExecutionContext={"Database": "live_quality"},
        ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/athena-results/"},
        ExecutionParameters=parameters,
    )["QueryExecutionId"]


def written_reports(s3: Any) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="live-quality/")
    return sorted(o["Key"] for o in listed.get("Contents", []))


def published_metrics(cloudwatch: Any) -> list[dict[str, Any]]:
    return cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]


def metric_points(cloudwatch: Any, name: str, variant: str) -> list[dict[str, Any]]:
    """The metric's data points per minute over the run's day (moto keeps every datum's Timestamp)."""
    return cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=name,
        Dimensions=[{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": variant}],
        StartTime=METRIC_TIME - timedelta(hours=12),
        EndTime=METRIC_TIME + timedelta(hours=12),
        Period=60,
        Statistics=["Average", "SampleCount"],
    )["Datapoints"]


def metric_value(cloudwatch: Any, name: str, variant: str) -> float:
    points = metric_points(cloudwatch, name, variant)
    assert len(points) == 1 and points[0]["SampleCount"] == 1, points
    assert points[0]["Timestamp"] == METRIC_TIME  # dated at the window's end, not when it was sent
    return float(points[0]["Average"])


def run_publish(
    clients: dict[str, Any], query_id: str, plan: dict[str, Any], now: datetime = PUBLISH_TIME
) -> dict[str, Any]:
    return handler.publish({"query_execution_id": query_id, "plan": plan}, None, **clients, now=now)


@functools.cache
def _sagemaker() -> Any:
    return boto3.client("sagemaker", region_name=REGION, config=RETRY_CONFIG)


def plan_at(
    event: Any,
    *,
    created: datetime | None = CONFIG_CREATED,
    config: str = CONFIG_NAME,
    tags: list[dict[str, str]] | None = None,
    now: datetime = PLAN_NOW,
) -> dict[str, Any]:
    """``handler.plan`` at ``now`` with an endpoint whose current config ``config`` was created at ``created``
    and whose tags are ``tags`` (default none).

    moto sets CreationTime to the moment of CreateEndpointConfig and takes no other, so a fixed run time
    needs the three answers stubbed, in SageMaker's response shapes (test_live_quality_anchor.py reads
    moto's own; the last test here plans against moto end to end). ``created=None``: no answer is
    queued, so any AWS call fails the test.
    """
    client = _sagemaker()
    stub = Stubber(client)
    if created is not None:
        arn = f"arn:aws:sagemaker:{REGION}:123456789012"
        stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": ENDPOINT,
                "EndpointArn": f"{arn}:endpoint/{ENDPOINT}",
                "EndpointConfigName": config,
                "EndpointStatus": "InService",
                "CreationTime": created,
                "LastModifiedTime": created,
            },
            {"EndpointName": ENDPOINT},
        )
        stub.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": config,
                "EndpointConfigArn": f"{arn}:endpoint-config/{config.lower()}",
                "ProductionVariants": [{"VariantName": v, "ModelName": f"m-{v}"} for v in VARIANTS],
                "CreationTime": created,
            },
            {"EndpointConfigName": config},
        )
        stub.add_response("list_tags", {"Tags": tags or []}, {"ResourceArn": f"{arn}:endpoint/{ENDPOINT}"})
    with stub:
        plan = handler.plan(event, None, sagemaker=client, now=now)
        stub.assert_no_pending_responses()
    return plan


# ---- plan -------------------------------------------------------------------------------------------


def test_plan_reads_from_the_endpoint_configs_creation_to_the_runs_hour_and_labels_through_it():
    plan = plan_at({"time": RUN_TIME})
    assert plan == {
        "run_id": "20261104T001705Z",
        "window": {
            "endpoint": ENDPOINT,
            "capture_start_hour": "2026/11/01/00",
            "capture_end_hour": "2026/11/04/00",
            "label_end_hour": "2026/11/04/01",
            "threshold": 0.5,
        },
        "window_start": ANCHORED,
        "execution_parameters": WINDOW.athena_execution_parameters(),
    }
    # Deterministic: the same start time plans the same run; another minute of the hour the same window.
    assert plan_at({"time": RUN_TIME}) == plan
    later = plan_at({"time": "2026-11-04T00:59:59Z"})
    assert later["window"] == plan["window"] and later["run_id"] == "20261104T005959Z"


def test_plan_turns_an_offset_into_utc_hours(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LOOKBACK_DAYS", "1")
    monkeypatch.setenv("THRESHOLD", "0.7")
    plan = plan_at(
        {"time": "2026-03-29T02:30:00+02:00"},  # 00:30 UTC
        created=datetime(2026, 3, 1, tzinfo=UTC),
        now=datetime(2026, 3, 29, 0, 30, 1, tzinfo=UTC),
    )
    assert plan["run_id"] == "20260329T003000Z"
    assert plan["window"] == {
        "endpoint": ENDPOINT,
        "capture_start_hour": "2026/03/28/00",
        "capture_end_hour": "2026/03/29/00",
        "label_end_hour": "2026/03/29/01",
        "threshold": 0.7,
    }
    # The threshold is written into the query's text, not passed: Athena takes ? in WHERE clauses only.
    assert plan["execution_parameters"] == [
        "'churn-ab'",
        "'2026/03/28/00'",
        "'2026/03/29/00'",
        "'2026/03/28/00'",
        "'2026/03/29/01'",
    ]
    # The config is a month old: the window is cut at LOOKBACK_DAYS, and the plan says so.
    assert plan["window_start"]["start"] == "horizon" and plan["window_start"]["cut_at_horizon"] is True
    assert plan["window_start"]["anchor_hour"] == "2026/03/01/00"


def test_a_manual_run_names_its_window():
    hours = {
        "capture_start_hour": "2026/10/25/00",
        "capture_end_hour": "2026/11/01/00",
        "label_end_hour": "2026/11/03/00",
    }
    plan = plan_at({"time": RUN_TIME, **hours}, created=None)  # no AWS call
    assert plan["window"] == {"endpoint": ENDPOINT, **hours, "threshold": 0.5}
    assert plan["execution_parameters"] == QueryWindow(ENDPOINT, *hours.values()).athena_execution_parameters()
    assert plan["run_id"] == "20261104T001705Z"


def test_a_manual_run_may_name_the_windows_start_and_reads_nothing_from_aws():
    plan = plan_at({"time": RUN_TIME, "anchor_hour": "2026/11/02/07"}, created=None)
    assert plan["window"]["capture_start_hour"] == "2026/11/02/07"
    assert plan["window_start"] == {
        **ANCHORED,
        "anchor_hour": "2026/11/02/07",
        "anchor_source": "event",
        "endpoint_config_name": None,
        "endpoint_config_created": None,
        "anchor_note": None,
    }
    # LOOKBACK_DAYS still caps it: an older anchor_hour is cut there.
    older = plan_at({"time": RUN_TIME, "anchor_hour": "2026/01/01/00"}, created=None)
    assert older["window"] == plan_at({"time": RUN_TIME})["window"]
    assert older["window_start"]["cut_at_horizon"] is True


def test_a_config_created_since_the_last_whole_hour_leaves_nothing_to_read_yet():
    with pytest.raises(NothingToReadYet, match=r"EndpointConfig-Ab12Cd34 was created at 2026-11-03T23:40:00\.000Z"):
        plan_at({"time": RUN_TIME}, created=datetime(2026, 11, 3, 23, 40, tzinfo=UTC))


def marker(config: str, since: str) -> list[dict[str, str]]:
    """The endpoint's tags with the weights custom resource's serving-since marker."""
    return [{"Key": "team", "Value": "ml"}, {"Key": "abtest:serving-since", "Value": f"{config}@{since}"}]


def test_the_window_starts_when_the_config_began_to_serve_alone():
    """A blue/green deployment (or a canary's steps and bake) ends hours after the config was created: the
    marker the weights custom resource wrote then moves the start past the old fleet's traffic."""
    plan = plan_at({"time": RUN_TIME}, tags=marker(CONFIG_NAME, "2026-11-01T05:20:00Z"))
    assert plan["window"]["capture_start_hour"] == "2026/11/01/06"
    assert plan["window_start"] == {
        **ANCHORED,
        "anchor_hour": "2026/11/01/06",
        "anchor_source": "serving_since",
        "serving_since": "2026-11-01T05:20:00.000Z",
        "anchor_note": None,
    }
    # Names are case-insensitive in SageMaker.
    same = plan_at({"time": RUN_TIME}, tags=marker(CONFIG_NAME.upper(), "2026-11-01T05:20:00Z"))
    assert same["window"] == plan["window"]


def test_a_marker_about_another_config_is_not_used_and_the_plan_says_so():
    plan = plan_at({"time": RUN_TIME}, tags=marker("EndpointConfig-Older", "2026-11-02T05:20:00Z"))
    assert plan["window"]["capture_start_hour"] == "2026/11/01/00"  # the config's creation
    assert plan["window_start"]["anchor_source"] == "endpoint_config"
    assert plan["window_start"]["anchor_note"] == (
        "its serving-since marker names endpoint config EndpointConfig-Older, so the window starts at the "
        f"creation of endpoint config {CONFIG_NAME}"
    )


def test_a_marker_in_the_runs_own_hour_leaves_nothing_to_read_yet():
    with pytest.raises(NothingToReadYet, match=rf"{CONFIG_NAME} serves alone since 2026-11-03T23:50:00\.000Z"):
        plan_at({"time": RUN_TIME}, tags=marker(CONFIG_NAME, "2026-11-03T23:50:00Z"))


def test_a_run_while_the_endpoint_is_created_reads_nothing_and_says_so(sagemaker: Any):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status("Creating")
    with pytest.raises(DeploymentInProgress, match=f"endpoint {ENDPOINT} is Creating .*deployment is in progress"):
        handler.plan({"time": RUN_TIME}, None, sagemaker=sagemaker, now=PLAN_NOW)


def test_a_run_during_a_weight_change_plans_as_usual(sagemaker: Any):
    """UpdateEndpointWeightsAndCapacities sets the endpoint Updating, with no PendingDeploymentSummary (moto
    shows none): the rollout's steps and autoscaling do not skip a run."""
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status("Updating")
    run = datetime.now(UTC) + timedelta(hours=2)
    plan = handler.plan({"time": run.isoformat()}, None, sagemaker=sagemaker, now=run)
    assert plan["window_start"]["endpoint_config_name"] == f"{ENDPOINT}-config"


@pytest.mark.parametrize(
    ("end", "accepted"),
    [("2026/10/21/02", True), ("2026/10/21/01", False), ("2026/10/08/00", False)],
)
def test_a_window_whose_metrics_cloudwatch_would_refuse_is_refused_before_the_query(end: str, accepted: bool):
    """Publish dates the metrics at the window's end; CloudWatch takes them at most two weeks old, and publish
    runs at most the state machine's timeout (an hour) after the plan: PLAN_NOW + 1 h - 14 days is
    2026-10-21T01:17:06Z. A scheduled run's window ends at its own hour, so only manual runs get here."""
    event = {"time": RUN_TIME, "capture_start_hour": "2026/10/01/00", "capture_end_hour": end}
    event["label_end_hour"] = end
    if accepted:
        assert plan_at(event, created=None)["window"]["capture_end_hour"] == end
        return
    with pytest.raises(InvalidLiveRun, match=r"more than two weeks old when the run publishes .* nothing was read"):
        plan_at(event, created=None)  # no AWS call, no query


def test_a_redriven_old_run_is_refused_too():
    with pytest.raises(InvalidLiveRun, match="window ends at 2026-10-10T00:00Z"):
        plan_at({"time": "2026-10-10T00:17:05Z", "anchor_hour": "2026/10/05/00"}, created=None)


def test_plan_against_moto_anchors_at_the_config_moto_created(sagemaker: Any):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    created = sagemaker.describe_endpoint_config(EndpointConfigName=f"{ENDPOINT}-config")["CreationTime"]
    run = datetime.now(UTC) + timedelta(hours=2)
    plan = handler.plan({"time": run.isoformat()}, None, sagemaker=sagemaker, now=run)
    assert plan["window_start"]["endpoint_config_name"] == f"{ENDPOINT}-config"
    assert plan["window_start"]["start"] == "anchor"
    assert plan["window"]["capture_start_hour"] == anchor_hour_after(created)


def test_plan_names_an_endpoint_that_does_not_exist(sagemaker: Any):
    with pytest.raises(EndpointNotReadable, match=f"endpoint {ENDPOINT} was not found"):
        handler.plan({"time": RUN_TIME}, None, sagemaker=sagemaker)


GOOD_HOURS = {
    "capture_start_hour": "2026/10/01/00",
    "capture_end_hour": "2026/10/08/00",
    "label_end_hour": "2026/10/20/00",
}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, '"time" is None'),
        ({"time": 1762215425}, '"time" is 1762215425'),
        ({"time": "2026-11-04T00:17:05"}, "without a zone"),
        ({"time": "2026-11-04"}, "without a zone"),
        ({"time": "yesterday"}, "not an ISO-8601 time"),
        ({"time": RUN_TIME, "capture_start": "2026/10/01/00"}, "unknown key.*capture_start"),
        (
            {"time": RUN_TIME, "capture_start_hour": "2026/10/01/00"},
            "but not capture_end_hour, label_end_hour: give all",
        ),
        ({"time": RUN_TIME, **GOOD_HOURS, "capture_end_hour": "2026-10-08"}, "capture_end_hour: hour '2026-10-08'"),
        ({"time": RUN_TIME, **GOOD_HOURS, "label_end_hour": "2026/10/32/00"}, "label_end_hour: hour .* not a real"),
        ({"time": RUN_TIME, **GOOD_HOURS, "capture_start_hour": "2026/10/08/00"}, "capture_start_hour < capture_end"),
        ({"time": RUN_TIME, **GOOD_HOURS, "label_end_hour": "2026/10/07/00"}, "capture_end_hour <= label_end_hour"),
        ({"time": RUN_TIME, **GOOD_HOURS, "label_end_hour": 2026}, "label_end_hour: hour 2026 is not"),
        (["time", RUN_TIME], "must be a JSON object"),
        ({"time": RUN_TIME, "anchor_hour": "2026-11-01"}, "anchor_hour: hour '2026-11-01' is not yyyy/mm/dd/hh"),
        ({"time": RUN_TIME, **GOOD_HOURS, "anchor_hour": "2026/10/01/00"}, "either the window's three hours"),
    ],
)
def test_a_bad_plan_event_is_refused_with_what_is_wrong(event: Any, message: str):
    with pytest.raises(InvalidLiveRun, match=message):
        plan_at(event, created=None)  # refused before any AWS call


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOOKBACK_DAYS", "0", "LOOKBACK_DAYS is '0'"),
        ("LOOKBACK_DAYS", "1.5", "LOOKBACK_DAYS is '1.5'"),
        ("LOOKBACK_DAYS", "", "LOOKBACK_DAYS is not set"),
        ("THRESHOLD", "nan", "THRESHOLD is 'nan'"),
        ("THRESHOLD", "1.5", "between 0 and 1"),
        ("ENDPOINT_NAME", "", "ENDPOINT_NAME is not set"),
    ],
)
def test_a_bad_plan_environment_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str):
    monkeypatch.setenv(name, value)
    with pytest.raises(InvalidLiveRun, match=message):
        plan_at({"time": RUN_TIME}, created=None)


# ---- publish ----------------------------------------------------------------------------------------


def test_publish_writes_the_report_of_the_querys_rows_and_its_metrics(clients, query_rows):
    plan = plan_at({"time": RUN_TIME})
    query_id = start_query(clients["athena"], plan["execution_parameters"])
    queue_result(athena_rows(query_rows))

    outcome = run_publish(clients, query_id, plan)

    expected = build_report(parse_rows(query_rows), WINDOW, VARIANTS, alpha=0.05, window_start=WindowStart(**ANCHORED))
    base = f"live-quality/{ENDPOINT}/20261104T001705Z/"
    assert written_reports(clients["s3"]) == [base + "report.json", base + "report.md"]
    written = json.loads(clients["s3"].get_object(Bucket=BUCKET, Key=base + "report.json")["Body"].read())
    query = {"engine": "Athena", "query_execution_id": query_id, "workgroup": WORKGROUP, "data_scanned_bytes": 0}
    assert written == json.loads(json.dumps({**expected, "run_id": "20261104T001705Z", "query": query}))
    markdown = clients["s3"].get_object(Bucket=BUCKET, Key=base + "report.md")["Body"].read().decode()
    assert markdown == to_markdown(written)
    assert f"Athena query `{query_id}`; it scanned 0 bytes" in markdown
    assert expected["issues"]["capture_not_json"]["count"] == 1  # the malformed line reached the report

    # Every labelled variant's live metrics, each once, with the report's values.
    to_publish = expected["metrics_to_publish"]
    assert sorted(to_publish) == VARIANTS and all(len(m) == len(LIVE_METRICS) for m in to_publish.values())
    listed = {
        (m["MetricName"], {d["Name"]: d["Value"] for d in m["Dimensions"]}["VariantName"])
        for m in published_metrics(clients["cloudwatch"])
    }
    assert listed == {(name, variant) for variant, values in to_publish.items() for name in values}
    for variant, values in to_publish.items():
        for name, value in values.items():
            assert metric_value(clients["cloudwatch"], name, variant) == pytest.approx(value)

    assert outcome == {
        "run_id": "20261104T001705Z",
        "reports": {"json": f"s3://{BUCKET}/{base}report.json", "markdown": f"s3://{BUCKET}/{base}report.md"},
        "query": {"query_execution_id": query_id, "data_scanned_bytes": 0},
        "metrics": {"published": True, "variants": VARIANTS},
        "comparisons": [
            {
                "baseline": c["variant_a"],
                "candidate": c["variant_b"],
                "status": c["status"],
                "winner": c["verdict"]["winner"],
            }
            for c in expected["comparisons"]
        ],
    }
    assert outcome["comparisons"][0]["status"] == "tested"  # enough labels: the comparison really ran


def _pages(result_rows: list[dict[str, Any]], sizes: list[int]) -> list[dict[str, Any]]:
    """GetQueryResults responses holding ``sizes`` rows each (the header counts in the first)."""
    pages, start = [], 0
    for number, size in enumerate(sizes):
        page: dict[str, Any] = {"ResultSet": {"Rows": result_rows[start : start + size]}}
        if number < len(sizes) - 1:
            page["NextToken"] = f"token-{number + 1}"
        pages.append(page)
        start += size
    assert start == len(result_rows)
    return pages


def test_publish_follows_next_token_over_every_page_and_reports_the_bytes_scanned(clients, query_rows):
    plan = plan_at({"time": RUN_TIME})
    result_rows = athena_rows(query_rows)
    assert len(result_rows) > 100
    athena = boto3.client("athena", region_name=REGION)
    query_id = "b1f3c6a0-1234-4cde-9abc-0123456789ab"
    scanned = 7_340_032_123
    with Stubber(athena) as stub:
        stub.add_response(
            "get_query_execution",
            {
                "QueryExecution": {
                    "QueryExecutionId": query_id,
                    "Status": {"State": "SUCCEEDED"},
                    "Statistics": {"DataScannedInBytes": scanned, "EngineExecutionTimeInMillis": 5120},
                    "WorkGroup": "live-quality",
                    "ExecutionParameters": plan["execution_parameters"],
                    "Query": athena_query(0.5),
                }
            },
            {"QueryExecutionId": query_id},
        )
        third = len(result_rows) // 3
        for number, page in enumerate(_pages(result_rows, [third, third, len(result_rows) - 2 * third])):
            expected_params: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": 1000}
            if number:
                expected_params["NextToken"] = f"token-{number}"
            stub.add_response("get_query_results", page, expected_params)
        outcome = handler.publish(
            {"query_execution_id": query_id, "plan": plan}, None, **{**clients, "athena": athena}, now=PUBLISH_TIME
        )
        stub.assert_no_pending_responses()

    written = json.loads(
        clients["s3"]
        .get_object(Bucket=BUCKET, Key=f"live-quality/{ENDPOINT}/20261104T001705Z/report.json")["Body"]
        .read()
    )
    expected = build_report(parse_rows(query_rows), WINDOW, VARIANTS, alpha=0.05, window_start=WindowStart(**ANCHORED))
    assert {k: v for k, v in written.items() if k not in ("run_id", "query")} == json.loads(json.dumps(expected))
    assert written["query"] == {
        "engine": "Athena",
        "query_execution_id": query_id,
        "workgroup": "live-quality",
        "data_scanned_bytes": scanned,
    }
    assert outcome["query"] == {"query_execution_id": query_id, "data_scanned_bytes": scanned}
    markdown = clients["s3"].get_object(Bucket=BUCKET, Key=f"live-quality/{ENDPOINT}/20261104T001705Z/report.md")
    assert "it scanned 7,340,032,123 bytes (7,000.0 MiB)" in markdown["Body"].read().decode()


def test_a_run_without_labels_writes_its_report_and_publishes_no_metric(clients, tmp_path: Path):
    requests = random_requests(3, {"Variant1": 50, "Variant2": 50})
    write_capture(tmp_path / "capture", requests)
    (tmp_path / "ground-truth").mkdir()
    rows = run_on_folders(tmp_path / "capture", tmp_path / "ground-truth", WINDOW, threads=1)
    plan = plan_at({"time": RUN_TIME})
    query_id = start_query(clients["athena"], plan["execution_parameters"])
    queue_result(athena_rows(rows))

    outcome = run_publish(clients, query_id, plan)

    assert outcome["metrics"] == {"published": False, "variants": [], "reason": NO_LABELS_YET}
    assert published_metrics(clients["cloudwatch"]) == []
    assert len(written_reports(clients["s3"])) == 2
    assert [c["status"] for c in outcome["comparisons"]] == ["not_enough_labels"]


def assert_nothing_written(clients: dict[str, Any]) -> None:
    assert written_reports(clients["s3"]) == []
    assert published_metrics(clients["cloudwatch"]) == []


@pytest.mark.parametrize("state", ["FAILED", "CANCELLED"])
def test_a_query_that_did_not_succeed_writes_and_publishes_nothing(clients, query_rows, state: str):
    plan = plan_at({"time": RUN_TIME})
    query_id = start_query(clients["athena"], plan["execution_parameters"])
    queue_result(athena_rows(query_rows))
    if state == "CANCELLED":
        clients["athena"].stop_query_execution(QueryExecutionId=query_id)
    else:
        set_query_state(query_id, state)
    with pytest.raises(QueryNotUsable, match=f"Athena query {query_id} is {state}.*nothing was written"):
        run_publish(clients, query_id, plan)
    assert_nothing_written(clients)


def test_a_failed_query_says_why(clients):
    plan = plan_at({"time": RUN_TIME})
    athena = boto3.client("athena", region_name=REGION)
    with Stubber(athena) as stub:
        stub.add_response(
            "get_query_execution",
            {
                "QueryExecution": {
                    "QueryExecutionId": "q-1",
                    "Status": {
                        "State": "FAILED",
                        "StateChangeReason": "Query exhausted resources",
                        "AthenaError": {"ErrorCategory": 2, "ErrorMessage": "Bytes scanned limit was exceeded"},
                    },
                }
            },
            {"QueryExecutionId": "q-1"},
        )
        with pytest.raises(QueryNotUsable, match=r"q-1 is FAILED \(Bytes scanned limit was exceeded\)"):
            handler.publish(
                {"query_execution_id": "q-1", "plan": plan}, None, **{**clients, "athena": athena}, now=PUBLISH_TIME
            )
    assert_nothing_written(clients)


def test_another_plans_query_is_refused(clients, query_rows):
    plan = plan_at({"time": RUN_TIME})
    other = plan_at({"time": "2026-11-05T00:17:05Z"})
    query_id = start_query(clients["athena"], other["execution_parameters"])
    queue_result(athena_rows(query_rows))
    with pytest.raises(QueryNotUsable, match="not this plan's query"):
        run_publish(clients, query_id, plan)
    assert_nothing_written(clients)


def test_a_query_run_with_another_threshold_is_refused(clients, query_rows):
    # The state machine's text carries the threshold of its synth; the plan's comes from THRESHOLD.
    plan = plan_at({"time": RUN_TIME})
    query_id = start_query(clients["athena"], plan["execution_parameters"], threshold=0.7)
    queue_result(athena_rows(query_rows))
    with pytest.raises(QueryNotUsable, match="ran another text than this plan's"):
        run_publish(clients, query_id, plan)
    assert_nothing_written(clients)


def test_the_query_text_is_compared_without_its_layout(clients, query_rows):
    plan = plan_at({"time": RUN_TIME})
    relaid = "\n".join(line.strip() for line in athena_query(0.5).splitlines() if not line.startswith("--"))
    athena = clients["athena"]
    athena.create_work_group(Name=WORKGROUP)
    query_id = athena.start_query_execution(
        WorkGroup=WORKGROUP,
        QueryString="  " + relaid.replace("\n", "\n\n  "),
        QueryExecutionContext={"Database": "live_quality"},
        ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/athena-results/"},
        ExecutionParameters=plan["execution_parameters"],
    )["QueryExecutionId"]
    queue_result(athena_rows(query_rows))
    assert run_publish(clients, query_id, plan)["run_id"] == plan["run_id"]


def test_a_result_with_another_header_is_refused(clients, query_rows):
    plan = plan_at({"time": RUN_TIME})
    query_id = start_query(clients["athena"], plan["execution_parameters"])
    renamed = ["variant_name" if c == "variant" else c for c in RESULT_COLUMNS]
    queue_result(athena_rows(query_rows, header=renamed), header=renamed)
    with pytest.raises(InvalidAthenaResult, match=r"header is .*'variant_name'.*live_quality\.athena\.sql"):
        run_publish(clients, query_id, plan)
    assert_nothing_written(clients)


def test_a_row_of_another_width_or_an_empty_result_is_refused(clients, query_rows):
    plan = plan_at({"time": RUN_TIME})
    query_id = start_query(clients["athena"], plan["execution_parameters"])
    result_rows = athena_rows(query_rows)
    result_rows[5] = {"Data": result_rows[5]["Data"][:-1]}
    queue_result(result_rows)
    width = len(RESULT_COLUMNS)
    with pytest.raises(InvalidAthenaResult, match=f"page 1, row 6 has {width - 1} values for {width} columns"):
        run_publish(clients, query_id, plan)
    empty_id = start_query(clients["athena"], plan["execution_parameters"])  # moto: no queued result, no rows
    with pytest.raises(InvalidAthenaResult, match="no rows, not even the header"):
        run_publish(clients, empty_id, plan)
    assert_nothing_written(clients)


def test_a_result_the_report_cannot_read_writes_nothing(clients, query_rows):
    plan = plan_at({"time": RUN_TIME})
    query_id = start_query(clients["athena"], plan["execution_parameters"])
    result_rows = athena_rows(query_rows)
    captured = RESULT_COLUMNS.index("captured")
    metrics_row = next(r for r in result_rows[1:] if r["Data"][0] == {"VarCharValue": "metrics"})
    metrics_row["Data"][captured] = {"VarCharValue": "many"}
    queue_result(result_rows)
    with pytest.raises(ValueError, match="captured is 'many', not a number"):
        run_publish(clients, query_id, plan)
    assert_nothing_written(clients)


def _plan() -> dict[str, Any]:
    return plan_at({"time": RUN_TIME})


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (lambda p: {"plan": p}, "query_execution_id is None"),
        (lambda p: {"query_execution_id": "", "plan": p}, "query_execution_id is ''"),
        (lambda p: {"query_execution_id": "q 1", "plan": p}, "query_execution_id is 'q 1'"),
        (lambda p: {"query_execution_id": "q-1"}, "no plan"),
        (lambda p: {"query_execution_id": "q-1", "plan": p, "extra": 1}, "unknown key.*extra"),
        (lambda p: {"query_execution_id": "q-1", "plan": {**p, "run_id": "../../x"}}, "plan.run_id is '../../x'"),
        (lambda p: {"query_execution_id": "q-1", "plan": {"run_id": p["run_id"]}}, "plan has no window"),
        (
            lambda p: {"query_execution_id": "q-1", "plan": {**p, "window": {**p["window"], "endpoint": "other"}}},
            "plan.window.endpoint is 'other'",
        ),
        (
            lambda p: {
                "query_execution_id": "q-1",
                "plan": {**p, "window": {**p["window"], "label_end_hour": "2026/11/03/00"}},
            },
            "capture_end_hour <= label_end_hour",
        ),
        (
            lambda p: {"query_execution_id": "q-1", "plan": {**p, "window": {**p["window"], "threshold": "0.5"}}},
            "threshold is '0.5', not a number",
        ),
        (
            lambda p: {"query_execution_id": "q-1", "plan": {**p, "execution_parameters": ["'x'"]}},
            "not the window's",
        ),
        (lambda p: {"query_execution_id": "q-1", "plan": [p]}, "plan must be a JSON object"),
        (
            lambda p: {"query_execution_id": "q-1", "plan": {**p, "window_start": {**p["window_start"], "start": "x"}}},
            "plan.window_start: start is 'x'",
        ),
        (
            lambda p: {"query_execution_id": "q-1", "plan": {k: v for k, v in p.items() if k != "window_start"}},
            "plan has no window_start",
        ),
    ],
)
def test_a_bad_publish_event_is_refused_before_anything_is_read(clients, query_rows, event, message: str):
    plan = _plan()
    query_id = start_query(clients["athena"], plan["execution_parameters"])
    queue_result(athena_rows(query_rows))
    bad = event(plan)
    if bad.get("query_execution_id") == "q-1":
        bad["query_execution_id"] = query_id  # a real, finished query: the event alone is at fault
    with pytest.raises(InvalidLiveRun, match=message):
        handler.publish(bad, None, **clients)
    assert_nothing_written(clients)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("VARIANTS", "Variant1,Variant2", "VARIANTS is 'Variant1,Variant2'; it must be a JSON list"),
        ("VARIANTS", "[]", "VARIANTS is '\\[\\]'"),
        ("VARIANTS", '["Variant1", "Variant1"]', "names Variant1 more than once"),
        ("ALPHA", "1", "ALPHA is '1'; it must be between 0 and 1 \\(exclusive\\)"),
        ("ALPHA", "0", "ALPHA is '0'; it must be between"),
        ("REPORT_BUCKET", "", "REPORT_BUCKET is not set"),
        ("REPORT_PREFIX", "live-quality", "REPORT_PREFIX is 'live-quality'; it must end with '/'"),
        ("ENDPOINT_NAME", "another-endpoint", "plan.window.endpoint is 'churn-ab', but this function serves"),
    ],
)
def test_a_bad_publish_environment_is_named_and_nothing_happens(
    monkeypatch: pytest.MonkeyPatch, clients, query_rows, name: str, value: str, message: str
):
    plan = _plan()
    query_id = start_query(clients["athena"], plan["execution_parameters"])
    queue_result(athena_rows(query_rows))
    monkeypatch.setenv(name, value)
    with pytest.raises(InvalidLiveRun, match=message):
        run_publish(clients, query_id, plan)
    assert_nothing_written(clients)


def test_defaults_for_prefix_namespace_and_alpha(monkeypatch: pytest.MonkeyPatch, clients, query_rows):
    for name in ("REPORT_PREFIX", "METRICS_NAMESPACE", "ALPHA"):
        monkeypatch.delenv(name)
    plan = _plan()
    query_id = start_query(clients["athena"], plan["execution_parameters"])
    queue_result(athena_rows(query_rows))
    outcome = run_publish(clients, query_id, plan)
    assert outcome["reports"]["json"] == f"s3://{BUCKET}/live-quality/{ENDPOINT}/20261104T001705Z/report.json"
    assert {m["Namespace"] for m in published_metrics(clients["cloudwatch"])} == {"SageMakerABTesting"}


def test_the_canned_rows_use_athenas_text_for_values():
    assert [java_double(v) for v in (0.0, 0.25, 1.0, 123.0, 1e-4, 1.5e-5, -2.5e-7, 1e7, 12345678.9)] == [
        "0.0",
        "0.25",
        "1.0",
        "123.0",
        "1.0E-4",
        "1.5E-5",
        "-2.5E-7",
        "1.0E7",
        "1.23456789E7",
    ]
    assert [athena_text(v) for v in (None, 42, "Variant1", "")] == [
        {},
        {"VarCharValue": "42"},
        {"VarCharValue": "Variant1"},
        {"VarCharValue": ""},
    ]


@pytest.mark.parametrize("alpha", ["0.001", "0.6", "0.999"])
def test_every_alpha_the_config_accepts_is_accepted(alpha: str):
    """The config's live_quality.alpha is any number strictly between 0 and 1 (constructs_lib/config)."""
    from live_quality.settings import publish_settings

    env = {"ENDPOINT_NAME": ENDPOINT, "VARIANTS": '["Variant1"]', "REPORT_BUCKET": BUCKET, "ALPHA": alpha}
    assert publish_settings(env).alpha == float(alpha)


# ---- the metrics' timestamp ------------------------------------------------------------------------


def test_a_retried_publish_lands_on_the_same_point(clients, query_rows):
    """Both publishes date the metrics at the window's end: one point with two equal samples, so the
    Maximum and Average the dashboard draws are the first publish's values."""
    plan = plan_at({"time": RUN_TIME})
    query_id = start_query(clients["athena"], plan["execution_parameters"])
    queue_result(athena_rows(query_rows))
    run_publish(clients, query_id, plan)
    first = metric_value(clients["cloudwatch"], "LiveAccuracy", "Variant1")

    run_publish(clients, query_id, plan, now=PUBLISH_TIME + timedelta(hours=5))  # a late retry

    (point,) = metric_points(clients["cloudwatch"], "LiveAccuracy", "Variant1")
    assert (point["Timestamp"], point["SampleCount"], point["Average"]) == (METRIC_TIME, 2, pytest.approx(first))


@pytest.mark.parametrize(
    ("now", "message"),
    [
        (METRIC_TIME + timedelta(weeks=2, minutes=1), "more than two weeks before now"),
        (METRIC_TIME - timedelta(hours=2, minutes=1), "more than two hours after now"),
    ],
)
def test_a_publish_outside_cloudwatchs_timestamp_limits_fails_before_anything_is_written(
    clients, query_rows, now: datetime, message: str
):
    """CloudWatch takes timestamps from two weeks back to two hours ahead (PutMetricData); moto takes
    any, so the check is the handler's own, before the reports."""
    plan = plan_at({"time": RUN_TIME})
    query_id = start_query(clients["athena"], plan["execution_parameters"])
    queue_result(athena_rows(query_rows))
    with pytest.raises(InvalidLiveRun, match=f"window ends at 2026-11-04T00:00Z, {message}.*Nothing was written"):
        run_publish(clients, query_id, plan, now=now)
    assert_nothing_written(clients)


@pytest.mark.parametrize("now", [METRIC_TIME + timedelta(weeks=2), METRIC_TIME - timedelta(hours=2)])
def test_a_publish_at_the_edge_of_the_limits_is_accepted(clients, query_rows, now: datetime):
    plan = plan_at({"time": RUN_TIME})
    query_id = start_query(clients["athena"], plan["execution_parameters"])
    queue_result(athena_rows(query_rows))
    assert run_publish(clients, query_id, plan, now=now)["metrics"]["published"]
    assert metric_value(clients["cloudwatch"], "LiveF1", "Variant2") >= 0
