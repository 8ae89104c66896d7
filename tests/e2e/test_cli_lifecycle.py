"""The lifecycle a platform team runs, as the real CDK CLI commands (`npx cdk bootstrap`, `deploy`,
`deploy --parameters`, a config change, `destroy`) against `scripts/local_aws.py serve` on
127.0.0.1: the same steps `make local-demo` prints, with assertions on DescribeEndpoint and on
what CloudFormation recorded for the weights custom resource.

Slow by nature: one lifecycle is six CLI commands of 8–20 s each (about 65–75 s on 2 cores).
Every CLI command is a subprocess that talks only to the loopback server. What breaks without
each of the server's adaptations: test_cli_adaptations_necessary.py.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.local_cli_demo import STACK
from tests.e2e.conftest import local_lifecycle

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run() -> Iterator[dict[str, Any]]:
    with local_lifecycle("e2e-cli-") as (lifecycle, observed):
        observed["url"] = lifecycle.url
        observed["manifest"] = json.loads((lifecycle.workdir / "cdk.out" / "manifest.json").read_text())
    yield observed  # the server has stopped


def test_bootstrap_succeeds(run):
    assert run["bootstrap"]["returncode"] == 0, run["bootstrap"]["output"][-2000:]
    assert "Environment aws://123456789012/us-east-1 bootstrapped" in run["bootstrap"]["output"]


def test_the_cli_pinned_account_and_region_from_the_fake_credentials(run):
    """With credentials in the environment the CLI sets CDK_DEFAULT_ACCOUNT/REGION, so the app
    synthesizes for a concrete environment, as it does against a real account."""
    assert run["manifest"]["artifacts"][STACK]["environment"] == "aws://123456789012/us-east-1"


def test_deploy_creates_the_endpoint_at_1_to_1_through_the_custom_resource(run):
    step = run["deploy"]
    assert step["returncode"] == 0, step["output"][-2000:]
    assert step["stack_status"] == "CREATE_COMPLETE"
    assert step["endpoint"]["weights"] == {"Variant1": 1.0, "Variant2": 1.0}
    assert step["custom_resource"] == ["CREATE_COMPLETE"]


def test_weight_parameters_reach_the_endpoint_in_place(run):
    step = run["weights_25_75"]
    assert step["returncode"] == 0, step["output"][-2000:]
    assert step["stack_status"] == "UPDATE_COMPLETE"
    assert step["custom_resource"] == ["UPDATE_COMPLETE"]
    assert step["endpoint"]["weights"] == {"Variant1": 25.0, "Variant2": 75.0}
    assert step["endpoint"]["config"] == run["deploy"]["endpoint"]["config"], "a weight change rebuilt the fleet"


def test_all_zero_weights_are_refused_and_the_endpoint_is_unchanged(run):
    step = run["weights_0_0"]
    assert step["returncode"] != 0
    assert "all weights would be 0" in step["output"]
    assert step["stack_status"] == "UPDATE_ROLLBACK_COMPLETE"
    assert step["custom_resource"][0].startswith("UPDATE_FAILED all weights would be 0")
    assert step["endpoint"] == run["weights_25_75"]["endpoint"]


def test_removing_variant1_moves_the_endpoint_to_the_new_config_with_the_declared_weight(run):
    step = run["retire_variant1"]
    assert step["returncode"] == 0, step["output"][-2000:]
    assert step["stack_status"] == "UPDATE_COMPLETE"
    assert step["endpoint"]["config"] != run["weights_25_75"]["endpoint"]["config"]
    # The parameter kept its previous value (the CLI's --previous-parameters default): 75.
    assert step["endpoint"]["weights"] == {"Variant2": 75.0}
    assert step["custom_resource"] == ["UPDATE_COMPLETE"]


def test_destroy_sends_the_custom_resource_delete_and_removes_the_endpoint(run):
    step = run["destroy"]
    assert step["returncode"] == 0, step["output"][-2000:]
    assert step["stack_status"] == "DELETE_COMPLETE"
    assert step["custom_resource"] == ["DELETE_COMPLETE"]
    assert step["endpoint"] is None


def test_the_server_is_stopped_afterwards(run):
    port = int(run["url"].rsplit(":", 1)[1])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
