"""The endpoint dashboard: every widget group, the metric table, and the 24-column grid."""

from __future__ import annotations

import json
from typing import Any

import pytest

from constructs_lib.dashboard import is_gpu_instance
from constructs_lib.metric_catalog import CATALOG, INSTANCE_NAMESPACE, PROJECT_NAMESPACE, SAGEMAKER_NAMESPACE
from tests.conftest import SHADOW_CONFIG, read_config
from tests.stacks.test_ab_test_stack import joined_text
from tests.synth import only_template


def dashboard_body(config: dict[str, Any]) -> dict[str, Any]:
    resources = only_template(config).to_json()["Resources"]
    (dashboard,) = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    # Tokens (endpoint name, region) sit inside JSON strings; dropping them keeps the JSON valid.
    return json.loads(joined_text(dashboard["Properties"]["DashboardBody"]))


@pytest.fixture(scope="module")
def widgets() -> list[dict[str, Any]]:
    return dashboard_body(read_config())["widgets"]


@pytest.fixture(scope="module")
def gpu_widgets() -> list[dict[str, Any]]:
    data = read_config()
    data["endpoints"][0]["variants"][1]["instance_type"] = "ml.g5.xlarge"
    return dashboard_body(data)["widgets"]


def titled(widgets: list[dict[str, Any]], title: str) -> dict[str, Any]:
    matches = [w for w in widgets if w.get("properties", {}).get("title", "").startswith(title)]
    assert len(matches) == 1, (title, [w.get("properties", {}).get("title") for w in widgets])
    return matches[0]


def metric_rows(widget: dict[str, Any]) -> list[list[Any]]:
    return widget["properties"].get("metrics", [])


