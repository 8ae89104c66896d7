"""One endpoint, its weight parameters, and the ways to change and watch its traffic split."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, CfnParameter, Duration, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib.ab_endpoint import AbEndpoint
from constructs_lib.alarms import EndpointAlarms
from constructs_lib.config import shadow_limits
from constructs_lib.config.model import EndpointSpec
from constructs_lib.dashboard import EndpointDashboard
from constructs_lib.encryption import EndpointKey
from constructs_lib.evaluation import Evaluation, EvaluationBucket
from constructs_lib.live_quality import ATHENA_RESULTS_RETENTION, GROUND_TRUTH_PREFIX, LiveQuality
from constructs_lib.retention import expire_prefix
from constructs_lib.rollout import GuardedRollout
from constructs_lib.s3_location import S3Location
from constructs_lib.set_weights_function import SetWeightsFunction
from constructs_lib.srm_check import SampleRatioCheck
from constructs_lib.variant_weights import VariantWeights


class AbTestStack(Stack):
    """Deploys ``spec`` as a multi-variant endpoint whose weights are stack parameters.

    Parameters: ``Weight<VariantName>`` (Number, min 0, default = the config's
    ``initial_weight``), read by the weights custom resource and nothing else. With a shadow variant there
    is ``<Shadow>SamplingPercentage`` instead (Number, from the loader's minimum up to what the shadow's fleet
    takes at production's peak, default = the config's
    ``shadow.sampling_percentage``), also read by the weights custom resource alone, and no weight
    parameter: the single production variant takes all traffic and its weight stays fixed (see
    :mod:`constructs_lib.ab_endpoint`), and there is no rollout and no SRM check (nothing to split).
    Outputs: ``EndpointName``, ``DashboardUrl``, ``SetWeightsFunctionName``, ``AlarmTopicArn``,
    ``EvaluationFunctionName``, ``EvaluationBucketName``, ``RolloutStateMachineArn`` and, with data
    capture on (the default), ``LiveQualityStateMachineArn``, ``GroundTruthS3Uri``, ``CaptureS3Uri``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, spec: EndpointSpec, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = EndpointKey(self, "Encryption", key_arn=spec.kms_key_arn, alias_name=f"alias/ab-test/{spec.name}").key
        # The bucket comes first: captured data goes to its capture/ prefix unless the config names a place.
        bucket = (
            s3.Bucket.from_bucket_name(self, "ReportBucket", spec.evaluation.report_bucket_name)
            if spec.evaluation.report_bucket_name
            else EvaluationBucket(
                self,
                "EvaluationBucket",
                key=key,
                access_log_retention=Duration.days(spec.evaluation.access_log_retention_days),
            ).bucket
        )
        capture = None
        if spec.data_capture.enabled:
            uri = spec.data_capture.destination_s3_uri
            capture = S3Location.parse(uri) if uri else S3Location.in_bucket(bucket.bucket_name, "capture")
        endpoint = AbEndpoint(self, "AbEndpoint", spec=spec, key=key, capture=capture)

        # The parameters live in their own scope, keyed by variant name, so no variant name can
        # collide with a construct of the stack (variant "s" would make "Weights"); their logical
        # IDs are then set to the documented Weight<name> (unique: the loader checks).
        weights = endpoint.fixed_weights or self._weight_parameters(spec)
        VariantWeights(
            self, "Weights", endpoint=endpoint, weights=weights, key=key, shadow_sampling=self._sampling_parameter(spec)
        )
        set_weights = SetWeightsFunction(self, "SetWeights", endpoint=endpoint, key=key)

        alarms = EndpointAlarms(
            self,
            "Alarms",
            endpoint_name=endpoint.endpoint_name,
            # Production variants page; a failing shadow answers nobody: its alarms are to be seen, not paged on.
            variant_names=endpoint.variant_names,
            shadow_variant_name=endpoint.shadow_variant_name,
            shadow_sampling_percentage=spec.shadow_variant.shadow.sampling_percentage
            if spec.shadow_variant is not None and spec.shadow_variant.shadow is not None
            else None,
            monitoring=spec.monitoring,
            key=key,
        )
        rollout: GuardedRollout | None = None
        srm: SampleRatioCheck | None = None
        if spec.shadow_variant is None:
            rollout = GuardedRollout(
                self,
                "Rollout",
                endpoint=endpoint,
                set_weights=set_weights.function,
                variant_alarms={
                    v: [alarms.error_rate_alarms[v], alarms.latency_alarms[v]] for v in endpoint.variant_names
                },
                topic=alarms.topic,
                key=key,
            )
            srm = SampleRatioCheck(self, "SampleRatioCheck", endpoint=endpoint, monitoring=spec.monitoring, key=key)
        else:
            Annotations.of(self).add_info(
                f"No rollout state machine and no sample-ratio check: with shadow variant {spec.shadow_variant.name} "
                "the endpoint has one production variant, so there is no traffic split to move or to check."
            )
        self._compose(spec, key, bucket, capture, endpoint, set_weights, alarms, rollout, srm)

    def _weight_parameters(self, spec: EndpointSpec) -> dict[str, float]:
        """``Weight<name>`` per production variant, default its ``initial_weight``; their values by variant."""
        parameters = Construct(self, "WeightParameters")
        weights = {}
        for variant in spec.production_variants:
            parameter = CfnParameter(
                parameters,
                variant.name,
                type="Number",
                min_value=0,
                default=variant.weight,
                description=f"Traffic weight of variant {variant.name}, relative to the other variants' weights. "
                "Applied in place (UpdateEndpointWeightsAndCapacities); never rebuilds the fleet.",
            )
            parameter.override_logical_id(variant.weight_parameter_name)
            weights[variant.name] = parameter.value_as_number
        return weights

    def _sampling_parameter(self, spec: EndpointSpec) -> float | None:
        """``<Shadow>SamplingPercentage`` beside a shadow, default the config's value, at most what the shadow's
        fleet takes (:func:`shadow_limits.sampling_parameter_max`)."""
        shadow = spec.shadow_variant
        if shadow is None or shadow.shadow is None:
            return None
        production = spec.production_variants[0]
        max_value = shadow_limits.sampling_parameter_max(production, shadow)
        parameter = CfnParameter(
            Construct(self, "SamplingParameters"),
            shadow.name,
            type="Number",
            # The loader's minimum; the maximum is what the shadow's fleet takes at production's peak.
            min_value=shadow_limits.MIN_SAMPLING_PERCENTAGE,
            max_value=max_value,
            default=shadow.shadow.sampling_percentage,
            description=f"Percent of production requests shadow variant {shadow.name} receives a copy of. Applied "
            "in place (UpdateEndpointWeightsAndCapacities with the shadow's name, UNVERIFIED: the update fails and "
            "rolls back if SageMaker refuses); the endpoint config keeps the config's sampling_percentage. "
            f"At most {max_value}: what the shadow's {shadow.initial_instance_count} instance(s) take at "
            f"{production.name}'s peak (or the config's value, or the API's maximum).",
        )
        parameter.override_logical_id(shadow.sampling_parameter_name)
        return parameter.value_as_number

    def _compose(
        self,
        spec: EndpointSpec,
        key: kms.IKey,
        bucket: s3.IBucket,
        capture: S3Location | None,
        endpoint: AbEndpoint,
        set_weights: SetWeightsFunction,
        alarms: EndpointAlarms,
        rollout: GuardedRollout | None,
        srm: SampleRatioCheck | None,
    ) -> None:
        """Live quality, the composite alarm, the dashboard, the evaluation and the outputs."""
        live = None
        if capture is not None:
            truth = spec.live_quality.ground_truth_s3_uri
            live = LiveQuality(
                self,
                "LiveQuality",
                endpoint=endpoint,
                capture=capture,
                ground_truth=S3Location.parse(truth)
                if truth
                else S3Location.in_bucket(bucket.bucket_name, f"{GROUND_TRUTH_PREFIX}{spec.name}"),
                results=S3Location.in_bucket(bucket.bucket_name, ""),
                settings=spec.live_quality,
                key=key,
            )
            # Captured payloads can be personal data: kept only as long as the config says.
            expire_prefix(
                self,
                bucket,
                capture,
                rule_id="ExpireCaptures",
                after=Duration.days(spec.capture_retention_days),
                what="Captured requests and responses",
            )
            expire_prefix(
                self,
                bucket,
                live.athena_results,
                rule_id="ExpireAthenaResults",
                after=ATHENA_RESULTS_RETENTION,
                what="Athena query results",
            )
            # Reports quote input issues, which can be request data.
            expire_prefix(
                self,
                bucket,
                live.reports,
                rule_id="ExpireLiveQualityReports",
                after=Duration.days(spec.live_quality.report_retention_days),
                what="Live-quality reports",
            )
        # One page per incident: the composite rolls up the alarms that clear by themselves (a failed
        # live-quality run's alarm, and its schedule's, clear five minutes later). The settle queue's
        # alarm stays in ALARM while its messages wait (up to 14 days), and live quality's "has not
        # succeeded" until a run succeeds: either would hold the composite there, swallowing every later
        # page, so they notify on their own.
        composite = alarms.add_composite(*([srm.alarm] if srm else []), *(live.alarms if live else []))
        # The shadow's alarms roll up apart, into a composite that notifies nobody (alarms.add_shadow_composite).
        # A failed agreement step is the shadow's problem too: live quality published, nobody is paged.
        agreement_failures = live.agreement_failures_alarm if live else None
        shadow_composite = alarms.add_shadow_composite(*([agreement_failures] if agreement_failures else []))
        if rollout:
            alarms.notify_directly(rollout.settle_failures_alarm)
        not_succeeded = live.not_succeeded_alarm if live else None
        if not_succeeded is not None:
            alarms.notify_directly(not_succeeded)
        dashboard = EndpointDashboard(
            self,
            "Dashboard",
            spec=spec,
            endpoint_name=endpoint.endpoint_name,
            stack_name=self.stack_name,
            alarms=[
                composite,
                *alarms.variant_alarms,
                *([srm.alarm] if srm else []),
                *([rollout.settle_failures_alarm] if rollout else []),
                *(live.alarms if live else []),
                *([not_succeeded] if not_succeeded is not None else []),
                *([shadow_composite] if shadow_composite is not None else []),
                *alarms.shadow_alarms,
            ],
            srm_p_value=srm.p_value if srm else None,
            live_quality=live is not None,
        )

        evaluation = Evaluation(self, "Evaluation", endpoint=endpoint, bucket=bucket, key=key)

        CfnOutput(self, "EndpointName", value=endpoint.endpoint_name, description="The SageMaker endpoint to invoke")
        CfnOutput(self, "DashboardUrl", value=dashboard.url, description="Per-variant CloudWatch dashboard")
        CfnOutput(
            self,
            "SetWeightsFunctionName",
            value=set_weights.function.function_name,
            description='Invoke with {"weights": {"<variant>": <weight>, ...}} to change weights now',
        )
        CfnOutput(
            self,
            "EvaluationFunctionName",
            value=evaluation.function.function_name,
            description='Invoke with {"data_uri": "s3://<EvaluationBucketName>/datasets/<file>.csv"}',
        )
        CfnOutput(self, "EvaluationBucketName", value=bucket.bucket_name, description="datasets/ in, reports/ out")
        CfnOutput(self, "AlarmTopicArn", value=alarms.topic.topic_arn, description="Where the endpoint's alarms notify")
