"""The security gate: cdk-nag finds nothing unacknowledged, cfn-lint passes, and the gate bites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from cfnlint.api import ManualArgs, lint

from app import build_app
from constructs_lib.config import load_config
from tests.conftest import ROOT, SHIPPED_CONFIGS
from tests.synth import synth_templates

CONFIGS = SHIPPED_CONFIGS
# W3005 ("dependency already enforced by GetAtt") is noise on every CDK template.
CFN_LINT = ManualArgs(regions=["us-east-1", "eu-west-1"], ignore_checks=["W3005"])


@pytest.fixture(scope="module", params=CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def templates(request: pytest.FixtureRequest) -> dict[str, dict]:
    """Every shipped config, synthesized with the cdk-nag packs on (synth raises on a finding)."""
    path: Path = request.param
    return {name: t.to_json() for name, t in synth_templates(json.loads(path.read_text()), str(path)).items()}


def test_cdk_nag_packs_pass_on_every_shipped_config(templates: dict[str, dict]):
    assert templates, "synth produced no stack"


def test_cfn_lint_passes_on_every_synthesized_template(templates: dict[str, dict]):
    for name, body in templates.items():
        matches = lint(json.dumps(body), config=CFN_LINT)
        assert not matches, f"{name}:\n" + "\n".join(str(m) for m in matches)


def test_the_gate_fails_synth_on_an_unacknowledged_finding():
    """Proves the packs run: an unencrypted, unlogged bucket must stop synth."""
    app = build_app(load_config(ROOT / "config" / "default.json"), App())
    careless = Stack(app, "Careless")
    s3.Bucket(careless, "Bucket")
    with pytest.raises(RuntimeError, match="ValidationFailed") as caught:
        app.synth()
    report = str(caught.value)
    for finding in (
        "AwsSolutions-S1",
        "HIPAA.Security-S3BucketLoggingEnabled",
        "NIST.800.53.R5-S3BucketLoggingEnabled",
    ):
        assert finding in report, finding
    assert "AbTest-churn-ab/" not in report, "the endpoint stack itself must stay clean"
