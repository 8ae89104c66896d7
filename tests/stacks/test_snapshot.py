"""One snapshot of the default app, asset hashes scrubbed.

A failing snapshot means the template changed: review the diff, then refresh it with
``UPDATE_SNAPSHOTS=1 make test``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import read_config
from tests.synth import synth_templates

SNAPSHOT = Path(__file__).parent / "__snapshots__" / "default_app.json"
ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def scrubbed(value: object) -> str:
    return ASSET_HASH.sub("<asset-hash>", json.dumps(value, indent=1, sort_keys=True)) + "\n"


def test_default_app_matches_snapshot():
    templates = synth_templates(read_config())
    actual = scrubbed({name: template.to_json() for name, template in sorted(templates.items())})
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(actual)
        pytest.skip(f"snapshot written to {SNAPSHOT}")
    assert SNAPSHOT.exists(), "no snapshot yet: run UPDATE_SNAPSHOTS=1 make test"
    assert actual == SNAPSHOT.read_text(), "template changed: review, then UPDATE_SNAPSHOTS=1 make test"


def test_synth_is_deterministic():
    first = scrubbed({n: t.to_json() for n, t in synth_templates(read_config(), fresh=True).items()})
    second = scrubbed({n: t.to_json() for n, t in synth_templates(read_config(), fresh=True).items()})
    assert first == second
