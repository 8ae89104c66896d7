"""The plan's AWS layer: which endpoint config the endpoint serves, and when it was created (moto's SageMaker).

moto records an endpoint config's real creation time (``CreationTime``, milliseconds, as SageMaker
returns it; botocore gives it as an aware datetime), so these tests bracket it with the clock. What
moto cannot do is refuse a call for lack of permission: that case is driven with botocore's Stubber
and the error shape SageMaker answers with.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from endpoint_weights.endpoint import BUSY_STATUSES, RETRY_CONFIG
from endpoint_weights.serving_since import TAG_KEY
from live_quality.endpoint_anchor import (
    DEPLOYING_STATUSES,
    SAME_CONFIG_STATUSES,
    DeploymentInProgress,
    EndpointConfigNotGranted,
    EndpointNotReadable,
    read_endpoint_anchor,
)
from live_quality.window import SOURCE_ENDPOINT_CONFIG, SOURCE_SERVING_SINCE, anchor_hour_after
from tests.lambdas.conftest import ENDPOINT, REGION, create_endpoint
from tests.lambdas.test_weights_provider import cfn_event, run_to_completion
from weights_provider import handler as weights_handler


def test_the_anchor_is_the_served_configs_creation_as_moto_records_it(sagemaker: Any) -> None:
    before = datetime.now(UTC)
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    after = datetime.now(UTC)
    anchor = read_endpoint_anchor(sagemaker, ENDPOINT)
    assert anchor.endpoint_config_name == f"{ENDPOINT}-config"
    assert anchor.created.tzinfo == UTC
    # SageMaker's CreationTime has milliseconds: allow the truncation below ``before``.
    assert before - timedelta(milliseconds=1) <= anchor.created <= after
    assert anchor.hour in {anchor_hour_after(before - timedelta(milliseconds=1)), anchor_hour_after(after)}


def test_a_weight_change_keeps_the_anchor(sagemaker: Any) -> None:
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    first = read_endpoint_anchor(sagemaker, ENDPOINT)
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=ENDPOINT,
        DesiredWeightsAndCapacities=[
            {"VariantName": "Variant1", "DesiredWeight": 1},
            {"VariantName": "Variant2", "DesiredWeight": 3},
        ],
    )
    assert read_endpoint_anchor(sagemaker, ENDPOINT) == first


def test_a_missing_endpoint_is_named(sagemaker: Any) -> None:
    with pytest.raises(EndpointNotReadable, match=r"endpoint nope was not found \(DescribeEndpoint: Could not find"):
        read_endpoint_anchor(sagemaker, "nope")


def test_a_config_deleted_while_in_use_is_named_with_its_endpoint(sagemaker: Any) -> None:
    # SageMaker lets an endpoint config in use be deleted (the endpoint keeps serving); moto does too.
    create_endpoint(sagemaker, {"Variant1": 1})
    sagemaker.delete_endpoint_config(EndpointConfigName=f"{ENDPOINT}-config")
    with pytest.raises(
        EndpointNotReadable, match=rf"endpoint {ENDPOINT} serves endpoint config {ENDPOINT}-config, which cannot be"
    ):
        read_endpoint_anchor(sagemaker, ENDPOINT)


def described(status: str = "InService", pending: str | None = None) -> dict[str, Any]:
    """DescribeEndpoint's answer (DescribeEndpointOutput) on EndpointConfig-old, optionally mid-deployment."""
    answer: dict[str, Any] = {
        "EndpointName": ENDPOINT,
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{ENDPOINT}",
        "EndpointConfigName": "EndpointConfig-old",
        "EndpointStatus": status,
        "CreationTime": datetime(2026, 10, 1, tzinfo=UTC),
        "LastModifiedTime": datetime(2026, 11, 3, tzinfo=UTC),
    }
    if pending:
        answer["PendingDeploymentSummary"] = {"EndpointConfigName": pending}
    return answer


def _stubbed(answer: dict[str, Any] | None = None) -> tuple[Any, Stubber]:
    client = boto3.client("sagemaker", region_name=REGION, config=RETRY_CONFIG)
    stub = Stubber(client)
    stub.add_response("describe_endpoint", answer or described(), {"EndpointName": ENDPOINT})
    return client, stub


