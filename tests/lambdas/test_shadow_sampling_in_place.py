"""The shadow's sampling percentage (stack parameter → ShadowSampling) set in place on Update, failing loudly.

Whether UpdateEndpointWeightsAndCapacities takes a shadow's name is UNVERIFIED (design Q2): the Stubber tests
play both answers; DescribeEndpoint's ``DesiredWeight`` is "The requested weight, as specified in the
UpdateEndpointWeightsAndCapacities request" (ProductionVariantSummary API reference), which tells a call taken
but not followed from no call yet. The last test runs local mode's SageMaker (in-process moto with
scripts/local_aws.py's ``shadow_variants`` adaptation), which refuses the shadow's name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from endpoint_weights.shadow_in_place import REFUSED_ADVICE, ShadowSamplingRefused
from tests.lambdas.conftest import ENDPOINT, IMAGE, REGION, ROLE_ARN
from tests.lambdas.test_weights_with_shadow import CONFIG, described, shadow_event
from weights_provider.handler import is_complete, on_event

ARN = f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{ENDPOINT}"
WANTED = 0.05  # 5 % under H1, beside the production weight 1.0
BEFORE = 0.2  # 20 %, the config's sampling


def with_desired(answer: dict[str, Any], desired: float) -> dict[str, Any]:
    """DescribeEndpoint after a shadow weight was asked for: DesiredWeight moved, CurrentWeight not (yet)."""
    answer["ShadowProductionVariants"][0]["DesiredWeight"] = desired
    return answer


def update_event(sampling: str, old_sampling: str, *, old_config: str = CONFIG) -> dict[str, Any]:
    """An Update asking for ``sampling`` where CloudFormation recorded ``old_sampling`` (and ``old_config``)."""
    event = shadow_event(sampling)
    event["OldResourceProperties"]["ShadowSampling"] = {"Candidate": old_sampling}
    event["OldResourceProperties"]["EndpointConfigName"] = old_config
    return event


def expect_shadow_update(stubber: Stubber, weight: float) -> None:
    stubber.add_response(
        "update_endpoint_weights_and_capacities",
        {"EndpointArn": ARN},
        {
            "EndpointName": ENDPOINT,
            "DesiredWeightsAndCapacities": [{"VariantName": "Candidate", "DesiredWeight": weight}],
        },
    )


def expect_refusal(stubber: Stubber) -> None:
    """SageMaker refusing the shadow's name, in moto's words (whether AWS refuses it is Q2, undocumented)."""
    stubber.add_client_error(
        "update_endpoint_weights_and_capacities",
        service_error_code="ValidationException",
        service_message='The variant name(s) "Candidate" is/are not present within endpoint configuration.',
        http_status_code=400,
    )


def complete(event: dict[str, Any], client: Any) -> dict[str, Any]:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    with Stubber(cloudwatch) as metrics:
        metrics.add_response("put_metric_data", {})
        return is_complete(event, None, client=client, cloudwatch=cloudwatch)


def test_no_call_when_the_shadow_already_has_the_wanted_weight(stubbed):
    """Also a rollback after a refused change: CloudFormation sends the old percentage, which is in place."""
    client, stubber = stubbed
    stubber.add_response("describe_endpoint", described(shadows={"Candidate": BEFORE}), {"EndpointName": ENDPOINT})
    assert complete(shadow_event("20"), client)["IsComplete"] is True  # no update queued: none made


def test_a_new_percentage_is_applied_in_place_and_completes_once_current_weight_follows(stubbed):
    client, stubber = stubbed
    stubber.add_response("describe_endpoint", described(shadows={"Candidate": BEFORE}), {"EndpointName": ENDPOINT})
    expect_shadow_update(stubber, WANTED)
    assert is_complete(update_event("5", "20"), None, client=client) == {"IsComplete": False}

    stubber.add_response(
        "describe_endpoint",
        with_desired(described(status="Updating", shadows={"Candidate": BEFORE}), WANTED),
        {"EndpointName": ENDPOINT},
    )
    assert is_complete(update_event("5", "20"), None, client=client) == {"IsComplete": False}

    stubber.add_response("describe_endpoint", described(shadows={"Candidate": WANTED}), {"EndpointName": ENDPOINT})
    assert complete(update_event("5", "20"), client)["IsComplete"] is True


def test_a_refused_shadow_name_fails_the_request_with_the_way_out(stubbed):
    client, stubber = stubbed
    stubber.add_response("describe_endpoint", described(shadows={"Candidate": BEFORE}), {"EndpointName": ENDPOINT})
    expect_refusal(stubber)
    with pytest.raises(ShadowSamplingRefused) as refused:
        is_complete(update_event("5", "20"), None, client=client)
    message = str(refused.value)
    assert REFUSED_ADVICE in message
    assert "SageMaker refused to change the shadow's weight in place (Q2, undocumented)" in message
    assert "change shadow.sampling_percentage in the config instead" in message
    assert "shadow variant Candidate to weight 0.05 (from CurrentWeight 0.2)" in message
    assert 'ValidationException: The variant name(s) "Candidate"' in message


def test_a_call_taken_whose_current_weight_does_not_follow_fails_naming_both_weights(stubbed):
    client, stubber = stubbed
    stubber.add_response(
        "describe_endpoint",
        with_desired(described(shadows={"Candidate": BEFORE}), WANTED),
        {"EndpointName": ENDPOINT},
    )
    with pytest.raises(ShadowSamplingRefused, match=r"CurrentWeight 0\.2 after .* asked for 0\.05") as refused:
        is_complete(update_event("5", "20"), None, client=client)
    assert REFUSED_ADVICE in str(refused.value)


def test_a_throttled_shadow_call_waits_for_the_next_poll(stubbed):
    client, stubber = stubbed
    stubber.add_response("describe_endpoint", described(shadows={"Candidate": BEFORE}), {"EndpointName": ENDPOINT})
    stubber.add_client_error("update_endpoint_weights_and_capacities", service_error_code="ThrottlingException")
    assert is_complete(update_event("5", "20"), None, client=client) == {"IsComplete": False}


@pytest.mark.parametrize("old_sampling", ["20", "5"])
def test_another_client_error_is_not_read_as_a_refusal_even_when_it_names_the_shadow(stubbed, old_sampling):
    """Only a ValidationException is a refusal: an AccessDenied naming the shadow in an update that keeps the
    sampling was read as one, and only warned (review N2)."""
    client, stubber = stubbed
    stubber.add_response("describe_endpoint", described(shadows={"Candidate": BEFORE}), {"EndpointName": ENDPOINT})
    stubber.add_client_error(
        "update_endpoint_weights_and_capacities",
        service_error_code="AccessDeniedException",
        service_message="not authorized to update the weight of Candidate",
    )
    with pytest.raises(Exception, match="AccessDeniedException") as failed:
        is_complete(update_event("5", old_sampling), None, client=client)
    assert not isinstance(failed.value, ShadowSamplingRefused)


def test_create_sets_a_parameter_other_than_the_configs_in_place(stubbed):
    """Create: the endpoint config carries the config's sampling (20 %); a parameter of 5 is set in place, as on
    Update, so that CloudFormation never records a percentage that is not live (review B1)."""
    client, stubber = stubbed
    stubber.add_response("describe_endpoint", described(shadows={"Candidate": BEFORE}), {"EndpointName": ENDPOINT})
    expect_shadow_update(stubber, WANTED)
    assert is_complete(shadow_event("5", request="Create"), None, client=client) == {"IsComplete": False}

    stubber.add_response("describe_endpoint", described(shadows={"Candidate": WANTED}), {"EndpointName": ENDPOINT})
    stubber.add_response("add_tags", {"Tags": []})  # the serving-since marker of a created endpoint
    assert complete(shadow_event("5", request="Create"), client)["IsComplete"] is True


def test_create_fails_when_sagemaker_refuses_the_shadows_name(stubbed):
    client, stubber = stubbed
    stubber.add_response("describe_endpoint", described(shadows={"Candidate": BEFORE}), {"EndpointName": ENDPOINT})
    expect_refusal(stubber)
    with pytest.raises(ShadowSamplingRefused, match="on a first deploy the stack's creation is undone"):
        is_complete(shadow_event("5", request="Create"), None, client=client)


def test_a_refusal_in_an_update_that_keeps_the_sampling_is_a_warning(stubbed, caplog):
    """ShadowSampling as recorded before (an unrelated update, or the rollback of one): failing could not help,
    the rollback would ask for the same weight again; the request completes with the live weight named."""
    client, stubber = stubbed
    stubber.add_response("describe_endpoint", described(shadows={"Candidate": BEFORE}), {"EndpointName": ENDPOINT})
    expect_refusal(stubber)
    with caplog.at_level(logging.WARNING):
        assert complete(update_event("5", "5"), client)["IsComplete"] is True
    assert "shadow sampling left as it is (this request did not change it)" in caplog.text
    assert "shadow variant Candidate has CurrentWeight 0.2" in caplog.text


def test_after_a_fleet_swap_a_desired_weight_apart_from_the_configs_is_a_call_taken_and_fails_fast(stubbed):
    """The endpoint config changed in this request, so the new fleet's DesiredWeight started at the config's 0.2;
    at the wanted 0.05 only a call can have put it, and a CurrentWeight that does not follow fails at once
    (review S2: not trusting it there asked again every poll, about 44 calls, until the waiter's bare timeout)."""
    client, stubber = stubbed
    stubber.add_response(
        "describe_endpoint",
        with_desired(described(shadows={"Candidate": BEFORE}), WANTED),
        {"EndpointName": ENDPOINT},
    )
    event = update_event("5", "5", old_config="AbEndpointConfig-Shadow00")
    with pytest.raises(ShadowSamplingRefused, match=r"CurrentWeight 0\.2 after .* asked for 0\.05"):
        is_complete(event, None, client=client)


def test_after_a_fleet_swap_without_the_configs_sampling_a_desired_weight_is_not_trusted(stubbed):
    """A template from before ConfigSampling: nothing tells the config's weight from a call's, so the call is
    made (idempotent) rather than failing without one (the DesiredWeight may be the old fleet's)."""
    client, stubber = stubbed
    stubber.add_response(
        "describe_endpoint",
        with_desired(described(shadows={"Candidate": BEFORE}), WANTED),
        {"EndpointName": ENDPOINT},
    )
    expect_shadow_update(stubber, WANTED)
    event = update_event("5", "5", old_config="AbEndpointConfig-Shadow00")
    for props in (event["ResourceProperties"], event["OldResourceProperties"]):
        del props["ConfigSampling"]
    assert is_complete(event, None, client=client) == {"IsComplete": False}


def test_on_one_fleet_a_desired_weight_at_the_wanted_value_that_current_weight_ignores_fails(stubbed):
    """The same endpoint config before and after: the DesiredWeight is this request's call, taken and not followed."""
    client, stubber = stubbed
    stubber.add_response(
        "describe_endpoint",
        with_desired(described(shadows={"Candidate": BEFORE}), WANTED),
        {"EndpointName": ENDPOINT},
    )
    with pytest.raises(ShadowSamplingRefused, match=r"CurrentWeight 0\.2 after"):
        is_complete(update_event("5", "20"), None, client=client)


def test_delete_makes_no_call_for_the_shadow(stubbed):
    client, _ = stubbed
    event = shadow_event("5")
    event["RequestType"] = "Delete"
    assert on_event(event, None, client=client)["PhysicalResourceId"] == f"{ENDPOINT}/weights"
    assert is_complete(event, None, client=client) == {"IsComplete": True}


@pytest.mark.parametrize("bad", ["101", "-1", "five"])
def test_a_percentage_outside_0_to_100_fails_on_event_before_any_call(stubbed, bad):
    client, _ = stubbed
    with pytest.raises(Exception, match="Candidate"):
        on_event(shadow_event(bad), None, client=client)


# --- local mode: moto with the shadow_variants adaptation ----------------------------------------------------


@pytest.fixture
def local_shadow_variants() -> Iterator[None]:
    """scripts/local_aws.py's shadow_variants adaptation, in process, undone afterwards (it patches moto)."""
    from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig
    from moto.sagemaker.responses import SageMakerResponse

    from scripts.local_aws import ADAPTATIONS

    saved = [
        (FakeEndpointConfig, "create_from_cloudformation_json"),
        (SageMakerResponse, "create_endpoint_config"),
        (FakeEndpoint, "response_object"),
    ]
    originals = [(owner, name, owner.__dict__[name]) for owner, name in saved]
    ADAPTATIONS["shadow_variants"]()
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def shadow_endpoint(client: Any, config: str = CONFIG, shadow_weight: float = BEFORE) -> None:
    """Local mode's endpoint on ``config``, whose shadow has ``shadow_weight`` (as a new fleet starts)."""
    variants = []
    for name, weight in {"Current": 1.0, "Candidate": shadow_weight}.items():
        client.create_model(
            ModelName=name.lower(),
            ExecutionRoleArn=ROLE_ARN,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://models/{name}/model.tar.gz"},
        )
        variants.append(
            {
                "VariantName": name,
                "ModelName": name.lower(),
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "InitialVariantWeight": weight,
            }
        )
    client.create_endpoint_config(
        EndpointConfigName=config, ProductionVariants=variants[:1], ShadowProductionVariants=variants[1:]
    )
    client.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=config)


