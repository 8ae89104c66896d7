"""A real-time endpoint with two or more production variants, or one production variant and a shadow
(``ShadowProductionVariants``): models, config, endpoint,
log group, per-variant autoscaling and, with a ``deployment`` in the config, SageMaker's deployment
guardrails (DeploymentConfig) with new-fleet rollback alarms.

No weight the user declares reaches this construct: every variant is created with
:data:`ENDPOINT_CONFIG_WEIGHT`. The live weights belong to the weights custom resource
(:mod:`constructs_lib.variant_weights`), which applies the stack parameters (default: the config
file's ``initial_weight``) with UpdateEndpointWeightsAndCapacities. Keeping both the parameters
and ``initial_weight`` out of the endpoint config is what makes a weight change, in a parameter
or in the config file, leave the endpoint config, and so the fleet, alone.

A shadow endpoint is the exception: its production variant is written with
:data:`SHADOW_PRODUCTION_WEIGHT` and keeps it (no weight parameter; the custom resource holds it there),
and the shadow's weight is computed from ``shadow.sampling_percentage`` by
``lambdas/endpoint_weights/shadow_sampling.py`` (formula UNVERIFIED), so a change of the config's
sampling is a new endpoint config, i.e. a new fleet. The stack's sampling parameter is tried in place by the
weights custom resource instead (lambdas/endpoint_weights/shadow_in_place.py) and never reaches this config.
"""

from __future__ import annotations

from aws_cdk import Annotations, Duration, RemovalPolicy
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from constructs_lib.acknowledge import acknowledge
from constructs_lib.config import deployment_limits
from constructs_lib.config.instance_storage import has_local_storage
from constructs_lib.config.model import CapacitySizeSpec, ContainerModel, EndpointSpec, VariantSpec
from constructs_lib.deployment_alarms import DeploymentAlarms
from constructs_lib.execution_role import ModelExecutionRole
from constructs_lib.images import image_uri
from constructs_lib.lambda_shared import serving_since_tag_key, shadow_sampling
from constructs_lib.python_function import LOG_RETENTION
from constructs_lib.s3_location import S3Location

# The weight every variant is created with, whatever the config file declares. Any EndpointConfig
# property change replaces the config and rebuilds the fleet (blue/green), so a declared weight
# here would turn every weight edit into a fleet rebuild, while RetainAllVariantProperties (below)
# would keep the live weights anyway. SageMaker takes weights from the config only twice: when the
# endpoint is created (all variants equal, so any value gives an even split; no traffic arrives
# before it is InService, and the weights custom resource applies the declared weights right
# after), and for a variant *added* to a live endpoint, which runs at this weight beside the
# retained ones until the custom resource (called after every config replacement) applies its
# parameter. A placeholder far below any real weight keeps a new, untested model at ~0 traffic in
# that window (1:1 live weights → 0.05 %), where SageMaker's default of 1.0 would give it a third.
# Weights are relative floats >= 0 (VariantWeight in the SageMaker service model).
ENDPOINT_CONFIG_WEIGHT = 0.001
# The production variant's weight on an endpoint with a shadow, fixed: one production variant takes all
# traffic whatever its weight ("The traffic to a production variant is determined by the ratio of the
# VariantWeight to the sum of all VariantWeight values across all ProductionVariants", ProductionVariant,
# API reference; constructs_lib/config/shadow_limits.py WEIGHT_RATIO), while under the shadow-weight
# hypothesis H1 it scales the shadow's share, so it must not move. 1.0 rather than the placeholder: on
# promotion the shadow becomes a variant added at the placeholder beside this retained weight (0.1 % until
# the weights custom resource runs, not 50 %). The reasoning in full: shadow_sampling.py's docstring.
SHADOW_PRODUCTION_WEIGHT = 1.0
# The endpoint tag the weights custom resource writes and the live-quality plan reads (one source:
# lambdas/endpoint_weights/serving_since.py).
SERVING_SINCE_TAG_KEY = serving_since_tag_key()


