"""A Python Lambda from ``lambdas/`` with the project's defaults.

Defaults every function shares, so none can forget one: Python 3.14 on arm64, a role without
managed policies, JSON logs into a KMS-encrypted log group with a retention, X-Ray tracing,
and the whole ``lambdas/`` folder as one asset (each handler imports the shared
``endpoint_weights`` package; no Docker bundling, boto3 comes with the runtime).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from constructs_lib.acknowledge import acknowledge
from constructs_lib.lambda_shared import LAMBDAS_DIR

LAMBDA_CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "README.md"]
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
RUNTIME = lambda_.Runtime.PYTHON_3_14
DEFAULT_TIMEOUT = Duration.minutes(1)


def lambda_role(scope: Construct, construct_id: str, *, log_group: logs.ILogGroup) -> iam.Role:
    """A Lambda role that may write to ``log_group`` (and X-Ray, added by tracing), nothing else yet.

    Used instead of the AWSLambdaBasicExecutionRole managed policy, which lets a function
    create and write *any* log group in the account.
    """
    role = iam.Role(scope, construct_id, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    log_group.grant_write(role)
    policy = role.node.find_child("DefaultPolicy")
    acknowledge(
        policy,
        "'*' only for actions without resource-level permissions: X-Ray trace upload, and CloudWatch "
        "GetMetricData/PutMetricData (PutMetricData pinned to the project's namespace by condition).",
        "AwsSolutions-IAM5[Resource::*]",
    )
    acknowledge(
        policy,
        "The policy belongs to this one function's role and names this stack's own resources; "
        "a shared managed policy could not.",
        "HIPAA.Security-IAMNoInlinePolicy",
        "NIST.800.53.R5-IAMNoInlinePolicy",
    )
    return role


SYNCHRONOUS_DLQ_REASON = (
    "Invoked synchronously only (custom resource framework, aws lambda invoke): the caller "
    "receives every error, so a dead-letter queue would stay empty."
)
SCHEDULED_DLQ_REASON = (
    "Runs on a schedule and only reads and publishes metrics: a failed run is superseded by the "
    "next one minutes later and shows in the function's Errors metric and logs; a dead-letter "
    "queue would only collect stale timer events."
)


def acknowledge_lambda_compliance(
    function: IConstruct, *, asynchronous: bool = False, has_dead_letter_queue: bool = False
) -> None:
    """The compliance-pack findings every function here shares, each with its reason.

    A function with a dead-letter queue (``has_dead_letter_queue``, default False) has no
    dead-letter finding to acknowledge.
    """
    if not has_dead_letter_queue:
        acknowledge(
            function,
            SCHEDULED_DLQ_REASON if asynchronous else SYNCHRONOUS_DLQ_REASON,
            "HIPAA.Security-LambdaDLQ",
            "NIST.800.53.R5-LambdaDLQ",
        )
    acknowledge(
        function,
        "Runs a handful of times per deployment or pipeline step; reserving concurrency would "
        "take capacity from the account's shared pool for nothing.",
        "HIPAA.Security-LambdaConcurrency",
        "NIST.800.53.R5-LambdaConcurrency",
    )
    acknowledge(
        function,
        "Calls only AWS control-plane APIs and touches no data; a VPC would add NAT or interface "
        "endpoints without protecting anything.",
        "HIPAA.Security-LambdaInsideVPC",
        "NIST.800.53.R5-LambdaInsideVPC",
    )


class PythonFunction(Construct):
    """A Lambda function whose handler lives in ``lambdas/<folder>/handler.py``.

    :param handler: ``"<folder>.handler.<function>"``, relative to ``lambdas/``.
    :param key: encrypts the log group.
    :param description: shown in the Lambda console.
    :param timeout: default 1 minute.
    :param environment: default none.
    :param asynchronous: default ``False``; ``True`` for functions invoked by a schedule.
    :param dead_letter_queue: default none; where failed asynchronous invocations go, for a
        function whose failures must not pass unnoticed (CDK grants the function's role
        ``sqs:SendMessage`` on it; the queue's own alarm is the caller's).
    :param memory_size: MB, default 256 (also sets the CPU share).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        key: kms.IKey,
        description: str,
        timeout: Duration = DEFAULT_TIMEOUT,
        environment: Mapping[str, str] | None = None,
        asynchronous: bool = False,
        memory_size: int = 256,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION, encryption_key=key)
        self.role = lambda_role(self, "Role", log_group=self.log_group)
        self.function = lambda_.Function(
            self,
            "Function",
            role=self.role,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=LAMBDA_CODE_EXCLUDES),
            description=description,
            timeout=timeout,
            memory_size=memory_size,
            environment=dict(environment or {}),
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=self.log_group,
            dead_letter_queue=dead_letter_queue,
        )
        acknowledge_lambda_compliance(
            self.function, asynchronous=asynchronous, has_dead_letter_queue=dead_letter_queue is not None
        )
