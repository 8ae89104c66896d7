"""The weights custom resource through a guarded deployment (the endpoint's DeploymentConfig).

moto ignores DeploymentConfig: its DescribeEndpoint never shows ``PendingDeploymentSummary`` or
``LastDeploymentConfig``, its endpoints are InService at once, and it has no UpdateEndpoint. So the
DescribeEndpoint answers SageMaker gives during and after a canary are played here with botocore's
Stubber, which checks every canned response against the real SageMaker model (an answer with a
field the API does not have, or a wrong type, fails the test before the handler sees it), and
which fails on any call not queued: a test that queues no UpdateEndpointWeightsAndCapacities proves
none was made. The last test runs against moto, to show what local mode can show.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from endpoint_weights.endpoint import BUSY_STATUSES, ConfigurationRolledBack, describe
from tests.lambdas.conftest import ENDPOINT, REGION, create_endpoint, expect_describe, live_weights
from tests.lambdas.test_weights_provider import cfn_event, run_to_completion
from weights_provider import handler
from weights_provider.handler import is_complete, on_event

OLD_CONFIG = "AbEndpointConfig-OldFleet01"
NEW_CONFIG = "AbEndpointConfig-NewFleet02"
WHEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CANARY = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "WaitIntervalInSeconds": 600,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        }
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "AbTest-churn-ab-DeploymentAlarmsErrorRateVariant1"}]},
}


def variant(name: str, weight: float) -> dict[str, Any]:
    return {
        "VariantName": name,
        "CurrentWeight": weight,
        "DesiredWeight": weight,
        "CurrentInstanceCount": 2,
        "DesiredInstanceCount": 2,
    }


def described(
    status: str, config: str, weights: dict[str, float], *, pending: str | None = None, stage: str = "Baking"
) -> dict[str, Any]:
    """DescribeEndpoint's answer (DescribeEndpointOutput), as the API reference shapes it."""
    answer: dict[str, Any] = {
        "EndpointName": ENDPOINT,
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{ENDPOINT}",
        "EndpointConfigName": config,
        "ProductionVariants": [variant(n, w) for n, w in weights.items()],
        "EndpointStatus": status,
        "CreationTime": WHEN,
        "LastModifiedTime": WHEN,
        "LastDeploymentConfig": CANARY,
    }
    if pending:
        answer["PendingDeploymentSummary"] = {
            "EndpointConfigName": pending,
            "StartTime": WHEN,
            "ProductionVariants": [
                {
                    "VariantName": name,
                    "DesiredWeight": weight,
                    "DesiredInstanceCount": 2,
                    "InstanceType": "ml.m5.xlarge",
                    "VariantStatus": [{"Status": stage, "StatusMessage": f"{stage} the new fleet", "StartTime": WHEN}],
                }
                for name, weight in weights.items()
            ],
        }
    return answer


ARN = f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{ENDPOINT}"
# When the handlers see the outcome (weights_provider.handler._now, fixed by the fixture below).
SEEN = datetime(2026, 3, 2, 10, 41, 7, tzinfo=UTC)


@pytest.fixture(autouse=True)
def seen_at(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "_now", lambda: SEEN)


def expect_marker(stubber: Stubber, config: str) -> None:
    """AddTags with the serving-since marker: ``config`` serves alone since the handler saw it."""
    tags = [{"Key": "abtest:serving-since", "Value": f"{config}@2026-03-02T10:41:07Z"}]
    stubber.add_response("add_tags", {"Tags": tags}, {"ResourceArn": ARN, "Tags": tags})


def expect_update(stubber: Stubber, weights: dict[str, float]) -> None:
    stubber.add_response(
        "update_endpoint_weights_and_capacities",
        {"EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{ENDPOINT}"},
        {
            "EndpointName": ENDPOINT,
            "DesiredWeightsAndCapacities": [{"VariantName": n, "DesiredWeight": w} for n, w in sorted(weights.items())],
        },
    )


LIVE = {"Variant1": 50.0, "Variant2": 50.0}
DECLARED = {"Variant1": "25", "Variant2": "75"}


