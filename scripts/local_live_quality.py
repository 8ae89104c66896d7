"""The local demo's live-quality step, in pieces: requests with ``InferenceId``, late labels, the query on DuckDB.

``scripts/local_demo.py`` (``Lifecycle.live_quality``) calls these in order against the local server:

1. :func:`invoke_with_ids` sends generated churn rows (``scripts/generate_churn_data.py``, true labels
   known) to the endpoint by weight, each with its ``InferenceId``; the stub runtime captures them as
   SageMaker does, where the deployed endpoint config says (``scripts/stub_capture.py``).
2. :func:`upload_labels` files labels for a share of them as a team would: a CSV of
   ``inference_id,label`` turned into SageMaker's ground-truth JSON Lines by
   ``scripts/labels_to_ground_truth.py``'s functions, uploaded under ``ground-truth/<endpoint>/yyyy/mm/dd/hh/``.
3. :func:`plan_query_publish` plans the run as the plan Lambda does (the window's anchor read from the
   emulator's DescribeEndpoint and DescribeEndpointConfig, ``live_quality.endpoint_anchor``), runs the
   live-quality query on the embedded engine over the capture and label objects copied from the local
   S3, and builds the report.

S3 layout (issue 12's contract, in the stack's EvaluationBucket): capture under ``capture/`` (SageMaker
appends ``<endpoint>/<variant>/yyyy/mm/dd/hh/``), labels under ``ground-truth/<endpoint>/``.
"""

from __future__ import annotations

import csv
import random
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambdas"))

from live_quality.endpoint_anchor import read_endpoint_anchor
from live_quality.events import plan_request, plan_window
from live_quality.formats import hour_of
from live_quality.local_engine import bind_folders, run_sql
from live_quality.query import QueryWindow, source_sql
from live_quality.report import build_report
from live_quality.results import parse_rows
from live_quality.settings import PlanSettings
from live_quality.window import ANCHOR_KEY, EndpointConfigAnchor
from scripts.labels_to_ground_truth import read_labels, write_ground_truth
from scripts.stub_capture import split_s3_uri

CAPTURE_PREFIX = "capture"
GROUND_TRUTH_PREFIX = "ground-truth"
THRESHOLD = 0.5  # as the offline evaluation's
LOOKBACK_DAYS = 42  # the config's default longest window (constructs_lib/config/model.py)
Row = tuple[int, Sequence[float]]  # (true label, features), as scripts/generate_churn_data.py generates them


@dataclass(frozen=True)
class Sent:
    """One request as the caller saw it: its id, the variant that answered, the score, the row's true label."""

    inference_id: str
    variant: str
    score: float
    label: int


def invoke_with_ids(
    runtime: Any, endpoint: str, rows: Sequence[tuple[int, Sequence[float]]], prefix: str
) -> list[Sent]:
    """One InvokeEndpoint per row (by weight), ``InferenceId`` ``<prefix>-<n>``, as callers pass it."""
    sent = []
    for n, (label, features) in enumerate(rows):
        inference_id = f"{prefix}-{n:05d}"
        answer = runtime.invoke_endpoint(
            EndpointName=endpoint,
            ContentType="text/csv",
            Body=",".join(str(v) for v in features).encode(),
            InferenceId=inference_id,
        )
        sent.append(Sent(inference_id, answer["InvokedProductionVariant"], float(answer["Body"].read()), label))
    return sent


def choose_labelled(sent: Sequence[Sent], share: float, seed: int) -> list[Sent]:
    """The requests whose outcome is known by now: a seeded ``share`` of them (labels arrive for some only)."""
    if not 0 < share <= 1:
        raise ValueError(f"labelled share is {share}; it must be in (0, 1]")
    return random.Random(seed).sample(list(sent), round(len(sent) * share))


def upload_labels(
    s3: Any, bucket: str, endpoint: str, labelled: Sequence[Sent], workdir: Path, collected: datetime
) -> tuple[Path, str]:
    """Write the labels CSV a team would have, turn it into ground truth as the documented command does, upload
    it under ``ground-truth/<endpoint>/``; (the CSV, the uploaded object's s3:// URI)."""
    table = workdir / "labels.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["inference_id", "label"])
        writer.writerows((s.inference_id, s.label) for s in labelled)
    labels, bad, _ = read_labels(table)
    if bad:
        raise ValueError(f"{table}: {'; '.join(bad)}")
    out = workdir / "ground-truth"
    written = write_ground_truth(labels, out, collected)
    key = f"{GROUND_TRUTH_PREFIX}/{endpoint}/{written.relative_to(out).as_posix()}"
    s3.put_object(Bucket=bucket, Key=key, Body=written.read_bytes())
    return table, f"s3://{bucket}/{key}"


def download_prefix(s3: Any, uri: str, folder: Path) -> int:
    """Copy every object under ``uri`` (s3://bucket/prefix) into ``folder``, keeping the key below the prefix."""
    bucket, prefix = split_s3_uri(uri)
    copied = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""):
        for item in page.get("Contents", []):
            target = folder / item["Key"][len(prefix) :].lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            copied += 1
    return copied


