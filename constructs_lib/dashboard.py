"""A first per-endpoint dashboard: Invocations and ModelLatency per variant, side by side."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
PERIOD = Duration.minutes(1)


def variant_metric(endpoint_name: str, variant_name: str, metric_name: str, statistic: str) -> cw.Metric:
    """A per-variant metric of ``AWS/SageMaker`` (dimensions EndpointName, VariantName)."""
    return cw.Metric(
        namespace=SAGEMAKER_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"EndpointName": endpoint_name, "VariantName": variant_name},
        statistic=statistic,
        period=PERIOD,
        label=variant_name,
    )


class EndpointDashboard(Construct):
    """Per-variant Invocations (sum) and ModelLatency (p50, p99) for one endpoint.

    :param endpoint_name: the endpoint's name (a token is fine).
    :param variant_names: one line per variant on each graph.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, endpoint_name: str, variant_names: Sequence[str]
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        invocations = cw.GraphWidget(
            title="Invocations per variant",
            left=[variant_metric(endpoint_name, v, "Invocations", "Sum") for v in variant_names],
            left_y_axis=cw.YAxisProps(label="requests / min", show_units=False, min=0),
            width=12,
        )
        latency = cw.GraphWidget(
            title="ModelLatency per variant (p50, p99)",
            left=[
                variant_metric(endpoint_name, v, "ModelLatency", "p50").with_(label=f"{v} p50") for v in variant_names
            ]
            + [variant_metric(endpoint_name, v, "ModelLatency", "p99").with_(label=f"{v} p99") for v in variant_names],
            left_y_axis=cw.YAxisProps(label="microseconds", show_units=False, min=0),
            width=12,
        )
        self.dashboard.add_widgets(invocations, latency)

    @property
    def url(self) -> str:
        return (
            f"https://console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
            f"#dashboards:name={self.dashboard.dashboard_name}"
        )
