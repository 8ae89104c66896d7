"""Wall time of the CDK CLI lifecycle in local mode: each `npx cdk` command of `make local-demo`.

Runs scripts/local_cli_demo.py's lifecycle (bootstrap, deploy, 25/75, refused 0/0, config change,
destroy) against `scripts/local_aws.py serve`, ``--runs`` times, each on a fresh server, and
prints the median seconds per command as a Markdown table. ``--without NAME`` leaves one of the
server's adaptations out (e.g. ``cloudtrail_lookup``, to see what it saves). Nothing is asserted.

    python benchmarks/cli_lifecycle.py [--runs 3] [--without cloudtrail_lookup]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.local_cli_demo import CliLifecycle, local_server  # noqa: E402


def measure(runs: int, without: list[str]) -> tuple[dict[str, list[float]], list[float]]:
    """Seconds per command and per whole lifecycle (server start and stop included), per run."""
    per_command: dict[str, list[float]] = {}
    totals: list[float] = []
    for _ in range(runs):
        started = time.monotonic()
        with (
            tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp,
            local_server(Path(tmp) / "server.log", without=without) as url,
        ):
            observed = CliLifecycle(url, Path(tmp), say=lambda _: None).run()
        totals.append(time.monotonic() - started)
        for name, step in observed.items():
            per_command.setdefault(name, []).append(step["seconds"])
    return per_command, totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="default: 3")
    parser.add_argument("--without", action="append", default=[], help="an adaptation to leave out")
    arguments = parser.parse_args()
    per_command, totals = measure(arguments.runs, arguments.without)
    print("| command | median s | runs |\n|---|---:|---:|")
    for name, seconds in per_command.items():
        print(f"| {name} | {statistics.median(seconds):.1f} | {len(seconds)} |")
    print(f"| **whole lifecycle** | **{statistics.median(totals):.1f}** | {len(totals)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