def _documented(shape: str, member: str | None = None) -> str:
    """botocore's documentation of a SageMaker shape (or one of its members), without HTML tags."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    found = model.shape_for(shape)
    text = found.members[member].documentation if member else found.documentation
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def _operation_documented(operation: str) -> str:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return " ".join(re.sub(r"<[^>]+>", " ", model.operation_model(operation).documentation).split())


def test_every_endpoint_status_botocore_knows_is_classified():
    """Statuses that end by themselves (BUSY_STATUSES, the weights resource waits on them) are split into a
    deployment (Creating) and busy-on-the-same-config; the rest are settled. Read against botocore's
    EndpointStatus enum, the service model's own list: a status SageMaker adds fails here until it is
    classified."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    statuses = set(model.shape_for("EndpointStatus").enum)
    assert not DEPLOYING_STATUSES & SAME_CONFIG_STATUSES
    assert DEPLOYING_STATUSES | SAME_CONFIG_STATUSES == BUSY_STATUSES
    assert statuses >= BUSY_STATUSES
    assert statuses - BUSY_STATUSES == {"InService", "OutOfService", "Deleting", "Failed", "UpdateRollbackFailed"}


def test_the_same_config_statuses_are_documented_as_changing_no_endpoint_config():
    """The documentation each classification rests on, as botocore's service model carries it: a reworded
    sentence fails here until the classification is read again."""
    status = _documented("DescribeEndpointOutput", "EndpointStatus")
    assert "Updating : UpdateEndpoint or UpdateEndpointWeightsAndCapacities is executing." in status
    assert "sets the endpoint status to Updating" in _operation_documented("UpdateEndpointWeightsAndCapacities")
    assert (
        "This transitional status only applies to an endpoint that has autoscaling enabled and is undergoing "
        "variant weight or capacity changes as part of an UpdateEndpointWeightsAndCapacities call"
    ) in status
    assert (
        "This maintenance operation does not change any customer-specified values such as VPC config, KMS "
        "encryption, model, instance type, or instance count."
    ) in status
    assert "Creating : CreateEndpoint is executing." in status
    assert (
        "This field is only returned when the endpoint is creating or updating with a new endpoint configuration."
        in _documented("DescribeEndpointOutput", "PendingDeploymentSummary")
    )


# DescribeEndpointConfig's answer for EndpointConfig-old.
_OLD_CONFIG = {
    "EndpointConfigName": "EndpointConfig-old",
    "EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint-config/endpointconfig-old",
    "ProductionVariants": [{"VariantName": "Variant1", "ModelName": "m"}],
    "CreationTime": datetime(2026, 10, 1, tzinfo=UTC),
}


def _config_and_tags(stub: Stubber) -> None:
    """DescribeEndpointConfig and ListTags as SageMaker answers them for EndpointConfig-old, without a marker."""
    stub.add_response(
        "describe_endpoint_config",
        _OLD_CONFIG,
        {"EndpointConfigName": "EndpointConfig-old"},
    )
    stub.add_response("list_tags", {"Tags": []})


@pytest.mark.parametrize("status", sorted(SAME_CONFIG_STATUSES))
def test_a_weight_capacity_or_maintenance_update_keeps_the_plan_going(status: str):
    """Updating without a PendingDeploymentSummary is UpdateEndpointWeightsAndCapacities (a rollout step,
    autoscaling): the same config serves, so the window is read as usual, not skipped."""
    client, stub = _stubbed(described(status))
    _config_and_tags(stub)
    with stub:
        anchor = read_endpoint_anchor(client, ENDPOINT)
    stub.assert_no_pending_responses()
    assert anchor.endpoint_config_name == "EndpointConfig-old"
    assert anchor.created == datetime(2026, 10, 1, tzinfo=UTC)


def test_a_creating_endpoint_is_a_deployment_in_progress_and_nothing_else_is_read():
    client, stub = _stubbed(described("Creating"))  # no DescribeEndpointConfig or ListTags queued: none is made
    with stub, pytest.raises(DeploymentInProgress, match=rf"endpoint {ENDPOINT} is Creating \(serving endpoint"):
        read_endpoint_anchor(client, ENDPOINT)
    stub.assert_no_pending_responses()


