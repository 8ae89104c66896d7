"""The per-endpoint dashboard, laid out to compare variants side by side, top to bottom:

header (what is deployed, how to change weights) → with a shadow only, the shadow row (the shadow beside
production: latency, errors, invocations, observed sampling against the declared one) → traffic
(invocations, observed share next to declared share, per instance) → latency (p50/p90/p99 in ms) →
errors (4XX, 5XX, model errors, 5XX rate) → resources (CPU, memory, disk, GPU where there are GPUs) →
model quality (from the evaluation runs) → live quality (from the scheduled live-quality runs, with data
capture on: accuracy, F1, ROC AUC, then label coverage and label delay) → the sample-ratio check and alarm status.

Every metric comes from :mod:`constructs_lib.metric_catalog`; a test checks the whole body
against it. Widgets in one ``add_widgets`` call sit side by side and always sum to the 24
columns of the grid.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

from constructs_lib.config.model import EndpointSpec
from constructs_lib.metric_catalog import (
    INSTANCE_NAMESPACE,
    LIVE_QUALITY_METRICS,
    PROJECT_NAMESPACE,
    QUALITY_METRICS,
    SAGEMAKER_NAMESPACE,
    metric,
)

GRAPH_HEIGHT = 6
LATENCY_STATISTICS = ("p50", "p90", "p99")
QUALITY_PERIOD = Duration.hours(1)
# One-minute resolution throughout; math expressions would otherwise default to five minutes.
PERIOD = Duration.minutes(1)
QUALITY_LABELS = {"Accuracy": "Accuracy", "Precision": "Precision", "Recall": "Recall", "F1": "F1", "RocAuc": "ROC AUC"}
LIVE_LABELS = {"LiveAccuracy": "accuracy", "LiveF1": "F1", "LiveRocAuc": "ROC AUC"}
# Alarm thresholds are drawn as horizontal lines on the graphs their alarms watch, in this colour.
THRESHOLD_COLOR = "#d62728"
# A declared value drawn for comparison (not an alarm threshold), in this colour.
DECLARED_COLOR = "#1f77b4"
# The shadow row compares the middle and the tail only: two statistics per variant keep its graph readable.
SHADOW_LATENCY_STATISTICS = ("p50", "p99")


def threshold_line(value: float, label: str) -> cw.HorizontalAnnotation:
    """A horizontal annotation at an alarm threshold (the value comes from the monitoring config)."""
    return cw.HorizontalAnnotation(value=value, label=label, color=THRESHOLD_COLOR)


def is_gpu_instance(instance_type: str) -> bool:
    """ml.g*/ml.p* families carry NVIDIA GPUs (the only ones SageMaker reports GPU metrics for)."""
    family = instance_type.split(".")[1] if instance_type.count(".") >= 2 else ""
    return family.startswith(("g", "p"))


class EndpointDashboard(Construct):
    """The endpoint's CloudWatch dashboard.

    :param spec: the endpoint as configured (variants, instance types) for the header.
    :param endpoint_name: the endpoint's name (a token is fine).
    :param stack_name: for the header's ``cdk deploy --parameters`` example.
    :param alarms: shown in the alarm status widget; default none.
    :param srm_p_value: the SRM check's p-value metric; default none (no SRM graph).
    :param live_quality: whether the live-quality runs exist (data capture on); default False (no live row).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: EndpointSpec,
        endpoint_name: str,
        stack_name: str,
        alarms: Sequence[cw.IAlarm] = (),
        srm_p_value: cw.IMetric | None = None,
        live_quality: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self._endpoint = endpoint_name
        # Production variants only: a shadow has no weight and no traffic share; it has its own row (_shadow).
        self._variants = [v.name for v in spec.production_variants]
        # Beside a shadow there is one production variant: it always has 100 % of the traffic, so the
        # observed-vs-declared share says nothing and is left out.
        self._split = spec.shadow_variant is None
        self._monitoring = spec.monitoring
        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self.dashboard.add_widgets(self._header(spec, stack_name))
        for row in self._shadow(spec, agreement=live_quality):
            self.dashboard.add_widgets(*row)
        self.dashboard.add_widgets(*self._traffic())
        self.dashboard.add_widgets(*self._latency())
        self.dashboard.add_widgets(*self._errors())
        for row in self._resources(spec):
            self.dashboard.add_widgets(*row)
        for row in self._quality():
            self.dashboard.add_widgets(*row)
        if live_quality:
            for row in self._live_quality(QUALITY_PERIOD):
                self.dashboard.add_widgets(*row)
        self.dashboard.add_widgets(*self._checks(alarms, srm_p_value))

    @property
    def url(self) -> str:
        return (
            f"https://console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
            f"#dashboards:name={self.dashboard.dashboard_name}"
        )

    # --- helpers -----------------------------------------------------------------------------

    def _metric(
        self,
        namespace: str,
        name: str,
        variant: str,
        statistic: str = "Sum",
        *,
        period: Duration = PERIOD,
        label: str | None = None,
    ) -> cw.Metric:
        return metric(
            namespace,
            name,
            endpoint_name=self._endpoint,
            variant_name=variant,
            statistic=statistic,
            period=period,
            label=label,
        )

    def _per_variant(
        self, title: str, namespace: str, name: str, statistic: str, unit_label: str, width: int
    ) -> cw.GraphWidget:
        return cw.GraphWidget(
            title=title,
            left=[self._metric(namespace, name, v, statistic, label=v) for v in self._variants],
            left_y_axis=cw.YAxisProps(label=unit_label, show_units=False, min=0),
            width=width,
            height=GRAPH_HEIGHT,
        )

    # --- rows ----------------------------------------------------------------------------------

    def _header(self, spec: EndpointSpec, stack_name: str) -> cw.TextWidget:
        shadow = spec.shadow_variant
        if shadow is not None and shadow.shadow is not None:
            (production,) = spec.production_variants
            markdown = (
                f"# Shadow stage {spec.name}\n"
                f"Production: **{production.name}** ({production.instance_type} × "
                f"{production.initial_instance_count}), all traffic. Shadow: **{shadow.name}** "
                f"({shadow.instance_type} × {shadow.initial_instance_count}) "
                f"receives a copy of {shadow.shadow.sampling_percentage} % of production requests (the formula is "
                'UNVERIFIED, README "Shadow stage"); its answers are discarded. The shadow row just below compares it '
                "with production; the rows after it show production only. Its alarms roll up into ShadowProblem, "
                "which pages nobody. No weight parameters: the sampling lives in the endpoint config, so changing it "
                "rebuilds the fleet."
            )
            return cw.TextWidget(markdown=markdown, width=24, height=3)
        rows = "\n".join(
            f"| {v.name} | {v.instance_type} × {v.initial_instance_count} | {v.weight:g} | "
            f"`{v.weight_parameter_name}` |"
            for v in spec.variants
        )
        first = spec.variants[0].weight_parameter_name
        assignments = " ".join(f"{v.name}=<weight>" for v in spec.variants)
        markdown = (
            f"# A/B endpoint {spec.name}\n"
            "| variant | instances (initial) | initial weight | weight parameter |\n"
            "|---|---|---|---|\n"
            f"{rows}\n\n"
            '**Change weights** (applied in place, no fleet rebuild; README "The operator command"): '
            f"`python -m scripts.abtest weights set {spec.name} {assignments}` sets the stack's parameters; "
            "add `--via lambda` to apply them now through the set-weights Lambda. Pipelines: "
            f"`cdk deploy {stack_name} --parameters {stack_name}:{first}=<weight> ...`. "
            "A parameter change or an endpoint-config change re-applies the parameters."
        )
        return cw.TextWidget(markdown=markdown, width=24, height=3 + len(spec.variants))

    def _shadow(self, spec: EndpointSpec, *, agreement: bool = False) -> list[list[cw.IWidget]]:
        """The shadow beside production, with a shadow only: p50/p99 ModelLatency, 5XX and model errors, the
        5XX rate its alarms watch, invocations, and the observed sampling against the declared one; with
        ``agreement`` (the live-quality runs exist: data capture on), the agreement from captured pairs.

        The shadow's metrics are read with VariantName = the shadow's name (UNVERIFIED, metric_catalog). The
        observed sampling is 100 × shadow Invocations / production Invocations; the declared percentage is drawn
        as a line. Whether they should meet depends on what a shadow's weight means (hypothesis H1, UNVERIFIED:
        README "Shadow stage", Q1), so the graph says so: a gap is a question about H1 before it is a fault."""
        shadow = spec.shadow_variant
        if shadow is None or shadow.shadow is None:
            return []
        (production,) = spec.production_variants
        both = ((production.name, "production"), (shadow.name, "shadow"))
        versus = f"production {production.name} vs shadow {shadow.name}"
        latency = [
            cw.MathExpression(
                expression=f"{side}{statistic} / 1000",
                using_metrics={
                    f"{side}{statistic}": self._metric(SAGEMAKER_NAMESPACE, "ModelLatency", variant, statistic)
                },
                label=f"{variant} ({side}) {statistic}",
                period=PERIOD,
            )
            for variant, side in both
            for statistic in SHADOW_LATENCY_STATISTICS
        ]
        rates = [
            cw.MathExpression(
                expression=f"IF({side}inv > 0, 100 * {side}err / {side}inv, 0)",
                using_metrics={
                    f"{side}inv": self._metric(SAGEMAKER_NAMESPACE, "Invocations", variant),
                    f"{side}err": self._metric(SAGEMAKER_NAMESPACE, "Invocation5XXErrors", variant),
                },
                label=f"{variant} ({side})",
                period=PERIOD,
            )
            for variant, side in both
        ]
        declared = shadow.shadow.sampling_percentage
        sampling = cw.MathExpression(
            expression="100 * FILL(shadowinv, 0) / productioninv",
            using_metrics={
                "shadowinv": self._metric(SAGEMAKER_NAMESPACE, "Invocations", shadow.name),
                "productioninv": self._metric(SAGEMAKER_NAMESPACE, "Invocations", production.name),
            },
            label=f"observed: 100 × {shadow.name} / {production.name} Invocations",
            period=PERIOD,
        )
        return [
            [
                cw.GraphWidget(
                    title=f"Shadow: ModelLatency p50, p99, {versus}",
                    left=latency,
                    left_y_axis=cw.YAxisProps(label="milliseconds", show_units=False, min=0),
                    left_annotations=[threshold_line(self._monitoring.p99_latency_ms, "p99 alarm threshold")],
                    width=8,
                    height=GRAPH_HEIGHT,
                ),
                cw.GraphWidget(
                    title=f"Shadow: 5XX and model errors, {versus}",
                    left=[
                        self._metric(SAGEMAKER_NAMESPACE, name, variant, label=f"{variant} ({side}) {what}")
                        for variant, side in both
                        for name, what in (("Invocation5XXErrors", "5XX"), ("InvocationModelErrors", "model errors"))
                    ],
                    left_y_axis=cw.YAxisProps(label="requests / min", show_units=False, min=0),
                    width=8,
                    height=GRAPH_HEIGHT,
                ),
                cw.GraphWidget(
                    title=f"Shadow: 5XX error rate, {versus}",
                    left=rates,
                    left_y_axis=cw.YAxisProps(label="% of invocations", show_units=False, min=0),
                    left_annotations=[threshold_line(self._monitoring.error_rate_percent, "alarm threshold")],
                    width=8,
                    height=GRAPH_HEIGHT,
                ),
            ],
            [
                cw.GraphWidget(
                    title=f"Shadow: Invocations, {versus}",
                    left=[
                        self._metric(SAGEMAKER_NAMESPACE, "Invocations", variant, label=f"{variant} ({side})")
                        for variant, side in both
                    ],
                    left_y_axis=cw.YAxisProps(label="requests / min", show_units=False, min=0),
                    width=12,
                    height=GRAPH_HEIGHT,
                ),
                cw.GraphWidget(
                    title=f"Shadow: observed sampling of shadow {shadow.name} vs declared {declared} % "
                    "(if H1 holds; UNVERIFIED)",
                    left=[sampling],
                    left_y_axis=cw.YAxisProps(label="% of production requests", show_units=False, min=0),
                    left_annotations=[
                        cw.HorizontalAnnotation(
                            value=declared,
                            label=f"declared {declared} %: expected under H1 only (UNVERIFIED, Q1); "
                            "a gap is no fault yet",
                            color=DECLARED_COLOR,
                        )
                    ],
                    width=12,
                    height=GRAPH_HEIGHT,
                ),
            ],
            *([[self._agreement(production.name, shadow.name)]] if agreement else []),
        ]

    def _agreement(self, production: str, shadow: str) -> cw.IWidget:
        """ShadowAgreement (percent of pairs on the same side of the threshold) and ShadowPairs, one point per
        live-quality run. A run without pairs draws no agreement point, not 0 % (Q4: no pairs means the ids did
        not match, not that the models disagree); its ShadowPairs point at 0 says so."""
        return cw.GraphWidget(
            title=f"Shadow: agreement of shadow {shadow} with production {production} on captured pairs "
            "(one point per live-quality run; none without pairs)",
            left=[
                self._metric(
                    PROJECT_NAMESPACE,
                    "ShadowAgreement",
                    shadow,
                    "Maximum",
                    period=QUALITY_PERIOD,
                    label=f"{shadow} agreement with {production}",
                )
            ],
            left_y_axis=cw.YAxisProps(label="% of pairs", show_units=False, min=0, max=100),
            right=[
                self._metric(PROJECT_NAMESPACE, "ShadowPairs", shadow, "Maximum", period=QUALITY_PERIOD, label="pairs")
            ],
            right_y_axis=cw.YAxisProps(label="pairs", show_units=False, min=0),
            width=24,
            height=GRAPH_HEIGHT,
        )

    def _traffic(self) -> list[cw.IWidget]:
        invocations = {
            f"inv{i}": self._metric(SAGEMAKER_NAMESPACE, "Invocations", v) for i, v in enumerate(self._variants)
        }
        declared = {
            f"w{i}": self._metric(PROJECT_NAMESPACE, "DeclaredWeight", v, "Maximum")
            for i, v in enumerate(self._variants)
        }
        total_invocations = " + ".join(f"FILL(inv{i}, 0)" for i in range(len(self._variants)))
        total_weight = " + ".join(f"FILL(w{i}, REPEAT)" for i in range(len(self._variants)))
        observed = [
            cw.MathExpression(
                expression=f"100 * FILL(inv{i}, 0) / ({total_invocations})",
                using_metrics=invocations,
                label=f"{v} observed",
                period=PERIOD,
            )
            for i, v in enumerate(self._variants)
        ]
        expected = [
            cw.MathExpression(
                expression=f"100 * FILL(w{i}, REPEAT) / ({total_weight})",
                using_metrics=declared,
                label=f"{v} declared",
                period=PERIOD,
            )
            for i, v in enumerate(self._variants)
        ]
        share = cw.GraphWidget(
            title="Traffic share: observed (Invocations) vs declared (weights)",
            left=observed,
            right=expected,
            left_y_axis=cw.YAxisProps(label="observed %", show_units=False, min=0, max=100),
            right_y_axis=cw.YAxisProps(label="declared %", show_units=False, min=0, max=100),
            width=8,
            height=GRAPH_HEIGHT,
        )
        width = 8 if self._split else 12  # the row fills the 24-column grid with or without the share
        return [
            self._per_variant(
                "Invocations per variant", SAGEMAKER_NAMESPACE, "Invocations", "Sum", "requests / min", width
            ),
            *([share] if self._split else []),
            self._per_variant(
                "InvocationsPerInstance",
                SAGEMAKER_NAMESPACE,
                "InvocationsPerInstance",
                "Sum",
                "requests / instance / min",
                width,
            ),
        ]

    def _latency_widget(self, name: str) -> cw.GraphWidget:
        """p50/p90/p99 of ``name`` in ms; ModelLatency also shows the p99 alarm's threshold."""
        series = []
        # Metric ids must be unique within a graph: one per variant and statistic.
        for index, variant in enumerate(self._variants):
            for statistic in LATENCY_STATISTICS:
                raw_id = f"us{index}{statistic}"
                raw = self._metric(SAGEMAKER_NAMESPACE, name, variant, statistic)
                series.append(
                    cw.MathExpression(
                        expression=f"{raw_id} / 1000",
                        using_metrics={raw_id: raw},
                        label=f"{variant} {statistic}",
                        period=PERIOD,
                    )
                )
        return cw.GraphWidget(
            title=f"{name} per variant (p50, p90, p99)",
            left=series,
            left_y_axis=cw.YAxisProps(label="milliseconds", show_units=False, min=0),
            left_annotations=(
                [threshold_line(self._monitoring.p99_latency_ms, "p99 alarm threshold")]
                if name == "ModelLatency"
                else None
            ),
            width=12,
            height=GRAPH_HEIGHT,
        )

    def _latency(self) -> list[cw.IWidget]:
        return [self._latency_widget("ModelLatency"), self._latency_widget("OverheadLatency")]

    def _errors(self) -> list[cw.IWidget]:
        rates = [
            cw.MathExpression(
                expression=f"IF(inv{i} > 0, 100 * err{i} / inv{i}, 0)",
                using_metrics={
                    f"inv{i}": self._metric(SAGEMAKER_NAMESPACE, "Invocations", v),
                    f"err{i}": self._metric(SAGEMAKER_NAMESPACE, "Invocation5XXErrors", v),
                },
                label=v,
                period=PERIOD,
            )
            for i, v in enumerate(self._variants)
        ]
        return [
            self._per_variant("4XX errors", SAGEMAKER_NAMESPACE, "Invocation4XXErrors", "Sum", "requests / min", 6),
            self._per_variant("5XX errors", SAGEMAKER_NAMESPACE, "Invocation5XXErrors", "Sum", "requests / min", 6),
            self._per_variant("Model errors", SAGEMAKER_NAMESPACE, "InvocationModelErrors", "Sum", "requests / min", 6),
            cw.GraphWidget(
                title="5XX error rate",
                left=rates,
                left_y_axis=cw.YAxisProps(label="% of invocations", show_units=False, min=0),
                left_annotations=[threshold_line(self._monitoring.error_rate_percent, "alarm threshold")],
                width=6,
                height=GRAPH_HEIGHT,
            ),
        ]

    def _resources(self, spec: EndpointSpec) -> list[list[cw.IWidget]]:
        rows: list[list[cw.IWidget]] = [
            [
                self._per_variant(f"{name} (instance average)", INSTANCE_NAMESPACE, name, "Average", "%", 8)
                for name in ("CPUUtilization", "MemoryUtilization", "DiskUtilization")
            ]
        ]
        if any(is_gpu_instance(v.instance_type) for v in spec.variants):
            rows.append(
                [
                    self._per_variant(f"{name} (instance average)", INSTANCE_NAMESPACE, name, "Average", "%", 12)
                    for name in ("GPUUtilization", "GPUMemoryUtilization")
                ]
            )
        return rows

    def _quality(self) -> list[list[cw.IWidget]]:
        widgets: list[cw.IWidget] = [
            cw.GraphWidget(
                title=f"{QUALITY_LABELS[name]} per variant (evaluation runs)",
                left=[
                    self._metric(PROJECT_NAMESPACE, name, v, "Maximum", period=QUALITY_PERIOD, label=v)
                    for v in self._variants
                ],
                left_y_axis=cw.YAxisProps(label=QUALITY_LABELS[name], show_units=False, min=0, max=1),
                width=8 if index < 3 else 12,
                height=GRAPH_HEIGHT,
            )
            for index, name in enumerate(QUALITY_METRICS)
        ]
        return [widgets[:3], widgets[3:]]

    def _live_quality(self, period: Duration) -> list[list[cw.IWidget]]:
        """Live traffic's quality per variant, one point per run at the hour it ran (as the evaluation's
        row above it): accuracy, F1, ROC AUC; then how many captures have labels and how late they came."""
        graphs: list[cw.IWidget] = [
            cw.GraphWidget(
                title=f"Live {LIVE_LABELS[name]} per variant (captured requests with labels)",
                left=[
                    self._metric(PROJECT_NAMESPACE, name, v, "Maximum", period=period, label=v) for v in self._variants
                ],
                left_y_axis=cw.YAxisProps(label=LIVE_LABELS[name], show_units=False, min=0, max=1),
                width=8,
                height=GRAPH_HEIGHT,
            )
            for name in LIVE_QUALITY_METRICS
        ]
        coverage = cw.GraphWidget(
            title="Live label coverage per variant (labelled / captured)",
            left=[
                self._metric(PROJECT_NAMESPACE, "LiveLabelCoverage", v, "Maximum", period=period, label=v)
                for v in self._variants
            ],
            left_y_axis=cw.YAxisProps(label="labelled / captured", show_units=False, min=0, max=1),
            width=12,
            height=GRAPH_HEIGHT,
        )
        delay = cw.GraphWidget(
            title="Live label delay per variant: p50 and p90",
            left=[
                self._metric(PROJECT_NAMESPACE, name, v, "Maximum", period=period, label=f"{v} {quantile}")
                for v in self._variants
                for name, quantile in (("LiveLabelDelayP50Hours", "p50"), ("LiveLabelDelayP90Hours", "p90"))
            ],
            left_y_axis=cw.YAxisProps(label="hours", show_units=False, min=0),
            width=12,
            height=GRAPH_HEIGHT,
        )
        return [graphs, [coverage, delay]]

    def _checks(self, alarms: Sequence[cw.IAlarm], srm_p_value: cw.IMetric | None) -> list[cw.IWidget]:
        status = cw.AlarmStatusWidget(
            title="Alarms", alarms=list(alarms), width=12 if srm_p_value else 24, height=GRAPH_HEIGHT
        )
        if srm_p_value is None:
            return [status]
        srm = cw.GraphWidget(
            title="Sample-ratio check: exact-test p-value (low = split differs from weights)",
            left=[srm_p_value],
            left_y_axis=cw.YAxisProps(label="p-value", show_units=False, min=0, max=1),
            left_annotations=[threshold_line(self._monitoring.srm_p_value, "alarm threshold")],
            width=12,
            height=GRAPH_HEIGHT,
        )
        return [srm, status]
