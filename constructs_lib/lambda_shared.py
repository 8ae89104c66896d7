"""What synth shares with the Lambda code, read from ``lambdas/`` itself so that there is one copy.

No CDK import here: the config loader uses it too (it validates before any construct exists).
A shared module is loaded by path, so synth neither puts ``lambdas/`` on ``sys.path`` nor imports
the Lambda's other modules; the shared modules import only the standard library for that reason.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"
LIVE_QUALITY_TABLES = LAMBDAS_DIR / "live_quality" / "tables.py"
LIVE_QUALITY_THRESHOLD = LAMBDAS_DIR / "live_quality" / "threshold.py"
SERVING_SINCE = LAMBDAS_DIR / "endpoint_weights" / "serving_since.py"
SHADOW_SAMPLING = LAMBDAS_DIR / "endpoint_weights" / "shadow_sampling.py"


def _load_by_path(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first, as the importlib recipe "Importing a source file directly" does: a dataclass in
    # the module looks its module up in sys.modules while the class is made.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def live_quality_tables() -> ModuleType:
    """``lambdas/live_quality/tables.py``: the Glue table, column and partition names the query uses, and
    the longest window a run may read (``MAX_LOOKBACK_DAYS``)."""
    return _load_by_path(LIVE_QUALITY_TABLES, "live_quality_tables")


@functools.cache
def live_quality_threshold() -> ModuleType:
    """``lambdas/live_quality/threshold.py``: how the threshold is written into the query's text (the same
    function the Lambda and the embedded engine use)."""
    return _load_by_path(LIVE_QUALITY_THRESHOLD, "live_quality_threshold")


@functools.cache
def serving_since_tag_key() -> str:
    """``lambdas/endpoint_weights/serving_since.py``'s ``TAG_KEY``: the endpoint tag the weights custom
    resource writes and the live-quality plan reads, which the stack's IAM grants name."""
    key: str = _load_by_path(SERVING_SINCE, "endpoint_weights_serving_since").TAG_KEY
    return key


@functools.cache
def shadow_sampling() -> ModuleType:
    """``lambdas/endpoint_weights/shadow_sampling.py``: the shadow's weight from its sampling percentage
    (``shadow_weight``, hypothesis H1, UNVERIFIED), which synth writes into the endpoint config."""
    return _load_by_path(SHADOW_SAMPLING, "endpoint_weights_shadow_sampling")
