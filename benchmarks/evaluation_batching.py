"""Requests and wall time to score 10,000 rows × 2 variants: batched vs one row per request.

Against ``scripts/stub_sagemaker_runtime.py`` (a real HTTP InvokeEndpoint server on 127.0.0.1)
through boto3's sagemaker-runtime client, the same code path the evaluation Lambda uses. The
"one-row loop" is the classic notebook's loop without its sleep: one request per row, one at a
time. Target: batched needs at most 1 % of the loop's requests and is at least 20× faster.

    python benchmarks/evaluation_batching.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

import boto3  # noqa: E402

from evaluate.scoring import RUNTIME_RETRY_CONFIG, score_variant  # noqa: E402
from scripts.generate_churn_data import generate  # noqa: E402
from scripts.stub_sagemaker_runtime import StubRuntime  # noqa: E402

ENDPOINT = "bench-ab"


def _score_all(rows: list[str], *, batch_size: int, concurrency: int) -> tuple[int, float]:
    with StubRuntime(ENDPOINT) as stub:
        runtime = boto3.client(
            "sagemaker-runtime",
            endpoint_url=stub.url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=RUNTIME_RETRY_CONFIG,
        )
        started = time.perf_counter()
        for variant in ("Variant1", "Variant2"):
            scored = score_variant(runtime, ENDPOINT, variant, rows, batch_size=batch_size, concurrency=concurrency)
            assert scored.complete, scored.errors
        elapsed = time.perf_counter() - started
        return sum(stub.requests.values()), elapsed


def measure(rows: int = 10_000) -> dict[str, float]:
    lines = [",".join(str(v) for v in features) for _, features in generate(rows, seed=1)]
    batched_requests, batched_s = _score_all(lines, batch_size=100, concurrency=4)
    loop_requests, loop_s = _score_all(lines, batch_size=1, concurrency=1)
    return {
        "rows": rows,
        "batched_requests": batched_requests,
        "batched_s": batched_s,
        "loop_requests": loop_requests,
        "loop_s": loop_s,
        "request_share": batched_requests / loop_requests,
        "speedup": loop_s / batched_s,
    }


def markdown(result: dict[str, float]) -> list[str]:
    return [
        f"## Evaluation: {int(result['rows']):,} rows × 2 variants",
        "",
        "Against the stub InvokeEndpoint server on 127.0.0.1 (`benchmarks/evaluation_batching.py`).",
        "",
        "| mode | requests | wall time (s) |",
        "|---|---:|---:|",
        f"| batched (100 rows per request, 4 at a time) | {int(result['batched_requests']):,} "
        f"| {result['batched_s']:.2f} |",
        f"| one row per request (the notebook loop) | {int(result['loop_requests']):,} | {result['loop_s']:.2f} |",
        "",
        f"Batched uses **{100 * result['request_share']:.2f} %** of the requests (target ≤ 1 %) and is "
        f"**{result['speedup']:.0f}×** faster (target ≥ 20×).",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    print("\n".join(markdown(measure(parser.parse_args().rows))))


if __name__ == "__main__":
    main()
