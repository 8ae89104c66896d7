"""The set-weights Lambda pipelines and operators invoke to change weights on demand."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib.ab_endpoint import AbEndpoint
from constructs_lib.metric_catalog import PROJECT_NAMESPACE, grant_put_project_metrics
from constructs_lib.python_function import PythonFunction
from constructs_lib.variant_weights import grant_weight_changes


class SetWeightsFunction(Construct):
    """``{"weights": {...}, "instance_counts": {...}}`` → UpdateEndpointWeightsAndCapacities.

    Waits while the endpoint is busy and until the change is in place, so its timeout is
    Lambda's maximum (15 minutes). Its IAM policy names this endpoint's ARN only.

    :param endpoint: the endpoint it may change.
    :param key: encrypts its log group.
    """

    def __init__(self, scope: Construct, construct_id: str, *, endpoint: AbEndpoint, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.function = PythonFunction(
            self,
            "Handler",
            handler="set_weights.handler.handle",
            key=key,
            description=f"Sets the traffic weights of SageMaker endpoint {endpoint.spec.name}",
            timeout=Duration.minutes(15),
            environment={"ENDPOINT_NAME": endpoint.endpoint_name, "METRICS_NAMESPACE": PROJECT_NAMESPACE},
        ).function
        grant_weight_changes(endpoint, self.function)
        grant_put_project_metrics(self.function)
