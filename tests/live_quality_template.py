"""The live-quality state machine's definition, read from a synthesized template (shared by its tests)."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template


def live_quality_definition(template: Template) -> dict[str, Any]:
    (machine,) = [
        r
        for lid, r in template.find_resources("AWS::StepFunctions::StateMachine").items()
        if lid.startswith("LiveQuality")
    ]
    text = machine["Properties"]["DefinitionString"]
    # Tokens (function ARNs, the partition) sit inside JSON strings; dropping them keeps the JSON valid.
    parts = text["Fn::Join"][1] if isinstance(text, dict) else [text]
    return json.loads("".join(p for p in parts if isinstance(p, str)))
