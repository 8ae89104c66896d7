"""Waiting for the endpoint to show the weights: done, failed at once, or timed out (clock injected)."""

from __future__ import annotations

import pytest

from scripts.abtest.errors import OperationFailed, TimedOut
from scripts.abtest.waiting import Observation, settled, wait_for_weights

TARGET = {"Variant1": 25.0, "Variant2": 75.0}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _looks(*observations: Observation):
    queue = list(observations)

    def look() -> Observation:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return look


def test_waits_through_updating_until_the_weights_show():
    clock = FakeClock()
    seen: list[Observation] = []
    final = wait_for_weights(
        _looks(
            Observation("InService", {"Variant1": 1, "Variant2": 1}, change_set_status="EXECUTE_IN_PROGRESS"),
            Observation("Updating", {"Variant1": 1, "Variant2": 1}, change_set_status="EXECUTE_IN_PROGRESS"),
            Observation("InService", TARGET, change_set_status="EXECUTE_IN_PROGRESS"),
            Observation("InService", TARGET, "UPDATE_COMPLETE", change_set_status="EXECUTE_COMPLETE"),
        ),
        TARGET,
        timeout_seconds=60,
        poll_seconds=5,
        on_look=seen.append,
        clock=clock,
        sleep=clock.sleep,
    )
    assert final.stack_status == "UPDATE_COMPLETE"
    assert len(seen) == 4
    assert clock.sleeps == [5, 5, 5]


def test_a_failed_change_set_ends_the_wait_with_the_stacks_reason():
    with pytest.raises(
        OperationFailed, match=r"EXECUTE_FAILED, stack UPDATE_ROLLBACK_COMPLETE\).*Weights: all weights would be 0"
    ):
        settled(
            Observation(
                "InService",
                {"Variant1": 25, "Variant2": 75},
                "UPDATE_ROLLBACK_COMPLETE",
                "Weights: all weights would be 0",
                change_set_status="EXECUTE_FAILED",
            ),
            TARGET,
        )


def test_a_change_set_made_obsolete_by_another_update_ends_the_wait():
    with pytest.raises(OperationFailed, match=r"OBSOLETE"):
        settled(Observation("InService", TARGET, change_set_status="OBSOLETE"), TARGET)


@pytest.mark.parametrize("stack_status", ["CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"])
def test_any_complete_stack_status_without_rollback_is_settled(stack_status):
    # Review finding B1: only UPDATE_COMPLETE counted, so a CREATE_COMPLETE stack waited the whole timeout.
    assert settled(Observation("InService", TARGET, stack_status, change_set_status="EXECUTE_COMPLETE"), TARGET)


def test_a_rollback_status_read_before_the_change_set_finished_is_not_this_updates_failure():
    # Review finding B2: a stack left UPDATE_ROLLBACK_COMPLETE by an earlier failure is healthy and
    # updatable, and DescribeStacks right after ExecuteChangeSet may still show it (stale read).
    stale = Observation(
        "InService", {"Variant1": 1, "Variant2": 1}, "UPDATE_ROLLBACK_COMPLETE", change_set_status="EXECUTE_IN_PROGRESS"
    )
    assert not settled(stale, TARGET)


@pytest.mark.parametrize("status", ["Failed", "OutOfService", "UpdateRollbackFailed"])
def test_an_endpoint_that_cannot_recover_ends_the_wait(status):
    with pytest.raises(OperationFailed, match=f"the endpoint is {status}: broken"):
        settled(Observation(status, TARGET, None, "", "broken"), TARGET)


def test_times_out_with_what_it_last_saw():
    clock = FakeClock()
    with pytest.raises(
        TimedOut, match=r"after 12 s the endpoint does not show Variant1=25, Variant2=75 yet .*Variant1=1"
    ):
        wait_for_weights(
            _looks(Observation("InService", {"Variant1": 1, "Variant2": 1})),
            TARGET,
            timeout_seconds=12,
            poll_seconds=5,
            clock=clock,
            sleep=clock.sleep,
        )
    assert clock.sleeps == [5, 5]


def test_other_weights_or_a_missing_variant_are_not_done():
    assert not settled(Observation("InService", {"Variant1": 25.0}), TARGET)
    shown = {"Variant1": 25.0, "Variant2": 75.0}
    assert not settled(Observation("InService", shown, change_set_status="EXECUTE_IN_PROGRESS"), TARGET)
    # The change set is done but the stack still cleans up, or still shows an older status: not yet.
    for stack_status in ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE"):
        assert not settled(Observation("InService", shown, stack_status, change_set_status="EXECUTE_COMPLETE"), TARGET)
    assert settled(Observation("InService", {"Variant1": 25.0, "Variant2": 75.0000000001}), TARGET)
