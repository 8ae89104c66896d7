"""The alarms SageMaker watches while it moves the endpoint to a new endpoint config, on the new fleet only.

Per production variant, the variant alarms' two expressions (5XX rate, p99 ModelLatency, same
thresholds and traffic guard; :mod:`constructs_lib.alarms`) with one more dimension,
``EndpointConfigName`` = the endpoint config the deployment moves to. Why the new fleet only: an
alarm over the whole variant also sees the old fleet, and "if your old fleet trips the alarm during
the deployment, SageMaker terminates your deployment" (Auto-Rollback Configuration and Monitoring,
https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html): a fix for
a failing model would be rolled back by the very errors it fixes. SageMaker publishes that dimension
"after the new fleet starts receiving traffic" (same page); between deployments these alarms see
no data and stay OK (missing data is not breaching).

They are not rolled up into the paging composite: they only matter during a deployment, where the
rollback itself is the action, and CloudFormation reports the failed update. The endpoint names them
(``AutoRollbackConfiguration.Alarms``, by ``Ref``), so CloudFormation updates them, with the new
config's name, before it updates the endpoint.

SageMaker reads the alarms with ``cloudwatch:DescribeAlarms``; "Ensure that your IAM execution role
has permission to perform the cloudwatch:DescribeAlarms action on the auto-rollback alarms you
specify" (same page). Which role that is, the model's execution role or the caller of UpdateEndpoint
(here CloudFormation's), is not documented: the execution role is granted it on exactly these alarms
(:meth:`DeploymentAlarms.grant_describe`); CloudFormation's role from ``cdk bootstrap`` may do anything.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib.acknowledge import acknowledge
from constructs_lib.alarms import error_rate, p99_latency_ms
from constructs_lib.config.model import MonitoringSpec


class DeploymentAlarms(Construct):
    """Two new-fleet alarms per production variant.

    :param endpoint_name: the endpoint's name as a literal (the endpoint refers to these alarms, so its
        attributes would make a cycle).
    :param endpoint_config_name: the endpoint config a deployment moves to (a token of the config resource).
    :param variant_names: the production variants.
    :param monitoring: thresholds, period, evaluation window and traffic guard, as the variant alarms.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        endpoint_config_name: str,
        variant_names: Sequence[str],
        monitoring: MonitoringSpec,
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.seconds(monitoring.period_seconds)
        guard = monitoring.min_invocations
        self.alarms: list[cw.Alarm] = []
        for variant in variant_names:
            for alarm_id, expression, threshold, what in (
                (
                    f"ErrorRate{variant}",
                    error_rate(endpoint_name, variant, period, guard, endpoint_config_name),
                    monitoring.error_rate_percent,
                    f"5XX responses above {monitoring.error_rate_percent:g} % of invocations",
                ),
                (
                    f"Latency{variant}",
                    p99_latency_ms(endpoint_name, variant, period, guard, endpoint_config_name),
                    monitoring.p99_latency_ms,
                    f"p99 ModelLatency above {monitoring.p99_latency_ms:g} ms",
                ),
            ):
                alarm = expression.create_alarm(
                    self,
                    alarm_id,
                    alarm_description=(
                        f"Deployment guardrail, new fleet only: {variant}: {what} (periods with at least {guard} "
                        "requests). SageMaker rolls the deployment back when it fires."
                    ),
                    threshold=threshold,
                    comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=monitoring.evaluation_periods,
                    datapoints_to_alarm=monitoring.datapoints_to_alarm,
                    treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                )
                acknowledge(
                    alarm,
                    "Watched by SageMaker during a deployment (AutoRollbackConfiguration), which rolls back when it "
                    "fires, and CloudFormation reports the failed update; the paging alarms are the variant alarms.",
                    "NIST.800.53.R5-CloudWatchAlarmAction",
                    "HIPAA.Security-CloudWatchAlarmAction",
                )
                self.alarms.append(alarm)

    @property
    def alarm_names(self) -> list[str]:
        return [alarm.alarm_name for alarm in self.alarms]

    def grant_describe(self, role: iam.IRole) -> iam.Policy:
        """``cloudwatch:DescribeAlarms`` on exactly these alarms, as a policy of its own: the role's default
        policy must exist before the models (CreateModel checks the role), and these alarms come after them."""
        policy = iam.Policy(
            self,
            "DescribeAlarms",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=["cloudwatch:DescribeAlarms"], resources=[alarm.alarm_arn for alarm in self.alarms]
                )
            ],
        )
        acknowledge(
            policy,
            "Belongs to the endpoint's execution role alone and names only this endpoint's rollback alarms, "
            "which exist after the models the role's own policy must precede.",
            "HIPAA.Security-IAMNoInlinePolicy",
            "NIST.800.53.R5-IAMNoInlinePolicy",
        )
        return policy
