"""Capture and ground-truth folders in SageMaker's exact formats, for the live-quality tests."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from live_quality.formats import (
    CapturedRequest,
    capture_key,
    capture_record,
    ground_truth_key,
    ground_truth_record,
    hour_of,
    json_line,
)

ENDPOINT = "churn-ab"
START = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Request:
    variant: str
    inference_id: str
    score: float
    label: int | None  # None: never labelled
    inference_time: datetime
    label_time: datetime | None
    encoding: str = "CSV"


def random_requests(
    seed: int,
    per_variant: dict[str, int],
    *,
    days: int = 3,
    label_share: float = 0.8,
    tie_scores: bool = True,
) -> list[Request]:
    """Requests spread over ``days`` days, scores often tied (rounded), labels arriving 1-72 hours later."""
    rng = random.Random(seed)
    out = []
    for variant, count in per_variant.items():
        skill = 1.5 if variant.endswith("1") else 1.0
        for i in range(count):
            label = int(rng.random() < 0.35)
            raw = rng.gauss(skill * (label - 0.5), 1.0)
            score = 1 / (1 + pow(2.718281828, -raw))
            if tie_scores and rng.random() < 0.5:
                score = round(score, 1)
            when = START + timedelta(seconds=rng.randrange(days * 86400))
            labelled = rng.random() < label_share
            out.append(
                Request(
                    variant=variant,
                    inference_id=f"{variant}-{i:06d}",
                    score=score,
                    label=label if labelled else None,
                    inference_time=when,
                    label_time=when + timedelta(hours=rng.randint(1, 72)) if labelled else None,
                    encoding=rng.choice(["CSV", "CSV", "BASE64"]),
                )
            )
    return out


def write_capture(root: Path, requests: list[Request], *, endpoint: str = ENDPOINT) -> dict[Path, list[Request]]:
    """One capture file per variant and hour, lines in request order; returns what went where."""
    files: dict[Path, list[Request]] = defaultdict(list)
    for r in requests:
        path = root / capture_key("", endpoint, r.variant, hour_of(r.inference_time), "capture-000.jsonl")
        files[path].append(r)
    for path, rows in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            for r in rows:
                record = capture_record(
                    CapturedRequest(
                        event_id=f"evt-{r.inference_id}",
                        inference_time=r.inference_time,
                        input_csv="42,0,153.7,109",
                        score=r.score,
                        inference_id=r.inference_id,
                        output_encoding=r.encoding,
                    )
                )
                handle.write(json_line(record))
    return files


def write_labels(root: Path, requests: list[Request]) -> None:
    """Each labelled request's label in the file of the hour it was collected."""
    files: dict[Path, list[Request]] = defaultdict(list)
    for r in requests:
        if r.label is not None and r.label_time is not None:
            files[root / ground_truth_key("", hour_of(r.label_time), "labels.jsonl")].append(r)
    for path, rows in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            for r in rows:
                handle.write(json_line(ground_truth_record(r.inference_id, str(r.label))))


def append_lines(path: Path, *lines: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        for line in lines:
            handle.write(line + "\n")
