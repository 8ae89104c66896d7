"""Step Functions retriers the project's state machines share (live quality's, the rollout's)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn

# Lambda's throttling error, as Step Functions reports it: "When Lambda hits the maximum number of
# invocations, the error is Lambda.TooManyRequestsException" ("Handle Lambda service exceptions":
# https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html). CDK's default
# Lambda task retry covers that page's other four (ServiceException, AWSLambdaException,
# SdkClientException, ClientExecutionTimeoutException), not this one: without a retrier a throttled
# task would take its state machine's error path (a rollout would roll the candidate back).
LAMBDA_THROTTLED = "Lambda.TooManyRequestsException"


def retry_lambda_throttling(task: sfn.TaskStateBase) -> None:
    """A throttled Lambda invoke is retried with jittered backoff (about a minute in all). Add it before any
    catch-all retrier: Step Functions uses the first retrier that matches."""
    task.add_retry(
        errors=[LAMBDA_THROTTLED],
        interval=Duration.seconds(2),
        max_attempts=6,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )
