"""The set-weights Lambda, invoked the way `aws lambda invoke` and pipelines invoke it."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

import set_weights.handler as set_weights
from endpoint_weights.call_bounds import worst_case_call_seconds
from endpoint_weights.endpoint import EndpointUnavailable
from endpoint_weights.validation import InvalidRequest
from tests.lambdas.conftest import ENDPOINT, LambdaContext, create_endpoint, live_weights, set_endpoint_status
from tests.lambdas.throttling import Rejection, Throttle

# The delays the Lambda really uses, for the tests that run them on a fake clock.
REAL_DELAYS = {"POLL_SECONDS": set_weights.POLL_SECONDS, "FIRST_RETRY_SECONDS": set_weights.FIRST_RETRY_SECONDS}


@pytest.fixture(autouse=True)
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setattr(set_weights, "POLL_SECONDS", 0.01)  # the waiter's delay; 15 s in Lambda
    monkeypatch.setattr(set_weights, "FIRST_RETRY_SECONDS", 0.01)  # first retry of a busy update; 1 s


def invoke(event: Any, client: Any) -> dict[str, Any]:
    return set_weights.handle(event, LambdaContext(), client=client)


def record_updates(client: Any) -> list[list[dict[str, Any]]]:
    """Every DesiredWeightsAndCapacities list sent to SageMaker."""
    calls: list[list[dict[str, Any]]] = []
    client.meta.events.register(
        "provide-client-params.sagemaker.UpdateEndpointWeightsAndCapacities",
        lambda params, **_: calls.append(params["DesiredWeightsAndCapacities"]),
    )
    return calls


def test_sets_weights_and_returns_what_the_endpoint_reports(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    result = invoke({"weights": {"Variant1": 25, "Variant2": 75}}, sagemaker)
    assert result["endpoint_name"] == ENDPOINT
    assert result["status"] == "InService"
    assert result["weights"] == {"Variant1": 25.0, "Variant2": 75.0}
    assert live_weights(sagemaker) == {"Variant1": 25.0, "Variant2": 75.0}


def test_variants_not_named_keep_their_weight(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1, "Variant3": 2})
    result = invoke({"weights": {"Variant1": 0}}, sagemaker)
    assert result["weights"] == {"Variant1": 0.0, "Variant2": 1.0, "Variant3": 2.0}


def test_weights_given_as_strings_are_accepted(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    assert invoke({"weights": {"Variant1": "0", "Variant2": "100"}}, sagemaker)["weights"] == {
        "Variant1": 0.0,
        "Variant2": 100.0,
    }


def test_instance_counts_change_one_variant_per_call(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    calls = record_updates(sagemaker)
    result = invoke(
        {"weights": {"Variant1": 25, "Variant2": 75}, "instance_counts": {"Variant1": 2, "Variant2": 3}}, sagemaker
    )
    assert len(calls) == 2
    for call in calls:
        assert sum("DesiredInstanceCount" in item for item in call) == 1
        assert {item["VariantName"]: item["DesiredWeight"] for item in call} == {"Variant1": 25.0, "Variant2": 75.0}
    assert [item for call in calls for item in call if "DesiredInstanceCount" in item] == [
        {"VariantName": "Variant1", "DesiredWeight": 25.0, "DesiredInstanceCount": 2},
        {"VariantName": "Variant2", "DesiredWeight": 75.0, "DesiredInstanceCount": 3},
    ]
    assert result["weights"] == {"Variant1": 25.0, "Variant2": 75.0}


def test_waits_while_the_endpoint_is_busy_then_applies(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status("Updating")
    describes = []
    applied_while_busy = []

    def finish_update_after_three_looks(**_: Any) -> None:
        describes.append(1)
        if len(describes) == 3:
            set_endpoint_status("InService")  # what SageMaker does when its update ends

    sagemaker.meta.events.register("before-call.sagemaker.DescribeEndpoint", finish_update_after_three_looks)
    sagemaker.meta.events.register(
        "before-call.sagemaker.UpdateEndpointWeightsAndCapacities",
        lambda **_: applied_while_busy.append(len(describes) < 3),
    )
    result = invoke({"weights": {"Variant1": 25, "Variant2": 75}}, sagemaker)
    assert applied_while_busy == [False]
    assert result["weights"] == {"Variant1": 25.0, "Variant2": 75.0}


# --- bad input: clear reason, weights unchanged ------------------------------------------------


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({}, '"weights" is required'),
        ([25, 75], "event must be an object"),
        ({"weights": {"Variant1": 25}, "weight": {}}, "unknown key\\(s\\) weight"),
        ({"weights": {}}, "non-empty object"),
        ({"weights": {"Variant1": -5}}, "negative for: Variant1"),
        ({"weights": {"Variant1": "half"}}, "weight of Variant1: must be a number"),
        ({"weights": {"Variant1": 0, "Variant2": 0}}, "all weights would be 0"),
        ({"weights": {"Variant2": 0}}, None),  # fine on its own: Variant1 keeps 40
        ({"weights": {"Variant3": 1}}, "has no variant\\(s\\) Variant3; its variants are Variant1, Variant2"),
        ({"weights": {"Variant1": 1}, "instance_counts": {"Variant1": 0}}, "instance count of Variant1"),
        ({"weights": {"Variant1": 1}, "instance_counts": {"Variant7": 2}}, "has no variant\\(s\\) Variant7"),
    ],
)
def test_bad_requests_fail_clearly_and_change_nothing(sagemaker, event, reason):
    create_endpoint(sagemaker, {"Variant1": 40, "Variant2": 60})
    calls = record_updates(sagemaker)
    if reason is None:
        assert invoke(event, sagemaker)["weights"] == {"Variant1": 40.0, "Variant2": 0.0}
        return
    with pytest.raises(InvalidRequest, match=reason):
        invoke(event, sagemaker)
    assert calls == []
    assert live_weights(sagemaker) == {"Variant1": 40.0, "Variant2": 60.0}


def test_all_zero_after_merging_with_live_weights_is_refused(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 0, "Variant2": 60})
    with pytest.raises(InvalidRequest, match="all weights would be 0"):
        invoke({"weights": {"Variant2": 0}}, sagemaker)
    assert live_weights(sagemaker)["Variant2"] == 60.0


def test_missing_endpoint_fails_clearly(sagemaker):
    with pytest.raises(EndpointUnavailable, match="endpoint churn-ab does not exist"):
        invoke({"weights": {"Variant1": 1}}, sagemaker)


def test_failed_endpoint_fails_clearly(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status("Failed")
    with pytest.raises(EndpointUnavailable, match="churn-ab is Failed"):
        invoke({"weights": {"Variant1": 25, "Variant2": 75}}, sagemaker)
    set_endpoint_status("InService")
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}


def test_endpoint_that_fails_while_waited_for_fails_at_once(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status("Updating")
    looks: list[int] = []

    def fail_on_third_look(**_: Any) -> None:
        looks.append(1)
        if len(looks) == 3:
            set_endpoint_status("Failed")

    sagemaker.meta.events.register("before-call.sagemaker.DescribeEndpoint", fail_on_third_look)
    calls = record_updates(sagemaker)
    with pytest.raises(EndpointUnavailable, match="churn-ab is Failed"):
        invoke({"weights": {"Variant1": 25, "Variant2": 75}}, sagemaker)
    assert len(looks) == 3, "failed on the first look at the Failed status, not after a timeout"
    assert calls == []


@pytest.mark.parametrize("status", ["OutOfService", "UpdateRollbackFailed", "Deleting"])
def test_statuses_that_need_a_person_fail_at_once(sagemaker, status):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status(status)
    with pytest.raises(EndpointUnavailable, match=f"churn-ab is {status}"):
        invoke({"weights": {"Variant1": 25}}, sagemaker)


def test_busy_between_wait_and_update_waits_and_retries(sagemaker, monkeypatch):
    """An autoscaling action can start an update between our look and our call: SageMaker
    then answers "Cannot update in-progress endpoint". Simulated with AWS's real error."""
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    rejected = Rejection(sagemaker, "UpdateEndpointWeightsAndCapacities", times=1, monkeypatch=monkeypatch)
    result = invoke({"weights": {"Variant1": 25, "Variant2": 75}}, sagemaker)
    assert rejected.sent == 2
    assert result["weights"] == {"Variant1": 25.0, "Variant2": 75.0}


