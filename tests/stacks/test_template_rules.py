"""CDK's CloudFormation template rules as the app registers them (stacks/template_rules.py): all of
CDK's default rules, as errors, also when CDK's own registration is switched off."""

from __future__ import annotations

import pytest
from aws_cdk import App, CfnResource, Stack

from app import build_app
from constructs_lib.config import load_config
from tests.conftest import DEFAULT_CONFIG

INVERTED_PORT_RANGE = [{"FromPort": 2000, "ToPort": 1000, "IpRange": "10.0.0.0/8", "Protocol": "TCP"}]


def test_the_default_rules_fail_synth_also_with_cdks_own_validation_switched_off():
    """CDK's default Rego rule CDK-GameLift-001 refuses an inverted port range on a GameLift fleet. With
    ``builtin_cloud_formation_validation=False`` (what ``--no-validation`` and ``CDK_VALIDATION=false`` set)
    CDK registers no plugin; the app's own still runs, with the default rules, as an error."""
    app = build_app(load_config(DEFAULT_CONFIG), App(builtin_cloud_formation_validation=False))
    CfnResource(
        Stack(app, "GameLift"),
        "Fleet",
        type="AWS::GameLift::Fleet",
        properties={"Name": "fleet", "ComputeType": "ANYWHERE", "EC2InboundPermissions": INVERTED_PORT_RANGE},
    )
    with pytest.raises(RuntimeError, match="ValidationFailed") as refused:
        app.synth()
    assert "CDK-GameLift-001" in str(refused.value)
