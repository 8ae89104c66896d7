"""What watches a shadow (config/examples/shadow.json): its alarms, rolled up into a composite that pages nobody,
and the dashboard's shadow row. The default app (no shadow) has neither; its snapshot shows it unchanged."""

from __future__ import annotations

import functools
import json
from typing import Any

from constructs_lib.config import alarm_limits
from constructs_lib.metric_catalog import CATALOG, SAGEMAKER_NAMESPACE
from tests.conftest import SHADOW_CONFIG, read_config
from tests.constructs_lib.test_dashboard import dashboard_body, expressions, plain_metrics, titled
from tests.stacks.test_aws_rules_synth import _periods
from tests.stacks.test_shadow_stack import default_template, of_type, template

PRODUCTION, SHADOW, SAMPLING = "Current", "Candidate", 20
SHADOW_ALARMS = {"ErrorRate": f"AlarmsErrorRateShadow{SHADOW}", "Latency": f"AlarmsLatencyShadow{SHADOW}"}


def alarm(t: dict[str, Any], prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (lid, r["Properties"]) for lid, r in of_type(t, "AWS::CloudWatch::Alarm").items() if lid.startswith(prefix)
    ]
    return found


def composite(t: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (lid, r["Properties"])
        for lid, r in of_type(t, "AWS::CloudWatch::CompositeAlarm").items()
        if lid.startswith(f"Alarms{name}")
    ]
    return found


def rule_ids(props: dict[str, Any]) -> set[str]:
    """The logical ids of the alarms a composite's rule names."""
    return {part["Fn::GetAtt"][0] for part in props["AlarmRule"]["Fn::Join"][1] if isinstance(part, dict)}


# --- alarms -------------------------------------------------------------------------------------------


def test_the_shadow_gets_the_production_variants_alarm_pair_with_the_same_rules():
    """Same thresholds, periods, evaluation periods, traffic guard and missing-data treatment: the one helper."""
    for kind, prefix in SHADOW_ALARMS.items():
        _, production = alarm(template(), f"Alarms{kind}{PRODUCTION}")
        _, shadow = alarm(template(), prefix)
        assert f'"{SHADOW}"' in json.dumps(shadow["Metrics"]) and f'"{PRODUCTION}"' not in json.dumps(shadow["Metrics"])
        as_production = json.loads(json.dumps(shadow).replace(f'"{SHADOW}"', f'"{PRODUCTION}"'))
        as_production["Metrics"] = [
            {**m, "Label": m["Label"].replace(SHADOW, PRODUCTION)} if "Label" in m else m
            for m in as_production["Metrics"]
        ]
        ignored = {"AlarmDescription"}
        assert {k: v for k, v in as_production.items() if k not in ignored} == {
            k: v for k, v in production.items() if k not in ignored
        }, kind
        assert (
            f"shadow variant {SHADOW}" in shadow["AlarmDescription"] and "does not page" in shadow["AlarmDescription"]
        )


def test_the_shadows_alarm_windows_are_ones_cloudwatch_accepts():
    checked = 0
    for prefix in SHADOW_ALARMS.values():
        _, props = alarm(template(), prefix)
        for period in _periods(props):
            assert alarm_limits.period_problem(period) is None
            assert alarm_limits.window_problem(period, int(props["EvaluationPeriods"])) is None
            checked += 1
    assert checked


def test_the_shadow_composite_rolls_up_the_shadow_alarms_only_and_notifies_nobody():
    lid, props = composite(template(), "ShadowProblem")
    assert {i.rstrip("0123456789ABCDEF") for i in rule_ids(props)} == set(SHADOW_ALARMS.values())
    for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        assert key not in props, key
    for prefix in SHADOW_ALARMS.values():
        _, shadow = alarm(template(), prefix)
        assert "AlarmActions" not in shadow and "OKActions" not in shadow
    assert props["AlarmName"] == "AbTest-churn-shadow-Alarms-ShadowProblem"  # the name README tells to look for
    assert "nobody is paged" in props["AlarmDescription"]
    # The topic admits no shadow alarm: CloudWatch could not publish for it even if an action were added.
    (policy,) = of_type(template(), "AWS::SNS::TopicPolicy").values()
    assert "Shadow" not in json.dumps(policy) and lid not in json.dumps(policy)


def test_the_paging_composite_includes_no_shadow_alarm():
    _, paging = composite(template(), "AnyProblem")
    named = rule_ids(paging)
    assert not [i for i in named if "Shadow" in i]
    assert {i for i in named if i.startswith("Alarms")} == {
        alarm(template(), f"Alarms{kind}{PRODUCTION}")[0] for kind in SHADOW_ALARMS
    }
    (topic,) = of_type(template(), "AWS::SNS::Topic")
    assert paging["AlarmActions"] == [{"Ref": topic}]


