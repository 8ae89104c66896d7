"""The weight Lambdas on an endpoint with a shadow variant.

DescribeEndpoint lists the shadow apart, under ``ShadowProductionVariants`` (DescribeEndpoint API
reference). moto 5.2.5 drops shadow variants altogether (design Appendix A), so the answers are played
with botocore's Stubber, which checks each canned response against SageMaker's model and fails on any
call not queued: a test that queues no UpdateEndpointWeightsAndCapacities proves none was made.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import evaluate.cli as evaluate_cli
import evaluate.handler as evaluate_handler
import set_weights.handler as set_weights
from endpoint_weights.endpoint import ShadowWeightNotTaken, converge, describe, require_shadow_weights
from endpoint_weights.validation import InvalidRequest
from evaluate.aws_io import variant_lister
from evaluate.runner import InvalidEvaluation, LiveVariants
from tests.lambdas.conftest import ENDPOINT, REGION, LambdaContext, expect_describe
from tests.lambdas.test_weights_provider import cfn_event
from weights_provider.handler import is_complete, on_event

CONFIG = "AbEndpointConfig-Shadow01"
WHEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PRODUCTION_WEIGHT = 1.0  # constructs_lib.ab_endpoint.SHADOW_PRODUCTION_WEIGHT
SHADOW_WEIGHT = 0.2  # 20 % under hypothesis H1
CONFIG_SAMPLING = "20"  # the config's sampling_percentage (ConfigSampling), as CloudFormation sends it


def summary(name: str, weight: float) -> dict[str, Any]:
    """A ProductionVariantSummary: the shape of both lists."""
    return {
        "VariantName": name,
        "CurrentWeight": weight,
        "DesiredWeight": weight,
        "CurrentInstanceCount": 1,
        "DesiredInstanceCount": 1,
    }


def described(
    production_weight: float = PRODUCTION_WEIGHT, status: str = "InService", shadows: dict[str, float] | None = None
) -> dict[str, Any]:
    shadows = {"Candidate": SHADOW_WEIGHT} if shadows is None else shadows
    answer: dict[str, Any] = {
        "EndpointName": ENDPOINT,
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{ENDPOINT}",
        "EndpointConfigName": CONFIG,
        "ProductionVariants": [summary("Current", production_weight)],
        "ShadowProductionVariants": [summary(name, weight) for name, weight in shadows.items()],
        "EndpointStatus": status,
        "CreationTime": WHEN,
        "LastModifiedTime": WHEN,
    }
    if not shadows:
        del answer["ShadowProductionVariants"]  # DescribeEndpoint leaves the list out without a shadow
    return answer


def test_the_shadow_is_read_apart_from_the_production_variants(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described())
    state = describe(client, ENDPOINT)
    assert state is not None
    assert list(state.variants) == ["Current"]
    assert list(state.shadow_variants) == ["Candidate"]
    assert state.shadow_variants["Candidate"].current_weight == SHADOW_WEIGHT


def test_the_custom_resource_finds_the_fixed_production_weight_in_place_and_changes_nothing(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described())
    state = converge(client, ENDPOINT, {"Current": PRODUCTION_WEIGHT}, CONFIG)
    assert state is not None and state.current_weights == {"Current": PRODUCTION_WEIGHT}


def test_a_production_weight_moved_by_hand_is_put_back_without_naming_the_shadow(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described(production_weight=3.0))
    stubber.add_response(
        "update_endpoint_weights_and_capacities",
        {"EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{ENDPOINT}"},
        {
            "EndpointName": ENDPOINT,
            "DesiredWeightsAndCapacities": [{"VariantName": "Current", "DesiredWeight": PRODUCTION_WEIGHT}],
        },
    )
    assert converge(client, ENDPOINT, {"Current": PRODUCTION_WEIGHT}, CONFIG) is None  # applied, not confirmed


def test_a_request_naming_the_shadow_is_refused_before_any_change(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described())
    with pytest.raises(InvalidRequest, match="Candidate of endpoint churn-ab are its shadow"):
        converge(client, ENDPOINT, {"Current": PRODUCTION_WEIGHT, "Candidate": 0.5}, CONFIG)


@pytest.fixture
def set_weights_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)


@pytest.mark.usefixtures("set_weights_environment")
def test_set_weights_refuses_the_shadow_with_its_own_message(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described())
    with pytest.raises(InvalidRequest, match="sampling_percentage in the endpoint config"):
        set_weights.handle({"weights": {"Candidate": 1}}, LambdaContext(), client=client)


@pytest.mark.usefixtures("set_weights_environment")
def test_set_weights_refuses_to_move_the_production_weight_beside_a_shadow(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described())
    with pytest.raises(InvalidRequest, match="production weight is fixed"):
        set_weights.handle({"weights": {"Current": 2}}, LambdaContext(), client=client)


def test_the_evaluation_targets_production_variants_only(stubbed):
    """InvokeEndpoint's TargetVariant names "the production variant to send the inference request to"
    (InvokeEndpoint API reference): the shadow is never a target, but the evaluation knows its name."""
    client, stubber = stubbed
    expect_describe(stubber, described())
    assert variant_lister(client)(ENDPOINT) == LiveVariants(production=("Current",), shadows=("Candidate",))


class Untouchable:
    """An S3 or runtime client that fails the test on any call: a refused request reads and sends nothing."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected call {name}")


SHADOW_REFUSED = r"Candidate of endpoint .* are its shadow: a shadow answers nobody.*dashboard's shadow row"