class AbEndpoint(Construct):
    """The endpoint described by ``spec``.

    :param spec: the endpoint and its variants, validated by the config loader.
    :param key: encrypts the instances' storage volumes, captured data and the log group.
    :param capture: where SageMaker writes captured requests and responses (``spec.data_capture`` says
        how many); default none: no capture. It is part of the endpoint config (a change rebuilds the
        fleet) and independent of the weights.

    Construct IDs of per-variant resources are keyed by variant *name*, so reordering the
    variants in the config changes no logical ID.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: EndpointSpec,
        key: kms.IKey,
        capture: S3Location | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.capture = capture
        # Where SageMaker writes this endpoint's captures: "s3://<destination>/<endpoint-name>/<variant-name>/
        # yyyy/mm/dd/hh/<filename>.jsonl" ("Capture data from real-time endpoint", view captured data:
        # https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html). Only this
        # prefix is written (the execution role) and read (live quality's state machine role), so another
        # endpoint capturing to the same destination stays out of reach.
        self.endpoint_captures = capture.child(spec.name) if capture else None
        # SageMaker writes container logs here; creating it gives it a retention and a key.
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/sagemaker/Endpoints/{spec.name}",
            retention=LOG_RETENTION,
            encryption_key=key,
            # Its name is fixed (SageMaker chooses it): a retained group would make the next
            # deployment of the same endpoint fail with "already exists".
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.execution_role = ModelExecutionRole(
            self,
            "ExecutionRole",
            variants=spec.variants,
            key=key,
            log_group=self.log_group,
            capture=self.endpoint_captures,
            vpc=spec.vpc,
        ).role

        self.models: dict[str, sagemaker.CfnModel] = {v.name: self._model(v) for v in spec.variants}
        shadow = spec.shadow_variant
        production_weight = SHADOW_PRODUCTION_WEIGHT if shadow else ENDPOINT_CONFIG_WEIGHT

        # CreateEndpointConfig fails when KmsKeyId is set and any variant runs on an instance type
        # with local NVMe storage (the key is config-wide); that storage is hardware-encrypted.
        # The table and its sources: constructs_lib/config/instance_storage.py.
        self.local_storage_variants = sorted(v.name for v in spec.variants if has_local_storage(v.instance_type))
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            kms_key_id=None if self.local_storage_variants else key.key_arn,
            production_variants=[
                self._variant_property(v, production_weight)
                # Sorted by name: list order is part of the config, and a reordered list would
                # replace the endpoint config (a fleet rebuild) for nothing.
                for v in sorted(spec.production_variants, key=lambda v: v.name)
            ],
            # The shadow: the same fields as a production variant ("An array of ProductionVariant objects",
            # CreateEndpointConfig API reference), its weight from its sampling percentage.
            shadow_production_variants=[self._variant_property(shadow, self.shadow_weight)] if shadow else None,
            data_capture_config=self._data_capture(key),
        )
        if shadow:
            self._explain_shadow()

        if self.local_storage_variants:
            self._explain_missing_kms_key()

        # Deployment guardrails (config "deployment"): the rollback alarms watch the config this
        # deployment moves to, so they refer to the config and the endpoint refers to them.
        self.deployment_alarms: DeploymentAlarms | None = None
        describe_alarms: iam.Policy | None = None
        if spec.deployment and spec.deployment.auto_rollback:
            self.deployment_alarms = DeploymentAlarms(
                self,
                "DeploymentAlarms",
                endpoint_name=spec.name,
                endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
                # Production variants only: a failing shadow answers nobody, so it must not roll back a deployment.
                variant_names=sorted(v.name for v in spec.production_variants),
                monitoring=spec.monitoring,
            )
            describe_alarms = self.deployment_alarms.grant_describe(self.execution_role)
        if spec.deployment:
            for warning_id, message in deployment_limits.warnings(
                spec.deployment, spec.production_variants, spec.monitoring
            ):
                Annotations.of(self).add_warning_v2(warning_id, message)
            if shadow:
                Annotations.of(self).add_warning_v2(
                    "ab-test:shadowWithDeployment",
                    "deployment guardrails on an endpoint with a shadow variant are not documented (UNVERIFIED): "
                    "whether SageMaker shifts and bakes the shadow's fleet too, or falls back to all at once.",
                )

        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=spec.name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            # When a config change replaces the endpoint config, SageMaker's UpdateEndpoint
            # would otherwise reset every variant to the config's placeholder weight until the
            # weights custom resource re-applies the parameters minutes later: a variant that
            # was drained to 0 would take live traffic again in between. Retaining the live
            # weights closes that window; the custom resource then re-applies the parameter
            # weights (it runs on every config replacement) so the end state is the declared
            # one, including for newly added variants.
            # Instance counts: without autoscaling the config file is the source of truth, so
            # they are excluded from retention. With autoscaling on any variant they are kept,
            # or every config change would cut a scaled-out variant back to its initial count
            # under load (the exclusion applies to the whole endpoint, not per variant).
            # With a shadow, weights are excluded too: both come from the new config, so a sampling change
            # takes effect, and a production weight left from an A/B stage cannot scale the shadow's share
            # (shadow_sampling.py). One production variant takes all traffic whatever its weight.
            retain_all_variant_properties=True,
            exclude_retained_variant_properties=self._excluded_from_retention(),
            # Always the declared one, never RetainDeploymentConfig: the template is the source of truth.
            deployment_config=self._deployment_config(),
        )
        self.endpoint.node.add_dependency(self.log_group)
        if describe_alarms:
            self.endpoint.node.add_dependency(describe_alarms)

        self.scalable_targets: dict[str, appscaling.ScalableTarget] = {}
        for variant in spec.variants:
            if variant.autoscaling:
                self.scalable_targets[variant.name] = self._autoscaling(variant)

    @property
    def endpoint_name(self) -> str:
        return self.endpoint.attr_endpoint_name

    @property
    def endpoint_arn(self) -> str:
        return self.endpoint.ref  # Ref of AWS::SageMaker::Endpoint is its ARN

    @property
    def endpoint_config_name(self) -> str:
        return self.endpoint_config.attr_endpoint_config_name

    @property
    def endpoint_config_arn(self) -> str:
        """The ARN of the endpoint config this stack puts on the endpoint (Ref of
        AWS::SageMaker::EndpointConfig: its primary identifier, EndpointConfigArn). A config change
        replaces the config, and every reference follows it, as the weights resource's
        ``EndpointConfigName`` does."""
        return self.endpoint_config.ref

    def grant_describe_current_config(self, grantee: iam.IGrantable) -> None:
        """DescribeEndpoint on this endpoint and DescribeEndpointConfig on the config this stack deployed.

        The config's own ARN and nothing wider: its generated name has no prefix to scope a pattern
        by, and any other config is not this stack's. The price: while a deployment moves the endpoint
        to a new config, the policy may already name the new one while DescribeEndpoint still names
        the old one (it does until the new fleet serves). The reader does not ask while the endpoint
        shows a deployment (busy, or PendingDeploymentSummary); in the moments around one it is
        refused and says so (lambdas/live_quality/endpoint_anchor.py).
        """
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:DescribeEndpoint"], resource_arns=[self.endpoint_arn]
        )
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:DescribeEndpointConfig"], resource_arns=[self.endpoint_config_arn]
        )

    def grant_read_serving_since(self, grantee: iam.IGrantable) -> None:
        """ListTags on this endpoint: the serving-since marker (lambdas/endpoint_weights/serving_since.py).

        UNVERIFIED here (no account): that sagemaker:ListTags and sagemaker:AddTags take the endpoint's
        ARN as their resource (the Service Authorization Reference's SageMaker page lists resource types
        per action; not read line by line). Were they "*"-only, the calls would be refused: the plan
        would fail loudly (it never falls back on an unreadable marker) and the custom resource would
        log that the marker was not written."""
        iam.Grant.add_to_principal(grantee=grantee, actions=["sagemaker:ListTags"], resource_arns=[self.endpoint_arn])

    def grant_mark_serving_since(self, grantee: iam.IGrantable) -> None:
        """AddTags on this endpoint, for the serving-since tag key only.

        ``aws:TagKeys`` is the keys in the request ("AWS global condition context keys":
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-tagkeys);
        with ``ForAllValues`` every key in it must be the marker's. That SageMaker's AddTags supplies the
        key is from the Service Authorization Reference's SageMaker page (list_amazonsagemaker.html), not
        checked against a real account here: UNVERIFIED. Were it absent, the condition would hold (a
        ForAllValues test over no values is true) and the grant would still be this endpoint's tags only.
        """
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:AddTags"],
            resource_arns=[self.endpoint_arn],
            conditions={"ForAllValues:StringEquals": {"aws:TagKeys": [SERVING_SINCE_TAG_KEY]}},
        )

    @property
    def variant_names(self) -> list[str]:
        """The production variants: the ones that answer callers, split traffic by weight and are alarmed on,
        rolled out, SRM-checked and evaluated (InvokeEndpoint's TargetVariant names a production variant). The
        shadow is not among them."""
        return [v.name for v in self.spec.production_variants]

    @property
    def shadow_variant_name(self) -> str | None:
        shadow = self.spec.shadow_variant
        return shadow.name if shadow else None

    @property
    def shadow_weight(self) -> float:
        """The shadow's InitialVariantWeight: ``shadow_weight(sampling_percentage, SHADOW_PRODUCTION_WEIGHT)``
        (hypothesis H1, UNVERIFIED; lambdas/endpoint_weights/shadow_sampling.py)."""
        shadow = self.spec.shadow_variant
        assert shadow is not None and shadow.shadow is not None
        weight: float = shadow_sampling().shadow_weight(shadow.shadow.sampling_percentage, SHADOW_PRODUCTION_WEIGHT)
        return weight

    @property
    def fixed_weights(self) -> dict[str, float] | None:
        """With a shadow, the weights the weights custom resource holds (the production variant at
        :data:`SHADOW_PRODUCTION_WEIGHT`) instead of parameters; None without a shadow."""
        if self.spec.shadow_variant is None:
            return None
        return {name: SHADOW_PRODUCTION_WEIGHT for name in self.variant_names}

    def _variant_property(
        self, variant: VariantSpec, weight: float
    ) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=variant.name,
            model_name=self.models[variant.name].attr_model_name,
            instance_type=variant.instance_type,
            initial_instance_count=variant.initial_instance_count,
            initial_variant_weight=weight,
        )

    def _excluded_from_retention(self) -> list[sagemaker.CfnEndpoint.VariantPropertyProperty] | None:
        excluded = []
        if not any(v.autoscaling for v in self.spec.variants):
            excluded.append("DesiredInstanceCount")
        if self.spec.shadow_variant:
            # UNVERIFIED: whether retention (and so this exclusion) applies to ShadowProductionVariants is
            # not documented; VariantProperty's text speaks of the ProductionVariants of CreateEndpointConfig
            # (botocore's VariantPropertyType documentation).
            excluded.append("DesiredWeight")
        return [sagemaker.CfnEndpoint.VariantPropertyProperty(variant_property_type=t) for t in excluded] or None

    def _explain_shadow(self) -> None:
        shadow = self.spec.shadow_variant
        assert shadow is not None and shadow.shadow is not None
        Annotations.of(self.endpoint_config).add_info(
            f"Shadow variant {shadow.name}: a copy of {shadow.shadow.sampling_percentage} % of production requests "
            f"(weight {self.shadow_weight:g} beside the production variant's {SHADOW_PRODUCTION_WEIGHT:g}; the "
            'formula is UNVERIFIED, README "Shadow stage"). Changing it in the config replaces the endpoint config: '
            f"a new fleet; the stack parameter {shadow.sampling_parameter_name} is tried in place instead."
        )
        (production,) = self.spec.production_variants
        Annotations.of(self.endpoint_config).add_info(
            f"Production variant {production.name}: initial_weight {production.weight:g} is ignored beside "
            f"a shadow; its weight is fixed at {SHADOW_PRODUCTION_WEIGHT:g} (it takes every request whatever its "
            "weight, and the shadow's sampling is relative to it)."
        )
        if self.capture is None:
            Annotations.of(self.endpoint_config).add_info(
                f"Shadow variant {shadow.name} without data capture: its answers are discarded and recorded nowhere, "
                "so only its CloudWatch metrics show how it does; turn data_capture on to compare its answers."
            )

    def _model(self, variant: VariantSpec) -> sagemaker.CfnModel:
        if isinstance(variant.model, ContainerModel):
            container = sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image_uri(self, variant.model.image),
                model_data_url=variant.model.model_data_url,
                environment=dict(variant.environment) or None,
            )
        else:
            container = sagemaker.CfnModel.ContainerDefinitionProperty(
                model_package_name=variant.model.model_package_arn,
                environment=dict(variant.environment) or None,
            )
        vpc = self.spec.vpc
        model = sagemaker.CfnModel(
            self,
            f"Model{variant.name}",
            execution_role_arn=self.execution_role.role_arn,
            primary_container=container,
            enable_network_isolation=self.spec.network_isolation or None,
            vpc_config=sagemaker.CfnModel.VpcConfigProperty(
                subnets=list(vpc.subnet_ids), security_group_ids=list(vpc.security_group_ids)
            )
            if vpc
            else None,
        )
        # CreateModel checks that SageMaker can use the role, and the endpoint pulls images
        # with it at once: the role's policy must exist before the model does.
        model.node.add_dependency(self.execution_role)
        return model

    def _explain_missing_kms_key(self) -> None:
        types = ", ".join(
            f"{v.name} ({v.instance_type})" for v in self.spec.variants if v.name in self.local_storage_variants
        )
        reason = (
            f"Variants with local NVMe instance storage: {types}. SageMaker refuses a KmsKeyId on an endpoint "
            "config with any such variant (CreateEndpointConfig API reference, KmsKeyId); their instance "
            "storage is encrypted by the instance's hardware, and captured data still uses the endpoint's key."
        )
        message = f"KmsKeyId left out of the endpoint config. {reason}"
        if self.spec.kms_key_arn:
            # The user named a key: dropping it for the instance storage is something they must see.
            Annotations.of(self.endpoint_config).add_warning_v2(
                "ab-test:kms-key-not-on-instance-storage",
                f"{message} The key you named (kms_key_arn) still encrypts captured data and logs.",
            )
        else:
            Annotations.of(self.endpoint_config).add_info(message)
        acknowledge(
            self.endpoint_config,
            reason,
            "HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured",
            "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured",
        )

    def _deployment_config(self) -> sagemaker.CfnEndpoint.DeploymentConfigProperty | None:
        """The config's ``deployment`` as SageMaker's DeploymentConfig (API reference, DeploymentConfig)."""
        deployment = self.spec.deployment
        if deployment is None:
            return None

        def capacity(size: CapacitySizeSpec | None) -> sagemaker.CfnEndpoint.CapacitySizeProperty | None:
            return (
                sagemaker.CfnEndpoint.CapacitySizeProperty(type=size.type.upper(), value=size.value) if size else None
            )

        rollback = (
            sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=n) for n in self.deployment_alarms.alarm_names]
            )
            if self.deployment_alarms
            else None
        )
        if deployment.strategy == deployment_limits.ROLLING:
            return sagemaker.CfnEndpoint.DeploymentConfigProperty(
                rolling_update_policy=sagemaker.CfnEndpoint.RollingUpdatePolicyProperty(
                    maximum_batch_size=capacity(deployment.size),  # type: ignore[arg-type]  # required: the loader
                    wait_interval_in_seconds=deployment.wait_seconds,
                    maximum_execution_timeout_in_seconds=deployment.timeout_seconds,
                    rollback_maximum_batch_size=capacity(deployment.rollback_size),
                ),
                auto_rollback_configuration=rollback,
            )
        return sagemaker.CfnEndpoint.DeploymentConfigProperty(
            blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
                    type=deployment.strategy.upper(),
                    # Required by the API (TrafficRoutingConfig) though not by the CloudFormation schema,
                    # so cfn-lint would not notice it missing: always written.
                    wait_interval_in_seconds=deployment.wait_seconds,
                    canary_size=capacity(deployment.size) if deployment.strategy == "canary" else None,
                    linear_step_size=capacity(deployment.size) if deployment.strategy == "linear" else None,
                ),
                termination_wait_in_seconds=deployment.termination_wait_seconds,
                maximum_execution_timeout_in_seconds=deployment.timeout_seconds,
            ),
            auto_rollback_configuration=rollback,
        )

    def _data_capture(self, key: kms.IKey) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty | None:
        if self.capture is None:
            return None
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=self.spec.data_capture.sampling_percentage,
            # SageMaker appends <endpoint>/<variant>/yyyy/mm/dd/hh/ to it.
            destination_s3_uri=self.capture.uri,
            kms_key_id=key.key_arn,
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
            ],
        )

    def _autoscaling(self, variant: VariantSpec) -> appscaling.ScalableTarget:
        scaling = variant.autoscaling
        assert scaling is not None
        target = appscaling.ScalableTarget(
            self,
            f"Scaling{variant.name}",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{self.endpoint_name}/variant/{variant.name}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=scaling.min_capacity,
            max_capacity=scaling.max_capacity,
        )
        target.node.add_dependency(self.endpoint)
        target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=scaling.target_invocations_per_instance,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=Duration.seconds(scaling.scale_in_cooldown_seconds),
            scale_out_cooldown=Duration.seconds(scaling.scale_out_cooldown_seconds),
        )
        return target