def plain_metrics(widget: dict[str, Any]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """(namespace, name, dimensions, options) of every non-expression row."""
    result = []
    for row in metric_rows(widget):
        options = row[-1] if isinstance(row[-1], dict) else {}
        values = row[:-1] if isinstance(row[-1], dict) else row
        if not values:
            continue  # an expression row
        namespace, name, *dims = values
        result.append((namespace, name, dict(zip(dims[::2], dims[1::2], strict=True)), options))
    return result


def expressions(widget: dict[str, Any]) -> list[dict[str, Any]]:
    return [row[0] for row in metric_rows(widget) if len(row) == 1 and "expression" in row[0]]


# --- layout ----------------------------------------------------------------------------------------


def test_widgets_fit_the_24_column_grid_without_overlap(widgets, gpu_widgets):
    for layout in (widgets, gpu_widgets):
        cells: set[tuple[int, int]] = set()
        for widget in layout:
            x, y, width, height = widget["x"], widget["y"], widget["width"], widget["height"]
            assert x >= 0 and x + width <= 24, widget
            area = {(col, row) for col in range(x, x + width) for row in range(y, y + height)}
            assert not cells & area, f"overlap at {widget.get('properties', {}).get('title')}"
            cells |= area


def test_groups_run_top_to_bottom_in_the_documented_order(widgets):
    order = [
        "Invocations per variant",
        "ModelLatency per variant",
        "4XX errors",
        "CPUUtilization",
        "Accuracy per variant",
        "Live accuracy per variant",
        "Live label coverage per variant",
        "Sample-ratio check",
    ]
    rows = [titled(widgets, title)["y"] for title in order]
    assert rows == sorted(rows) and len(set(rows)) == len(rows)
    header = widgets[0]
    assert header["type"] == "text" and header["y"] == 0 and header["width"] == 24


# --- every widget group ----------------------------------------------------------------------------


def test_header_names_variants_and_both_ways_to_change_weights(widgets):
    markdown = widgets[0]["properties"]["markdown"]
    for text in (
        "A/B endpoint churn-ab",
        "Variant1",
        "ml.m5.xlarge × 1",
        "WeightVariant1",
        "--parameters",
        "python -m scripts.abtest weights set churn-ab Variant1=<weight> Variant2=<weight>",
        "--via lambda",
    ):
        assert text in markdown, text


def test_traffic_shows_invocations_and_invocations_per_instance_per_variant(widgets):
    for title, name in (
        ("Invocations per variant", "Invocations"),
        ("InvocationsPerInstance", "InvocationsPerInstance"),
    ):
        rows = plain_metrics(titled(widgets, title))
        assert {(ns, n, d["VariantName"]) for ns, n, d, _ in rows} == {
            (SAGEMAKER_NAMESPACE, name, "Variant1"),
            (SAGEMAKER_NAMESPACE, name, "Variant2"),
        }


def test_observed_share_is_drawn_beside_the_declared_share(widgets):
    widget = titled(widgets, "Traffic share")
    exprs = expressions(widget)
    observed = [e for e in exprs if e["label"].endswith("observed")]
    declared = [e for e in exprs if e["label"].endswith("declared")]
    assert len(observed) == len(declared) == 2
    assert all("FILL(inv0, 0) + FILL(inv1, 0)" in e["expression"] for e in observed)
    assert all("FILL(w0, REPEAT) + FILL(w1, REPEAT)" in e["expression"] for e in declared)
    assert all(e.get("yAxis") == "right" for e in declared)
    hidden = plain_metrics(widget)
    assert {(ns, n) for ns, n, _, _ in hidden} == {
        (SAGEMAKER_NAMESPACE, "Invocations"),
        (PROJECT_NAMESPACE, "DeclaredWeight"),
    }


@pytest.mark.parametrize("name", ["ModelLatency", "OverheadLatency"])
def test_latency_in_milliseconds_at_p50_p90_p99_per_variant(widgets, name):
    widget = titled(widgets, f"{name} per variant")
    assert widget["properties"]["yAxis"]["left"]["label"] == "milliseconds"
    assert sorted(e["label"] for e in expressions(widget)) == sorted(
        f"{v} {s}" for v in ("Variant1", "Variant2") for s in ("p50", "p90", "p99")
    )
    assert all(e["expression"].endswith("/ 1000") for e in expressions(widget))
    assert {o["stat"] for *_, o in plain_metrics(widget)} == {"p50", "p90", "p99"}


def test_errors_show_4xx_5xx_model_errors_and_a_safe_5xx_rate(widgets):
    for title, name in (
        ("4XX errors", "Invocation4XXErrors"),
        ("5XX errors", "Invocation5XXErrors"),
        ("Model errors", "InvocationModelErrors"),
    ):
        assert {n for _, n, _, _ in plain_metrics(titled(widgets, title))} == {name}
    rate = expressions(titled(widgets, "5XX error rate"))
    assert [e["expression"] for e in rate] == [
        "IF(inv0 > 0, 100 * err0 / inv0, 0)",
        "IF(inv1 > 0, 100 * err1 / inv1, 0)",
    ]


def test_resources_use_the_instance_namespace_and_gpu_only_with_gpus(widgets, gpu_widgets):
    for name in ("CPUUtilization", "MemoryUtilization", "DiskUtilization"):
        assert {ns for ns, *_ in plain_metrics(titled(widgets, name))} == {INSTANCE_NAMESPACE}
    assert not [w for w in widgets if "GPU" in w.get("properties", {}).get("title", "")]
    for name in ("GPUUtilization", "GPUMemoryUtilization"):
        assert {ns for ns, *_ in plain_metrics(titled(gpu_widgets, name))} == {INSTANCE_NAMESPACE}


def test_gpu_families_are_recognised():
    assert is_gpu_instance("ml.g5.xlarge") and is_gpu_instance("ml.p4d.24xlarge")
    assert not is_gpu_instance("ml.m5.xlarge") and not is_gpu_instance("ml.c5.large")


@pytest.mark.parametrize("name", ["Accuracy", "Precision", "Recall", "F1", "RocAuc"])
def test_model_quality_widgets_read_the_evaluation_namespace(widgets, name):
    title = "ROC AUC" if name == "RocAuc" else name
    rows = plain_metrics(titled(widgets, f"{title} per variant"))
    assert {(ns, n, d["VariantName"]) for ns, n, d, _ in rows} == {
        (PROJECT_NAMESPACE, name, "Variant1"),
        (PROJECT_NAMESPACE, name, "Variant2"),
    }


def test_alarm_status_widget_lists_composite_variant_srm_and_rollout_settle_alarms(widgets):
    (status,) = [w for w in widgets if w["type"] == "alarm"]
    # composite, variants, SRM, settle, live runs, live schedule
    assert len(status["properties"]["alarms"]) == 1 + 2 * 2 + 1 + 1 + 1 + 1


@pytest.mark.parametrize(
    ("title", "names"),
    [
        ("Live accuracy per variant", {"LiveAccuracy"}),
        ("Live F1 per variant", {"LiveF1"}),
        ("Live ROC AUC per variant", {"LiveRocAuc"}),
        ("Live label coverage per variant", {"LiveLabelCoverage"}),
        ("Live label delay per variant", {"LiveLabelDelayP50Hours", "LiveLabelDelayP90Hours"}),
    ],
)
def test_the_live_row_graphs_each_variant_s_live_metrics(widgets, title, names):
    rows = plain_metrics(titled(widgets, title))
    assert {(ns, n, d["VariantName"]) for ns, n, d, _ in rows} == {
        (PROJECT_NAMESPACE, name, variant) for name in names for variant in ("Variant1", "Variant2")
    }


def test_the_live_row_sits_below_the_evaluation_s_and_each_row_fills_the_grid(widgets):
    live = [w for w in widgets if w.get("properties", {}).get("title", "").startswith("Live ")]
    assert len(live) == 5
    for y in {w["y"] for w in live}:
        assert sum(w["width"] for w in widgets if w["y"] == y) == 24
    assert min(w["y"] for w in live) > titled(widgets, "Accuracy per variant")["y"]


def test_srm_p_value_is_graphed(widgets):
    ((namespace, name, dims, _),) = plain_metrics(titled(widgets, "Sample-ratio check"))
    assert (namespace, name, set(dims)) == (PROJECT_NAMESPACE, "SrmPValue", {"EndpointName"})


# --- the metric table --------------------------------------------------------------------------------


def test_every_dashboard_metric_is_in_the_catalog_with_its_exact_dimensions(widgets, gpu_widgets):
    seen = 0
    for widget in widgets + gpu_widgets:
        for namespace, name, dims, _ in plain_metrics(widget):
            spec = CATALOG.get((namespace, name))
            assert spec is not None, f"{namespace} {name} is not a documented metric"
            assert tuple(sorted(dims)) == tuple(sorted(spec.dimensions)), (name, dims)
            seen += 1
    assert seen > 50


def test_alarm_thresholds_are_drawn_on_the_graphs_their_alarms_watch(widgets):
    monitoring = read_config()["endpoints"][0].get("monitoring", {})
    expected = {
        "ModelLatency per variant": monitoring.get("p99_latency_ms", 1000),
        "5XX error rate": monitoring.get("error_rate_percent", 5),
        "Sample-ratio check": monitoring.get("srm_p_value", 0.001),
    }
    for title, value in expected.items():
        (line,) = titled(widgets, title)["properties"]["annotations"]["horizontal"]
        assert line["value"] == value and "threshold" in line["label"], title
    assert "annotations" not in titled(widgets, "OverheadLatency")["properties"]


def test_a_shadow_endpoint_has_no_traffic_share_widget_and_its_row_fills_the_grid():
    # One production variant always has 100 % of the traffic: observed vs declared says nothing.
    layout = dashboard_body(read_config(SHADOW_CONFIG))["widgets"]
    titles = [w.get("properties", {}).get("title", "") for w in layout]
    assert not [t for t in titles if t.startswith("Traffic share")]
    invocations = titled(layout, "Invocations per variant")
    row = [w for w in layout if w["y"] == invocations["y"]]
    assert sum(w["width"] for w in row) == 24
