"""Every metric the project graphs or alarms on: one table, mirroring SageMaker's documentation.

SageMaker publishes endpoint invocation metrics in ``AWS/SageMaker`` and instance metrics in
``/aws/sagemaker/Endpoints``, both per ``EndpointName`` and ``VariantName``. ModelLatency and
OverheadLatency are in microseconds; the utilization metrics are percentages where 100 % is
one core (CPU) or one device (GPU). This project publishes its own metrics under
:data:`PROJECT_NAMESPACE`: the declared weights (both weight Lambdas), the sample-ratio-mismatch
check, the evaluation results and the live-quality runs.

Dashboards and alarms take their metrics from here (:func:`metric`), and a test checks that
every metric on the dashboard is one of these, with exactly these dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_iam as iam

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
PROJECT_NAMESPACE = "SageMakerABTesting"

VARIANT_DIMENSIONS = ("EndpointName", "VariantName")
# A shadow variant's metrics are assumed to carry the same two dimensions, VariantName = the shadow's name:
# AWS documents no shadow-specific metric name or dimension ("Create a shadow test" only lists the
# per-variant metrics its console compares), so this is UNVERIFIED (docs/design/shadow-and-guardrails.md
# F12, Q5). The shadow's dashboard row and alarms rely on it; README "Shadow stage" says so.
ENDPOINT_DIMENSIONS = ("EndpointName",)
# During a deployment SageMaker also publishes its invocation metrics per fleet: "CloudWatch publishes the
# metrics with the dimension EndpointConfigName:{New-Ep-Config} after the new fleet starts receiving
# traffic, and these metrics last even after the deployment is complete" (Auto-Rollback Configuration and
# Monitoring, https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
# Only the deployment alarms use it (constructs_lib/deployment_alarms.py).
FLEET_DIMENSION = "EndpointConfigName"


@dataclass(frozen=True)
class MetricSpec:
    namespace: str
    name: str
    dimensions: tuple[str, ...]
    unit: str
    description: str


def _specs(*specs: MetricSpec) -> MappingProxyType[tuple[str, str], MetricSpec]:
    return MappingProxyType({(s.namespace, s.name): s for s in specs})


CATALOG = _specs(
    # AWS/SageMaker: endpoint invocation metrics, per variant.
    MetricSpec(SAGEMAKER_NAMESPACE, "Invocations", VARIANT_DIMENSIONS, "Count", "requests sent to the variant"),
    MetricSpec(SAGEMAKER_NAMESPACE, "InvocationsPerInstance", VARIANT_DIMENSIONS, "Count", "invocations / instances"),
    MetricSpec(SAGEMAKER_NAMESPACE, "ModelLatency", VARIANT_DIMENSIONS, "Microseconds", "time the model took"),
    MetricSpec(SAGEMAKER_NAMESPACE, "OverheadLatency", VARIANT_DIMENSIONS, "Microseconds", "SageMaker's own overhead"),
    MetricSpec(SAGEMAKER_NAMESPACE, "Invocation4XXErrors", VARIANT_DIMENSIONS, "Count", "requests answered 4XX"),
    MetricSpec(SAGEMAKER_NAMESPACE, "Invocation5XXErrors", VARIANT_DIMENSIONS, "Count", "requests answered 5XX"),
    MetricSpec(SAGEMAKER_NAMESPACE, "InvocationModelErrors", VARIANT_DIMENSIONS, "Count", "model errored"),
    # /aws/sagemaker/Endpoints: instance metrics, per variant.
    MetricSpec(INSTANCE_NAMESPACE, "CPUUtilization", VARIANT_DIMENSIONS, "Percent", "sum over cores"),
    MetricSpec(INSTANCE_NAMESPACE, "MemoryUtilization", VARIANT_DIMENSIONS, "Percent", "memory used"),
    MetricSpec(INSTANCE_NAMESPACE, "DiskUtilization", VARIANT_DIMENSIONS, "Percent", "disk used"),
    MetricSpec(INSTANCE_NAMESPACE, "GPUUtilization", VARIANT_DIMENSIONS, "Percent", "sum over GPUs"),
    MetricSpec(INSTANCE_NAMESPACE, "GPUMemoryUtilization", VARIANT_DIMENSIONS, "Percent", "GPU memory used"),
    # This project: weights as declared, published by both weight Lambdas when they apply them.
    MetricSpec(PROJECT_NAMESPACE, "DeclaredWeight", VARIANT_DIMENSIONS, "None", "weight last applied"),
    # This project: the sample-ratio-mismatch check.
    MetricSpec(
        PROJECT_NAMESPACE,
        "SrmPValue",
        ENDPOINT_DIMENSIONS,
        "None",
        "exact p-value of the split",
    ),
    MetricSpec(PROJECT_NAMESPACE, "SrmInvocations", ENDPOINT_DIMENSIONS, "Count", "requests the check looked at"),
    MetricSpec(PROJECT_NAMESPACE, "ObservedShare", VARIANT_DIMENSIONS, "Percent", "share of requests received"),
    MetricSpec(PROJECT_NAMESPACE, "ExpectedShare", VARIANT_DIMENSIONS, "Percent", "share the live weights ask for"),
    # This project: model quality from the evaluation runs.
    MetricSpec(PROJECT_NAMESPACE, "Accuracy", VARIANT_DIMENSIONS, "None", "evaluation accuracy"),
    MetricSpec(PROJECT_NAMESPACE, "Precision", VARIANT_DIMENSIONS, "None", "evaluation precision"),
    MetricSpec(PROJECT_NAMESPACE, "Recall", VARIANT_DIMENSIONS, "None", "evaluation recall"),
    MetricSpec(PROJECT_NAMESPACE, "F1", VARIANT_DIMENSIONS, "None", "evaluation F1 score"),
    MetricSpec(PROJECT_NAMESPACE, "RocAuc", VARIANT_DIMENSIONS, "None", "evaluation ROC AUC"),
    # This project: model quality on live traffic, from the scheduled live-quality runs (captured
    # requests joined with their labels; names from lambdas/live_quality/report.py LIVE_METRICS).
    MetricSpec(PROJECT_NAMESPACE, "LiveAccuracy", VARIANT_DIMENSIONS, "None", "live accuracy"),
    MetricSpec(PROJECT_NAMESPACE, "LivePrecision", VARIANT_DIMENSIONS, "None", "live precision"),
    MetricSpec(PROJECT_NAMESPACE, "LiveRecall", VARIANT_DIMENSIONS, "None", "live recall"),
    MetricSpec(PROJECT_NAMESPACE, "LiveF1", VARIANT_DIMENSIONS, "None", "live F1 score"),
    MetricSpec(PROJECT_NAMESPACE, "LiveRocAuc", VARIANT_DIMENSIONS, "None", "live ROC AUC"),
    MetricSpec(PROJECT_NAMESPACE, "LiveLabelCoverage", VARIANT_DIMENSIONS, "None", "share of captures labelled"),
    MetricSpec(PROJECT_NAMESPACE, "LiveLabelledRequests", VARIANT_DIMENSIONS, "Count", "captures with a label"),
    MetricSpec(PROJECT_NAMESPACE, "LiveLabelDelayP50Hours", VARIANT_DIMENSIONS, "None", "median label delay, hours"),
    MetricSpec(PROJECT_NAMESPACE, "LiveLabelDelayP90Hours", VARIANT_DIMENSIONS, "None", "p90 label delay, hours"),
    # This project: a shadow's agreement with production on the same requests, from the live-quality runs beside a
    # shadow (lambdas/live_quality/agreement_step.py), VariantName = the shadow. ShadowAgreement has no datapoint
    # for a run without pairs (never 0 %).
    MetricSpec(PROJECT_NAMESPACE, "ShadowAgreement", VARIANT_DIMENSIONS, "Percent", "pairs on the same side, %"),
    MetricSpec(PROJECT_NAMESPACE, "ShadowPairs", VARIANT_DIMENSIONS, "Count", "captured pairs compared"),
    # 1 per run whose agreement step failed (the live-quality state machine's own PutMetricData; no datapoint
    # otherwise): the shadow's problem, not a failed run (constructs_lib/live_quality.py).
    MetricSpec(PROJECT_NAMESPACE, "ShadowAgreementFailures", VARIANT_DIMENSIONS, "Count", "agreement steps failed"),
)

QUALITY_METRICS = ("Accuracy", "Precision", "Recall", "F1", "RocAuc")
LIVE_QUALITY_METRICS = ("LiveAccuracy", "LiveF1", "LiveRocAuc")
DEFAULT_PERIOD = Duration.minutes(1)


def metric(
    namespace: str,
    name: str,
    *,
    endpoint_name: str,
    variant_name: str | None = None,
    statistic: str = "Sum",
    period: Duration = DEFAULT_PERIOD,
    label: str | None = None,
    endpoint_config_name: str | None = None,
) -> cw.Metric:
    """A metric from :data:`CATALOG`, with the dimensions SageMaker (or this project) uses.

    ``endpoint_config_name`` narrows a SageMaker invocation metric to one fleet (:data:`FLEET_DIMENSION`).
    """
    spec = CATALOG.get((namespace, name))
    if spec is None:
        raise KeyError(f"{namespace} {name} is not in the metric catalog")
    values = {"EndpointName": endpoint_name, "VariantName": variant_name}
    missing = [d for d in spec.dimensions if values.get(d) is None]
    if missing:
        raise ValueError(f"{name} needs dimension(s) {', '.join(missing)}")
    dimensions = {d: str(values[d]) for d in spec.dimensions}
    if endpoint_config_name is not None:
        if spec.namespace != SAGEMAKER_NAMESPACE:
            raise ValueError(f"{name}: only SageMaker's invocation metrics are published per {FLEET_DIMENSION}")
        dimensions[FLEET_DIMENSION] = endpoint_config_name
    return cw.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map=dimensions,
        statistic=statistic,
        period=period,
        label=label,
    )


def grant_put_project_metrics(grantee: iam.IGrantable) -> None:
    """PutMetricData into :data:`PROJECT_NAMESPACE` only.

    The action has no resource-level permissions, so the resource is ``*`` and the namespace is
    pinned with the ``cloudwatch:namespace`` condition key.
    """
    iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["cloudwatch:PutMetricData"],
        resource_arns=["*"],
        conditions={"StringEquals": {"cloudwatch:namespace": PROJECT_NAMESPACE}},
    )
