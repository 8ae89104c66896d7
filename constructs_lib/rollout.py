"""A guarded progressive rollout between the variants of one endpoint, as a Step Functions state machine.

Started with ``{"candidate": "Variant2", "steps": [10, 25, 50, 100], "bake_seconds": 600}`` (see
``lambdas/rollout/plan.py`` for every key and default)::

    Prepare ─► Apply step ─► Mark step start ─► Bake (Wait) ─► Judge ─► Announce ─► Notify ─► Route
                  ▲              ▲                                                          │
                  └─ next_step ──┼──────────────────────────────────────────────────────────┤
                                 └─ judge_again (hold) ─────────────────────────────────────┤
                                     complete ─► Promoted        rollback ─► Restore ─► Fail │
                                     stop (hold limit) ─► Fail (weights stay)                │

Prepare checks everything before any weight changes (endpoint InService, no other rollout
running, a valid plan) and records the weights from before. Weights change only through the
set-weights Lambda. No Lambda sits waiting: the bake is a Wait state. A manual stop (or a
timeout) restores the weights through an EventBridge rule on the execution's status. A failed
announcement (EventBridge, SNS) never undoes a decision; a failed restore is retried, then
fails the execution as ``RestoreFailed``. The execution history is the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import ArnFormat, CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from constructs_lib.ab_endpoint import AbEndpoint
from constructs_lib.acknowledge import acknowledge, wildcard_resource_finding
from constructs_lib.metric_catalog import PROJECT_NAMESPACE, grant_put_project_metrics
from constructs_lib.python_function import LOG_RETENTION, PythonFunction
from constructs_lib.variant_weights import grant_weight_changes

EVENT_SOURCE = "sagemaker-ab.rollout"
EVENT_DETAIL_TYPE = "SageMaker A/B rollout decision"
MAX_ROLLOUT_DURATION = Duration.days(7)


class GuardedRollout(Construct):
    """The rollout state machine of one endpoint, and the watcher that undoes a manual stop.

    :param endpoint: the endpoint whose variants roll out.
    :param set_weights: the set-weights function: the only way the rollout changes weights.
    :param variant_alarms: variant name → its alarms; the judge rolls back when the candidate's fire.
    :param topic: where every decision is announced (besides the EventBridge default bus).
    :param key: encrypts the logs (and the topic).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: AbEndpoint,
        set_weights: lambda_.IFunction,
        variant_alarms: Mapping[str, Sequence[cw.IAlarm]],
        topic: sns.ITopic,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        env = {"ENDPOINT_NAME": endpoint.endpoint_name}
        prepare_fn = PythonFunction(
            self, "PrepareFunction", handler="rollout.handler.prepare", key=key, environment=env,
            description="Rollout: checks the request and the endpoint before any weight changes",
        ).function  # fmt: skip
        judge_fn = PythonFunction(
            self,
            "JudgeFunction",
            handler="rollout.handler.judge",
            key=key,
            description="Rollout: promote, hold or roll back from the per-minute metrics since the rollout began",
            environment={
                **env,
                "VARIANT_ALARMS": stack.to_json_string(
                    {variant: [a.alarm_name for a in alarms] for variant, alarms in variant_alarms.items()}
                ),
            },
        ).function
        restore_fn = PythonFunction(
            self,
            "RestoreAfterStop",
            handler="rollout.handler.restore_after_stop",
            key=key,
            description="Rollout: puts the weights back when an execution is stopped by hand",
            timeout=Duration.minutes(15),
            environment={**env, "METRICS_NAMESPACE": PROJECT_NAMESPACE},
            asynchronous=True,
        ).function
        iam.Grant.add_to_principal(
            grantee=prepare_fn, actions=["sagemaker:DescribeEndpoint"], resource_arns=[endpoint.endpoint_arn]
        )
        iam.Grant.add_to_principal(grantee=prepare_fn, actions=["cloudwatch:GetMetricData"], resource_arns=["*"])
        iam.Grant.add_to_principal(
            grantee=judge_fn, actions=["cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms"], resource_arns=["*"]
        )
        iam.Grant.add_to_principal(
            grantee=judge_fn, actions=["sagemaker:DescribeEndpoint"], resource_arns=[endpoint.endpoint_arn]
        )
        grant_weight_changes(endpoint, restore_fn)
        grant_put_project_metrics(restore_fn)

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(
                self._definition(prepare_fn, judge_fn, set_weights, topic, endpoint.endpoint_name)
            ),
            timeout=MAX_ROLLOUT_DURATION,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=logs.LogGroup(self, "ExecutionLogs", retention=LOG_RETENTION, encryption_key=key),
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
        )
        key.grant(self.state_machine, "kms:Decrypt", "kms:GenerateDataKey*")  # publish to the encrypted topic

        # Policies that name the state machine sit outside the functions' default policies: a
        # function depends on its default policy, and the state machine on the function.
        list_executions = iam.Policy(
            self,
            "PrepareListsExecutions",
            statements=[
                iam.PolicyStatement(actions=["states:ListExecutions"], resources=[self.state_machine.state_machine_arn])
            ],
        )
        list_executions.attach_to_role(prepare_fn.role)  # type: ignore[arg-type]
        executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{self.state_machine.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        read_history = iam.Policy(
            self,
            "RestoreReadsHistory",
            statements=[iam.PolicyStatement(actions=["states:GetExecutionHistory"], resources=[executions])],
        )
        read_history.attach_to_role(restore_fn.role)  # type: ignore[arg-type]

        for policy in (list_executions, read_history):
            acknowledge(
                policy,
                "One statement naming this state machine (or its executions), kept apart from the function's "
                "default policy only to avoid a dependency cycle; it lives and dies with the role.",
                "HIPAA.Security-IAMNoInlinePolicy",
                "NIST.800.53.R5-IAMNoInlinePolicy",
            )
        acknowledge(
            read_history,
            "Only the executions of this state machine: execution ARNs end in the execution's name.",
            wildcard_resource_finding(read_history, executions),
        )

        self.stop_watcher = events.Rule(
            self,
            "RestoreOnStop",
            description="Restores the weights when a rollout execution is stopped by hand or times out",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [self.state_machine.state_machine_arn], "status": ["ABORTED", "TIMED_OUT"]},
            ),
            targets=[targets.LambdaFunction(restore_fn, retry_attempts=2)],
        )
        self._acknowledge(prepare_fn, judge_fn, set_weights)
        CfnOutput(
            stack,
            "RolloutStateMachineArn",
            value=self.state_machine.state_machine_arn,
            description='Start with {"candidate": "<variant>", "steps": [10, 25, 50, 100], "bake_seconds": 600}',
        )

    def _definition(
        self,
        prepare_fn: lambda_.IFunction,
        judge_fn: lambda_.IFunction,
        set_weights: lambda_.IFunction,
        topic: sns.ITopic,
        endpoint_name: str,
    ) -> sfn.IChainable:
        prepare = tasks.LambdaInvoke(
            self,
            "Prepare",
            lambda_function=prepare_fn,
            payload=sfn.TaskInput.from_object(
                {
                    "input": sfn.JsonPath.object_at("$"),
                    "execution": sfn.JsonPath.string_at("$$.Execution.Id"),
                    "state_machine": sfn.JsonPath.string_at("$$.StateMachine.Id"),
                }
            ),
            result_selector={"rollout": sfn.JsonPath.object_at("$.Payload")},
            comment="Validate everything and record the weights from before; no weight changes here",
        )
        apply = tasks.LambdaInvoke(
            self,
            "Apply step",
            lambda_function=set_weights,
            payload=sfn.TaskInput.from_object(
                {
                    "weights": sfn.JsonPath.object_at("$.rollout.current_weights"),
                    "instance_counts": sfn.JsonPath.object_at("$.rollout.instance_counts"),
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
            comment="Set this step's weights through the set-weights Lambda (waits for InService)",
        )
        # The step's measuring window starts once its weights are live, not when they were asked for.
        mark = sfn.Pass(
            self,
            "Mark step start",
            parameters={"at": sfn.JsonPath.string_at("$$.State.EnteredTime")},
            result_path="$.rollout.applied",
        )
        bake = sfn.Wait(self, "Bake", time=sfn.WaitTime.seconds_path("$.rollout.bake_seconds"))
        judge = tasks.LambdaInvoke(
            self,
            "Judge",
            lambda_function=judge_fn,
            payload=sfn.TaskInput.from_json_path_at("$.rollout"),
            result_selector={"rollout": sfn.JsonPath.object_at("$.Payload")},
        )
        decision = {
            "endpoint": endpoint_name,
            "execution": sfn.JsonPath.string_at("$$.Execution.Id"),
            "candidate": sfn.JsonPath.string_at("$.rollout.candidate"),
            "action": sfn.JsonPath.string_at("$.rollout.action"),
            "share": sfn.JsonPath.number_at("$.rollout.share"),
            "reason": sfn.JsonPath.string_at("$.rollout.reason"),
        }
        announce = tasks.EventBridgePutEvents(
            self,
            "Announce",
            entries=[
                tasks.EventBridgePutEventsEntry(
                    detail=sfn.TaskInput.from_object(decision), detail_type=EVENT_DETAIL_TYPE, source=EVENT_SOURCE
                )
            ],
            result_path=sfn.JsonPath.DISCARD,
        )
        notify = tasks.SnsPublish(
            self,
            "Notify",
            topic=topic,
            subject="SageMaker A/B rollout decision",
            message=sfn.TaskInput.from_object(decision),
            result_path=sfn.JsonPath.DISCARD,
        )
        restore_payload = sfn.TaskInput.from_object(
            {
                "weights": sfn.JsonPath.object_at("$.rollout.original_weights"),
                "instance_counts": sfn.JsonPath.object_at("$.rollout.restore_instance_counts"),
            }
        )
        restore = tasks.LambdaInvoke(
            self,
            "Restore weights",
            lambda_function=set_weights,
            payload=restore_payload,
            result_path=sfn.JsonPath.DISCARD,
            comment="Back to the weights from before the rollout (drains the candidate)",
        )
        rolled_back = sfn.Fail(self, "Rolled back", error="RolledBack", cause_path="$.rollout.reason")
        restore_after_error = tasks.LambdaInvoke(
            self,
            "Restore weights after an error",
            lambda_function=set_weights,
            payload=restore_payload,
            result_path=sfn.JsonPath.DISCARD,
        )
        on_error = restore_after_error.next(
            sfn.Fail(self, "Rollout error", error="RolloutError", cause_path="$.error.Cause")
        )
        restore_failed = sfn.Fail(self, "Restore failed", error="RestoreFailed", cause_path="$.restore_error.Cause")
        for task in (restore, restore_after_error):
            task.add_retry(errors=["States.TaskFailed"], interval=Duration.seconds(30), max_attempts=3, backoff_rate=2)
            task.add_catch(restore_failed, result_path="$.restore_error")
        for step in (apply, judge):
            step.add_catch(on_error, result_path="$.error")

        route = (
            sfn.Choice(self, "Route")
            .when(sfn.Condition.string_equals("$.rollout.action", "next_step"), apply)
            .when(sfn.Condition.string_equals("$.rollout.action", "judge_again"), bake)
            .when(sfn.Condition.string_equals("$.rollout.action", "complete"), sfn.Succeed(self, "Promoted"))
            .when(sfn.Condition.string_equals("$.rollout.action", "rollback"), restore.next(rolled_back))
            .otherwise(sfn.Fail(self, "Hold limit reached", error="HoldLimitReached", cause_path="$.rollout.reason"))
        )
        # A lost notification must not undo a decision: carry on to the route.
        for notice in (announce, notify):
            notice.add_retry(errors=["States.TaskFailed"], interval=Duration.seconds(5), max_attempts=2)
        announce.add_catch(notify, result_path="$.announce_error")
        notify.add_catch(route, result_path="$.notify_error")
        return prepare.next(apply).next(mark).next(bake).next(judge).next(announce).next(notify).next(route)

    def _acknowledge(self, *functions: lambda_.IFunction) -> None:
        policy = self.state_machine.role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            "Generated by the Step Functions tasks for this state machine alone: invoke (any version "
            "of) its own functions, X-Ray and log delivery, which have no resource-level permissions.",
            "AwsSolutions-IAM5[Resource::*]",
            *{wildcard_resource_finding(policy, f"{f.function_arn}:*") for f in functions},
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "HIPAA.Security-IAMNoInlinePolicy",
            "NIST.800.53.R5-IAMNoInlinePolicy",
        )
