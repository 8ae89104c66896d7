"""Synthesize the app the way app.py does, for template assertions."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment
from aws_cdk.assertions import Template

from app import build_app
from constructs_lib.config import parse_config

CDK_CONTEXT = json.loads((Path(__file__).resolve().parent.parent / "cdk.json").read_text())["context"]


# The fake account every pinned synth uses (what the CLI would put in CDK_DEFAULT_ACCOUNT).
FAKE_ACCOUNT = "210987654321"


@functools.lru_cache(maxsize=32)
def _synthesized(config_json: str, source: str, region: str | None) -> dict[str, dict[str, Any]]:
    env = Environment(account=FAKE_ACCOUNT, region=region) if region else None
    app = build_app(parse_config(json.loads(config_json), source), App(context=CDK_CONTEXT), env=env)
    return {stack.stack_name: stack.template for stack in app.synth().stacks}


def synth_templates(
    config_data: dict[str, Any], source: str = "test-config.json", *, region: str | None = None, fresh: bool = False
) -> dict[str, Template]:
    """Stack name → Template for ``config_data``, with cdk.json's feature flags and the cdk-nag
    gate on, exactly as ``cdk synth`` runs app.py.

    ``region`` pins the stacks to :data:`FAKE_ACCOUNT` in that region, as the CLI does when it finds
    credentials (default: environment-agnostic). Synthesis is deterministic, so one synth per config
    and region is shared by every test in the worker (the suite's main cost); ``fresh=True``
    synthesizes anew, for the determinism test.
    """
    key = json.dumps(config_data, sort_keys=True)
    if fresh:
        _synthesized.cache_clear()
    templates = _synthesized(key, source, region)
    return {name: Template.from_json(copy.deepcopy(body)) for name, body in templates.items()}


def only_template(config_data: dict[str, Any]) -> Template:
    templates = synth_templates(config_data)
    assert len(templates) == 1, templates.keys()
    return next(iter(templates.values()))
