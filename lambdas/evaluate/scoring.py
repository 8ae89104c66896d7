"""Send a test set through one variant of a live endpoint, many rows per request.

Each request carries up to ``batch_size`` CSV rows (the built-in XGBoost container scores a
multi-line body in one call) and is pinned to the variant with ``TargetVariant``. Requests run
``concurrency`` at a time. Throttling and 5XX answers are retried with backoff by botocore
(``standard`` retry mode); a request that still fails is counted, not fatal. Nothing new is
started once the time budget is spent, and the result says how far it got.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# Invocations are data-plane calls: retry throttling and 5XX a few times, with backoff.
RUNTIME_RETRY_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 4}, connect_timeout=5, read_timeout=60, max_pool_connections=32
)


@dataclass
class VariantScores:
    """Scores of one variant, aligned with the rows sent (``None`` where a request failed or never ran)."""

    variant: str
    scores: list[float | None]
    requests: int = 0
    failed_requests: int = 0
    skipped_requests: int = 0  # not started: the time budget ran out
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the first few, for the report

    @property
    def rows_scored(self) -> int:
        return sum(score is not None for score in self.scores)

    @property
    def complete(self) -> bool:
        return self.rows_scored == len(self.scores)

    @property
    def failure_rate(self) -> float:
        attempted = self.requests
        return self.failed_requests / attempted if attempted else 0.0


def parse_scores(body: str, expected: int) -> list[float]:
    """Scores from a CSV or JSON response: XGBoost answers ``0.1,0.2`` or one score per line."""
    text = body.strip()
    if text.startswith(("[", "{")):
        parsed = json.loads(text)
        values = parsed.get("predictions", parsed) if isinstance(parsed, dict) else parsed
        scores = [float(v["score"] if isinstance(v, dict) else v) for v in values]
    else:
        scores = [float(cell) for cell in text.replace("\n", ",").split(",") if cell.strip()]
    if len(scores) != expected:
        raise ValueError(f"response has {len(scores)} scores for {expected} rows")
    return scores


def _batches(count: int, size: int) -> list[range]:
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


def score_variant(
    runtime: Any,
    endpoint_name: str,
    variant: str,
    rows: Sequence[str],
    *,
    content_type: str = "text/csv",
    batch_size: int = 100,
    concurrency: int = 4,
    deadline: float | None = None,
) -> VariantScores:
    """Score ``rows`` (CSV feature lines) on ``variant``; see :class:`VariantScores`.

    :param deadline: ``time.monotonic()`` value after which no new request starts; default none.
    """
    result = VariantScores(variant=variant, scores=[None] * len(rows))
    lock = threading.Lock()  # the counters are shared by the worker threads

    def send(batch: range) -> None:
        if deadline is not None and time.monotonic() >= deadline:
            with lock:
                result.skipped_requests += 1
            return
        body = "\n".join(rows[i] for i in batch)
        started = time.perf_counter()
        try:
            response = runtime.invoke_endpoint(
                EndpointName=endpoint_name, TargetVariant=variant, ContentType=content_type, Body=body.encode()
            )
            scores = parse_scores(response["Body"].read().decode(), len(batch))
        except (ClientError, BotoCoreError, ValueError) as err:
            with lock:
                result.requests += 1
                result.failed_requests += 1
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                if len(result.errors) < 5:
                    result.errors.append(f"rows {batch.start + 1}-{batch.stop}: {err}")
            return
        with lock:
            result.requests += 1
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            for index, score in zip(batch, scores, strict=True):
                result.scores[index] = score

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(send, _batches(len(rows), batch_size)))
    return result
