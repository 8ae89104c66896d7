"""The scheduled sample-ratio-mismatch check and its alarm."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib.ab_endpoint import AbEndpoint
from constructs_lib.config.model import MonitoringSpec
from constructs_lib.metric_catalog import PROJECT_NAMESPACE, grant_put_project_metrics, metric
from constructs_lib.python_function import PythonFunction


class SampleRatioCheck(Construct):
    """Every ``srm_schedule_minutes``, an exact binomial test of the observed split against the weights.

    The alarm fires when the published p-value is below ``srm_p_value`` in 2 of the last 3
    runs; the function publishes only with at least ``srm_min_invocations`` requests in the
    window, so missing data (too little traffic) is not breaching.

    :param endpoint: the endpoint to watch.
    :param monitoring: schedule, window, traffic minimum and p-value threshold.
    :param key: encrypts the function's logs.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, endpoint: AbEndpoint, monitoring: MonitoringSpec, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = PythonFunction(
            self,
            "Handler",
            handler="srm_check.handler.handle",
            key=key,
            description=f"Sample-ratio-mismatch check of SageMaker endpoint {endpoint.spec.name}",
            timeout=Duration.minutes(1),
            environment={
                "ENDPOINT_NAME": endpoint.endpoint_name,
                "METRICS_NAMESPACE": PROJECT_NAMESPACE,
                "WINDOW_MINUTES": str(monitoring.srm_window_minutes),
                "MIN_INVOCATIONS": str(monitoring.srm_min_invocations),
            },
            asynchronous=True,
        ).function
        iam.Grant.add_to_principal(
            grantee=self.function, actions=["sagemaker:DescribeEndpoint"], resource_arns=[endpoint.endpoint_arn]
        )
        iam.Grant.add_to_principal(grantee=self.function, actions=["cloudwatch:GetMetricData"], resource_arns=["*"])
        grant_put_project_metrics(self.function)

        self.schedule = events.Rule(
            self,
            "Schedule",
            schedule=events.Schedule.rate(Duration.minutes(monitoring.srm_schedule_minutes)),
            targets=[targets.LambdaFunction(self.function, retry_attempts=0)],
            description=f"Runs the SRM check of {endpoint.spec.name} every {monitoring.srm_schedule_minutes} min",
        )

        self.p_value = metric(
            PROJECT_NAMESPACE,
            "SrmPValue",
            endpoint_name=endpoint.endpoint_name,
            statistic="Minimum",
            period=Duration.minutes(monitoring.srm_schedule_minutes),
            label="SRM p-value",
        )
        self.alarm = self.p_value.create_alarm(
            self,
            "Alarm",
            alarm_description=f"Traffic split does not match the weights: exact-test p-value below "
            f"{monitoring.srm_p_value:g} with at least {monitoring.srm_min_invocations} requests in "
            f"{monitoring.srm_window_minutes} min",
            threshold=monitoring.srm_p_value,
            comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