@pytest.fixture
def evaluation_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"ENDPOINT_NAME": ENDPOINT, "REPORT_BUCKET": "bucket", "METRICS_NAMESPACE": "Test"}.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("evaluation_environment")
def test_the_evaluation_lambda_refuses_the_shadow_by_name(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described())
    event = {"data_uri": "s3://bucket/datasets/test.csv", "variants": ["Current", "Candidate"]}
    with pytest.raises(InvalidEvaluation, match=SHADOW_REFUSED):
        evaluate_handler.handle(
            event, None, sagemaker=client, runtime=Untouchable(), s3=Untouchable(), cloudwatch=Untouchable()
        )


def test_the_evaluation_command_refuses_the_shadow_by_name(stubbed, monkeypatch, capsys):
    client, stubber = stubbed
    expect_describe(stubber, described())
    clients = {"sagemaker": client, "runtime": Untouchable(), "s3": Untouchable(), "cloudwatch": Untouchable()}
    monkeypatch.setattr(evaluate_cli, "_clients", lambda _args: clients)
    status = evaluate_cli.main(["--endpoint", ENDPOINT, "--data", "test.csv", "--variants", "Candidate"])
    assert status == 2
    assert re.search(SHADOW_REFUSED, " ".join(capsys.readouterr().err.split()))


# The weights custom resource gets the shadow's sampling percentage (the ShadowSampling property, a string as
# CloudFormation sends it) and, once the production weight is in place, sets a different weight in place on Create
# and Update alike (tests/lambdas/test_shadow_sampling_in_place.py); a shadow missing from DescribeEndpoint is warned.
# No UpdateEndpointWeightsAndCapacities is queued in these tests, so the Stubber fails on any such call.


def shadow_event(sampling: str = "20", request: str = "Update") -> dict[str, Any]:
    """An Update on the same config (no serving-since marker to write), or a Create, with the shadow's sampling."""
    if request == "Create":
        event = cfn_event("Create", {"Current": "1.0"}, config_name=CONFIG)
    else:
        event = cfn_event("Update", {"Current": "1.0"}, old_weights={"Current": "1.0"}, config_name=CONFIG)
        event["OldResourceProperties"]["ShadowSampling"] = {"Candidate": sampling}
        event["OldResourceProperties"]["ConfigSampling"] = {"Candidate": CONFIG_SAMPLING}
    event["ResourceProperties"]["ShadowSampling"] = {"Candidate": sampling}
    event["ResourceProperties"]["ConfigSampling"] = {"Candidate": CONFIG_SAMPLING}
    return event


def test_the_custom_resource_completes_when_the_shadow_shows_the_configs_weight(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described(shadows={"Candidate": SHADOW_WEIGHT + 1e-9}))  # within the tolerance
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    with Stubber(cloudwatch) as metrics:
        metrics.add_response("put_metric_data", {})
        result = is_complete(shadow_event(), None, client=client, cloudwatch=cloudwatch)
    assert result["IsComplete"] is True


def test_a_shadow_at_another_weight_than_the_parameter_is_named_with_both_weights(stubbed):
    """The wanted weight comes from the stack's sampling parameter, not from the endpoint config: the message
    says so (it named the endpoint config as the source before)."""
    client, stubber = stubbed
    expect_describe(stubber, described(shadows={"Candidate": 0.5}))
    with pytest.raises(ShadowWeightNotTaken) as failed:
        require_shadow_weights(describe(client, ENDPOINT), {"Candidate": 0.2})
    message = str(failed.value)
    for part in (
        f"endpoint {ENDPOINT}",
        "shadow variant Candidate has CurrentWeight 0.5",
        f"the stack's sampling parameter asks for 0.2 (endpoint config {CONFIG})",
        "the shadow's sampling is not the declared one",
    ):
        assert part in message


def test_a_declared_shadow_missing_from_describe_endpoint_fails_the_resource(stubbed):
    client, stubber = stubbed
    expect_describe(stubber, described(shadows={}))
    with pytest.raises(ShadowWeightNotTaken, match=f"endpoint {ENDPOINT} .* lists no shadow variant Candidate"):
        require_shadow_weights(describe(client, ENDPOINT), {"Candidate": 0.2})


def test_on_create_a_shadow_missing_from_describe_endpoint_is_warned_and_completes(stubbed, caplog):
    """Create with no shadow in DescribeEndpoint: nothing to call; warned, not failed (how DescribeEndpoint reports
    a shadow is unverified, Q2). A shadow at another weight is set in place on Create as on Update
    (tests/lambdas/test_shadow_sampling_in_place.py)."""
    client, stubber = stubbed
    expect_describe(stubber, described(shadows={}))
    stubber.add_response("add_tags", {"Tags": []})  # the serving-since marker of a created endpoint
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    with caplog.at_level(logging.WARNING), Stubber(cloudwatch) as metrics:
        metrics.add_response("put_metric_data", {})
        result = is_complete(shadow_event("20", request="Create"), None, client=client, cloudwatch=cloudwatch)
    assert result["IsComplete"] is True
    assert "lists no shadow variant Candidate" in caplog.text


def test_the_shadow_check_waits_for_the_production_weight(stubbed):
    """The shadow is checked only once the production weights are in place: before that the poll says not yet."""
    client, stubber = stubbed
    expect_describe(stubber, described(status="Updating", shadows={"Candidate": 0.5}))
    assert is_complete(shadow_event(), None, client=client) == {"IsComplete": False}


def test_a_malformed_shadow_weight_fails_on_event_before_any_call(stubbed):
    client, _ = stubbed
    with pytest.raises(InvalidRequest, match="weight of Candidate: must be a number"):
        on_event(shadow_event("twenty"), None, client=client)
