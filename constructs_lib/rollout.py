"""A guarded progressive rollout between the variants of one endpoint, as a Step Functions state machine.

Started with ``{"candidate": "Variant2", "steps": [10, 25, 50, 100], "bake_seconds": 900}`` (see
``lambdas/rollout/plan.py`` for every key and default)::

    Prepare ─► Check lock ─► Apply step ─► Mark step start ─► Bake (Wait) ─► Judge ─► Announce ─► Notify ─► Route
                  ▲    └─ not this execution's ─► Fail (LockNotHeld)   ▲                                    │
                  └─ next_step ────────────────────────────────────────┼────────────────────────────────────┤
                                                                       └─ judge_again (hold) ───────────────┤
                   complete ─► Release lock ─► Promoted    rollback ─► Restore ─► Release ─► Fail           │
                   stop (hold limit) ─► Release lock ─► Fail (weights stay)                                 │

Prepare takes the endpoint's rollout lock (a conditional write to a DynamoDB table: one rollout
per endpoint, even for two started in the same second), checks everything before any weight
changes (endpoint InService, a valid plan within Step Functions' limits) and records the weights
from before. Weights change only through the set-weights Lambda. No Lambda sits waiting: the
bake is a Wait state. Every end releases the lock. Every end that is not deliberate (a manual
stop, a timeout, a FAILED execution such as one that hit the history limit) restores the weights
through an EventBridge rule on the execution's status; that function's failures land in an
alarmed dead-letter queue. A failed announcement (EventBridge, SNS) never undoes a decision; a
failed restore is retried, then fails the execution as ``RestoreFailed`` (and the end rule tries
again). Throttled Lambda calls are retried with backoff. The execution history is the audit trail.

Before every weight step, "Check lock" confirms (a conditional write) that the lock is still this
execution's. Step Functions' redrive continues an ended execution from its unsuccessful state,
after its end was settled and its lock released, so a redriven rollout must not apply weights
without the lock: it fails as ``LockNotHeld``. A redrive that resumes *at* a weight-changing task
(Apply, a restore) runs that task before any check: redrive is not supported (README).
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
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from constructs_lib.ab_endpoint import AbEndpoint
from constructs_lib.acknowledge import acknowledge, wildcard_resource_finding
from constructs_lib.metric_catalog import PROJECT_NAMESPACE, grant_put_project_metrics
from constructs_lib.python_function import PythonFunction
from constructs_lib.rollout_lock import OWNER, PARTITION_KEY, RolloutLock
from constructs_lib.state_machine_logs import execution_logs
from constructs_lib.task_retries import retry_lambda_throttling
from constructs_lib.variant_weights import grant_weight_changes

EVENT_SOURCE = "sagemaker-ab.rollout"
EVENT_DETAIL_TYPE = "SageMaker A/B rollout decision"
MAX_ROLLOUT_DURATION = Duration.days(7)
# How long an end event may wait for the function that settles it (EventBridge delivery and
# Lambda's asynchronous retries are both capped at this), after which it goes to the dead-letter queue.
SETTLE_MAX_EVENT_AGE = Duration.hours(1)
# How long settling an ended execution may take (set-weights waits for the endpoint to be
# InService again); both functions that settle get it.
SETTLE_TIMEOUT = Duration.minutes(15)
# The lock's lease: the longest an execution can run, plus the time its end takes to settle. A
# lease shorter than the execution could let a second rollout in while the first still runs.
LOCK_LEASE = Duration.seconds(MAX_ROLLOUT_DURATION.to_seconds() + 2 * SETTLE_MAX_EVENT_AGE.to_seconds())
# Every terminal status of an execution ("Step Functions Execution Status Change" events):
# https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
END_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
# What Step Functions' DynamoDB integration raises when a ConditionExpression does not hold.
DYNAMODB_CONDITION_FAILED = "DynamoDB.ConditionalCheckFailedException"
# DynamoDB errors worth retrying in the state machine's own lock release (Step Functions prefixes
# the service's error codes with "DynamoDB.").
DYNAMODB_TRANSIENT = (
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.ProvisionedThroughputExceededException",
)


# A retrier's defaults when a field is absent (Amazon States Language, "Retrying after an error":
# https://states-language.net/spec.html#retrying-after-error): 1 s, 3 attempts, backoff 2.0.
RETRIER_DEFAULTS = {"IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0}
# Errors after which a retry runs the function again in full (a Lambda that failed or timed out);
# the other retriers (throttling, Lambda service errors) retry calls that did not run it.
RERUN_ERRORS = frozenset({"States.ALL", "States.TaskFailed", "States.Timeout"})


def worst_case_task_seconds(state: Mapping[str, object], run_seconds: float) -> float:
    """The longest a Task state can take: each full run at ``run_seconds`` (the function's
    timeout), every retrier exhausted, each waiting its full backoff (jitter only shortens it)."""
    runs = 1
    waits = 0.0
    for retrier in state.get("Retry", []):  # type: ignore[attr-defined]
        settings = {**RETRIER_DEFAULTS, **retrier}
        attempts = int(settings["MaxAttempts"])
        waits += sum(settings["IntervalSeconds"] * settings["BackoffRate"] ** i for i in range(attempts))
        if RERUN_ERRORS & set(retrier["ErrorEquals"]):
            runs += attempts
    return runs * run_seconds + waits


class GuardedRollout(Construct):
    """The rollout state machine of one endpoint, its lock, and the watcher that settles every end.

    :param endpoint: the endpoint whose variants roll out.
    :param set_weights: the set-weights function: the only way the rollout changes weights (its
        timeout bounds a weight change in the plan's duration check).
    :param variant_alarms: variant name → its alarms; the judge rolls back when the candidate's fire.
    :param topic: where every decision is announced (besides the EventBridge default bus), and
        where the alarm on unsettled ends notifies.
    :param key: encrypts the logs, the lock table (and the topic).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: AbEndpoint,
        set_weights: lambda_.Function,
        variant_alarms: Mapping[str, Sequence[cw.IAlarm]],
        topic: sns.ITopic,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.lock = RolloutLock(self, "Lock", key=key)
        self._endpoint_name = endpoint.endpoint_name
        endpoint_env = {"ENDPOINT_NAME": endpoint.endpoint_name}
        env = {**endpoint_env, "LOCK_TABLE": self.lock.table.table_name}  # for the functions that use the lock
        # Prepare may have to settle the lock's holder first (an execution whose end event was lost,
        # or whose Prepare outlived a stop): that restores weights, so it gets the settler's time
        # and its weight-change permissions.
        prepare_fn = PythonFunction(
            self,
            "PrepareFunction",
            handler="rollout.handler.prepare",
            key=key,
            timeout=SETTLE_TIMEOUT,
            environment={
                **env,
                "METRICS_NAMESPACE": PROJECT_NAMESPACE,
                "ROLLOUT_TIMEOUT_SECONDS": str(int(MAX_ROLLOUT_DURATION.to_seconds())),
                "LOCK_LEASE_SECONDS": str(int(LOCK_LEASE.to_seconds())),
            },
            description="Rollout: takes the endpoint's lock (settling a holder that already ended), checks the "
            "request and the endpoint before any change",
        ).function
        judge_fn = PythonFunction(
            self,
            "JudgeFunction",
            handler="rollout.handler.judge",
            key=key,
            description="Rollout: promote, hold or roll back from the per-minute metrics since the rollout began",
            environment={
                **endpoint_env,
                "VARIANT_ALARMS": stack.to_json_string(
                    {variant: [a.alarm_name for a in alarms] for variant, alarms in variant_alarms.items()}
                ),
            },
        ).function
        # SQS-managed encryption: EventBridge (a service principal) sends here too, and with the
        # stack's KMS key it would need that key's policy to allow it, which an imported key's
        # stack cannot give. The messages are end events: execution ARN, status, input.
        self.settle_failures = sqs.Queue(
            self,
            "SettleFailures",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.settle_failures,
            "This queue is itself the dead-letter queue of the end-settling function and its EventBridge "
            "target; a queue behind it would only move the same messages once more.",
            "AwsSolutions-SQS3",
        )
        restore_fn = PythonFunction(
            self,
            "RestoreAfterEnd",
            handler="rollout.handler.restore_after_end",
            key=key,
            description="Rollout: restores the weights after a stopped, timed-out or failed execution; frees the lock",
            timeout=SETTLE_TIMEOUT,
            environment={**env, "METRICS_NAMESPACE": PROJECT_NAMESPACE},
            asynchronous=True,
            dead_letter_queue=self.settle_failures,
        ).function
        restore_fn.configure_async_invoke(retry_attempts=2, max_event_age=SETTLE_MAX_EVENT_AGE)
        iam.Grant.add_to_principal(grantee=prepare_fn, actions=["cloudwatch:GetMetricData"], resource_arns=["*"])
        iam.Grant.add_to_principal(
            grantee=judge_fn, actions=["cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms"], resource_arns=["*"]
        )
        iam.Grant.add_to_principal(
            grantee=judge_fn, actions=["sagemaker:DescribeEndpoint"], resource_arns=[endpoint.endpoint_arn]
        )
        for settler in (restore_fn, prepare_fn):
            grant_weight_changes(endpoint, settler)
            grant_put_project_metrics(settler)
        self.lock.grant(prepare_fn, "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem")
        self.lock.grant(restore_fn, "dynamodb:GetItem", "dynamodb:DeleteItem")

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(
                self._definition(prepare_fn, judge_fn, set_weights, topic, endpoint.endpoint_name)
            ),
            timeout=MAX_ROLLOUT_DURATION,
            tracing_enabled=True,
            logs=execution_logs(self, key=key),
        )
        # The plan's duration check counts the weight changes at their slowest, derived from the
        # tasks as synthesized (their retriers) and the set-weights timeout.
        run_seconds = (set_weights.timeout or Duration.seconds(3)).to_seconds()  # Lambda's default: 3 s
        prepare_fn.add_environment(
            "APPLY_MAX_SECONDS", str(int(worst_case_task_seconds(self._apply.to_state_json(), run_seconds)))
        )
        prepare_fn.add_environment(
            "RESTORE_MAX_SECONDS", str(int(worst_case_task_seconds(self._restore.to_state_json(), run_seconds)))
        )
        key.grant(self.state_machine, "kms:Decrypt", "kms:GenerateDataKey*")  # publish to the encrypted topic
        # Its end states release the lock; "Check lock" confirms it before each weight step.
        self.lock.grant(self.state_machine, "dynamodb:DeleteItem", "dynamodb:UpdateItem")

        # A policy that names the state machine sits outside the function's default policy: a
        # function depends on its default policy, and the state machine on the function.
        executions_arn = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{self.state_machine.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        read_history = iam.Policy(
            self,
            "RestoreReadsHistory",
            statements=[iam.PolicyStatement(actions=["states:GetExecutionHistory"], resources=[executions_arn])],
        )
        read_history.attach_to_role(restore_fn.role)  # type: ignore[arg-type]
        # Prepare looks up the lock's holder, and settles it if it ended (reading its history).
        settle_holder = iam.Policy(
            self,
            "PrepareSettlesEndedHolder",
            statements=[
                iam.PolicyStatement(
                    actions=["states:DescribeExecution", "states:GetExecutionHistory"], resources=[executions_arn]
                )
            ],
        )
        settle_holder.attach_to_role(prepare_fn.role)  # type: ignore[arg-type]

        for policy in (read_history, settle_holder):
            acknowledge(
                policy,
                "One statement naming this state machine's executions, kept apart from the function's "
                "default policy only to avoid a dependency cycle; it lives and dies with the role.",
                "HIPAA.Security-IAMNoInlinePolicy",
                "NIST.800.53.R5-IAMNoInlinePolicy",
            )
            acknowledge(
                policy,
                "Only the executions of this state machine: execution ARNs end in the execution's name.",
                wildcard_resource_finding(policy, executions_arn),
            )

        self.end_watcher = events.Rule(
            self,
            "SettleOnEnd",
            description="Restores the weights after a rollout execution that ended without deciding, "
            "and releases the endpoint's rollout lock after every end",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [self.state_machine.state_machine_arn], "status": list(END_STATUSES)},
            ),
            targets=[
                targets.LambdaFunction(
                    restore_fn,
                    retry_attempts=2,
                    max_event_age=SETTLE_MAX_EVENT_AGE,
                    dead_letter_queue=self.settle_failures,
                )
            ],
        )
        self.settle_failures_alarm = cw.Alarm(
            self,
            "SettleFailuresAlarm",
            metric=self.settle_failures.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=0,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description="A rollout's end could not be settled: the weights may be half-shifted and the "
            "endpoint's rollout lock held. The dead-letter queue holds the end events.",
        )
        self._acknowledge(prepare_fn, judge_fn, set_weights)
        CfnOutput(
            stack,
            "RolloutStateMachineArn",
            value=self.state_machine.state_machine_arn,
            description='Start with {"candidate": "<variant>", "steps": [10, 25, 50, 100], "bake_seconds": 900}',
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
            comment="Take the lock, validate everything and record the weights from before; no weight changes here",
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
        rolled_back = self._release_then(
            "rolled back", sfn.Fail(self, "Rolled back", error="RolledBack", cause_path="$.rollout.reason")
        )
        restore_after_error = tasks.LambdaInvoke(
            self,
            "Restore weights after an error",
            lambda_function=set_weights,
            payload=restore_payload,
            result_path=sfn.JsonPath.DISCARD,
        )
        on_error = restore_after_error.next(
            self._release_then(
                "error", sfn.Fail(self, "Rollout error", error="RolloutError", cause_path="$.error.Cause")
            )
        )
        restore_failed = sfn.Fail(self, "Restore failed", error="RestoreFailed", cause_path="$.restore_error.Cause")
        for task in (prepare, apply, judge, restore, restore_after_error):
            retry_lambda_throttling(task)  # before any catch-all retrier
        for task in (restore, restore_after_error):
            task.add_retry(errors=["States.TaskFailed"], interval=Duration.seconds(30), max_attempts=3, backoff_rate=2)
            task.add_catch(restore_failed, result_path="$.restore_error")
        self._apply, self._restore = apply, restore  # for the plan's duration check
        for step in (apply, judge):
            step.add_catch(on_error, result_path="$.error")

        check_lock = self._check_lock()  # before every weight step, the first one included
        route = (
            sfn.Choice(self, "Route")
            .when(sfn.Condition.string_equals("$.rollout.action", "next_step"), check_lock)
            .when(sfn.Condition.string_equals("$.rollout.action", "judge_again"), bake)
            .when(
                sfn.Condition.string_equals("$.rollout.action", "complete"),
                self._release_then("promoted", sfn.Succeed(self, "Promoted")),
            )
            .when(sfn.Condition.string_equals("$.rollout.action", "rollback"), restore.next(rolled_back))
            .otherwise(
                self._release_then(
                    "hold limit",
                    sfn.Fail(self, "Hold limit reached", error="HoldLimitReached", cause_path="$.rollout.reason"),
                )
            )
        )
        # A lost notification must not undo a decision: carry on to the route.
        for notice in (announce, notify):
            notice.add_retry(errors=["States.TaskFailed"], interval=Duration.seconds(5), max_attempts=2)
        announce.add_catch(notify, result_path="$.announce_error")
        notify.add_catch(route, result_path="$.notify_error")
        return (
            prepare.next(check_lock)
            .next(apply)
            .next(mark)
            .next(bake)
            .next(judge)
            .next(announce)
            .next(notify)
            .next(route)
        )

    def _check_lock(self) -> tasks.DynamoUpdateItem:
        """A conditional write that succeeds only while this execution holds the endpoint's lock.

        Redrive continues an execution after its end released the lock (RedriveExecution API
        reference: "it continues the failed execution from the unsuccessful step"); without the
        lock it must not change weights. It writes ``checked_at`` (when it last looked) and
        nothing else. Not this execution's lock: ``LockNotHeld``, weights untouched.
        """
        check = tasks.DynamoUpdateItem(
            self,
            "Check lock",
            table=self.lock.table,
            key={PARTITION_KEY: tasks.DynamoAttributeValue.from_string(self._endpoint_name)},
            condition_expression="#owner = :me",
            update_expression="SET #checked = :now",
            expression_attribute_names={"#owner": OWNER, "#checked": "checked_at"},
            expression_attribute_values={
                ":me": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$$.Execution.Id")),
                ":now": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$$.State.EnteredTime")),
            },
            result_path=sfn.JsonPath.DISCARD,
            comment="Apply only while this execution holds the endpoint's lock (a redrive may not)",
        )
        check.add_retry(errors=list(DYNAMODB_TRANSIENT), interval=Duration.seconds(1), max_attempts=3, backoff_rate=2)
        check.add_catch(
            sfn.Fail(
                self,
                "Lock not held",
                error="LockNotHeld",
                cause="this execution no longer holds the endpoint's rollout lock (redriven after its end, or "
                "its lease taken over): no weight changed; start a new rollout instead",
            ),
            errors=[DYNAMODB_CONDITION_FAILED],
            result_path="$.lock_error",
        )
        return check

    def _release_then(self, label: str, end: sfn.Succeed | sfn.Fail) -> sfn.IChainable:
        """Release the endpoint's lock (only if this execution holds it), then ``end``.

        A failed release still ends the execution: the end rule releases the lock too, and its
        lease runs out at the latest."""
        release = tasks.DynamoDeleteItem(
            self,
            f"Release lock ({label})",
            table=self.lock.table,
            key={PARTITION_KEY: tasks.DynamoAttributeValue.from_string(self._endpoint_name)},
            condition_expression="#owner = :me",
            expression_attribute_names={"#owner": OWNER},
            expression_attribute_values={
                ":me": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$$.Execution.Id"))
            },
            result_path=sfn.JsonPath.DISCARD,
        )
        release.add_retry(errors=list(DYNAMODB_TRANSIENT), interval=Duration.seconds(1), max_attempts=3, backoff_rate=2)
        release.add_catch(end, result_path="$.release_error")
        return release.next(end)

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
