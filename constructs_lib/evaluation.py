"""The evaluation Lambda and the encrypted bucket its test sets come from and its reports go to."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib import retention
from constructs_lib.ab_endpoint import AbEndpoint
from constructs_lib.acknowledge import acknowledge, wildcard_resource_finding
from constructs_lib.config.model import DEFAULT_ACCESS_LOG_RETENTION_DAYS
from constructs_lib.metric_catalog import PROJECT_NAMESPACE, grant_put_project_metrics
from constructs_lib.python_function import PythonFunction

DATASETS_PREFIX = "datasets/"
REPORTS_PREFIX = "reports/"


class EvaluationBucket(Construct):
    """KMS-encrypted, versioned, SSL-only, private; access logs to a second bucket. Lifecycle rules
    (``constructs_lib.retention``) abort incomplete uploads, delete noncurrent versions and expire the
    access logs; prefixes that expire sooner get their own (``retention.expire_prefix``).

    :param key: encrypts the objects.
    :param access_log_retention: how long access logs are kept (default: 365 days).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        access_log_retention: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # S3 server access logging cannot write to SSE-KMS
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=retention.log_rules(
                access_log_retention or Duration.days(DEFAULT_ACCESS_LOG_RETENTION_DAYS)
            ),
        )
        acknowledge(
            access_logs,
            "This bucket receives the evaluation bucket's access logs; logging it in turn would recurse.",
            "AwsSolutions-S1",
            "HIPAA.Security-S3BucketLoggingEnabled",
            "NIST.800.53.R5-S3BucketLoggingEnabled",
        )
        acknowledge(
            access_logs,
            "S3 server access logging only delivers to buckets encrypted with S3-managed keys.",
            "HIPAA.Security-S3DefaultEncryptionKMS",
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="evaluation-bucket/",
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=retention.bucket_wide_rules(),
        )
        for bucket in (access_logs, self.bucket):
            acknowledge(
                bucket,
                "Test sets and reports are reproducible from their sources; versioning protects against "
                "overwrites, and cross-region replication would double cost for no recovery need.",
                "HIPAA.Security-S3BucketReplicationEnabled",
                "NIST.800.53.R5-S3BucketReplicationEnabled",
            )


class Evaluation(Construct):
    """Scores a labelled test set on each variant and writes a report with a verdict.

    It may read ``datasets/`` and write ``reports/`` in ``bucket``, invoke and describe this
    endpoint only, and publish to the project's metric namespace.

    :param endpoint: the endpoint to evaluate.
    :param bucket: where test sets are read from and reports are written to.
    :param key: encrypts the function's logs.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, endpoint: AbEndpoint, bucket: s3.IBucket, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = PythonFunction(
            self,
            "Handler",
            handler="evaluate.handler.handle",
            key=key,
            description=f"Evaluates the variants of SageMaker endpoint {endpoint.spec.name} on labelled data",
            timeout=Duration.minutes(15),
            memory_size=1769,  # one full vCPU: the paired bootstrap is CPU-bound
            environment={
                "ENDPOINT_NAME": endpoint.endpoint_name,
                "REPORT_BUCKET": bucket.bucket_name,
                "REPORT_PREFIX": REPORTS_PREFIX,
                "METRICS_NAMESPACE": PROJECT_NAMESPACE,
            },
        ).function
        iam.Grant.add_to_principal(
            grantee=self.function,
            actions=["sagemaker:InvokeEndpoint", "sagemaker:DescribeEndpoint"],
            resource_arns=[endpoint.endpoint_arn],
        )
        bucket.grant_read(self.function, f"{DATASETS_PREFIX}*")
        bucket.grant_put(self.function, f"{REPORTS_PREFIX}*")
        grant_put_project_metrics(self.function)
        policy = self.function.role.node.find_child("DefaultPolicy")  # type: ignore[union-attr]
        acknowledge(
            policy,
            "Limited to the datasets/ and reports/ prefixes of the evaluation bucket, and to the bucket "
            "key's data-key actions that S3 needs for SSE-KMS objects.",
            wildcard_resource_finding(policy, bucket.arn_for_objects(f"{DATASETS_PREFIX}*")),
            wildcard_resource_finding(policy, bucket.arn_for_objects(f"{REPORTS_PREFIX}*")),
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
        )
