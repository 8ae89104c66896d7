"""The rules that keep the recorded sampling percentage equal to the shadow's live weight after every request that
succeeds (lambdas/weights_provider/shadow_request.py), each from a cold review's scenario.

Q2 (whether UpdateEndpointWeightsAndCapacities takes a shadow's name) is undocumented: botocore's Stubber plays
SageMaker's answers; the local-mode tests run in-process moto with scripts/local_aws.py's ``shadow_variants``
adaptation, which refuses the shadow's name (Q2 "no")."""

from __future__ import annotations

import logging
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from constructs_lib.config.model import sampling_parameter_name as stacks_name
from endpoint_weights.shadow_in_place import ShadowSamplingRefused
from endpoint_weights.validation import InvalidRequest
from tests.lambdas.conftest import ENDPOINT
from tests.lambdas.test_shadow_sampling_in_place import (  # noqa: F401 (local_shadow_variants: a fixture)
    ARN,
    complete,
    expect_refusal,
    local_shadow_variants,
    run_rollback_shaped,
    shadow_endpoint,
    update_event,
    weights_of,
)
from tests.lambdas.test_weights_provider import count_calls
from tests.lambdas.test_weights_with_shadow import described, shadow_event
from weights_provider import handler
from weights_provider.handler import is_complete, on_event
from weights_provider.shadow_request import sampling_parameter_name
from weights_provider.stack_state import ROLLING_BACK, stack_rolling_back

OLD_CONFIG = "AbEndpointConfig-Shadow01"
NEW_CONFIG = "AbEndpointConfig-Shadow02"


def request(
    sampling: str, config_sampling: str, config: str, *, old: tuple[str, str, str] | None = None
) -> dict[str, Any]:
    """An Update asking for ``sampling`` beside an endpoint config carrying ``config_sampling``; ``old`` is what
    CloudFormation recorded: (sampling, config sampling, endpoint config)."""
    old_sampling, old_config_sampling, old_config = old or (sampling, config_sampling, config)
    event = update_event(sampling, old_sampling, old_config=old_config)
    event["ResourceProperties"]["EndpointConfigName"] = config
    event["ResourceProperties"]["ConfigSampling"] = {"Candidate": config_sampling}
    event["OldResourceProperties"]["ConfigSampling"] = {"Candidate": old_config_sampling}
    return event


def on_new_config(shadow_weight: float) -> dict[str, Any]:
    """DescribeEndpoint after a fleet swap to NEW_CONFIG."""
    answer = described(shadows={"Candidate": shadow_weight})
    answer["EndpointConfigName"] = NEW_CONFIG
    return answer


@pytest.mark.usefixtures("local_shadow_variants")
def test_a_config_edit_of_the_sampling_that_kept_the_parameter_is_refused_before_any_call(sagemaker):
    """Review B1 (session 8): the config's sampling 20 → 10 deployed with a plain `cdk deploy` (the parameter kept
    at 20) used to complete with a warning under Q2 no, 20 recorded and 0.1 live; the next parameter change's
    rollback then asked for 0.2, was refused and failed: UPDATE_ROLLBACK_FAILED. Now the edit is refused before
    any call, naming the command, and its rollback (back to the old fleet, at its config's 0.2) makes no call."""
    shadow_endpoint(sagemaker, NEW_CONFIG, 0.1)  # the fleet swap to the edited config, before the custom resource runs
    edit = request("20", "10", NEW_CONFIG, old=("20", "20", OLD_CONFIG))
    with pytest.raises(InvalidRequest) as refused:
        on_event(edit, None, client=sagemaker)
    message = str(refused.value)
    assert "shadow.sampling_percentage of Candidate changed in the config (20 → 10)" in message
    assert "--parameters <stack>:CandidateSamplingPercentage=10" in message
    assert "--no-previous-parameters" in message
    assert weights_of(sagemaker) == ({"Current": 1.0}, {"Candidate": 0.1})

    sagemaker.delete_endpoint(EndpointName=ENDPOINT)
    shadow_endpoint(sagemaker, OLD_CONFIG, 0.2)  # the rollback's swap back
    run_rollback_shaped(sagemaker, request("20", "20", OLD_CONFIG, old=("20", "10", NEW_CONFIG)))
    assert weights_of(sagemaker) == ({"Current": 1.0}, {"Candidate": 0.2})


