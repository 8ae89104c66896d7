"""Facts the config loader cannot see, checked during synth: the synth fails with the reason and writes
no template (``node.add_validation`` runs before the assembly is written)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk import App, Environment

from app import build_app, main
from constructs_lib.config import parse_config
from tests.conftest import read_config
from tests.synth import CDK_CONTEXT, FAKE_ACCOUNT


def test_a_variant_whose_weight_parameter_shadows_a_resource_fails_the_app(tmp_path: Path, capsys):
    """CloudFormation needs logical IDs unique across the template's sections; CDK does not check IDs
    set with override_logical_id (the weight parameters' documented names), but its CloudFormation
    rules do, as errors with ``@aws-cdk/core:validateAgainstDefaultRules``."""
    data = read_config()
    (endpoint,) = data["endpoints"]
    # "Weight" + this name is the logical ID of the weights custom resource's on_event function.
    endpoint["variants"].append(dict(endpoint["variants"][0], name="sOnEventFunction618691F0", initial_weight=0))
    config = tmp_path / "collide.json"
    config.write_text(json.dumps(data))
    outdir = tmp_path / "out"
    # Without cdk.json's context, as `python app.py` runs: build_app turns the rules on itself.
    assert main(App(outdir=str(outdir), context={"config": str(config)})) == 1
    assert (
        "'WeightsOnEventFunction618691F0' is used as both a parameter and resource logical ID"
        in capsys.readouterr().err
    )
    assert not list(outdir.glob("*.template.json"))


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