def test_a_pending_deployment_is_read_from_describe_endpoint(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described("Updating", OLD_CONFIG, LIVE, pending=NEW_CONFIG, stage="ActivatingTraffic"))
    state = describe(client, ENDPOINT)
    assert state is not None
    assert (state.config_name, state.pending_config_name) == (OLD_CONFIG, NEW_CONFIG)
    assert state.pending_statuses == {"Variant1": ("ActivatingTraffic",), "Variant2": ("ActivatingTraffic",)}
    assert state.last_deployment == "BlueGreenUpdatePolicy CANARY"
    assert state.busy and not state.ready


def test_while_the_canary_bakes_the_resource_waits_and_changes_nothing(stubbed, caplog):
    client, stubber = stubbed
    event = cfn_event("Update", DECLARED, old_weights={"Variant1": "50", "Variant2": "50"}, config_name=NEW_CONFIG)
    expect_describe(stubber, described("Updating", OLD_CONFIG, LIVE, pending=NEW_CONFIG))
    expect_describe(stubber, described("Updating", OLD_CONFIG, LIVE, pending=NEW_CONFIG))
    with caplog.at_level(logging.INFO):
        on_event(event, None, client=client)
        assert is_complete(event, None, client=client) == {"IsComplete": False}
    waits = [r for r in caplog.records if r.getMessage() == "endpoint busy, waiting"]
    assert len(waits) == 2
    assert waits[-1].pending_config == NEW_CONFIG  # type: ignore[attr-defined]
    assert waits[-1].pending_variants == {"Variant1": ["Baking"], "Variant2": ["Baking"]}  # type: ignore[attr-defined]


def test_a_pending_deployment_is_waited_for_even_if_the_status_said_in_service(stubbed):
    """The field's documentation ties it to Creating/Updating; should InService ever come with it, the
    weights would land on a fleet about to be replaced: wait."""
    client, stubber = stubbed
    assert "InService" not in BUSY_STATUSES
    event = cfn_event("Update", DECLARED, config_name=NEW_CONFIG)
    expect_describe(stubber, described("InService", OLD_CONFIG, LIVE, pending=NEW_CONFIG))
    assert is_complete(event, None, client=client) == {"IsComplete": False}


def test_once_the_deployment_is_done_the_declared_weights_are_applied(stubbed):
    client, stubber = stubbed
    event = cfn_event("Update", DECLARED, config_name=NEW_CONFIG)
    expect_describe(stubber, described("Updating", OLD_CONFIG, LIVE, pending=NEW_CONFIG))
    expect_describe(stubber, described("InService", NEW_CONFIG, LIVE))
    expect_update(stubber, {"Variant1": 25.0, "Variant2": 75.0})
    expect_describe(stubber, described("Updating", NEW_CONFIG, LIVE))
    expect_describe(stubber, described("InService", NEW_CONFIG, {"Variant1": 25.0, "Variant2": 75.0}))
    expect_marker(stubber, NEW_CONFIG)  # the new config serves alone from now on
    on_event(event, None, client=client)
    assert is_complete(event, None, client=client) == {"IsComplete": False}, "applied, not yet confirmed"
    assert is_complete(event, None, client=client) == {"IsComplete": False}
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    with Stubber(cloudwatch) as metrics:
        metrics.add_response("put_metric_data", {})
        result = is_complete(event, None, client=client, cloudwatch=cloudwatch)
    assert result["IsComplete"] is True


def test_a_rolled_back_deployment_fails_the_resource_and_changes_no_weight(stubbed):
    """A rollback alarm fired: SageMaker moved all traffic back and the endpoint is InService on the old
    config. No UpdateEndpointWeightsAndCapacities is queued, so the Stubber fails on any such call."""
    client, stubber = stubbed
    event = cfn_event("Update", DECLARED, config_name=NEW_CONFIG)
    expect_describe(stubber, described("InService", OLD_CONFIG, LIVE))
    # The old config serves again, alone, from now on: the canary's captures fall before the marker.
    expect_marker(stubber, OLD_CONFIG)
    with pytest.raises(ConfigurationRolledBack) as refused:
        is_complete(event, None, client=client)
    message = str(refused.value)
    for part in (
        f"endpoint {ENDPOINT} serves endpoint config {OLD_CONFIG}, but the stack declares {NEW_CONFIG}",
        "last deployment: BlueGreenUpdatePolicy CANARY",
        "rolled the update back",
        "weights left unchanged",
    ):
        assert part in message
    assert "marker" not in message