def test_the_default_app_has_no_shadow_alarm():
    cloudwatch = {**of_type(default_template(), "AWS::CloudWatch::Alarm")}
    assert cloudwatch and not [lid for lid in cloudwatch if "Shadow" in lid]
    (only,) = of_type(default_template(), "AWS::CloudWatch::CompositeAlarm")
    assert only.startswith("AlarmsAnyProblem")


# --- dashboard ----------------------------------------------------------------------------------------


@functools.cache
def shadow_widgets() -> list[dict[str, Any]]:
    widgets: list[dict[str, Any]] = dashboard_body(read_config(SHADOW_CONFIG))["widgets"]
    return widgets


def shadow_row() -> list[dict[str, Any]]:
    return [w for w in shadow_widgets() if w.get("properties", {}).get("title", "").startswith("Shadow:")]


def variant_of(dims: dict[str, str]) -> str:
    return dims["VariantName"]


def test_the_shadow_row_sits_below_the_header_fills_the_grid_and_names_the_shadow():
    row = shadow_row()
    assert len(row) == 5
    header = shadow_widgets()[0]
    assert min(w["y"] for w in row) == header["y"] + header["height"]
    for y in {w["y"] for w in row}:
        assert sum(w["width"] for w in row if w["y"] == y) == 24
    invocations = titled(shadow_widgets(), "Invocations per variant")
    assert max(w["y"] + w["height"] for w in row) <= invocations["y"]
    for widget in row:
        title = widget["properties"]["title"]
        assert f"shadow {SHADOW}" in title, title
    for layout in (shadow_widgets(),):
        cells: set[tuple[int, int]] = set()
        for widget in layout:
            x, y, width, height = widget["x"], widget["y"], widget["width"], widget["height"]
            assert x >= 0 and x + width <= 24
            area = {(c, r) for c in range(x, x + width) for r in range(y, y + height)}
            assert not cells & area
            cells |= area


def test_the_shadow_row_compares_latency_errors_and_invocations_of_both_variants():
    latency = titled(shadow_widgets(), "Shadow: ModelLatency")
    seen = {(name, variant_of(dims), opts.get("stat")) for _, name, dims, opts in plain_metrics(latency)}
    assert seen == {("ModelLatency", v, s) for v in (PRODUCTION, SHADOW) for s in ("p50", "p99")}
    assert {e["expression"].split(" ")[-1] for e in expressions(latency)} == {"1000"}
    errors = titled(shadow_widgets(), "Shadow: 5XX and model errors")
    assert {(name, variant_of(dims)) for _, name, dims, _ in plain_metrics(errors)} == {
        (name, v) for name in ("Invocation5XXErrors", "InvocationModelErrors") for v in (PRODUCTION, SHADOW)
    }
    rate = titled(shadow_widgets(), "Shadow: 5XX error rate")
    (line,) = rate["properties"]["annotations"]["horizontal"]
    assert line["value"] == 5 and "threshold" in line["label"]
    invocations = titled(shadow_widgets(), "Shadow: Invocations")
    assert {(name, variant_of(dims)) for _, name, dims, _ in plain_metrics(invocations)} == {
        ("Invocations", PRODUCTION),
        ("Invocations", SHADOW),
    }


def test_observed_sampling_is_drawn_against_the_declared_one_and_says_it_is_unverified():
    widget = titled(shadow_widgets(), "Shadow: observed sampling")
    (observed,) = expressions(widget)
    assert observed["expression"] == "100 * FILL(shadowinv, 0) / productioninv"
    rows = {opts["id"]: (name, variant_of(dims)) for _, name, dims, opts in plain_metrics(widget)}
    assert rows == {"shadowinv": ("Invocations", SHADOW), "productioninv": ("Invocations", PRODUCTION)}
    (declared,) = widget["properties"]["annotations"]["horizontal"]
    assert declared["value"] == SAMPLING
    for text in (declared["label"], widget["properties"]["title"]):
        assert "H1" in text and "UNVERIFIED" in text, text


def test_the_shadow_row_reads_catalog_metrics_only_and_the_header_points_to_it():
    for widget in shadow_row():
        for namespace, name, dims, _ in plain_metrics(widget):
            assert namespace == SAGEMAKER_NAMESPACE
            assert tuple(sorted(dims)) == tuple(sorted(CATALOG[(namespace, name)].dimensions))
    header = shadow_widgets()[0]["properties"]["markdown"]
    assert "shadow row just below" in header and "ShadowProblem" in header


def test_the_alarm_status_widget_shows_the_shadow_alarms():
    (dashboard,) = of_type(template(), "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])  # the alarms' ARNs are GetAtt tokens in it
    shadow_ids = [composite(template(), "ShadowProblem")[0], *(alarm(template(), p)[0] for p in SHADOW_ALARMS.values())]
    for lid in shadow_ids:
        assert json.dumps({"Fn::GetAtt": [lid, "Arn"]}) in body, lid


def test_the_default_dashboard_has_no_shadow_row():
    widgets = dashboard_body(read_config())["widgets"]
    assert not [w for w in widgets if w.get("properties", {}).get("title", "").startswith("Shadow")]