def query_on_duckdb(window: QueryWindow, capture_root: Path, label_root: Path) -> list[dict[str, Any]]:
    """The live-quality query's rows, on DuckDB over the two folders.

    DuckDB reads the local copies, never S3: reading ``s3://`` needs its httpfs extension, which DuckDB
    downloads from extensions.duckdb.org on first use (a network call this demo must not make; and the
    local S3 is moto, reached through boto3 with the server's address). Auto-install and auto-load of
    extensions are switched off so that nothing can reach for the network; JSON and the functions the
    query uses are built into the Python package.
    """
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        bind_folders(con, capture_root, label_root)
        return run_sql(con, source_sql(), window)
    finally:
        con.close()


def run_event(anchor: EndpointConfigAnchor, first_request: datetime, last_request: datetime) -> dict[str, str]:
    """The plan event of the first scheduled run after the demo's requests: its start is the next whole
    hour after the last request (a run reads captures up to its own hour, and labels through it).

    A scheduled run starts the window at ``anchor`` (the first whole hour after the endpoint config was
    created). The demo deploys its config minutes before it sends requests, so they usually fall in
    the config's own creation hour, which a scheduled run leaves out; the event then names that hour
    as ``anchor_hour``, as a manual run may (``live_quality.window``).
    """
    event = {"time": (last_request.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).isoformat()}
    if hour_of(first_request) < anchor.hour:
        event[ANCHOR_KEY] = hour_of(first_request)
    return event


def plan_query_publish(
    endpoint: str,
    variants: Sequence[str],
    event: Mapping[str, str],
    capture_root: Path,
    label_root: Path,
    *,
    sagemaker: Any = None,
    alpha: float = 0.05,
    sampling_percentage: float = 100.0,
) -> dict[str, Any]:
    """One live-quality run as the account runs it: plan -> query -> publish. The seam for the Lambdas.
    ``sampling_percentage``: the deployed capture's (the publish Lambda gets it from the stack).

    In the account a Step Functions execution runs ``live_quality.handler.plan`` (the window), Athena
    (the committed Athena text of the same query), then ``live_quality.handler.publish`` (report to S3,
    metrics to CloudWatch). Here the plan is the Lambda's own pure part on ``event`` (the plan event:
    ``time`` and a manual run's hours or ``anchor_hour``), with the window's anchor read from
    ``sagemaker`` (the local server) as the Lambda reads it when the event names none; the query runs
    on DuckDB in Athena's place, and the report is built with the function ``publish`` uses
    (``build_report``) and returned, not stored.
    """
    settings = PlanSettings(endpoint, lookback_days=LOOKBACK_DAYS, threshold=THRESHOLD)
    request = plan_request(event)
    anchor = read_endpoint_anchor(sagemaker, endpoint) if request.needs_endpoint_anchor else None
    window, start = plan_window(request, settings, anchor)
    rows = query_on_duckdb(window, capture_root, label_root)
    return build_report(
        parse_rows(rows), window, variants, alpha=alpha, sampling_percentage=sampling_percentage, window_start=start
    )


def summary(report: Mapping[str, Any]) -> list[str]:
    """A few lines for the console: per variant counts and metrics, the verdicts, the input issues."""
    window = report["window"]
    start = window["start"]
    lines = [
        f"window {window['capture_start_hour']} to {window['capture_end_hour']} (start: {start['start']}"
        + (f", anchor {start['anchor_hour']} from {start['anchor_source']}" if start["anchor_hour"] else "")
        + ")"
    ]
    for name, section in report["variants"].items():
        metrics = section.get("metrics") or {}
        coverage = section.get("label_coverage")
        lines.append(
            f"{name}: {section['captured']} captured, {section['labelled']} labelled"
            + (f" (coverage {coverage:.2f})" if coverage is not None else "")
            + (
                f"; accuracy {metrics['accuracy']:.3f}, F1 {metrics['f1']:.3f}, ROC AUC {metrics['roc_auc']:.3f}"
                if metrics.get("roc_auc") is not None
                else ""
            )
        )
    for comparison in report["comparisons"]:
        verdict = comparison["verdict"]
        lines.append(
            f"{comparison['variant_b']} vs {comparison['variant_a']}: {verdict['winner'] or comparison['status']}"
            f" ({verdict['reason'][:100]}...)"
        )
    unsampled = report["labels_not_captured"]
    if unsampled["labels"]:
        lines.append(
            f"labels for requests not captured: {unsampled['count']} of {unsampled['labels']} "
            f"({unsampled['share']:.0%}; about {unsampled['expected_share']:.0%} expected at "
            f"{unsampled['sampling_percentage']:g} % sampling"
            + ("; MORE than sampling explains)" if unsampled["more_than_sampling_explains"] else ")")
        )
    issues = report["issues"]
    lines.append("input issues: " + (", ".join(f"{name} {issue['count']}" for name, issue in issues.items()) or "none"))
    return lines