def weights_of(client: Any) -> tuple[dict[str, float], dict[str, float]]:
    raw = client.describe_endpoint(EndpointName=ENDPOINT)
    return (
        {v["VariantName"]: v["CurrentWeight"] for v in raw["ProductionVariants"]},
        {v["VariantName"]: v["CurrentWeight"] for v in raw["ShadowProductionVariants"]},
    )


@pytest.mark.usefixtures("local_shadow_variants")
def test_local_mode_refuses_a_parameter_change_and_leaves_both_weights_as_they_were(sagemaker):
    shadow_endpoint(sagemaker)
    before = weights_of(sagemaker)
    assert before == ({"Current": 1.0}, {"Candidate": BEFORE})
    with pytest.raises(ShadowSamplingRefused, match="SageMaker refused to change the shadow's weight in place"):
        is_complete(update_event("5", "20"), None, client=sagemaker)
    assert weights_of(sagemaker) == before


def run_rollback_shaped(client: Any, event: dict[str, Any]) -> None:
    """on_event then is_complete; both must succeed (a failure here would be UPDATE_ROLLBACK_FAILED)."""
    on_event(event, None, client=client)
    assert complete(event, client)["IsComplete"] is True


@pytest.mark.usefixtures("local_shadow_variants")
def test_local_mode_a_first_deploy_with_another_sampling_fails_and_nothing_can_wedge_later(sagemaker):
    """Review B1 (its wedge scenario): a first deploy with CandidateSamplingPercentage=5 while the config says 20.
    It used to complete with a warning, so CloudFormation recorded 5 while 0.2 stayed live; then any update, and
    its rollback (the same old properties), asked for 0.05 and failed: UPDATE_ROLLBACK_FAILED. Now the Create
    fails (its rollback is a Delete, no call), and every rollback-shaped request afterwards is a no-op."""
    shadow_endpoint(sagemaker)
    before = weights_of(sagemaker)
    create = shadow_event("5", request="Create")
    on_event(create, None, client=sagemaker)
    with pytest.raises(ShadowSamplingRefused, match="on a first deploy the stack's creation is undone"):
        is_complete(create, None, client=sagemaker)
    delete = dict(create, RequestType="Delete", PhysicalResourceId=f"{ENDPOINT}/weights")
    on_event(delete, None, client=sagemaker)
    assert is_complete(delete, None, client=sagemaker) == {"IsComplete": True}
    assert weights_of(sagemaker) == before

    # Deployed again with the parameter at the config's value: no call, and later updates stay no-ops.
    created = shadow_event("20", request="Create")
    on_event(created, None, client=sagemaker)
    assert complete(created, sagemaker)["IsComplete"] is True
    run_rollback_shaped(sagemaker, update_event("20", "20"))  # an unrelated update
    run_rollback_shaped(sagemaker, update_event("20", "20"))  # its rollback
    # A sampling change is refused (Q2 no) and its rollback, asking for the live 20 %, makes no call.
    with pytest.raises(ShadowSamplingRefused):
        complete(update_event("5", "20"), sagemaker)
    run_rollback_shaped(sagemaker, update_event("20", "5"))
    assert weights_of(sagemaker) == before


@pytest.mark.usefixtures("local_shadow_variants")
def test_local_mode_a_recorded_percentage_that_is_not_live_updates_and_rolls_back_with_a_warning(sagemaker, caplog):
    """5 recorded, 0.2 live: a state this code no longer lets a request leave (weights_provider.shadow_request),
    but one a stack created by the first version could be in. An update on the same fleet that keeps the
    sampling, and its rollback, complete with a warning instead of failing."""
    shadow_endpoint(sagemaker)
    with caplog.at_level(logging.WARNING):
        run_rollback_shaped(sagemaker, update_event("5", "5"))
        run_rollback_shaped(sagemaker, update_event("5", "5"))
    assert "shadow sampling left as it is" in caplog.text
    assert weights_of(sagemaker) == ({"Current": 1.0}, {"Candidate": BEFORE})
