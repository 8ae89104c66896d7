"""How long one AWS call can take at most under a botocore ``Config``: the rule in one place.

A function with a deadline (the custom resource's poll, set-weights' safety margin) must know
the longest one call can run, and that is decided by the client's config, not by SageMaker:

* every attempt waits at most ``connect_timeout`` to connect and ``read_timeout`` for the
  answer (botocore's Config reference: "The time in seconds till a timeout exception is thrown
  when attempting to make a connection / when attempting to read from a connection",
  https://botocore.amazonaws.com/v1/documentation/api/latest/reference/config.html);
* between attempts, the ``standard`` retry mode sleeps at most
  ``min(throttling base scale × 2^(i-1), max backoff)`` after attempt ``i``, plus up to a few
  seconds more when the answer carries ``x-amz-retry-after``
  (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).

The backoff constants are read from botocore's own ``ExponentialBackoff``, not copied, so the
bound follows the botocore the code runs with. The Lambda's ``Timeout`` stays the hard stop;
this bound is what lets a caller finish *before* it, with a reason.
"""

from __future__ import annotations

from botocore.config import Config
from botocore.retries.standard import DEFAULT_MAX_ATTEMPTS, ExponentialBackoff


def max_attempts(config: Config) -> int:
    """Attempts per call, first one included; botocore's ``standard`` default (3) when unset.

    The mode must be spelled out: without it botocore takes it from ``AWS_RETRY_MODE`` or the
    config file, and its own default is ``legacy``, whose backoff differs.
    """
    retries = config.retries or {}
    if retries.get("mode") != "standard":
        raise ValueError(f"bounds are known for botocore's 'standard' retry mode only, not {retries.get('mode')!r}")
    if "total_max_attempts" in retries:
        return int(retries["total_max_attempts"])
    if "max_attempts" in retries:  # retries after the first attempt
        return int(retries["max_attempts"]) + 1
    return DEFAULT_MAX_ATTEMPTS


def worst_backoff_seconds(attempt: int) -> float:
    """The longest sleep botocore's standard mode makes after failed attempt ``attempt`` (1-based)."""
    # Throttling backs off the longest; older botocore has one scale of 1 s for every error.
    scales = getattr(ExponentialBackoff, "_DEFAULT_BACKOFF_CONFIG", {"throttling_base_scale": 1})
    throttling_scale = max(scales.values())
    jittered = min(throttling_scale * ExponentialBackoff._BASE ** (attempt - 1), ExponentialBackoff._MAX_BACKOFF)
    # Older botocore ignores x-amz-retry-after (no such constant): nothing more then.
    return jittered + getattr(ExponentialBackoff, "_RETRY_AFTER_MAX_ADDITIONAL", 0)


def worst_case_call_seconds(config: Config) -> float:
    """The longest one API call can take under ``config``: every attempt times out, every backoff is maximal.

    Not counted: DNS resolution (no timeout in Python) and an endpoint name that resolves to
    several addresses (urllib3 tries each with ``connect_timeout``); ``read_timeout`` bounds each
    wait for data, and these calls' answers are a few KB, read at once.
    """
    attempts = max_attempts(config)
    # A Config fills in botocore's defaults (60 s each) for timeouts it was not given.
    per_attempt = config.connect_timeout + config.read_timeout
    return attempts * per_attempt + sum(worst_backoff_seconds(i) for i in range(1, attempts))