@pytest.mark.usefixtures("local_shadow_variants")
def test_the_edit_deployed_with_the_parameter_at_the_new_value_makes_no_call(sagemaker):
    """The way out the refusal names: --parameters …=10 beside the config's 10. The new fleet already carries it."""
    shadow_endpoint(sagemaker, NEW_CONFIG, 0.1)
    edit = request("10", "10", NEW_CONFIG, old=("20", "20", OLD_CONFIG))
    on_event(edit, None, client=sagemaker)
    assert complete(edit, sagemaker)["IsComplete"] is True
    assert weights_of(sagemaker) == ({"Current": 1.0}, {"Candidate": 0.1})


def test_a_trial_parameter_kept_through_a_config_edit_is_set_in_place_not_refused(stubbed):
    """A parameter set apart from the config on purpose (5 beside 20, possible under Q2 yes) stays a trial when the
    config's sampling moves to 10: no refusal, and the new fleet gets 0.05 in place."""
    client, stubber = stubbed
    edit = request("5", "10", NEW_CONFIG, old=("5", "20", OLD_CONFIG))
    stubber.add_response("describe_endpoint", on_new_config(0.1))
    on_event(edit, None, client=client)
    stubber.add_response("describe_endpoint", on_new_config(0.1))
    stubber.add_response(
        "update_endpoint_weights_and_capacities",
        {"EndpointArn": ARN},
        {
            "EndpointName": ENDPOINT,
            "DesiredWeightsAndCapacities": [{"VariantName": "Candidate", "DesiredWeight": 0.05}],
        },
    )
    assert is_complete(edit, None, client=client) == {"IsComplete": False}


def test_on_a_new_fleet_a_refusal_fails_even_when_the_sampling_was_not_changed(stubbed):
    """Review B1's fix (a): a new endpoint config in the request, the parameter apart from the config's and
    refused. Warning there left the recorded percentage apart from the live one; failing returns to the old
    fleet, whose recorded percentage is live."""
    client, stubber = stubbed
    stubber.add_response("describe_endpoint", on_new_config(0.2))
    expect_refusal(stubber)
    with pytest.raises(ShadowSamplingRefused):
        is_complete(request("5", "20", NEW_CONFIG, old=("5", "20", OLD_CONFIG)), None, client=client)


def test_a_first_deploy_at_the_configs_sampling_never_calls_whatever_describe_endpoint_reports(stubbed, caplog):
    """Review S1: how DescribeEndpoint reports a shadow's CurrentWeight is UNVERIFIED (0, since a shadow takes no
    traffic of its own, would be plausible). At the config's percentage the endpoint config set the weight: no
    call, no failure, a warning naming the weights."""
    client, stubber = stubbed
    stubber.add_response("describe_endpoint", described(shadows={"Candidate": 0.0}))
    stubber.add_response("add_tags", {"Tags": []})  # the serving-since marker of a created endpoint
    create = shadow_event("20", request="Create")
    with caplog.at_level(logging.WARNING):
        assert complete(create, client)["IsComplete"] is True
    assert "shadow variant Candidate has CurrentWeight 0" in caplog.text


# --- inside a rollback, a sampling error is a warning (weights_provider.stack_state) -------------------------

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/AbTest-churn-shadow/0f1e2d3c"


def cloudformation_reporting(status: str | None) -> Any:
    """A CloudFormation client whose DescribeStacks answers ``status`` (None: AccessDenied)."""
    client = boto3.client("cloudformation", region_name="us-east-1")
    stubber = Stubber(client)
    if status is None:
        stubber.add_client_error("describe_stacks", service_error_code="AccessDenied")
    else:
        stubber.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {"StackName": "AbTest-churn-shadow", "CreationTime": "2026-12-01T00:00:00Z", "StackStatus": status}
                ]
            },
            {"StackName": STACK_ID},
        )
    stubber.activate()
    return client


def test_a_rollback_shaped_like_a_kept_parameter_edit_is_not_refused(sagemaker, caplog):
    """Second review, BL1 (Q2 yes): a trial parameter of 10 beside config 20; the config is edited to 10 (the trial
    made permanent) and that update fails for another reason. Its rollback sends (10, config 20) with old
    properties (10, config 10): the same shape as a kept-parameter edit. Refused there, the rollback would end in
    UPDATE_ROLLBACK_FAILED; CloudFormation says it is rolling back, so it is only logged."""
    shadow_endpoint(sagemaker, OLD_CONFIG, 0.2)
    rollback = request("10", "20", OLD_CONFIG, old=("10", "10", NEW_CONFIG))
    rollback["StackId"] = STACK_ID
    with pytest.raises(InvalidRequest):  # forward, the same event is refused
        on_event(rollback, None, client=sagemaker, cloudformation=cloudformation_reporting("UPDATE_IN_PROGRESS"))
    with caplog.at_level(logging.WARNING):
        answer = on_event(
            rollback, None, client=sagemaker, cloudformation=cloudformation_reporting("UPDATE_ROLLBACK_IN_PROGRESS")
        )
    assert answer[ROLLING_BACK] is True
    assert "not refused: CloudFormation is rolling the stack back" in caplog.text


