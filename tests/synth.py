"""Synthesize the app the way app.py does, for template assertions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template

from app import build_app
from constructs_lib.config import parse_config

CDK_CONTEXT = json.loads((Path(__file__).resolve().parent.parent / "cdk.json").read_text())["context"]


def synth_templates(config_data: dict[str, Any], source: str = "test-config.json") -> dict[str, Template]:
    """Stack name → Template for ``config_data``, with cdk.json's feature flags and the cdk-nag
    gate on, exactly as ``cdk synth`` runs app.py."""
    app = build_app(parse_config(config_data, source), App(context=CDK_CONTEXT))
    assembly = app.synth()
    return {stack.stack_name: Template.from_json(stack.template) for stack in assembly.stacks}


def only_template(config_data: dict[str, Any]) -> Template:
    templates = synth_templates(config_data)
    assert len(templates) == 1, templates.keys()
    return next(iter(templates.values()))
