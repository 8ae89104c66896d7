"""Shared test helpers: offline CDK settings, config builders, one synth per module."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from scripts.weights_file import DEFAULT_WEIGHTS_FILE

# Offline and quiet, whatever the caller's shell says.
os.environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
os.environ["CDK_DISABLE_CLI_TELEMETRY"] = "true"
for _var in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION"):
    os.environ.pop(_var, None)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config" / "default.json"
FULL_CONFIG = ROOT / "config" / "examples" / "full.json"
SHADOW_CONFIG = ROOT / "config" / "examples" / "shadow.json"
# Not app configs, though under config/ (users edit them beside the configs): the pipeline's weights per
# environment (scripts/weights_file.py) and the configs' JSON Schema (the file their "$schema" names).
CONFIG_SCHEMA = ROOT / "config" / "schema.json"
SHIPPED_CONFIGS = sorted(p for p in (ROOT / "config").rglob("*.json") if p not in (DEFAULT_WEIGHTS_FILE, CONFIG_SCHEMA))


def read_config(path: Path = DEFAULT_CONFIG) -> dict[str, Any]:
    """A fresh, mutable copy of a config file's JSON."""
    return copy.deepcopy(json.loads(path.read_text()))


@pytest.fixture
def default_config_data() -> dict[str, Any]:
    return read_config(DEFAULT_CONFIG)