def test_in_a_rollback_a_refused_or_unfollowed_shadow_weight_is_a_warning(stubbed, caplog):
    """Second review, SF2: a same-fleet change 20 → 5 taken by SageMaker but not followed by CurrentWeight (0 here)
    fails forward, rightly; its rollback asks for 0.2 and meets DesiredWeight 0.2 beside CurrentWeight 0. Forward
    that fails; inside the rollback (the field on_event passed on) it completes with the weights named."""
    client, stubber = stubbed
    rollback = update_event("20", "5")
    answer = described(shadows={"Candidate": 0.0})
    answer["ShadowProductionVariants"][0]["DesiredWeight"] = 0.2
    stubber.add_response("describe_endpoint", answer)
    with pytest.raises(ShadowSamplingRefused):
        is_complete(rollback, None, client=client)
    stubber.add_response("describe_endpoint", answer)
    with caplog.at_level(logging.WARNING):
        assert complete(dict(rollback, **{ROLLING_BACK: True}), client)["IsComplete"] is True
    assert "CloudFormation is rolling the stack back" in caplog.text


def test_the_stack_state_is_asked_only_for_an_update_beside_a_shadow_and_unknown_is_not_a_rollback():
    event = {"StackId": STACK_ID}
    assert stack_rolling_back(event, cloudformation_reporting("UPDATE_ROLLBACK_IN_PROGRESS")) is True
    assert stack_rolling_back(event, cloudformation_reporting("UPDATE_IN_PROGRESS")) is False
    assert stack_rolling_back(event, cloudformation_reporting(None)) is False  # cannot tell: the forward rules
    assert stack_rolling_back({}, None) is False  # no StackId, no call


@pytest.mark.usefixtures("local_shadow_variants")
def test_a_fleet_swap_rollback_of_a_stack_recording_a_percentage_that_is_not_live_completes(sagemaker, caplog):
    """Second review, SF1: 20 recorded beside config 10 with 0.1 live (the state the first version could leave).
    A new image swaps the fleet; forward, the refused 0.2 fails the update (a new fleet never only warns), and
    its rollback, back on the old fleet at 0.1, is refused again: inside the rollback that is a warning."""
    shadow_endpoint(sagemaker, OLD_CONFIG, 0.1)
    rollback = request("20", "10", OLD_CONFIG, old=("20", "10", NEW_CONFIG))
    with pytest.raises(ShadowSamplingRefused):
        complete(rollback, sagemaker)
    with caplog.at_level(logging.WARNING):
        assert complete(dict(rollback, **{ROLLING_BACK: True}), sagemaker)["IsComplete"] is True
    assert weights_of(sagemaker) == ({"Current": 1.0}, {"Candidate": 0.1})


@pytest.mark.usefixtures("local_shadow_variants")
def test_on_event_beside_a_shadow_stays_within_its_call_budget(sagemaker):
    """DescribeStacks, DescribeEndpoint and at most one more SageMaker call: ON_EVENT_MAX_CALLS, which
    constructs_lib/variant_weights.py sizes the function's timeout for (tests/constructs_lib)."""
    shadow_endpoint(sagemaker)
    cloudformation = cloudformation_reporting("UPDATE_IN_PROGRESS")
    calls = count_calls(sagemaker)
    # The Stubber answers in before-call and stops the event there, so the stubbed client is counted earlier.
    cloudformation.meta.events.register("before-parameter-build", lambda model, **_: calls.append(model.name))
    event = dict(update_event("5", "20"), StackId=STACK_ID)
    event["ResourceProperties"]["Weights"] = {"Current": "2"}  # a production weight to set as well
    on_event(event, None, client=sagemaker, cloudformation=cloudformation)
    assert calls == ["DescribeStacks", "DescribeEndpoint", "UpdateEndpointWeightsAndCapacities"]
    assert len(calls) <= handler.ON_EVENT_MAX_CALLS


@pytest.mark.parametrize("shadow", ["Candidate", "candidate-v2", "Shadow_1"])
def test_the_refusal_names_the_parameter_as_the_stack_does(shadow):
    assert sampling_parameter_name(shadow) == stacks_name(shadow)
