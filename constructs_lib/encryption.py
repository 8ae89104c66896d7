"""The KMS key that encrypts an endpoint's storage volumes, captured data and logs."""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


def cloudwatch_logs_principal(region: str) -> str:
    """CloudWatch Logs' service principal in ``region`` (a token is fine): ``logs.<region>.<URL suffix>``.

    Regional, and in the partition's own domain: ``logs.us-east-1.amazonaws.com``, but
    ``logs.cn-north-1.amazonaws.com.cn`` in China. Sources: "Encrypt log data in CloudWatch Logs
    using AWS KMS" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html)
    and CDK's own service-principal table (``aws_cdk.region_info.Default.service_principal``: "logs"
    is regional and partitional), which tests/constructs_lib/test_encryption.py compares against.
    """
    return f"logs.{region}.{Aws.URL_SUFFIX}"


class EndpointKey(Construct):
    """Use the key from the config, or create one with yearly rotation.

    A created key lets CloudWatch Logs in this account and region use it for the stack's log
    groups; :class:`~constructs_lib.alarms.EndpointAlarms` adds the statement that lets the
    stack's notifying alarm publish to the SNS topic it encrypts. An imported key (``key_arn``)
    must already allow both in its own key policy: a stack cannot change the policy of a key it
    does not own.

    :param key_arn: default none: the construct creates the key.
    :param alias_name: alias of a created key, e.g. ``alias/ab-test/churn-ab``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key_arn: str | None, alias_name: str) -> None:
        super().__init__(scope, construct_id)
        if key_arn:
            self.key: kms.IKey = kms.Key.from_key_arn(self, "Imported", key_arn)
            return
        key = kms.Key(
            self,
            "Key",
            description="Encrypts the A/B endpoint's instance storage, captured data and logs",
            enable_key_rotation=True,
            alias=alias_name,
        )
        region = Stack.of(self).region
        this_accounts_log_groups = f"arn:{Aws.PARTITION}:logs:{region}:{Aws.ACCOUNT_ID}:log-group:*"
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(cloudwatch_logs_principal(region))],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": this_accounts_log_groups}},
            )
        )
        self.key = key
