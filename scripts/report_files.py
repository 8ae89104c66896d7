"""Write one run's JSON and Markdown report under <report_dir>/<endpoint>/<UTC run time>/ (shared by the
live-quality and shadow-agreement commands, so both lay out and announce their reports the same way)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def write_run_reports(report_dir: Path, endpoint: str, stem: str, report: dict[str, Any], markdown: str) -> Path:
    """Writes <stem>.json and <stem>.md in a new folder named for this run, prints the Markdown and where
    both went, and returns the folder."""
    run = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = report_dir / endpoint / run
    base.mkdir(parents=True, exist_ok=True)
    (base / f"{stem}.json").write_text(json.dumps(report, indent=2))
    (base / f"{stem}.md").write_text(markdown)
    print(markdown)
    print(f"reports: {base / f'{stem}.json'}, {base / f'{stem}.md'}")
    return base
