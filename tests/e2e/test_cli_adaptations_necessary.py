"""Each adaptation of `scripts/local_aws.py serve` is necessary: started without it (`--without
NAME`), the CDK CLI lifecycle breaks, or moto reports success while the endpoint is wrong.

Slow: each test runs `npx cdk bootstrap` and one or two deploys on its own server (20–70 s each;
about 260 s for the module on 2 cores). Its own module so that pytest-xdist's loadscope runs it
beside test_cli_lifecycle.py, not after it.

Not run here, too slow to show: without lambda_runtime moto tries Docker, the custom resource
never answers and the deploy waits CUSTOM_RESOURCE_TIMEOUT (300 s) before failing; without
cloudtrail_lookup the refused 0/0 deploy still fails, only ~30 s later, after the SDK's retries
on moto's 500 (a time, measured in docs/benchmarks.md, not asserted).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import local_lifecycle
from tests.e2e.test_shadow_stage import EXAMPLE as SHADOW_EXAMPLE
from tests.e2e.test_shadow_stage import STACK as SHADOW_STACK

pytestmark = pytest.mark.e2e


def _without(adaptation: str, steps: list[str]) -> tuple[dict[str, dict[str, Any]], Any]:
    """Run ``steps`` on a server without ``adaptation``; what they observed and every endpoint's
    weights (read directly: without some adaptations the stack has no EndpointName output)."""
    with local_lifecycle("e2e-without-", steps, without=[adaptation]) as (lifecycle, observed):
        sagemaker = lifecycle.client("sagemaker")
        weights = [
            {
                v["VariantName"]: v.get("CurrentWeight")
                for v in sagemaker.describe_endpoint(EndpointName=e["EndpointName"])["ProductionVariants"]
            }
            for e in sagemaker.list_endpoints()["Endpoints"]
        ]
    return observed, weights


def test_without_resource_types_the_first_deploy_fails_on_the_alarms():
    observed, _ = _without("resource_types", ["bootstrap", "deploy"])
    assert observed["deploy"]["returncode"] != 0
    assert "Fn::GetAtt references undefined resource Alarms" in observed["deploy"]["output"]


def test_without_change_sets_the_second_deploy_fails():
    observed, _ = _without("change_sets", ["bootstrap", "deploy", "weights_25_75"])
    assert observed["deploy"]["returncode"] == 0
    assert observed["weights_25_75"]["returncode"] != 0


def test_without_ssm_parameters_the_second_deploy_fails_on_the_bootstrap_version():
    observed, weights = _without("ssm_parameters", ["bootstrap", "deploy", "weights_25_75"])
    assert observed["deploy"]["returncode"] == 0
    assert observed["weights_25_75"]["returncode"] != 0
    assert weights == [{"Variant1": 1.0, "Variant2": 1.0}]


def test_without_custom_resources_moto_reports_success_while_the_weights_stay_1_to_1():
    observed, weights = _without("custom_resources", ["bootstrap", "deploy", "weights_25_75"])
    assert observed["weights_25_75"]["returncode"] == 0
    assert observed["weights_25_75"]["stack_status"] == "UPDATE_COMPLETE"
    assert observed["deploy"]["endpoint"] is None, "moto computes no Outputs after ExecuteChangeSet"
    assert weights == [{"Variant1": 1.0, "Variant2": 1.0}]


def test_without_shadow_variants_a_shadow_stage_deploys_with_no_shadow_anywhere():
    """moto 5.2.5 drops ShadowProductionVariants from CreateEndpointConfig: the stack is created, the weights
    custom resource only logs the missing shadow (a warning, by design), and neither Describe call lists it."""
    deploy = ["deploy", SHADOW_STACK, "--require-approval", "never", "-c", f"config={SHADOW_EXAMPLE}"]
    with local_lifecycle("e2e-without-", ["bootstrap"], without=["shadow_variants"], stack=SHADOW_STACK) as (
        lifecycle,
        _,
    ):
        step = lifecycle.cdk(*deploy)
        config = lifecycle.client("sagemaker").describe_endpoint_config(EndpointConfigName=step["endpoint"]["config"])
    assert step["returncode"] == 0, step["output"][-2000:]
    assert step["stack_status"] == "CREATE_COMPLETE"
    assert step["endpoint"]["weights"] == {"Current": 1.0}
    assert "shadow" not in step["endpoint"]
    assert "ShadowProductionVariants" not in config
