"""What the live-quality publish step loads on a cold start: not the offline evaluation's paired tests.

publish_step is what ``live_quality.handler.publish`` imports on its first call; its import time is
measured against ``import boto3`` (benchmarks/run_all.py, docs/benchmarks.md, target 1.2x). The live
comparison needs one number of the paired tests (the fewest rows per class for DeLong), which lives
in ``evaluate.delong_minimum`` so the paired tests, ``statistics`` and ``random`` stay unloaded.
A fresh interpreter, as this process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def modules_loaded_by(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "lambdas"), "AWS_EC2_METADATA_DISABLED": "true"},
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout))


def test_the_publish_step_does_not_import_the_paired_tests():
    loaded = modules_loaded_by("live_quality.publish_step")
    assert "live_quality.comparison" in loaded  # the comparison itself is loaded ...
    assert "evaluate.delong_minimum" in loaded
    assert "evaluate.paired_tests" not in loaded  # ... without the offline paired tests


def test_the_live_minimum_is_the_paired_tests_minimum():
    from evaluate.delong_minimum import DELONG_MIN_PER_CLASS
    from evaluate.paired_tests import DELONG_MIN_PER_CLASS as paired_minimum
    from live_quality.comparison import MIN_LABELS_PER_CLASS

    assert MIN_LABELS_PER_CLASS == paired_minimum == DELONG_MIN_PER_CLASS
