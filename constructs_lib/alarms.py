"""Per-variant alarms that mean something, a composite alarm per endpoint, and where they notify.

Each variant gets two alarms, both computed with metric math so that a handful of requests
cannot fire them: in a period with fewer than ``min_invocations`` requests the expression is 0.

* **5XX error rate** (percent of invocations) above ``error_rate_percent``;
* **p99 ModelLatency** (milliseconds) above ``p99_latency_ms``.

Missing data (no traffic at all) is *not breaching*: an idle variant is not a failing one.
The composite alarm goes off when any of them does (and when the SRM check's or live quality's do) and notifies
the SNS topic, so an incident pages once rather than once per variant. An alarm that can stay in
ALARM for days (the rollout's settle queue keeps its messages 14 days) is *not* rolled up: while
one input stays in ALARM the composite never changes state, and every later incident would page
nobody. Such an alarm notifies the topic itself (:meth:`EndpointAlarms.notify_directly`).

A shadow variant gets the same two alarms (same thresholds and periods), rolled up into a composite of its
own, ``ShadowProblem`` (:meth:`EndpointAlarms.add_shadow_composite`), which notifies **nobody**: a shadow's
answers are discarded, so a failing shadow harms no caller and must not page. It is kept out of the endpoint's
paging composite and shown on the dashboard (the shadow row and the alarm status widget). Three things differ,
because "OK" must not be read as "judged healthy" before a promotion:

* a period below the traffic guard has **no value** (``IF`` without an else branch) and missing data is
  *missing*, so a shadow that was not judged shows INSUFFICIENT_DATA, not OK (:func:`shadow_requests_to_judge`
  says how much production traffic judging takes; synth notes it);
* its p99 alarm's guard is at least :data:`SHADOW_P99_MIN_INVOCATIONS` requests;
* a third alarm, "no copies", goes off when production serves enough requests that the shadow should have
  received copies and its Invocations stay 0 (shadow metrics under another dimension than assumed, Q5; a
  weight that means no copies, Q1; a dead shadow fleet).

CloudWatch publishes as the service principal ``cloudwatch.amazonaws.com``, which only a resource
policy can let in: the topic's policy (``enforce_ssl`` writes one, and any topic policy replaces
SNS's default one) and, as the topic is encrypted, the key's policy. The topic policy allows exactly
the alarms that notify the topic, in this account (``aws:SourceAccount``/``aws:SourceArn``); the
key policy uses AWS's documented statement for this case, without conditions. Without that the
alarm's history shows "… is not authorized to perform: SNS:Publish" and nobody is paged
(https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from aws_cdk import Annotations, ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from constructs_lib.acknowledge import acknowledge
from constructs_lib.config.model import MonitoringSpec
from constructs_lib.metric_catalog import SAGEMAKER_NAMESPACE, metric

# Metric math's IF without its third argument drops the datapoint where the condition is false: "is an empty
# time series, if [...] scalar3/metric3 is omitted from the expression" (Using IF expressions,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html#using-IF-expressions);
# scripts/metric_math.py simulates it and tests/test_metric_math.py pins it. With TreatMissingData "missing" an
# alarm whose evaluation range holds no datapoint at all is INSUFFICIENT_DATA ("Configuring how CloudWatch alarms
# treat missing data", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data).
UNJUDGED_AS_ZERO = ", 0"  # production: a quiet period reads 0, never breaching (and the alarm OK)
UNJUDGED_AS_NO_VALUE = ""  # the shadow: a quiet period has no datapoint (and the alarm INSUFFICIENT_DATA)


def _guarded(
    value: str,
    metric_id: str,
    metric_name: str,
    endpoint_name: str,
    variant: str,
    period: Duration,
    min_invocations: int,
    fleet: str | None,
    below_guard: str,
    label: str,
    statistic: str = "Sum",
) -> cw.MathExpression:
    """``value`` (of ``invocations`` and ``metric_id``, the variant's ``metric_name``) in periods with at least
    ``min_invocations`` requests; below the guard what ``below_guard`` says (0, or no value)."""

    def variant_metric(name: str, stat: str = "Sum") -> cw.Metric:
        return metric(
            SAGEMAKER_NAMESPACE, name, endpoint_name=endpoint_name, variant_name=variant, statistic=stat,
            endpoint_config_name=fleet,
        )  # fmt: skip

    return cw.MathExpression(
        expression=f"IF(invocations >= {min_invocations}, {value}{below_guard})",
        using_metrics={
            "invocations": variant_metric("Invocations"),
            metric_id: variant_metric(metric_name, statistic),
        },
        label=label,
        period=period,
    )


def error_rate(
    endpoint_name: str,
    variant: str,
    period: Duration,
    min_invocations: int,
    endpoint_config_name: str | None = None,
    *,
    below_guard: str = UNJUDGED_AS_ZERO,
) -> cw.MathExpression:
    """5XX responses as a percentage of invocations; 0 in periods below the traffic guard.

    ``endpoint_config_name``: that fleet's requests only (the deployment alarms); default every fleet's.
    ``below_guard``: :data:`UNJUDGED_AS_NO_VALUE` drops those periods instead (the shadow's alarms)."""
    return _guarded(
        "100 * errors / invocations", "errors", "Invocation5XXErrors", endpoint_name, variant, period, min_invocations,
        endpoint_config_name, below_guard, f"{variant} 5XX rate (%)",
    )  # fmt: skip


def p99_latency_ms(
    endpoint_name: str,
    variant: str,
    period: Duration,
    min_invocations: int,
    endpoint_config_name: str | None = None,
    *,
    below_guard: str = UNJUDGED_AS_ZERO,
) -> cw.MathExpression:
    """p99 ModelLatency in milliseconds (SageMaker reports microseconds); 0 below the traffic guard.

    ``endpoint_config_name``: that fleet's requests only (the deployment alarms); default every fleet's.
    ``below_guard``: :data:`UNJUDGED_AS_NO_VALUE` drops those periods instead (the shadow's alarms)."""
    return _guarded(
        "latency / 1000", "latency", "ModelLatency", endpoint_name, variant, period, min_invocations,
        endpoint_config_name, below_guard, f"{variant} p99 ModelLatency (ms)", statistic="p99",
    )  # fmt: skip


# The p99 of a period with 20 requests is its largest one: one slow request fires the alarm, and a shadow, judged at
# the guard's edge for days, would flap. From 100 requests the p99 lies between the two largest (a single outlier
# no longer decides it). Production keeps its configured guard (its alarms page and are tuned by their owners).
SHADOW_P99_MIN_INVOCATIONS = 100


def shadow_p99_guard(min_invocations: int) -> int:
    """The shadow's p99 alarm judges only periods with at least this many shadow requests."""
    return max(min_invocations, SHADOW_P99_MIN_INVOCATIONS)


def shadow_requests_to_judge(shadow_requests: int, sampling_percentage: int) -> int:
    """Production requests per period that give the shadow ``shadow_requests`` copies on average:
    ``ceil(shadow_requests × 100 / sampling_percentage)``. Below it a shadow alarm guarded by ``shadow_requests``
    mostly judges nothing. The share copied is ``sampling_percentage`` under hypothesis H1 (UNVERIFIED, README
    "Shadow stage", Q1)."""
    return math.ceil(shadow_requests * 100 / sampling_percentage)


def shadow_copies(
    endpoint_name: str, production: str, shadow: str, period: Duration, production_requests: int
) -> cw.MathExpression:
    """The shadow's Invocations (0 when it has none) in periods where production served at least
    ``production_requests``; no value in the others (they say nothing about copies).

    ``FILL(shadowinv, 0)``: a shadow that receives nothing publishes nothing, and the missing value must read 0.
    FILL replaces missing values ("Fills the missing values of a time series", FILL in the functions table of
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html); the IF keeps only the
    periods where production has a datapoint at or above the bar, so a minute not yet published by production
    gives no value rather than a filled 0."""
    return cw.MathExpression(
        expression=f"IF(productioninv >= {production_requests}, FILL(shadowinv, 0))",
        using_metrics={
            "productioninv": metric(
                SAGEMAKER_NAMESPACE, "Invocations", endpoint_name=endpoint_name, variant_name=production
            ),
            "shadowinv": metric(SAGEMAKER_NAMESPACE, "Invocations", endpoint_name=endpoint_name, variant_name=shadow),
        },
        label=f"{shadow} Invocations while {production} serves at least {production_requests}",
        period=period,
    )


class EndpointAlarms(Construct):
    """Variant alarms, their composite, and an encrypted SNS topic with optional e-mail subscriptions.

    :param endpoint_name: the endpoint's name (a token is fine).
    :param variant_names: one pair of alarms per production variant, rolled up into the paging composite.
    :param shadow_variant_name: the shadow variant, which gets the pair (judging only periods with enough of its
        own requests) and a "no copies" alarm in :attr:`shadow_alarms`, rolled up into a composite that notifies
        nobody (:meth:`add_shadow_composite`). Default None: no shadow alarms.
    :param shadow_sampling_percentage: the shadow's ``sampling_percentage``; required with a shadow (the production
        traffic the shadow's alarms need to judge follows from it).
    :param monitoring: thresholds, periods, traffic guard and e-mail addresses.
    :param key: encrypts the topic. A key this stack creates gets the statement that lets the
        notifying alarms use it; an imported key must already allow that in its own policy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        variant_names: Sequence[str],
        monitoring: MonitoringSpec,
        key: kms.IKey,
        shadow_variant_name: str | None = None,
        shadow_sampling_percentage: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.topic = sns.Topic(self, "Notifications", master_key=key, enforce_ssl=True)
        for address in monitoring.notification_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))

        self._monitoring = monitoring
        self._notifying_alarm_arns: list[str] = []  # the topic policy admits exactly these
        self._publish_statement: iam.PolicyStatement | None = None
        self.error_rate_alarms: dict[str, cw.Alarm] = {}
        self.latency_alarms: dict[str, cw.Alarm] = {}
        for variant in variant_names:
            self.error_rate_alarms[variant], self.latency_alarms[variant] = self._variant_pair(
                endpoint_name, variant, variant
            )
        # The shadow's alarms: their ids are prefixed, so a reader of the template sees which alarms are the shadow's.
        self.shadow_alarms: list[cw.Alarm] = []
        self.shadow_composite: cw.CompositeAlarm | None = None
        if shadow_variant_name is not None:
            if shadow_sampling_percentage is None or len(variant_names) != 1:
                raise ValueError("a shadow needs its sampling_percentage and exactly one production variant")
            self._add_shadow_alarms(endpoint_name, variant_names[0], shadow_variant_name, shadow_sampling_percentage)

    def _variant_pair(
        self, endpoint_name: str, variant: str, id_suffix: str, *, who: str | None = None, shadow: bool = False
    ) -> tuple[cw.Alarm, cw.Alarm]:
        """The 5XX-rate and p99-latency alarms of one variant (production or shadow): one rule for both.

        ``shadow``: periods below the guard have no value and missing data is missing (module docstring), and the
        p99 alarm's guard is :func:`shadow_p99_guard`."""
        monitoring = self._monitoring
        period = Duration.seconds(monitoring.period_seconds)
        guard = monitoring.min_invocations
        latency_guard = shadow_p99_guard(guard) if shadow else guard
        below_guard = UNJUDGED_AS_NO_VALUE if shadow else UNJUDGED_AS_ZERO
        missing = cw.TreatMissingData.MISSING if shadow else cw.TreatMissingData.NOT_BREACHING
        who = who or variant
        return (
            self._above(
                f"ErrorRate{id_suffix}",
                error_rate(endpoint_name, variant, period, guard, below_guard=below_guard),
                monitoring.error_rate_percent,
                f"{who}: 5XX responses above {monitoring.error_rate_percent:g} % of invocations",
                guard=guard,
                missing=missing,
            ),
            self._above(
                f"Latency{id_suffix}",
                p99_latency_ms(endpoint_name, variant, period, latency_guard, below_guard=below_guard),
                monitoring.p99_latency_ms,
                f"{who}: p99 ModelLatency above {monitoring.p99_latency_ms:g} ms",
                guard=latency_guard,
                missing=missing,
            ),
        )

    def _above(
        self,
        alarm_id: str,
        expression: cw.MathExpression,
        threshold: float,
        what: str,
        *,
        guard: int,
        missing: cw.TreatMissingData,
    ) -> cw.Alarm:
        """An alarm when ``expression`` is above ``threshold`` in enough periods, judged in periods with at least
        ``guard`` requests; ``missing`` says what a period without a value is (idle is not breaching)."""
        monitoring = self._monitoring
        return expression.create_alarm(
            self,
            alarm_id,
            alarm_description=f"{what} (periods with at least {guard} requests)",
            threshold=threshold,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=monitoring.evaluation_periods,
            datapoints_to_alarm=monitoring.datapoints_to_alarm,
            treat_missing_data=missing,
        )

    def _add_shadow_alarms(self, endpoint_name: str, production: str, shadow: str, sampling_percentage: int) -> None:
        """The shadow's pair, its "no copies" alarm, and a synth note on the traffic they need to judge."""
        monitoring = self._monitoring
        who = f"shadow variant {shadow} (answers nobody; does not page)"
        self.shadow_alarms = list(self._variant_pair(endpoint_name, shadow, f"Shadow{shadow}", who=who, shadow=True))
        # Production traffic at which the shadow should get min_invocations copies per period: with that many
        # expected, a period with none is not chance (Poisson: e^-min_invocations), so every period of the window
        # at 0 means the copies do not arrive, or arrive under other dimensions. All evaluation periods must
        # breach, so one period where production's datapoint was published before the shadow's cannot fire it.
        # Its window is the configured one, which the loader holds to CloudWatch's limits (config/alarm_limits.py).
        bar = shadow_requests_to_judge(monitoring.min_invocations, sampling_percentage)
        period = Duration.seconds(monitoring.period_seconds)
        self.shadow_alarms.append(
            shadow_copies(endpoint_name, production, shadow, period, bar).create_alarm(
                self,
                f"NoCopiesShadow{shadow}",
                alarm_description=f"{who}: no copies. Production {production} served at least {bar} requests in "
                f"each of {monitoring.evaluation_periods} periods of {monitoring.period_seconds} s, enough for "
                f"{monitoring.min_invocations} copies per period at {sampling_percentage} %, and the shadow's "
                "Invocations stayed 0. Either its metrics carry other dimensions than EndpointName + VariantName "
                '(Q5), its weight means no copies (Q1), or its fleet does not take them; README "Shadow stage".',
                threshold=1,
                comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=monitoring.evaluation_periods,
                datapoints_to_alarm=monitoring.evaluation_periods,
                treat_missing_data=cw.TreatMissingData.MISSING,
            )
        )
        latency_bar = shadow_requests_to_judge(shadow_p99_guard(monitoring.min_invocations), sampling_percentage)
        Annotations.of(self).add_info(
            f"Shadow variant {shadow}'s alarms judge only periods with enough of its own requests: its 5XX rate and "
            f"'no copies' alarms from about {bar} production requests per period of {monitoring.period_seconds} s "
            f"(min_invocations {monitoring.min_invocations} × 100 / sampling_percentage {sampling_percentage}), its "
            f"p99 alarm from about {latency_bar} ({shadow_p99_guard(monitoring.min_invocations)} shadow requests). "
            "Below that they show INSUFFICIENT_DATA (not judged), not OK."
        )

    @property
    def variant_alarms(self) -> list[cw.Alarm]:
        return [*self.error_rate_alarms.values(), *self.latency_alarms.values()]

    def add_composite(self, *extra: cw.IAlarm) -> cw.CompositeAlarm:
        """The endpoint's composite alarm over every variant alarm plus ``extra``; it notifies.

        Its name is set (``<stack name>-<construct id>-AnyProblem``) so that the topic policy can name
        its ARN without depending on the alarm, which depends on the topic. The alarms it rolls up
        get no action of their own (one page per incident); that is acknowledged here, where the
        roll-up happens, and nowhere else.
        """
        for alarm in (*self.variant_alarms, *extra):
            acknowledge(
                alarm,
                "Rolled up into the endpoint's composite alarm, which notifies the SNS topic; an action "
                "here too would page more than once for one incident.",
                "NIST.800.53.R5-CloudWatchAlarmAction",
                "HIPAA.Security-CloudWatchAlarmAction",
            )
        name = f"{Stack.of(self).stack_name}-{self.node.id}-AnyProblem"
        self.composite = cw.CompositeAlarm(
            self,
            "AnyProblem",
            composite_alarm_name=name,
            alarm_rule=cw.AlarmRule.any_of(*self.variant_alarms, *extra),
            alarm_description="Something is wrong with this A/B endpoint: a variant's 5XX rate or p99 latency, the "
            "sample-ratio (SRM) check, or (with data capture on) live quality: a run that failed or timed out, or a "
            "schedule that could not start one. See which alarm is in ALARM.",
        )
        self.composite.add_alarm_action(cw_actions.SnsAction(self.topic))
        self.composite.add_ok_action(cw_actions.SnsAction(self.topic))
        stack = Stack.of(self)
        self._let_alarm_notify(
            stack.format_arn(
                service="cloudwatch", resource="alarm", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
            )
        )
        return self.composite

    def add_shadow_composite(self, *extra: cw.Alarm) -> cw.CompositeAlarm | None:
        """The shadow's composite alarm over :attr:`shadow_alarms` plus ``extra`` (other alarms about the shadow,
        e.g. live quality's failed agreement steps, which join :attr:`shadow_alarms`), with **no action**; None
        without a shadow.

        A shadow's answers are discarded ("A shadow variant that receives a percentage of the incoming
        requests, replicated from the production variant, but does not return any responses", Create a
        shadow test, https://docs.aws.amazon.com/sagemaker/latest/dg/shadow-tests-create.html): when it fails,
        no caller sees it, so it must not page. Its state is watched on the dashboard (alarm status widget)
        and in the console under its name ``<stack name>-<construct id>-ShadowProblem``. Its alarms are not
        in :meth:`add_composite`'s roll-up, so a failing shadow cannot hold the paging composite in ALARM.
        """
        self.shadow_alarms.extend(extra)
        if not self.shadow_alarms:
            return None
        reason = (
            "A shadow variant answers nobody: its alarms are rolled up into the ShadowProblem composite, which "
            "deliberately notifies no one (a failing shadow must not page); it is watched on the dashboard."
        )
        for alarm in self.shadow_alarms:
            acknowledge(alarm, reason, "NIST.800.53.R5-CloudWatchAlarmAction", "HIPAA.Security-CloudWatchAlarmAction")
        self.shadow_composite = cw.CompositeAlarm(
            self,
            "ShadowProblem",
            composite_alarm_name=f"{Stack.of(self).stack_name}-{self.node.id}-ShadowProblem",
            alarm_rule=cw.AlarmRule.any_of(*self.shadow_alarms),
            alarm_description="The shadow variant's 5XX rate or p99 latency is above the production variants' "
            "thresholds, or it receives no copies of production's requests, or (with live quality) its agreement step "
            "failed. No user is affected (a shadow's answers "
            "are discarded) and nobody is paged: look at the dashboard's shadow row before promoting it. OK here only "
            "says that none of its alarms is in ALARM: an alarm in INSUFFICIENT_DATA has judged nothing (too little "
            "traffic for it).",
        )
        return self.shadow_composite

    def notify_directly(self, alarm: cw.Alarm) -> None:
        """Let ``alarm`` notify the topic itself (ALARM and OK), outside the composite.

        For an alarm that can stay in ALARM for days: rolled up, it would hold the composite in
        ALARM and swallow every later page. The topic policy admits its ARN too.
        """
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        alarm.add_ok_action(cw_actions.SnsAction(self.topic))
        self._let_alarm_notify(alarm.alarm_arn)

    def _let_alarm_notify(self, alarm_arn: str) -> None:
        """Let CloudWatch publish to the topic, and use its key, on behalf of the alarms named so far only.

        The first call writes the statements; later calls add their alarm's ARN to the topic
        statement's ``aws:SourceArn`` list.

        Sources: "Configuring Amazon SNS notifications for CloudWatch alarms"
        (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html)
        and, for the key, "Enable compatibility between event sources from AWS services and
        encrypted topics" (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
        """
        self._notifying_alarm_arns.append(alarm_arn)
        if self._publish_statement is not None:
            # Same operator and key: the new condition replaces the old one, now with every ARN.
            self._publish_statement.add_condition("ArnLike", {"aws:SourceArn": list(self._notifying_alarm_arns)})
            return
        stack = Stack.of(self)
        cloudwatch = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        self._publish_statement = iam.PolicyStatement(
            sid="AllowThisStacksAlarmsToPublish",
            principals=[cloudwatch],
            actions=["sns:Publish"],
            resources=[self.topic.topic_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": list(self._notifying_alarm_arns)},
            },
        )
        self.topic.add_to_resource_policy(self._publish_statement)
        # The key statement is AWS's documented one, with no conditions
        # (https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns): AWS does not document
        # that the KMS calls made while CloudWatch publishes carry aws:SourceArn/aws:SourceAccount,
        # and a condition they lack would silently stop every page. The topic policy above is the
        # gate: CloudWatch uses this key only to publish to this topic, which only this stack's
        # alarms may do. An imported key ignores this (its policy is not the stack's to change).
        self._key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToUseTheTopicKey",
                principals=[cloudwatch],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
            )
        )