def test_on_event_refuses_a_rolled_back_endpoint_before_any_change(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described("InService", OLD_CONFIG, LIVE))
    expect_marker(stubber, OLD_CONFIG)
    with pytest.raises(ConfigurationRolledBack):
        on_event(cfn_event("Update", DECLARED, config_name=NEW_CONFIG), None, client=client)


def test_a_rollback_whose_marker_cannot_be_written_says_what_that_means(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described("InService", OLD_CONFIG, LIVE))
    stubber.add_client_error("add_tags", service_error_code="AccessDeniedException", http_status_code=400)
    with pytest.raises(ConfigurationRolledBack) as refused:
        is_complete(cfn_event("Update", DECLARED, config_name=NEW_CONFIG), None, client=client)
    message = str(refused.value)
    assert "rolled the update back" in message
    assert f"The serving-since marker ({OLD_CONFIG}@2026-03-02T10:41:07Z) could not be written" in message
    assert "their window may include another fleet's captures" in message


def test_cloudformations_rollback_update_with_the_old_config_converges(stubbed):
    """After the failure CloudFormation sends the resource its old properties (the old config's name):
    the endpoint is on that config, so the old weights are put back."""
    client, stubber = stubbed
    event = cfn_event(
        "Update", {"Variant1": "50", "Variant2": "50"}, old_weights=DECLARED, config_name=OLD_CONFIG.upper()
    )
    expect_describe(stubber, described("InService", OLD_CONFIG, {"Variant1": 25.0, "Variant2": 75.0}))
    expect_update(stubber, {"Variant1": 50.0, "Variant2": 50.0})
    on_event(event, None, client=client)  # SageMaker names are case-insensitive: OLD_CONFIG.upper() matches


def test_delete_during_a_deployment_makes_no_call(stubbed):
    client, _ = stubbed
    event = cfn_event("Delete", DECLARED, config_name=NEW_CONFIG)
    assert on_event(event, None, client=client)["PhysicalResourceId"] == f"{ENDPOINT}/weights"
    assert is_complete(event, None, client=client) == {"IsComplete": True}


def test_local_mode_accepts_a_deployment_config_and_ignores_it(sagemaker):
    """What the emulator can show: moto takes CreateEndpoint with a canary DeploymentConfig, shows no
    deployment (no PendingDeploymentSummary, no LastDeploymentConfig), and the custom resource converges
    on the declared config as it would once a real deployment has finished."""
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1}, name="guarded", config_name="guarded-config")
    sagemaker.delete_endpoint(EndpointName="guarded")
    sagemaker.create_endpoint(EndpointName="guarded", EndpointConfigName="guarded-config", DeploymentConfig=CANARY)
    raw = sagemaker.describe_endpoint(EndpointName="guarded")
    assert "PendingDeploymentSummary" not in raw and "LastDeploymentConfig" not in raw
    event = cfn_event("Create", {"Variant1": "25", "Variant2": "75"}, endpoint="guarded", config_name="guarded-config")
    run_to_completion(event, sagemaker)
    assert live_weights(sagemaker, "guarded") == {"Variant1": 25.0, "Variant2": 75.0}


def test_set_weights_waits_out_a_pending_deployment_before_it_counts_the_endpoint_ready(stubbed, monkeypatch):
    from set_weights import handler as set_weights

    client, stubber = stubbed
    naps: list[float] = []
    monkeypatch.setattr(set_weights.time, "sleep", naps.append)
    expect_describe(stubber, described("InService", OLD_CONFIG, LIVE, pending=NEW_CONFIG))
    expect_describe(stubber, described("InService", NEW_CONFIG, LIVE))
    state = set_weights._wait_in_service(client, ENDPOINT, deadline=float("inf"))
    assert state.config_name == NEW_CONFIG
    assert naps == [set_weights.POLL_SECONDS]
