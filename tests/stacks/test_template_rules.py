"""CDK's CloudFormation template rules as the app runs them: every rule but CDK's default Rego rules,
which concern only GameLift resources (stacks/template_rules.py says why they are left out)."""

from __future__ import annotations

import importlib
import re
import tarfile
from pathlib import Path

import pytest
from aws_cdk import App, CfnResource, Stack

from app import build_app
from constructs_lib.config import load_config
from tests.conftest import DEFAULT_CONFIG, FULL_CONFIG, SHADOW_CONFIG, read_config
from tests.synth import synth_templates

DEFAULT_RULES_DIR = "package/core/lib/validation/rules/"
LEFT_OUT_RESOURCE_PREFIX = "AWS::GameLift::"


def default_rego_rules() -> dict[str, str]:
    """The Rego rules aws-cdk-lib registers by default (file name → text), read from its jsii tarball."""
    jsii_dir = Path(importlib.import_module("aws_cdk._jsii").__file__ or "").parent
    tarball = next(jsii_dir.glob("aws-cdk-lib@*.jsii.tgz"))
    with tarfile.open(tarball) as archive:
        return {
            member.name.removeprefix(DEFAULT_RULES_DIR): archive.extractfile(member).read().decode()  # type: ignore[union-attr]
            for member in archive
            if member.name.startswith(DEFAULT_RULES_DIR) and member.name.endswith(".rego")
        }


def test_the_default_rules_left_out_concern_only_gamelift_resources():
    """Fails when a CDK upgrade ships a default rule for another resource type: decide then whether the
    app must run it (pass the rule to the plugin as ``rego_rules``)."""
    rules = default_rego_rules()
    assert rules, "aws-cdk-lib no longer ships default Rego rules where this test looks"
    for name, text in rules.items():
        types = set(re.findall(r'"(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)"', text))
        assert types, f"{name} names no resource type"
        assert all(t.startswith(LEFT_OUT_RESOURCE_PREFIX) for t in types), f"{name} checks {sorted(types)}"


@pytest.mark.parametrize("config", [DEFAULT_CONFIG, FULL_CONFIG, SHADOW_CONFIG], ids=lambda p: p.name)
def test_the_app_declares_no_resource_the_left_out_rules_check(config: Path):
    for name, template in synth_templates(read_config(config), str(config)).items():
        types = {resource["Type"] for resource in template.to_json()["Resources"].values()}
        assert not [t for t in types if t.startswith(LEFT_OUT_RESOURCE_PREFIX)], name


def test_the_app_runs_the_template_rules_without_the_default_rego_rules():
    """An inverted port range on a GameLift fleet is what CDK's default rule CDK-GameLift-001 refuses; the
    app's plugin does not load that rule. (CDK's own rules still fail synth: see test_synth_checks.py.)"""
    app = build_app(load_config(DEFAULT_CONFIG), App())
    CfnResource(
        Stack(app, "GameLift"),
        "Fleet",
        type="AWS::GameLift::Fleet",
        properties={
            "Name": "fleet",
            "ComputeType": "ANYWHERE",
            "EC2InboundPermissions": [{"FromPort": 2000, "ToPort": 1000, "IpRange": "10.0.0.0/8", "Protocol": "TCP"}],
        },
    )
    assembly = app.synth()
    assert "CDK-GameLift-001" not in Path(assembly.directory, "validation-report.json").read_text()
