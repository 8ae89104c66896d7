"""The longest a Provider-framework custom resource can run, counted the way the framework runs.

How aws-cdk-lib's ``custom_resources.Provider`` spends time (read in aws-cdk-lib 2.275.0,
``custom-resources/lib/provider-framework``: ``provider.js``, ``util.js``,
``waiter-state-machine.js``, ``runtime/framework.js``):

1. CloudFormation invokes the framework's onEvent function; it invokes the user's ``on_event``
   synchronously, then starts the waiter state machine.
2. The waiter is one Task that invokes the framework's isComplete function, which invokes the
   user's ``is_complete`` synchronously. Its Retry is ``States.ALL`` with
   ``IntervalSeconds = query_interval``, ``MaxAttempts = total_timeout / query_interval`` and
   ``BackoffRate = 1``: a fixed wait, counting only the waits *between* calls.
3. Step Functions' ``MaxAttempts`` counts retries after the first try
   (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html), so
   ``is_complete`` runs up to ``MaxAttempts + 1`` times, with ``MaxAttempts`` waits between.
4. When the retries run out, the Catch invokes the framework's onTimeout function, which tells
   CloudFormation "Operation timed out".

A user function's run is bounded by its ``Timeout`` (a timed-out ``is_complete`` fails that
attempt, which the Retry repeats); its Init phase comes on top and is limited to 10 s
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html, "The Init phase
is limited to 10 seconds"). The framework's own functions have a 15-minute timeout, which bounds
nothing useful; their own work (one Lambda invoke or StartExecution, one HTTPS PUT of the
response) is allowed :data:`FRAMEWORK_WORK_SECONDS`.
"""

from __future__ import annotations

# Lambda's limit on a function's Init phase, which runs outside its Timeout (page above).
LAMBDA_INIT_LIMIT_SECONDS = 10
# What a framework function does besides waiting for the user's function: an SDK call or two
# and the response upload. An allowance, not an AWS limit: these take well under a second.
FRAMEWORK_WORK_SECONDS = 5
# When invoking a user function fails (throttling, say), the framework's invoke helper
# (custom-resources/lib/provider-framework/runtime/outbound.js, defaultInvokeFunction) waits for the
# function to be Active and invokes it once more. Reserve one such repeat of the longest user run
# per custom-resource operation: on_event's (Init + timeout) plus the framework's own work. Not
# covered: that helper's wait for a function that is not Active (up to 300 s), which happens only
# while a function is being created or updated, not for the stack's settled functions.
REINVOKE_RESERVE_SECONDS = 120


def _framework_run(user_timeout_seconds: float = 0) -> float:
    """One framework function's run, including the user function it invokes (if any)."""
    user = LAMBDA_INIT_LIMIT_SECONDS + user_timeout_seconds if user_timeout_seconds else 0
    return LAMBDA_INIT_LIMIT_SECONDS + FRAMEWORK_WORK_SECONDS + user


def worst_case_seconds(
    *, on_event_timeout: float, is_complete_timeout: float, query_interval: float, max_attempts: int
) -> float:
    """From CloudFormation's request to the framework's "Operation timed out", at the longest.

    ``max_attempts`` is the waiter's Retry ``MaxAttempts`` (retries after the first call).
    """
    return (
        _framework_run(on_event_timeout)  # onEvent → on_event, then StartExecution
        + (max_attempts + 1) * _framework_run(is_complete_timeout)  # every isComplete → is_complete
        + max_attempts * query_interval  # the Retry's waits between them
        + _framework_run()  # onTimeout reports the failure
        + REINVOKE_RESERVE_SECONDS  # one failed invoke repeated by the framework
    )


def longest_total_timeout_seconds(
    *, service_timeout: float, on_event_timeout: float, is_complete_timeout: float, query_interval: int
) -> int:
    """The Provider's ``total_timeout`` (a multiple of ``query_interval``, as the framework requires)
    with the most polls whose worst case still ends before CloudFormation's ``service_timeout``.

    Raises ``ValueError`` when not even one wait fits.
    """
    fixed = worst_case_seconds(
        on_event_timeout=on_event_timeout,
        is_complete_timeout=is_complete_timeout,
        query_interval=query_interval,
        max_attempts=0,
    )
    per_attempt = query_interval + _framework_run(is_complete_timeout)
    max_attempts = int((service_timeout - fixed) // per_attempt)
    # Strictly before: at equality CloudFormation and the framework would race.
    while max_attempts > 0 and (
        worst_case_seconds(
            on_event_timeout=on_event_timeout,
            is_complete_timeout=is_complete_timeout,
            query_interval=query_interval,
            max_attempts=max_attempts,
        )
        >= service_timeout
    ):
        max_attempts -= 1
    if max_attempts < 1:
        raise ValueError(
            f"no poll every {query_interval} s fits in a {service_timeout} s ServiceTimeout with "
            f"on_event {on_event_timeout} s and is_complete {is_complete_timeout} s timeouts"
        )
    return max_attempts * query_interval
