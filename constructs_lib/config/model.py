"""Typed, frozen description of the endpoints to deploy.

These objects are what the constructs take as props. They are built only by
:func:`constructs_lib.config.loader.load_config`, which rejects bad input, so every
instance here is already valid.

Each field that a config key fills carries its user-facing description in its metadata
(:func:`described`); the JSON Schema (``config/schema.json``) and the config reference take
descriptions and defaults from here, the rules from the loader's field tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from constructs_lib.config import alarm_limits
from constructs_lib.lambda_shared import live_quality_tables


def described(text: str) -> dict[str, str]:
    """Field metadata holding what the config key means, as editors and the config reference show it."""
    return {"description": text}


def weight_parameter_name(variant_name: str) -> str:
    """The CloudFormation parameter that carries a variant's weight.

    ``Variant1`` → ``WeightVariant1``; ``model-b`` → ``Weightmodelb``: logical IDs are
    alphanumeric, so every other character is dropped and a pipeline can derive the name
    from the variant name alone. The loader rejects configs where two variants collide.
    """
    return "Weight" + re.sub(r"[^A-Za-z0-9]", "", variant_name)


def sampling_parameter_name(variant_name: str) -> str:
    """The CloudFormation parameter that carries a shadow's sampling percentage: ``Candidate`` →
    ``CandidateSamplingPercentage`` (alphanumeric, as :func:`weight_parameter_name`)."""
    return re.sub(r"[^A-Za-z0-9]", "", variant_name) + "SamplingPercentage"


def stack_name_of(endpoint_name: str) -> str:
    """The CloudFormation stack that deploys endpoint ``endpoint_name``: ``AbTest-<name>``.

    Operators and pipelines find everything else (the endpoint's physical name, the functions,
    the rollout state machine) from this stack's outputs.
    """
    return f"AbTest-{endpoint_name}"


@dataclass(frozen=True)
class BuiltinImage:
    """A built-in SageMaker algorithm image, e.g. ``xgboost`` at ``0.90-1``."""

    algorithm: str = field(
        metadata=described(
            "Built-in algorithm whose image is resolved per region at deploy time (with version); "
            "give either this pair or image_uri."
        )
    )
    version: str = field(metadata=described("Image version of the built-in algorithm."))


@dataclass(frozen=True)
class EcrImage:
    """An explicit ECR image URI, with the parts IAM needs to grant a pull on it."""

    uri: str = field(
        metadata=described(
            "ECR image URI with a tag or digest; the execution role may pull only from that repository. "
            "Give either this or algorithm and version."
        )
    )
    account: str
    region: str
    repository: str
    partition: str


@dataclass(frozen=True)
class ContainerModel:
    """A model served from a container image and a ``model.tar.gz`` in S3."""

    image: BuiltinImage | EcrImage
    model_data_url: str = field(
        metadata=described(
            "s3://bucket/key of the model.tar.gz (required for a container model); the role may read only that object."
        )
    )

    @property
    def model_data_bucket(self) -> str:
        return self.model_data_url[len("s3://") :].split("/", 1)[0]

    @property
    def model_data_key(self) -> str:
        return self.model_data_url[len("s3://") :].split("/", 1)[1]


@dataclass(frozen=True)
class PackageModel:
    """A versioned model package from the SageMaker model registry."""

    model_package_arn: str = field(
        metadata=described("ARN of a versioned model package in the SageMaker model registry.")
    )
    artifacts_s3_uri: str | None = field(
        default=None,
        metadata=described(
            "Package models only: the S3 prefix holding the package's artifacts; the execution role may read "
            "exactly that prefix. Default: no S3 access, the artifacts must be readable by other means."
        ),
    )
    image_repository_arn: str | None = field(
        default=None,
        metadata=described(
            "Package models only: the ECR repository of the package's inference image; the execution role may "
            "pull from exactly that repository. Default: no ECR access, fine for AWS Marketplace packages (SageMaker "
            "pulls their images itself); an image in your own ECR would then fail to pull when the endpoint "
            "starts (synth warns)."
        ),
    )


@dataclass(frozen=True)
class AutoscalingSpec:
    """Target tracking on ``SageMakerVariantInvocationsPerInstance`` for one variant."""

    min_capacity: int = field(metadata=described("Fewest instances; at most max_capacity."))
    max_capacity: int = field(metadata=described("Most instances."))
    target_invocations_per_instance: float = field(
        metadata=described("Target of SageMakerVariantInvocationsPerInstance (invocations per instance per minute).")
    )
    scale_in_cooldown_seconds: int = field(default=300, metadata=described("Seconds between scale-in activities."))
    scale_out_cooldown_seconds: int = field(default=60, metadata=described("Seconds between scale-out activities."))


@dataclass(frozen=True)
class ShadowSpec:
    """What makes a variant the endpoint's shadow: the share of production requests it receives a copy of.

    The percentage is written into the endpoint config as the shadow's weight
    (``lambdas/endpoint_weights/shadow_sampling.py``, whose formula is UNVERIFIED), so changing it
    replaces the endpoint config: a new fleet for both variants (blue/green). It is also the default of the
    stack parameter ``<Shadow>SamplingPercentage``, which the weights custom resource tries in place.
    """

    sampling_percentage: int = field(
        metadata=described(
            "Percent of production requests the shadow receives a copy of (1-100; the maximum is botocore's "
            "Percentage shape); its answers are discarded. It lives in the endpoint config: changing it replaces "
            "the endpoint config, i.e. a new fleet for both variants (blue/green), not an in-place change; it is also "
            "the default of the stack parameter <Shadow>SamplingPercentage, which is tried in place. How "
            "SageMaker reads a shadow's weight is not documented: the stack writes weight = percentage / 100 × the "
            'production variant\'s weight (UNVERIFIED, README "Shadow stage").'
        )
    )


@dataclass(frozen=True)
class VariantSpec:
    """One variant: a production variant (``initial_weight``) or the shadow (``shadow``), never both.

    ``initial_weight`` is only the default of the variant's weight parameter; the endpoint config never
    sees it (see :mod:`constructs_lib.ab_endpoint`). A shadow has no weight parameter.
    """

    name: str = field(
        metadata=described(
            "The variant's name (SageMaker VariantName). Its weight parameter is Weight<name without "
            "non-alphanumerics>, which must not collide with another variant's. Case counts: SageMaker documents "
            "no case-insensitivity for variant names."
        )
    )
    model: ContainerModel | PackageModel = field(
        metadata=described(
            "Exactly one of: a container (image_uri, or algorithm and version; plus model_data_url) "
            "or a model_package_arn."
        )
    )
    instance_type: str = field(
        metadata=described(
            "Hosting instance type, one of SageMaker's ProductionVariantInstanceType values as the installed "
            "botocore lists them (an instance type newer than the installed boto3 needs a newer boto3)."
        )
    )
    initial_instance_count: int = field(
        metadata=described("Instances at start (InitialTaskCount); within the autoscaling range if autoscaling is set.")
    )
    initial_weight: float | None = field(
        default=None,
        metadata=described(
            "Default of the variant's weight parameter (VariantWeight); finite. The endpoint config never sees it: "
            "pipelines set weights with cdk deploy --parameters. Not 0 for every variant. Required for a production "
            "variant; refused on the shadow (give shadow instead). Beside a shadow, the single production variant "
            "takes all traffic whatever its weight, and the stack declares no weight parameter."
        ),
    )
    environment: Mapping[str, str] = field(
        default_factory=dict,
        metadata=described("Container environment variables, string values (SageMaker's EnvironmentMap)."),
    )
    autoscaling: AutoscalingSpec | None = field(
        default=None,
        metadata=described(
            "Target tracking on SageMakerVariantInvocationsPerInstance. Default: the instance count stays fixed."
        ),
    )
    shadow: ShadowSpec | None = field(
        default=None,
        metadata=described(
            "Makes this variant the endpoint's shadow (ShadowProductionVariants): it receives a copy of "
            "sampling_percentage % of the production variant's requests and its answers are discarded. Instead of "
            "initial_weight; at most one shadow, and then exactly one production variant (SageMaker's rule). "
            'Experimental: README "Shadow stage". Default: a production variant.'
        ),
    )

    @property
    def weight_parameter_name(self) -> str:
        return weight_parameter_name(self.name)

    @property
    def sampling_parameter_name(self) -> str:
        return sampling_parameter_name(self.name)

    @property
    def weight(self) -> float:
        """The declared weight of a production variant (the loader requires it there)."""
        assert self.initial_weight is not None, f"variant {self.name} is the shadow: it has no weight"
        return self.initial_weight


# SageMaker Python SDK's DataCaptureConfig default (sampling_percentage=20); the API reference
# (DataCaptureConfig, InitialSamplingPercentage) recommends "a lower value ... for Endpoints with
# high traffic". Sampling is per request and the same for every variant, so it thins the labelled
# sample of each variant alike and biases no comparison.
DEFAULT_SAMPLING_PERCENTAGE = 20
# Captures are kept a day longer than the longest window a live-quality run reads. S3 adds the rule's
# days to an object's creation time and rounds up to the next midnight UTC ("Lifecycle configuration
# elements", Lifecycle rules based on an object's age:
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html), and a run reads
# hours from lookback_days before its own hour for up to two hours after that hour (the state machine's
# RUN_TIMEOUT, constructs_lib/live_quality.py): with one day more, the oldest hour a run reads is still
# there when the run reads it.
CAPTURE_RETENTION_MARGIN_DAYS = 1
# A live-quality run's time limit (the state machine's timeout, constructs_lib/live_quality.py): a run
# ends at most this long after its schedule started it.
LIVE_QUALITY_RUN_TIMEOUT_HOURS = 1


@dataclass(frozen=True)
class DataCaptureSpec:
    """Capture of requests and responses to S3 at ``sampling_percentage`` (0–100), on unless ``enabled`` is false.

    ``destination_s3_uri`` None means the stack's evaluation bucket (or ``evaluation.report_bucket_name``)
    under ``capture/``: the stack resolves it, as the bucket may be one it creates.
    """

    enabled: bool = field(
        default=True,
        metadata=described(
            "Capture requests and responses (and run the live-quality query on them). false turns capture off "
            "and creates no live-quality resources. Turning it on or off changes the endpoint config, which "
            "rebuilds the fleet (blue/green)."
        ),
    )
    sampling_percentage: int = field(
        default=DEFAULT_SAMPLING_PERCENTAGE,
        metadata=described(
            "Percent of requests captured (InitialSamplingPercentage). Default 20, the SageMaker Python SDK's "
            "default; every variant is sampled at the same rate."
        ),
    )
    destination_s3_uri: str | None = field(
        default=None,
        metadata=described(
            "s3://bucket/prefix for the captured data; SageMaker writes under <prefix>/<endpoint>/<variant>/, and "
            "the execution role may write only under <prefix>/<endpoint>/. Default: "
            "s3://<the stack's evaluation bucket, or evaluation.report_bucket_name>/capture."
        ),
    )
    retention_days: int | None = field(
        default=None,
        metadata=described(
            "Days captured requests and responses are kept (they can be personal data): an S3 lifecycle rule on "
            "the capture prefix expires them, and their noncurrent versions a day later. At least "
            "live_quality.lookback_days + 1, so that every run still finds the captures it reads. Default: "
            "live_quality.lookback_days + 1 (kept exactly as long as live quality reads them). Applied only where "
            "the stack creates the bucket; for destination_s3_uri or evaluation.report_bucket_name, synth warns "
            "and you set the rule on that bucket."
        ),
    )


@dataclass(frozen=True)
class VpcSpec:
    """Subnets and security groups the models run in."""

    subnet_ids: tuple[str, ...] = field(metadata=described("Subnets the model containers run in."))
    security_group_ids: tuple[str, ...] = field(metadata=described("Security groups of the model containers."))


@dataclass(frozen=True)
class MonitoringSpec:
    """Alarm thresholds and the sample-ratio-mismatch (SRM) check, with their defaults.

    Variant alarms fire on the 5XX error rate (percent of invocations) and on p99 ModelLatency,
    each only in periods with at least ``min_invocations`` requests, when
    ``datapoints_to_alarm`` of ``evaluation_periods`` periods of ``period_seconds`` breach.
    The SRM check runs every ``srm_schedule_minutes`` over the last ``srm_window_minutes`` and
    its alarm fires when the exact sample-ratio test's p-value drops below ``srm_p_value`` with at least
    ``srm_min_invocations`` requests in the window.
    """

    error_rate_percent: float = field(
        default=5.0, metadata=described("5XX error rate alarm threshold, percent of invocations.")
    )
    p99_latency_ms: float = field(default=1000.0, metadata=described("p99 ModelLatency alarm threshold, milliseconds."))
    period_seconds: int = field(
        default=60,
        metadata=described(
            "Alarm period: a multiple of 60, as SageMaker's metrics are per minute (CloudWatch's high-resolution "
            "10/20/30 s periods would never see data)."
        ),
    )
    evaluation_periods: int = field(
        default=5,
        metadata=described(
            "Periods an alarm evaluates; period_seconds × evaluation_periods is at most 86,400 s for periods "
            "under an hour and 604,800 s otherwise (PutMetricAlarm)."
        ),
    )
    datapoints_to_alarm: int = field(
        default=3, metadata=described("Breaching periods that fire an alarm; at most evaluation_periods.")
    )
    min_invocations: int = field(
        default=20, metadata=described("Traffic guard: periods with fewer invocations never breach.")
    )
    notification_emails: tuple[str, ...] = field(
        default=(), metadata=described("E-mail subscriptions of the alarm topic.")
    )
    srm_p_value: float = field(
        default=0.001, metadata=described("The SRM alarm fires when the sample-ratio test's p-value drops below this.")
    )
    srm_min_invocations: int = field(
        default=1000, metadata=described("Requests per window before the SRM check reports.")
    )
    srm_window_minutes: int = field(
        default=60, metadata=described("Minutes of traffic each SRM check looks at; at least srm_schedule_minutes.")
    )
    srm_schedule_minutes: int = field(default=5, metadata=described("Minutes between SRM checks."))


# A year of access logs: long enough to look back over a year's incidents; audit rules that ask for
# more (HIPAA's six years of documentation, say) set evaluation.access_log_retention_days.
DEFAULT_ACCESS_LOG_RETENTION_DAYS = 365


@dataclass(frozen=True)
class EvaluationSpec:
    """Where the evaluation reads test sets and writes reports."""

    report_bucket_name: str | None = field(
        default=None,
        metadata=described(
            "An existing bucket for the evaluation's datasets/ and reports/, and for live quality's capture/, "
            "ground-truth/, live-quality/ and athena-results/ prefixes (nothing else in it is touched). "
            "Default: the stack creates an encrypted bucket."
        ),
    )
    access_log_retention_days: int = field(
        default=DEFAULT_ACCESS_LOG_RETENTION_DAYS,
        metadata=described(
            "Days the server access logs of the bucket the stack creates are kept (an S3 lifecycle rule on the "
            "log bucket). Default 365; raise it if your audit rules ask for longer. Ignored with "
            "report_bucket_name (the stack creates no bucket, and no log bucket)."
        ),
    )


# 50 GB: at Athena's $5 per TB scanned (us-east-1) at most 25 cents a run. A full default window
# (42 days) at the default 20 % capture of 1 million requests a day scans about 14 GB: 8.4 GB of
# captures (1 KB a line) and 5.5 GB of labels (about 130 bytes a line, for every request, captured or
# not); the cutoff leaves room for three times that traffic. Labels dominate at low sampling with small
# requests (README, what it costs: 50 M captured requests of 400-byte lines with labels for every request
# pass 50 GB), hence the advice to upload only captured requests' labels. Athena refuses cutoffs under 10 MB
# (botocore's BytesScannedCutoffValue, the config loader reads it).
DEFAULT_BYTES_SCANNED_CUTOFF = 50_000_000_000
# Reports quote input issues (possibly personal data), and a run's report is superseded by the next
# run's: three months leave a quarter's history of runs to compare, then they go.
DEFAULT_REPORT_RETENTION_DAYS = 90
# The live-quality query keeps at most this many characters of a malformed line as an issue's detail
# (one number, in lambdas/live_quality/tables.py; a test checks the SQL cuts there).
MAX_SAMPLE_EXCERPT_CHARS: int = live_quality_tables().MAX_ISSUE_DETAIL_CHARS


@dataclass(frozen=True)
class LiveQualitySpec:
    """The scheduled live-quality run: captured requests joined with late labels, per variant, on Athena."""

    schedule_hours: int = field(
        default=24, metadata=described("Hours between scheduled runs (an EventBridge rate expression).")
    )
    # 42 days: a two-week experiment whose labels take up to four weeks (e.g. 28-day churn) is read
    # whole by its last run, so its verdicts keep the anytime guarantee and its late labels still find
    # their captures; at the default 20 % capture of 1 million requests a day a full window scans
    # about 14 GB (DEFAULT_BYTES_SCANNED_CUTOFF).
    lookback_days: int = field(
        default=42,
        metadata=described(
            "The longest window, in days. Each run reads the captures since the endpoint's current endpoint "
            "config was created (the first whole hour after), but never more than this many days before the "
            "run's hour, and the labels collected since the window's start. Once this cuts the window, runs "
            "drop their oldest requests and their verdicts hold for each run alone (the report says so)."
        ),
    )
    threshold: float = field(
        default=0.5, metadata=described("A score at or above this is a predicted positive (as in the evaluation).")
    )
    alpha: float = field(
        default=0.05,
        metadata=described("Family-wise significance level of the comparisons between variants (Holm)."),
    )
    bytes_scanned_cutoff: int = field(
        default=DEFAULT_BYTES_SCANNED_CUTOFF,
        metadata=described(
            "Athena cancels a run's query once it has scanned this many bytes (the workgroup's "
            "BytesScannedCutoffPerQuery; Athena's minimum is 10,000,000). Default 50 GB."
        ),
    )
    ground_truth_s3_uri: str | None = field(
        default=None,
        metadata=described(
            "s3://bucket/prefix/ the labels are uploaded under, by hour (<prefix>/yyyy/mm/dd/hh/<file>.jsonl). "
            "Default: s3://<the stack's evaluation bucket, or evaluation.report_bucket_name>/ground-truth/<endpoint>/ "
            "(also when data_capture.destination_s3_uri puts the captures in another bucket)."
        ),
    )
    schedule_enabled: bool = field(
        default=False,
        metadata=described(
            "Run the query every schedule_hours (the EventBridge rule's State, ENABLED or DISABLED), and alarm when "
            "no run has succeeded for 2 × schedule_hours (at least schedule_hours + 2; CloudWatch looks back at most "
            "7 days, so at most 166 hours between runs). Default false: the Athena path has not yet run in a real "
            "account (README, live quality's status); start one run by hand, then set this to true, deploy, and start "
            "one run right away (aws stepfunctions start-execution --state-machine-arn <the stack's "
            "LiveQualityStateMachineArn output>): the new alarm has no data and goes to ALARM until a run succeeds. "
            "Switch it here, not in the console: a rule enabled by hand stays enabled only until a deploy changes "
            "the rule (CloudFormation updates only the resources whose template changed, and then writes the "
            "template's State), so its state would depend on unrelated edits."
        ),
    )
    report_retention_days: int = field(
        default=DEFAULT_REPORT_RETENTION_DAYS,
        metadata=described(
            "Days each run's report.json and report.md (under live-quality/) are kept: their input-issue samples "
            "can quote request data (sample_excerpt_chars). An S3 lifecycle rule on the bucket the stack creates; "
            "with evaluation.report_bucket_name, synth warns and you set the rule. Default 90."
        ),
    )
    sample_excerpt_chars: int = field(
        default=MAX_SAMPLE_EXCERPT_CHARS,
        metadata=described(
            "Characters of each input-issue sample's detail the report keeps: the start of a malformed line "
            "(request or label data, possibly personal) or the request's id. 0 keeps file and line only. At most "
            "200, the query's own cut (the Athena result file under athena-results/ still holds those 200 "
            "characters until it expires, after 7 days). Default 200."
        ),
    )

    @property
    def not_succeeded_evaluation_periods(self) -> int | None:
        """Hourly periods of the "has not succeeded" alarm: 2 × ``schedule_hours``, at least enough for a run
        that ends as late as it may, within CloudWatch's window; None when no window CloudWatch allows
        (``alarm_limits``) is sure to see a run."""
        return alarm_limits.hourly_periods_to_see_every(self.schedule_hours, late_hours=LIVE_QUALITY_RUN_TIMEOUT_HOURS)


@dataclass(frozen=True)
class CapacitySizeSpec:
    """A step of a guarded deployment: a number of instances or a percentage of each variant's fleet."""

    type: str = field(
        metadata=described(
            "instance_count or capacity_percent (SageMaker's CapacitySizeType): a number of instances, or a "
            "percentage of each production variant's instance count."
        )
    )
    value: int = field(metadata=described("How many instances, or what percentage (CapacitySizeValue, at least 1)."))


