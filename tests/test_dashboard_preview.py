"""scripts/dashboard_preview.py: body reconstruction, layout checks, escaping, and the real dashboard."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from app import build_app
from constructs_lib.config import load_config
from scripts import dashboard_preview as dp
from tests.conftest import DEFAULT_CONFIG

SVG = "{http://www.w3.org/2000/svg}"


def dashboard_template(body: Any, **extra: Any) -> dict[str, Any]:
    return {
        **extra,
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Dash1234ABCD": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": body}},
        },
    }


def widget(x: int, y: int, width: int, height: int, title: str = "", **properties: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": width,
        "height": height,
        "properties": {"title": title, **properties},
    }


def svg_texts(svg: str) -> tuple[list[str], list[str]]:
    """(visible <text> strings, <title> strings) of an SVG, which must parse as XML."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    texts = ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]
    titles = ["".join(el.itertext()) for el in root.iter(f"{SVG}title")]
    return texts, titles


# --- reconstruction ---------------------------------------------------------------------------


def test_fn_join_body_with_intrinsics_becomes_json_with_placeholders() -> None:
    body = {
        "Fn::Join": [
            "",
            [
                '{"widgets":[{"type":"metric","x":0,"y":0,"width":12,"height":6,"properties":{"region":"',
                {"Ref": "AWS::Region"},
                '","title":"Latency of ',
                {"Fn::GetAtt": ["AbEndpointAA85BA8E", "EndpointName"]},
                '","metrics":[["AWS/SageMaker","ModelLatency","EndpointName","',
                {"Fn::GetAtt": ["AbEndpointAA85BA8E", "EndpointName"]},
                '","VariantName","',
                {"Fn::FindInMap": ["Variants", "First", "Name"]},
                '",{"stat":"p99"}]],"annotations":{"alarms":["',
                {"Fn::GetAtt": ["LatencyAlarm0123ABCD", "Arn"]},
                '"],"horizontal":[{"label":"a 6\\" limit","value":',  # an odd escaped quote
                {"Ref": "LatencyLimit"},  # a number token lands outside any JSON string
                "}]}}}]}",
            ],
        ]
    }
    template = dashboard_template(body, Mappings={"Variants": {"First": {"Name": "Variant1"}}})

    [(logical_id, parsed)] = dp.load_dashboards(template, stack_name="Demo")

    assert logical_id == "Dash1234ABCD"
    properties = parsed["widgets"][0]["properties"]
    assert properties["region"] == "us-east-1"
    assert properties["title"] == "Latency of <EndpointName>"
    assert properties["metrics"] == [
        ["AWS/SageMaker", "ModelLatency", "EndpointName", "<EndpointName>", "VariantName", "Variant1", {"stat": "p99"}]
    ]
    assert properties["annotations"]["alarms"] == ["<LatencyAlarm.Arn>"]
    assert properties["annotations"]["horizontal"] == [{"label": 'a 6" limit', "value": "<LatencyLimit>"}]


def test_plain_string_and_fn_sub_bodies() -> None:
    plain = json.dumps({"widgets": [widget(0, 0, 6, 6, "plain")]})
    assert dp.load_dashboards(dashboard_template(plain))[0][1]["widgets"][0]["properties"]["title"] == "plain"

    sub = {
        "Fn::Sub": [
            '{"widgets":[{"type":"text","x":0,"y":0,"width":6,"height":2,'
            '"properties":{"markdown":"${AWS::StackName} in ${AWS::Region}: ${Fn.Arn} ${Name} ${!Literal}"}}]}',
            {"Name": {"Ref": "EndpointName"}},
        ]
    }
    [(_, parsed)] = dp.load_dashboards(dashboard_template(sub), stack_name="Demo")
    assert parsed["widgets"][0]["properties"]["markdown"] == "Demo in us-east-1: <Fn.Arn> <EndpointName> ${Literal}"