def test_a_failure_after_part_of_a_multi_call_change_says_what_is_live(sagemaker, monkeypatch):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    calls = record_updates(sagemaker)

    def break_on_second_call(**_: Any) -> None:
        if len(calls) == 2:
            set_endpoint_status("Failed")

    sagemaker.meta.events.register("after-call.sagemaker.UpdateEndpointWeightsAndCapacities", break_on_second_call)
    with pytest.raises(set_weights.PartiallyApplied) as caught:
        invoke(
            {"weights": {"Variant1": 25, "Variant2": 75}, "instance_counts": {"Variant1": 2, "Variant2": 3}}, sagemaker
        )
    message = str(caught.value)
    assert "applied weights Variant1=25, Variant2=75 and Variant1 instance count 2" in message
    assert "failed on weights Variant1=25, Variant2=75 and Variant2 instance count 3" in message


def test_gives_up_waiting_before_the_lambda_times_out(sagemaker):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    set_endpoint_status("Updating")
    calls = record_updates(sagemaker)
    with pytest.raises(EndpointUnavailable, match=r"did not become InService .* \(status Updating\)"):
        remaining_ms = (set_weights.SAFETY_MARGIN_SECONDS + 1) * 1000  # one second to wait
        set_weights.handle({"weights": {"Variant1": 2}}, LambdaContext(remaining_ms=remaining_ms), client=sagemaker)
    assert calls == []