@dataclass(frozen=True)
class DeploymentSpec:
    """How SageMaker moves the endpoint to a new endpoint config (its deployment guardrails).

    The endpoint config is replaced whenever a model, image, instance type or capture setting
    changes; SageMaker then builds a new fleet and shifts traffic to it as this says, watching
    the stack's new-fleet alarms and rolling back on any (see constructs_lib/deployment_alarms.py).
    """

    strategy: str = field(
        metadata=described(
            "all_at_once, canary or linear (blue/green: a new fleet beside the old, traffic shifted in one, two or "
            "n steps) or rolling (the fleet replaced in batches; single-variant endpoints only)."
        )
    )
    size: CapacitySizeSpec | None = field(
        default=None,
        metadata=described(
            "The canary, each linear step or each rolling batch; required for those strategies, refused for "
            "all_at_once. Canary at most 50 %, linear 10-50 %, rolling 5-50 % of each variant's instances."
        ),
    )
    rollback_size: CapacitySizeSpec | None = field(
        default=None,
        metadata=described(
            "Rolling only: the batch in which a rollback restores the old fleet. Default: SageMaker's, the whole "
            "fleet at once."
        ),
    )
    wait_seconds: int = field(
        default=600,
        metadata=described(
            "Baking period after each traffic shift, during which the new-fleet alarms are watched "
            "(WaitIntervalInSeconds). Keep it at least monitoring.datapoints_to_alarm × period_seconds, or an "
            "alarm cannot fire before the bake ends (synth warns)."
        ),
    )
    termination_wait_seconds: int | None = field(
        default=None,
        metadata=described(
            "Blue/green only: how long the old fleet stays up after the last shift (TerminationWaitInSeconds). "
            "Default: SageMaker's, 0."
        ),
    )
    timeout_seconds: int | None = field(
        default=None,
        metadata=described(
            "The whole deployment's time limit (MaximumExecutionTimeoutInSeconds); for blue/green larger than "
            "termination_wait_seconds + wait_seconds. Default: SageMaker's."
        ),
    )
    auto_rollback: bool = field(
        default=True,
        metadata=described(
            "Roll back when one of the stack's new-fleet alarms (5XX rate and p99 latency per variant, on the new "
            "endpoint config only) fires during the deployment. At most 5 production variants (10 alarms)."
        ),
    )


