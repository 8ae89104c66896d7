"""The DynamoDB table behind "one rollout per endpoint" (``lambdas/rollout/lock.py`` takes and releases it)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib.acknowledge import acknowledge

# The item's key, owner and expiry attributes, as lambdas/rollout/lock.py writes them
# (tests/constructs_lib/test_rollout.py checks the two agree).
PARTITION_KEY = "endpoint"
OWNER = "owner"
EXPIRES_AT = "expires_at"
# What the table's key must allow a caller of an encrypted table: CDK's grantReadData/grantWriteData
# key actions, without their wildcards.
KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")


class RolloutLock(Construct):
    """One item per endpoint under rollout, written only with conditional writes.

    On-demand (a handful of writes per rollout), encrypted with ``key``, point-in-time recovery
    on, DynamoDB TTL on the lease's expiry so stale items go away by themselves. Removed with the
    stack: a lock outlives nothing it protects.

    :param key: encrypts the table.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=EXPIRES_AT,
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.table,
            "Holds only leases of running rollouts, worthless once they end; point-in-time recovery is on, "
            "and a backup plan would keep copies of nothing worth restoring.",
            "HIPAA.Security-DynamoDBInBackupPlan",
            "NIST.800.53.R5-DynamoDBInBackupPlan",
        )

    def grant(self, grantee: iam.IGrantable, *actions: str) -> None:
        """Allow ``actions`` on the table, and the table's key as DynamoDB needs it for them."""
        self.table.grant(grantee, *actions)
        self._key.grant(grantee, *KEY_ACTIONS)