def test_template_without_dashboards_and_broken_body() -> None:
    assert dp.load_dashboards({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}) == []
    with pytest.raises(ValueError, match="Dash1234ABCD"):
        dp.load_dashboards(dashboard_template({"Fn::Join": ["", ['{"widgets":[', {"Ref": "X"}]]}))


def test_metric_rows_repeat_values_and_describe_expressions() -> None:
    rows = [
        ["AWS/SageMaker", "Invocations", "EndpointName", "ep", "VariantName", "A", {"label": "A", "stat": "Sum"}],
        [".", ".", ".", ".", ".", "B", {"visible": False, "yAxis": "right"}],
        ["...", "C"],
        [{"expression": "m1/(m1+m2)", "label": "share of A", "id": "e1"}],
    ]
    expanded = dp.expand_metric_rows(rows)
    assert [values for values, _ in expanded[:3]] == [
        ["AWS/SageMaker", "Invocations", "EndpointName", "ep", "VariantName", v] for v in "ABC"
    ]
    lines = [dp.describe_series(values, options) for values, options in expanded]
    assert lines == [
        "A [A] Sum",
        "(hidden) Invocations [B] Average (right axis)",
        "Invocations [C] Average",
        "share of A = m1/(m1+m2)",
    ]
    assert dp.series_details(*expanded[0]) == (
        "AWS/SageMaker Invocations EndpointName=ep VariantName=A stat=Sum label=A"
    )
    lambda_row = ["AWS/Lambda", "Errors", "FunctionName", "<SetWeights>", {"stat": "Sum"}]
    assert dp.describe_series(lambda_row[:-1], lambda_row[-1]) == "Errors [FunctionName=<SetWeights>] Sum"


# --- layout -----------------------------------------------------------------------------------


def test_clean_layout_has_no_problems() -> None:
    widgets = [widget(0, 0, 12, 6, "left"), widget(12, 0, 12, 6, "right"), widget(0, 6, 24, 1, "band")]
    assert dp.layout_problems(widgets) == []


def test_overlap_is_reported_with_both_widgets() -> None:
    problems = dp.layout_problems([widget(0, 0, 12, 6, "left"), widget(8, 4, 8, 4, "middle")])
    assert len(problems) == 1
    assert "'left'" in problems[0] and "'middle'" in problems[0] and "overlap" in problems[0]
    assert "columns 8-11, rows 4-5" in problems[0]
    page = dp.render_html("S/D", {"widgets": [widget(0, 0, 12, 6, "left"), widget(8, 4, 8, 4, "middle")]})
    assert page.count('class="widget problem"') == 2 and html.escape(problems[0]) in page


def test_widget_past_column_24_is_reported() -> None:
    problems = dp.layout_problems([widget(20, 0, 6, 6, "too wide")])
    assert problems == ["widget 0 ('too wide') crosses column 24: x=20 + width=6 = 26"]


def test_widgets_without_position_are_placed_in_free_space() -> None:
    widgets = [widget(0, 0, 18, 6, "fixed"), {"type": "metric", "width": 6, "height": 6, "properties": {}}]
    placed = dp.place_widgets(widgets)
    assert (placed[1].x, placed[1].y, placed[1].auto) == (18, 0, True)
    assert dp.layout_problems(widgets) == []


# --- rendering --------------------------------------------------------------------------------

HOSTILE_BODY = {
    "widgets": [
        {
            "type": "text",
            "x": 0,
            "y": 0,
            "width": 24,
            "height": 2,
            "properties": {"markdown": "# Read me <script>alert('x')</script> & more"},
        },
        widget(0, 2, 6, 6, 'p99 < 200 ms & "fast"', metrics=[["AWS/SageMaker", "ModelLatency", {"stat": "p99"}]]),
    ]
}


def test_html_escapes_markdown_and_titles() -> None:
    page = dp.render_html("Stack/Dash", HOSTILE_BODY)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert html.escape('p99 < 200 ms & "fast"') in page
    assert "<pre>" in page  # markdown is shown as preformatted text


