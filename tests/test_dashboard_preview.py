"""scripts/dashboard_preview.py: body reconstruction, layout checks and the command (drawing: test_dashboard_render)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts import dashboard_preview as dp


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


def test_widget_past_column_24_is_reported() -> None:
    problems = dp.layout_problems([widget(20, 0, 6, 6, "too wide")])
    assert problems == ["widget 0 ('too wide') crosses column 24: x=20 + width=6 = 26"]


def test_widgets_without_position_are_placed_in_free_space() -> None:
    widgets = [widget(0, 0, 18, 6, "fixed"), {"type": "metric", "width": 6, "height": 6, "properties": {}}]
    placed = dp.place_widgets(widgets)
    assert (placed[1].x, placed[1].y, placed[1].auto) == (18, 0, True)
    assert dp.layout_problems(widgets) == []


# --- command line ------------------------------------------------------------------------------


def test_main_writes_files_and_fails_on_layout_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "Good.template.json"
    good.write_text(json.dumps(dashboard_template(json.dumps({"widgets": [widget(0, 0, 24, 6, "fine")]}))))
    bad = tmp_path / "Bad.template.json"
    bad.write_text(json.dumps(dashboard_template(json.dumps({"widgets": [widget(20, 0, 6, 6, "off grid")]}))))
    out = tmp_path / "preview"

    assert dp.main(["--template", str(good), "--out", str(out), "--dpi", "20"]) == 0
    assert dp.main(["--template", str(good), "--template", str(bad), "--out", str(out), "--dpi", "20"]) == 1

    names = sorted(path.name for path in out.iterdir())
    assert names == [f"{stack}-Dash1234ABCD.png" for stack in ("Bad", "Good")]
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in out.iterdir())
    stdout = capsys.readouterr().out
    assert "x= 0 y=  0 24x6" in stdout and "fine" in stdout and "PROBLEM: widget 0 ('off grid')" in stdout
    assert dp.main(["--template", str(tmp_path / "missing.template.json"), "--out", str(out)]) == 2
