"""scripts/dashboard_render.py: the dashboard picture is drawn from the synthesized template.

Figures are built but only the docs check and one command test write PNGs (at a low DPI), so the
module stays quick. The default app's template is the committed snapshot, which
tests/stacks/test_snapshot.py keeps equal to a fresh synth.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_cloudwatch as cw
from matplotlib.figure import Figure
from PIL import Image

from constructs_lib.config.loader import parse_config
from constructs_lib.dashboard import EndpointDashboard
from constructs_lib.metric_catalog import SAGEMAKER_NAMESPACE, metric
from scripts import dashboard_preview as dp
from scripts.dashboard_alarms import ALARM, alarm_timelines
from scripts.dashboard_render import (
    grid_position,
    markdown_lines,
    png_bytes,
    render_dashboard,
    source_digest,
    widget_frames,
)
from scripts.dashboard_simulation import RunSettings, simulate
from tests.conftest import read_config

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "tests" / "stacks" / "__snapshots__" / "default_app.json"
STACK = "AbTest-churn-ab"


@pytest.fixture(scope="module")
def default_template() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text())[STACK]


@pytest.fixture(scope="module")
def default_dashboard(default_template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    [(logical_id, body)] = dp.load_dashboards(default_template, stack_name=STACK)
    return logical_id, body


@pytest.fixture(scope="module")
def default_figure(default_template: dict[str, Any], default_dashboard: tuple[str, dict[str, Any]]) -> Figure:
    logical_id, body = default_dashboard
    return render_dashboard(f"{STACK}/{logical_id}", body, default_template, stack_name=STACK)


def figure_texts(figure: Figure) -> list[str]:
    texts = [t.get_text() for t in figure.texts]
    for axes in figure.axes:
        texts += [t.get_text() for t in axes.texts]
        texts += [t.get_text() for t in axes.get_yticklabels()]
        legend = axes.get_legend()
        if legend is not None:
            texts += [t.get_text() for t in legend.get_texts()]
    return texts


def chart(figure: Figure, index: int):
    (axes,) = [a for a in figure.axes if a.get_label() == f"chart {index}"]
    return axes


def test_every_widget_is_drawn_at_its_grid_rectangle(default_figure, default_dashboard) -> None:
    _, body = default_dashboard
    widgets = body["widgets"]
    frames = widget_frames(default_figure)
    assert len(frames) == len(widgets)
    for frame, widget in zip(frames, widgets, strict=True):
        assert grid_position(default_figure, frame) == (widget["x"], widget["y"], widget["width"], widget["height"])
        assert frame.get_label().endswith(widget["type"])
    texts = figure_texts(default_figure)
    for widget in widgets:
        title = widget["properties"].get("title")
        if title:
            assert any(title.startswith(t.rstrip("…")) and t for t in texts), title


def test_metric_widgets_plot_their_visible_series_with_labels(default_figure, default_dashboard) -> None:
    _, body = default_dashboard
    for index, widget in enumerate(body["widgets"]):
        if widget["type"] != "metric":
            continue
        rows = dp.expand_metric_rows(widget["properties"]["metrics"])
        visible = [options for _, options in rows if options.get("visible") is not False]
        axes = chart(default_figure, index)
        lines = [line for a in (axes, *axes.get_shared_x_axes().get_siblings(axes)) for line in a.get_lines()]
        labels = {line.get_label() for line in lines}
        for options in visible:
            assert options.get("label", "") in labels or "label" not in options, (
                widget["properties"]["title"],
                options,
            )
        drawn = [line for line in lines if line.get_gid() != "annotation" and np.isfinite(line.get_ydata()).any()]
        assert drawn, f"{widget['properties']['title']}: nothing drawn"


def test_observed_share_is_the_dashboard_expression_over_simulated_invocations(
    default_figure, default_dashboard
) -> None:
    """The share line is metric math evaluated on the Invocations series, following the weights."""
    _, body = default_dashboard
    index = next(
        i for i, w in enumerate(body["widgets"]) if w["properties"].get("title", "").startswith("Traffic share")
    )
    axes = chart(default_figure, index)
    line = next(line for line in axes.get_lines() if line.get_label() == "Variant2 observed")
    run = simulate(["Variant1", "Variant2"], settings=RunSettings(seed=7))
    inv = [run.statistic("AWS/SageMaker", "Invocations", v, "Sum", 60) for v in ("Variant1", "Variant2")]
    np.testing.assert_allclose(line.get_ydata(), 100 * inv[1] / (inv[0] + inv[1]))
    declared = next(line for a in axes.figure.axes for line in a.get_lines() if line.get_label() == "Variant2 declared")
    assert set(np.round(declared.get_ydata()[~np.isnan(declared.get_ydata())], 6)) == {50.0, 75.0, 100.0}


def test_alarm_thresholds_from_the_template_are_horizontal_lines(default_figure, default_dashboard) -> None:
    _, body = default_dashboard
    expected = {
        "ModelLatency per variant": 1000,
        "5XX error rate": 5,
        "Sample-ratio check": 0.001,
    }
    for prefix, value in expected.items():
        index = next(i for i, w in enumerate(body["widgets"]) if w["properties"].get("title", "").startswith(prefix))
        annotations = body["widgets"][index]["properties"]["annotations"]["horizontal"]
        assert [a["value"] for a in annotations] == [value]
        lines = [line for line in chart(default_figure, index).get_lines() if line.get_gid() == "annotation"]
        assert [(line.get_ydata()[0], line.get_label()) for line in lines] == [(value, annotations[0]["label"])]


def test_alarm_widget_shows_the_template_alarms_with_one_alarm_episode(
    default_figure, default_template, default_dashboard
) -> None:
    run = simulate(["Variant1", "Variant2"], settings=RunSettings(seed=7))
    timelines = alarm_timelines(default_template, run, stack_name=STACK)
    assert timelines["AlarmsLatencyVariant2"].episodes == 1
    assert timelines["AlarmsAnyProblem"].episodes == 1
    assert timelines["AlarmsAnyProblem"].states == timelines["AlarmsLatencyVariant2"].states
    quiet = ("AlarmsLatencyVariant1", "AlarmsErrorRateVariant1", "SampleRatioCheckAlarm", "RolloutSettleFailuresAlarm")
    assert all(ALARM not in timelines[key].states for key in quiet)
    assert "no simulated data for AWS/SQS" in timelines["RolloutSettleFailuresAlarm"].note

    _, body = default_dashboard
    index = next(i for i, w in enumerate(body["widgets"]) if w["type"] == "alarm")
    names = [t.get_text() for t in chart(default_figure, index).get_yticklabels()]
    assert len(names) == len(body["widgets"][index]["properties"]["alarms"])
    assert "AbTest-churn-ab-Alarms-AnyProblem" in names


def construct_dashboard_templates(extra: cw.IWidget) -> tuple[dict[str, Any], dict[str, Any]]:
    """Templates holding the project's EndpointDashboard construct, without and with ``extra``.

    The body is CloudFormation's value as the stack resolves it (the same Fn::Join a synth writes);
    a full ``app.synth()`` would add ~10 s for nothing more.
    """
    app = App()
    spec = parse_config(read_config(), "default config").endpoints[0]
    templates = []
    for name, widgets in (("Before", []), ("After", [extra])):
        stack = Stack(app, name)
        construct = EndpointDashboard(stack, "Dashboard", spec=spec, endpoint_name="churn-ab", stack_name=name)
        construct.dashboard.add_widgets(*widgets)
        body = stack.resolve(construct.dashboard.node.default_child.dashboard_body)
        templates.append(
            {"Resources": {"Dashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": body}}}}
        )
    return templates[0], templates[1]


@pytest.mark.synth
def test_a_widget_added_through_the_construct_appears_in_the_picture() -> None:
    extra = cw.GraphWidget(
        title="Extra: Variant2 p99.9 ModelLatency",
        left=[
            metric(
                SAGEMAKER_NAMESPACE,
                "ModelLatency",
                endpoint_name="churn-ab",
                variant_name="Variant2",
                statistic="p99.9",
            )
        ],
        width=24,
        height=4,
    )
    figures = []
    for template in construct_dashboard_templates(extra):
        [(logical_id, body)] = dp.load_dashboards(template)
        figures.append((body, render_dashboard(logical_id, body, template)))
    (body_before, figure_before), (body_after, figure_after) = figures

    assert len(widget_frames(figure_after)) == len(widget_frames(figure_before)) + 1
    bottom = max(w["y"] + w["height"] for w in body_before["widgets"])
    assert grid_position(figure_after, widget_frames(figure_after)[-1]) == (0, bottom, 24, 4)
    assert "Extra: Variant2 p99.9 ModelLatency" in figure_texts(figure_after)
    assert "Extra: Variant2 p99.9 ModelLatency" not in figure_texts(figure_before)
    (line,) = chart(figure_after, len(body_after["widgets"]) - 1).get_lines()
    assert np.nanmax(line.get_ydata()) > 1000 * 1000  # microseconds: the incident's p99.9 passes 1 s


def test_unsupported_widgets_are_labelled_placeholders_and_unsimulated_data_is_named() -> None:
    body = {
        "widgets": [
            {"type": "log", "x": 0, "y": 0, "width": 12, "height": 4, "properties": {"query": "fields @message"}},
            {"type": "metric", "x": 12, "y": 0, "width": 12, "height": 4, "properties": {"view": "pie", "metrics": []}},
            {
                "type": "metric",
                "x": 0,
                "y": 4,
                "width": 24,
                "height": 6,
                "properties": {
                    "title": "Lambda and anomaly band",
                    "metrics": [
                        ["AWS/Lambda", "Errors", "FunctionName", "fn", {"id": "m1"}],
                        [
                            "AWS/SageMaker",
                            "Invocations",
                            "EndpointName",
                            "e",
                            "VariantName",
                            "A",
                            {"id": "m2", "stat": "Sum"},
                        ],
                        [{"expression": "ANOMALY_DETECTION_BAND(m2)", "id": "e1"}],
                    ],
                },
            },
            {
                "type": "text",
                "x": 0,
                "y": 10,
                "width": 24,
                "height": 2,
                "properties": {"markdown": "# Notes\n**bold** `code`"},
            },
        ]
    }
    template = {
        "Resources": {"D": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": json.dumps(body)}}}
    }
    figure = render_dashboard("S/D", body, template)
    texts = figure_texts(figure)
    assert "log widget: not drawn in the preview" in texts
    assert "metric widget (pie view): not drawn in the preview" in texts
    notes = next(t for t in texts if "AWS/Lambda" in t)
    assert (
        "no simulated data: AWS/Lambda Errors" in notes
        and "ANOMALY_DETECTION_BAND() with 1 argument(s) is not simulated" in notes
    )
    assert "Notes" in texts and "bold code" in texts
    assert len(widget_frames(figure)) == 4


def test_markdown_is_rendered_plainly() -> None:
    lines = markdown_lines("# Title\n| a | bb |\n|---|---:|\n| ccc | d |\n\nSome **bold** and `code` text", 12)
    assert lines == [
        ("heading", "Title"),
        ("table", "a    bb"),
        ("table", "ccc  d"),
        ("text", "Some bold"),
        ("text", "and code"),
        ("text", "text"),
    ]


def test_png_is_compact_and_records_its_source(default_figure, default_template, default_dashboard) -> None:
    _, body = default_dashboard
    digest = source_digest(body, default_template, 7)
    data = png_bytes(default_figure, dpi=30, description=f"dashboard-source-sha256={digest}")
    image = Image.open(io.BytesIO(data))
    assert image.mode == "P" and image.text["Description"] == f"dashboard-source-sha256={digest}"
    assert "Software" not in image.text


def test_the_preview_in_the_docs_is_current(default_template, default_dashboard) -> None:
    """The README shows docs/dashboard-preview/*.png; it must be drawn from today's dashboard.

    After a dashboard or alarm change: `make dashboard-preview` and commit the PNG it writes.
    """
    logical_id, body = default_dashboard
    committed = ROOT / "docs" / "dashboard-preview" / f"{STACK}-{logical_id}.png"
    assert committed.exists(), f"{committed} missing: run make dashboard-preview"
    assert committed.stat().st_size < 400 * 1024
    image = Image.open(committed)
    assert image.text.get("Description") == f"dashboard-source-sha256={source_digest(body, default_template, 7)}", (
        "preview out of date: run make dashboard-preview"
    )
    readme = (ROOT / "README.md").read_text()
    assert f"docs/dashboard-preview/{committed.name}" in readme
