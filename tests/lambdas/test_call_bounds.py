"""The worst case of one AWS call under a botocore Config, checked against botocore itself."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from botocore.config import Config
from botocore.retries.standard import ExponentialBackoff, RetryContext

from endpoint_weights.call_bounds import max_attempts, worst_backoff_seconds, worst_case_call_seconds
from endpoint_weights.endpoint import BOUNDED_CALL_CONFIG, RETRY_CONFIG, SINGLE_ATTEMPT_CONFIG


class AlwaysThrottled:
    """botocore's throttling detector, answering yes: throttling backs off the longest."""

    def is_throttling_error_from_context(self, context: Any) -> bool:
        return True


def botocores_longest_delay(attempt: int) -> float:
    """botocore's own backoff after ``attempt``, with the jitter at its top and a huge retry-after."""
    backoff = ExponentialBackoff(random=lambda: 1.0, throttling_detector=AlwaysThrottled())
    response = SimpleNamespace(headers={"x-amz-retry-after": str(10**9)})
    return float(backoff.delay_amount(RetryContext(attempt_number=attempt, http_response=response)))


@pytest.mark.parametrize("attempt", range(1, 9))
def test_the_longest_backoff_is_botocores(attempt: int):
    assert worst_backoff_seconds(attempt) == botocores_longest_delay(attempt)


def test_the_worst_call_spelled_out():
    """Attempts × (connect + read) + the backoffs between them (jitter 1 s × 2^i capped, plus the
    retry-after allowance), for the three configs the weight Lambdas use."""
    backoffs = [botocores_longest_delay(i) for i in range(1, 6)]
    assert worst_case_call_seconds(RETRY_CONFIG) == 6 * (5 + 30) + sum(backoffs)
    assert worst_case_call_seconds(BOUNDED_CALL_CONFIG) == 2 * (2 + 3) + backoffs[0]
    assert worst_case_call_seconds(SINGLE_ATTEMPT_CONFIG) == 2 + 3


def test_unset_values_take_botocores_defaults():
    # 3 attempts in standard mode; 60 s connect and read timeouts.
    config = Config(retries={"mode": "standard"})
    assert max_attempts(config) == 3
    assert worst_case_call_seconds(config) == 3 * 120 + botocores_longest_delay(1) + botocores_longest_delay(2)
    assert max_attempts(Config(retries={"mode": "standard", "max_attempts": 4})) == 5, "retries after the first"


@pytest.mark.parametrize("retries", [None, {"mode": "legacy"}, {"mode": "adaptive"}, {"total_max_attempts": 2}])
def test_a_mode_without_a_known_bound_is_refused(retries: Any):
    with pytest.raises(ValueError, match="'standard' retry mode only"):
        worst_case_call_seconds(Config(retries=retries))