@pytest.mark.parametrize("status", sorted({*BUSY_STATUSES, "InService"}))
def test_a_pending_deployment_names_the_config_it_moves_to_whatever_the_status(status: str):
    """PendingDeploymentSummary is documented for Creating/Updating; should it come with another status,
    two fleets may still serve: no window yet, and nothing else is read."""
    client, stub = _stubbed(described(status, pending="EndpointConfig-new"))
    with (
        stub,
        pytest.raises(
            DeploymentInProgress,
            match=rf"is {status} \(serving endpoint config EndpointConfig-old, moving to endpoint config ",
        ),
    ):
        read_endpoint_anchor(client, ENDPOINT)
    stub.assert_no_pending_responses()


def test_a_config_the_function_may_not_describe_says_the_endpoint_serves_another_config() -> None:
    """The plan function may describe only the config its stack deployed. The endpoint may still name the
    old one, InService, for the moments between the grant's update and UpdateEndpoint, after a rollback,
    while IAM propagates (or after a change outside the stack). moto enforces no IAM: the refusal is stubbed."""
    client, stub = _stubbed()
    stub.add_client_error(
        "describe_endpoint_config",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: sagemaker:DescribeEndpointConfig",
        http_status_code=400,
        expected_params={"EndpointConfigName": "EndpointConfig-old"},
    )
    with stub, pytest.raises(EndpointConfigNotGranted, match="serves endpoint config EndpointConfig-old, which this"):
        read_endpoint_anchor(client, ENDPOINT)
    # Its own name, which the state machine retries on (constructs_lib/live_quality.ENDPOINT_CONFIG_NOT_GRANTED);
    # still an EndpointNotReadable for Python callers.
    assert issubclass(EndpointConfigNotGranted, EndpointNotReadable)


def test_other_errors_propagate_unchanged() -> None:
    client, stub = _stubbed()
    stub.add_client_error("describe_endpoint_config", service_error_code="InternalFailure", http_status_code=500)
    with stub, pytest.raises(ClientError, match="InternalFailure"):
        read_endpoint_anchor(client, ENDPOINT)


def test_a_marker_that_cannot_be_read_fails_the_plan() -> None:
    """Falling back to the config's creation could let a failed canary's captures in: fail instead."""
    client, stub = _stubbed()
    stub.add_response(
        "describe_endpoint_config",
        _OLD_CONFIG,
    )
    stub.add_client_error("list_tags", service_error_code="AccessDeniedException", http_status_code=400)
    with stub, pytest.raises(ClientError, match="AccessDenied"):
        read_endpoint_anchor(client, ENDPOINT)


# --- the serving-since marker, as the weights custom resource writes it (moto) ---------------------------


def test_after_the_weights_resource_completes_the_window_starts_at_its_marker(
    sagemaker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    # The fleet serves minutes after the config exists (moto: at once); the resource completes then.
    done = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=25)
    monkeypatch.setattr(weights_handler, "_now", lambda: done)
    run_to_completion(cfn_event("Create", {"Variant1": "1", "Variant2": "3"}), sagemaker)
    anchor = read_endpoint_anchor(sagemaker, ENDPOINT)
    assert anchor.serving_since == done
    assert anchor.source == SOURCE_SERVING_SINCE and anchor.note is None
    assert anchor.hour == anchor_hour_after(done)


def test_without_a_marker_the_anchor_is_the_creation_and_says_why(sagemaker: Any) -> None:
    create_endpoint(sagemaker, {"Variant1": 1})
    anchor = read_endpoint_anchor(sagemaker, ENDPOINT)
    assert anchor.source == SOURCE_ENDPOINT_CONFIG and anchor.serving_since is None
    assert anchor.note == (
        f"the endpoint has no {TAG_KEY} tag, so the window starts at the creation of endpoint config {ENDPOINT}-config"
    )


def test_a_tag_this_project_did_not_write_is_not_a_marker(sagemaker: Any) -> None:
    create_endpoint(sagemaker, {"Variant1": 1})
    arn = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": TAG_KEY, "Value": "yesterday"}])
    anchor = read_endpoint_anchor(sagemaker, ENDPOINT)
    assert anchor.source == SOURCE_ENDPOINT_CONFIG
    assert anchor.note is not None and anchor.note.startswith(f"its {TAG_KEY} tag 'yesterday' is not <config>@")