def test_svg_parses_and_truncates_long_lines() -> None:
    many = [["AWS/SageMaker", "Invocations", "VariantName", f"Variant{i}", {"label": "x" * 80}] for i in range(9)]
    body = {"widgets": [*HOSTILE_BODY["widgets"], widget(6, 2, 6, 6, "many series", metrics=many)]}
    texts, titles = svg_texts(dp.render_svg("Stack/Dash", body))
    assert any("<script>" in title for title in titles)  # escaped in the file, text again once parsed
    assert 'p99 < 200 ms & "fast" (metric' in " ".join(titles)
    box_lines = [text for text in texts if text.startswith("x")]
    assert len(box_lines) == dp.MAX_SVG_LINES - 1 and all(text.endswith("…") for text in box_lines)
    assert "… +4 more" in texts


def test_main_writes_files_and_fails_on_layout_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "Good.template.json"
    good.write_text(json.dumps(dashboard_template(json.dumps({"widgets": [widget(0, 0, 24, 6, "fine")]}))))
    bad = tmp_path / "Bad.template.json"
    bad.write_text(json.dumps(dashboard_template(json.dumps({"widgets": [widget(20, 0, 6, 6, "off grid")]}))))
    out = tmp_path / "preview"

    assert dp.main(["--template", str(good), "--out", str(out)]) == 0
    assert dp.main(["--template", str(good), "--template", str(bad), "--out", str(out)]) == 1

    names = sorted(path.name for path in out.iterdir())
    assert names == [f"{stack}-Dash1234ABCD.{ext}" for stack in ("Bad", "Good") for ext in ("html", "svg")]
    stdout = capsys.readouterr().out
    assert "x= 0 y=  0 24x6" in stdout and "fine" in stdout and "PROBLEM: widget 0 ('off grid')" in stdout
    assert dp.main(["--template", str(tmp_path / "missing.template.json"), "--out", str(out)]) == 2


# --- the real default app ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_dashboards() -> list[tuple[str, str, dict[str, Any]]]:
    """(stack name, logical id, body) of every dashboard in the synthesized default app."""
    assembly = build_app(load_config(DEFAULT_CONFIG), App()).synth()
    return [
        (stack.stack_name, logical_id, body)
        for stack in assembly.stacks
        for logical_id, body in dp.load_dashboards(stack.template, stack_name=stack.stack_name)
    ]


@pytest.mark.synth
def test_default_app_dashboard_preview(default_dashboards: list[tuple[str, str, dict[str, Any]]]) -> None:
    assert default_dashboards, "the default app should have a dashboard"
    for stack, logical_id, body in default_dashboards:
        widgets = body["widgets"]
        titles = [w["properties"]["title"] for w in widgets if w.get("properties", {}).get("title")]
        assert titles, f"{stack}/{logical_id} has no titled widget"

        page = dp.render_html(f"{stack}/{logical_id}", body)
        texts, svg_titles = svg_texts(dp.render_svg(f"{stack}/{logical_id}", body))
        for title in titles:
            assert f"<h2>{html.escape(title)}</h2>" in page
            assert any(t.startswith(f"{title} (") for t in svg_titles), title
            assert any(title.startswith(t.rstrip("…")) for t in texts), title  # drawn, maybe cut short

        assert dp.layout_problems(widgets) == [], f"{stack}/{logical_id}"


def test_the_preview_in_the_docs_is_current(default_dashboards) -> None:
    """The README shows docs/dashboard-preview/*.svg; it must be today's dashboard.

    After a dashboard change: `make dashboard-preview` and commit the files it writes.
    """
    docs = Path(__file__).resolve().parent.parent / "docs" / "dashboard-preview"
    for stack_name, logical_id, body in default_dashboards:
        committed = docs / f"{stack_name}-{logical_id}.svg"
        assert committed.exists(), f"{committed} missing: run make dashboard-preview"
        rendered = dp.render_svg(f"{stack_name}/{logical_id}", body)
        assert committed.read_text() == rendered, "preview out of date: run make dashboard-preview"