@dataclass(frozen=True)
class EndpointSpec:
    """One real-time endpoint with its production variants."""

    name: str = field(metadata=described("The endpoint's name (SageMaker EndpointName); its stack is AbTest-<name>."))
    variants: tuple[VariantSpec, ...] = field(
        metadata=described(
            "The production variants (ProductionVariantList) and at most one shadow variant (with shadow instead of "
            "initial_weight; then exactly one production variant). Names are unique, their weight parameters differ, "
            "and at least one initial_weight is above 0."
        )
    )
    data_capture: DataCaptureSpec = field(
        default_factory=DataCaptureSpec,
        metadata=described(
            "Capture of requests and responses to S3 (encrypted with the endpoint's key), on by default for the "
            'live-quality query; {"enabled": false} turns it off.'
        ),
    )
    vpc: VpcSpec | None = field(
        default=None, metadata=described("Subnets and security groups the models run in. Default: no VPC.")
    )
    network_isolation: bool = field(default=False, metadata=described("Cut the model containers off from the network."))
    kms_key_arn: str | None = field(
        default=None,
        metadata=described(
            "KMS key that encrypts the instances' storage, captured data and logs; its key policy must let "
            "CloudWatch Logs use it. Default: the stack creates a key with rotation on. Left out of the endpoint "
            "config (KmsKeyId) when a variant's instance type has local NVMe storage (g4dn, g5, g6, p4d, p5, the "
            "*d families): SageMaker refuses it there and that storage is hardware-encrypted; synth says so, and "
            "captured data still uses the key. Its partition must be its region's, and the pinned stack's."
        ),
    )
    monitoring: MonitoringSpec = field(
        default_factory=MonitoringSpec,
        metadata=described("Alarm thresholds and the sample-ratio-mismatch (SRM) check; every key has a default."),
    )
    evaluation: EvaluationSpec = field(
        default_factory=EvaluationSpec,
        metadata=described("Where the evaluation reads test sets and writes reports."),
    )
    live_quality: LiveQualitySpec = field(
        default_factory=LiveQualitySpec,
        metadata=described(
            "The scheduled per-variant quality of live traffic (captures joined with labels on Athena); every key "
            "has a default. Ignored when data_capture is off."
        ),
    )
    deployment: DeploymentSpec | None = field(
        default=None,
        metadata=described(
            "Deployment guardrails for model updates (a new endpoint config with the same variant names): canary, "
            "linear or rolling traffic shifting with baking periods and automatic rollback. Default: none, "
            "SageMaker's blue/green all at once."
        ),
    )

    @property
    def production_variants(self) -> tuple[VariantSpec, ...]:
        """The variants that serve callers and split traffic by weight (every variant but the shadow)."""
        return tuple(v for v in self.variants if v.shadow is None)

    @property
    def shadow_variant(self) -> VariantSpec | None:
        """The shadow variant (a copy of a share of production requests, answers discarded), or None."""
        return next((v for v in self.variants if v.shadow is not None), None)

    @property
    def stack_name(self) -> str:
        """The CloudFormation stack that deploys this endpoint (``AbTest-<name>``)."""
        return stack_name_of(self.name)

    @property
    def capture_retention_days(self) -> int:
        """Days captures are kept: ``data_capture.retention_days``, or the longest live-quality window plus
        :data:`CAPTURE_RETENTION_MARGIN_DAYS` (the loader checks a given value is at least that)."""
        given = self.data_capture.retention_days
        return given if given is not None else min_capture_retention_days(self.live_quality.lookback_days)


def min_capture_retention_days(lookback_days: int) -> int:
    """The fewest days captures may be kept when live-quality runs read ``lookback_days`` days of them."""
    return lookback_days + CAPTURE_RETENTION_MARGIN_DAYS


@dataclass(frozen=True)
class ConfigWarning:
    """Something valid but worth a look, found by the loader: synth shows it as a warning on ``endpoint``'s stack.

    ``message`` is located like an error: file, endpoint, variant, field."""

    endpoint: str
    warning_id: str
    message: str


@dataclass(frozen=True)
class AppConfig:
    """Every endpoint of one config file; ``source`` names the file for messages; ``warnings`` what synth says."""

    source: str
    endpoints: tuple[EndpointSpec, ...] = field(
        metadata=described(
            "The endpoints to deploy, one stack each. Names are unique, also ignoring case: SageMaker endpoint "
            "names are case-insensitive."
        )
    )
    warnings: tuple[ConfigWarning, ...] = ()
