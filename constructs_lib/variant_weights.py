"""The weights custom resource: weight values → UpdateEndpointWeightsAndCapacities, in place.

Built on ``custom_resources.Provider``: ``on_event`` validates and starts the change,
``is_complete`` polls DescribeEndpoint until the endpoint is ``InService`` with the desired
weights. The resource's properties decide when CloudFormation calls it again:

* ``Weights`` changes whenever a weight parameter does;
* ``EndpointConfigName`` changes whenever the endpoint config is replaced, so the parameter
  weights are re-applied after every blue/green update (see :mod:`constructs_lib.ab_endpoint`).

Beside a shadow, ``ShadowSampling`` carries its sampling percentage (the stack parameter); the handler turns it
into the shadow's weight and, on Update, sets that weight in place or fails saying SageMaker refused
(lambdas/endpoint_weights/shadow_in_place.py; whether SageMaker takes a shadow's name is UNVERIFIED, Q2).
The endpoint config keeps the config's sampling. Without a shadow the property is absent, so such templates
are unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from aws_cdk import Annotations, Aws, CustomResource, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from constructs_lib.ab_endpoint import AbEndpoint
from constructs_lib.acknowledge import acknowledge, wildcard_resource_finding
from constructs_lib.config import deployment_limits
from constructs_lib.metric_catalog import PROJECT_NAMESPACE, grant_put_project_metrics
from constructs_lib.python_function import (
    DEFAULT_TIMEOUT,
    LOG_RETENTION,
    PythonFunction,
    acknowledge_lambda_compliance,
    lambda_role,
)
from constructs_lib.waiter_budget import longest_total_timeout_seconds

# How long CloudFormation waits for a custom resource: ServiceTimeout, 1 to 3600 s, default 3600
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-customresource.html#cfn-cloudformation-customresource-servicetimeout).
SERVICE_TIMEOUT = Duration.hours(1)  # the most CloudFormation allows, set explicitly
# The handlers' own timeouts. on_event makes at most two calls (lambdas/weights_provider), each
# bounded well inside a minute by its client config. is_complete makes at most three single-attempt
# calls of at most 5 s each (DescribeEndpoint, AddTags of the serving-since marker, PutMetricData);
# a short timeout keeps every poll short, and a poll cut off by it just counts as "not yet" (the
# waiter retries any failure).
ON_EVENT_TIMEOUT = DEFAULT_TIMEOUT
IS_COMPLETE_TIMEOUT = Duration.seconds(20)
# DescribeEndpoint every 30 s, for at most TOTAL_TIMEOUT. The framework must give up before
# CloudFormation does: its timeout handler then fails the resource with "Operation timed out"
# and the waiter stops. If CloudFormation gave up first, the stack would roll back with a
# generic message while the waiter kept polling, and could apply the new weights after the
# rollback had restored the old ones. So TOTAL_TIMEOUT is not chosen but derived: the most
# polls whose worst case (on_event, every is_complete at its timeout, the waits, the timeout
# handler; see constructs_lib/waiter_budget.py) still ends before SERVICE_TIMEOUT.
QUERY_INTERVAL = Duration.seconds(30)
TOTAL_TIMEOUT = Duration.seconds(
    longest_total_timeout_seconds(
        service_timeout=SERVICE_TIMEOUT.to_seconds(),
        on_event_timeout=ON_EVENT_TIMEOUT.to_seconds(),
        is_complete_timeout=IS_COMPLETE_TIMEOUT.to_seconds(),
        query_interval=int(QUERY_INTERVAL.to_seconds()),
    )
)


def grant_weight_changes(endpoint: AbEndpoint, grantee: iam.IGrantable) -> None:
    """Allow reading the endpoint and changing its weights and capacities, on this endpoint only."""
    iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"],
        resource_arns=[endpoint.endpoint_arn],
    )


class VariantWeights(Construct):
    """Keeps the endpoint's live weights equal to ``weights``.

    :param endpoint: the endpoint whose variants to weigh.
    :param weights: variant name → weight; in a stack, the weight parameters' values.
    :param key: encrypts the handlers' and the waiter's logs.
    :param shadow_sampling: the shadow's sampling percentage (in a stack, its parameter's value), applied in
        place on Update. Required beside a shadow, ignored without one. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: AbEndpoint,
        weights: Mapping[str, float],
        key: kms.IKey,
        shadow_sampling: float | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        on_event = PythonFunction(
            self,
            "OnEvent",
            handler="weights_provider.handler.on_event",
            key=key,
            description="Weights custom resource: validates and applies the weight parameters",
            timeout=ON_EVENT_TIMEOUT,
        ).function
        is_complete = PythonFunction(
            self,
            "IsComplete",
            handler="weights_provider.handler.is_complete",
            key=key,
            description="Weights custom resource: completes when the endpoint shows the weights",
            timeout=IS_COMPLETE_TIMEOUT,
            environment={"METRICS_NAMESPACE": PROJECT_NAMESPACE},
        ).function
        grant_put_project_metrics(is_complete)
        if endpoint.shadow_variant_name is not None:
            # Beside a shadow, on_event asks whether the stack is rolling back (weights_provider.stack_state):
            # this stack only, read-only.
            iam.Grant.add_to_principal(
                grantee=on_event, actions=["cloudformation:DescribeStacks"], resource_arns=[Aws.STACK_ID]
            )
        self._handlers = (on_event, is_complete)
        for function in self._handlers:
            grant_weight_changes(endpoint, function)
            # The serving-since marker after a config change or a rolled-back deployment (weights_provider).
            endpoint.grant_mark_serving_since(function)

        # The framework's own functions get roles limited to their log group (instead of the
        # account-wide AWSLambdaBasicExecutionRole); the Provider adds the invoke permissions.
        framework_logs = logs.LogGroup(self, "FrameworkLogs", retention=LOG_RETENTION, encryption_key=key)
        waiter_logs = logs.LogGroup(self, "WaiterLogs", retention=LOG_RETENTION, encryption_key=key)
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=on_event,
            is_complete_handler=is_complete,
            query_interval=QUERY_INTERVAL,
            total_timeout=TOTAL_TIMEOUT,
            log_group=framework_logs,
            framework_on_event_role=lambda_role(self, "FrameworkOnEventRole", log_group=framework_logs),
            framework_complete_and_timeout_role=lambda_role(self, "FrameworkWaitRole", log_group=framework_logs),
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(destination=waiter_logs, level=sfn.LogLevel.ALL),
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            resource_type="Custom::VariantWeights",
            service_timeout=SERVICE_TIMEOUT,
            properties=self._properties(endpoint, weights, shadow_sampling),
        )
        self._acknowledge_framework_findings()
        self._warn_if_a_deployment_may_outlast_the_waiter(endpoint)

    @staticmethod
    def _properties(
        endpoint: AbEndpoint, weights: Mapping[str, float], shadow_sampling: float | None
    ) -> dict[str, object]:
        properties: dict[str, object] = {
            "EndpointName": endpoint.endpoint_name,
            "EndpointConfigName": endpoint.endpoint_config_name,
            "Weights": dict(weights),
        }
        shadow = endpoint.shadow_variant_name
        if shadow is not None:
            assert shadow_sampling is not None, f"shadow variant {shadow} needs its sampling percentage"
            properties["ShadowSampling"] = {shadow: shadow_sampling}
            # What the endpoint config carries: on a new fleet a parameter at this value needs no call, and a
            # config edit of it that kept the parameter is refused (lambdas/weights_provider/shadow_request.py).
            assert endpoint.spec.shadow_variant is not None and endpoint.spec.shadow_variant.shadow is not None
            properties["ConfigSampling"] = {shadow: endpoint.spec.shadow_variant.shadow.sampling_percentage}
        return properties

    def _warn_if_a_deployment_may_outlast_the_waiter(self, endpoint: AbEndpoint) -> None:
        """The custom resource waits for the endpoint at most TOTAL_TIMEOUT. CloudFormation calls it once the
        Endpoint resource is done; whether that is after a guarded deployment's bakes and termination wait
        (the Endpoint's update handler may take 970 minutes) is not documented. If it were before, a longer
        deployment would outlast this waiter, which would then fail the stack while SageMaker carries on."""
        deployment = endpoint.spec.deployment
        if deployment is None:
            return
        longest = deployment.timeout_seconds or deployment_limits.estimated_seconds(deployment, endpoint.spec.variants)
        budget = int(TOTAL_TIMEOUT.to_seconds())
        if longest > budget:
            what = "timeout_seconds" if deployment.timeout_seconds else "the deployment's estimated waits"
            Annotations.of(self).add_warning_v2(
                "ab-test:deploymentLongerThanWeightsWaiter",
                f"{what} ({longest} s) exceed(s) the weights custom resource's {budget} s wait for the endpoint. "
                "Fine if CloudFormation's endpoint update returns only after the deployment (assumed, not "
                "documented); otherwise the stack update fails after that wait while the deployment goes on.",
            )

    def _acknowledge_framework_findings(self) -> None:
        """Findings on what aws-cdk-lib's Provider framework creates for itself, with reasons."""
        for framework_function in ("framework-onEvent", "framework-isComplete", "framework-onTimeout"):
            acknowledge_lambda_compliance(self.provider.node.find_child(framework_function))
        invoke_reason = (
            "The Provider framework invokes the handler functions by ARN and any of their versions "
            "('<function ARN>:*'); it names exactly this construct's functions."
        )
        for role_id in ("FrameworkOnEventRole", "FrameworkWaitRole"):
            policy = self.node.find_child(role_id).node.find_child("DefaultPolicy")
            acknowledge(policy, invoke_reason, *self._invoke_findings(*self._handlers))
        waiter = self.provider.node.find_child("waiter-state-machine")
        acknowledge(
            waiter.node.find_child("Role").node.find_child("DefaultPolicy"),
            invoke_reason,
            *self._invoke_findings(
                self.provider.node.find_child("framework-isComplete"),
                self.provider.node.find_child("framework-onTimeout"),
            ),
        )
        acknowledge(
            waiter.node.find_child("Role").node.find_child("DefaultPolicy"),
            "Generated by the Provider framework for its waiter alone; it names only the framework's functions.",
            "HIPAA.Security-IAMNoInlinePolicy",
            "NIST.800.53.R5-IAMNoInlinePolicy",
        )
        acknowledge(
            waiter.node.find_child("Role").node.find_child("DefaultPolicy"),
            "Step Functions log delivery (logs:CreateLogDelivery, ...) has no resource-level "
            "permissions; AWS requires '*'.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        acknowledge(
            waiter,
            "The Provider framework exposes no tracing setting for its waiter, which only calls the "
            "isComplete function every 30 s; that function and the handlers are traced with X-Ray.",
            "AwsSolutions-SF2",
        )

    @staticmethod
    def _invoke_findings(*functions: IConstruct) -> list[str]:
        """cdk-nag's finding IDs for "invoke any version of these functions" statements."""
        return [
            wildcard_resource_finding(function, f"{cast(lambda_.IFunction, function).function_arn}:*")
            for function in functions
        ]
