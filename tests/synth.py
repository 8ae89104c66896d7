"""Synthesize the app the way app.py does, for template assertions."""

from __future__ import annotations

from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template

from app import build_app
from constructs_lib.config import parse_config


def synth_templates(config_data: dict[str, Any], source: str = "test-config.json") -> dict[str, Template]:
    """Stack name → Template for ``config_data``, with the cdk-nag gate on (as in app.py)."""
    app = build_app(parse_config(config_data, source), App())
    assembly = app.synth()
    return {stack.stack_name: Template.from_json(stack.template) for stack in assembly.stacks}


def only_template(config_data: dict[str, Any]) -> Template:
    templates = synth_templates(config_data)
    assert len(templates) == 1, templates.keys()
    return next(iter(templates.values()))