def test_empty_instance_counts_mean_no_capacity_change(sagemaker):
    """The rollout state machine always sends the key; {} must change weights only."""
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    calls = record_updates(sagemaker)
    result = invoke({"weights": {"Variant1": 90, "Variant2": 10}, "instance_counts": {}}, sagemaker)
    assert result["weights"] == {"Variant1": 90.0, "Variant2": 10.0}
    assert len(calls) == 1 and all("DesiredInstanceCount" not in item for item in calls[0])


class FakeClock:
    """Stands in for the handler's ``time`` module: sleeping advances the clock at once, so a
    test can run minutes of waiting in no time and see how long the handler meant to wait."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds
        self.sleeps.append(seconds)
        self.now += seconds


class BusyForever(Rejection):
    """SageMaker answering "Cannot update in-progress endpoint" to every update while
    DescribeEndpoint says InService (an autoscaling action between look and call, over and
    over). A handler that ignores its deadline would loop without end: past ``bound`` calls
    this stops it with a failure instead of hanging the suite."""

    bound = 200

    def __call__(self, request: Any, **kwargs: Any) -> Any:
        if self.sent >= self.bound:
            raise AssertionError(f"{self.sent} update calls: the handler ignores its deadline")
        return super().__call__(request, **kwargs)


def test_an_endpoint_that_keeps_answering_busy_fails_at_the_deadline_with_backoff(sagemaker, monkeypatch):
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    busy = BusyForever(sagemaker, "UpdateEndpointWeightsAndCapacities", times=10**9, monkeypatch=monkeypatch)
    clock = FakeClock()
    monkeypatch.setattr(set_weights, "time", clock)
    for name, seconds in REAL_DELAYS.items():
        monkeypatch.setattr(set_weights, name, seconds)
    start = clock.now
    remaining_s = 120  # the deadline is this less the handler's safety margin
    with pytest.raises(EndpointUnavailable) as caught:
        event = {"weights": {"Variant1": 25, "Variant2": 75}}
        set_weights.handle(event, LambdaContext(remaining_ms=remaining_s * 1000), client=sagemaker)
    message = str(caught.value)
    assert "churn-ab" in message and "busy" in message and "Cannot update in-progress endpoint" in message
    assert f"{busy.sent} attempts" in message
    assert "nothing more was changed" in message
    deadline = start + remaining_s - set_weights.SAFETY_MARGIN_SECONDS
    assert clock.now <= deadline, "waited past the deadline"
    # Backed off between attempts (growing waits), so a few calls, not thousands.
    assert 2 <= busy.sent <= 20, busy.sent
    waits = clock.sleeps[: busy.sent - 1]
    assert waits == sorted(waits) and waits[-1] > waits[0], waits
    assert live_weights(sagemaker) == {"Variant1": 1.0, "Variant2": 1.0}


def slow_calls(clock: FakeClock, client: Any, seconds: float) -> None:
    """Every API call of ``client`` takes ``seconds`` on ``clock`` (moto answers at once)."""

    def take_time(**_: Any) -> None:
        clock.now += seconds

    client.meta.events.register("before-call", take_time)


# From a Lambda with plenty of time to one left with only the margin; every call at its worst.
@pytest.mark.parametrize("remaining_s", range(set_weights.SAFETY_MARGIN_SECONDS, 150, 4))
def test_every_call_at_its_worst_still_ends_before_the_lambda_timeout(monkeypatch, remaining_s):
    """The safety margin covers the call that starts just before the deadline, at its worst case
    under the client config the handler really uses (attempts × socket timeouts + backoff), and
    the metric after it. A two-capacity request makes six SageMaker calls and one CloudWatch call
    with no wait between some of them: each must check the deadline, not only the waits."""
    sagemaker = boto3.client("sagemaker", config=set_weights.SAGEMAKER_CALL_CONFIG)
    cloudwatch = boto3.client("cloudwatch", config=set_weights.METRIC_CALL_CONFIG)
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    clock = FakeClock()
    monkeypatch.setattr(set_weights, "time", clock)
    for name, seconds in REAL_DELAYS.items():
        monkeypatch.setattr(set_weights, name, seconds)
    slow_calls(clock, sagemaker, worst_case_call_seconds(set_weights.SAGEMAKER_CALL_CONFIG))
    slow_calls(clock, cloudwatch, worst_case_call_seconds(set_weights.METRIC_CALL_CONFIG))
    monkeypatch.setenv("METRICS_NAMESPACE", "AbTesting")
    start = clock.now
    event = {"weights": {"Variant1": 25, "Variant2": 75}, "instance_counts": {"Variant1": 2, "Variant2": 3}}
    try:
        result = set_weights.handle(
            event, LambdaContext(remaining_ms=remaining_s * 1000), client=sagemaker, cloudwatch=cloudwatch
        )
    except (EndpointUnavailable, set_weights.PartiallyApplied) as err:
        assert "time ran out" in str(err), err
    else:
        assert result["weights"] == {"Variant1": 25.0, "Variant2": 75.0}
    assert clock.now - start <= remaining_s, f"ran {clock.now - start:g} s of {remaining_s} s"


def test_the_margin_holds_a_worst_case_call_and_the_metric():
    worst = worst_case_call_seconds(set_weights.SAGEMAKER_CALL_CONFIG) + worst_case_call_seconds(
        set_weights.METRIC_CALL_CONFIG
    )
    assert worst + set_weights.REPORT_SECONDS <= set_weights.SAFETY_MARGIN_SECONDS


def test_a_throttled_first_look_waits_instead_of_failing(monkeypatch):
    """With two attempts per call (to fit the margin), a throttled first DescribeEndpoint is
    likelier than with six: it waits for the next look, as a busy endpoint does."""
    sagemaker = boto3.client("sagemaker", config=set_weights.SAGEMAKER_CALL_CONFIG)
    create_endpoint(sagemaker, {"Variant1": 1, "Variant2": 1})
    throttle = Throttle(sagemaker, "DescribeEndpoint", times=2, monkeypatch=monkeypatch)
    result = invoke({"weights": {"Variant1": 25, "Variant2": 75}}, sagemaker)
    assert throttle.sent > 2
    assert result["weights"] == {"Variant1": 25.0, "Variant2": 75.0}
