"""Facts the config loader cannot see, checked during synth: the synth fails with the reason and writes
no template (``node.add_validation`` runs before the assembly is written)."""

from __future__ import annotations

import re

import pytest
from aws_cdk import App, CfnParameter, Environment, Stack
from aws_cdk import aws_sqs as sqs

from app import build_app
from constructs_lib.config import parse_config
from constructs_lib.synth_checks import require_unique_logical_ids
from tests.conftest import read_config
from tests.synth import CDK_CONTEXT, FAKE_ACCOUNT


def test_a_parameter_whose_overridden_id_equals_a_resources_is_refused():
    """CloudFormation needs logical IDs unique across the template's sections ("Template anatomy");
    CDK does not check IDs set with override_logical_id."""
    stack = Stack(App(), "S")
    require_unique_logical_ids(stack)
    queue = sqs.Queue(stack, "Queue")
    parameter = CfnParameter(stack, "P", type="Number")
    parameter.override_logical_id(stack.get_logical_id(queue.node.default_child))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match=r"logical ID Queue\w+ is used by S/Queue/Resource and S/P"):
        stack.node.root.synth()  # type: ignore[attr-defined]


def test_a_variant_whose_weight_parameter_shadows_a_resource_fails_synth():
    data = read_config()
    (endpoint,) = data["endpoints"]
    # "Weight" + this name is the logical ID of the weights custom resource's on_event function.
    endpoint["variants"].append(dict(endpoint["variants"][0], name="sOnEventFunction618691F0", initial_weight=0))
    app = build_app(parse_config(data, "collide.json"), App(context=CDK_CONTEXT))
    with pytest.raises(RuntimeError, match="logical ID WeightsOnEventFunction618691F0 is used by"):
        app.synth()


def test_a_region_missing_from_the_builtin_image_table_fails_a_pinned_synth():
    """Built-in images resolve through Fn::FindInMap keyed by region; a pinned region the table lacks
    would fail only at deploy time."""
    app = build_app(
        parse_config(read_config(), "default.json"),
        App(context=CDK_CONTEXT),
        env=Environment(account=FAKE_ACCOUNT, region="ap-southeast-7"),
    )
    with pytest.raises(
        RuntimeError, match=re.escape("built-in xgboost images are not listed for region ap-southeast-7")
    ):
        app.synth()
