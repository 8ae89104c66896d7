"""What watches a shadow (config/examples/shadow.json): its alarms (judging only periods with enough traffic, and
"no copies"), rolled up into a composite that pages nobody, and the dashboard's shadow row. The default app (no
shadow) has neither; its snapshot shows it unchanged."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aws_cdk import App
from aws_cdk.assertions import Annotations, Match

from constructs_lib.alarms import SHADOW_P99_MIN_INVOCATIONS, shadow_requests_to_judge
from constructs_lib.config import alarm_limits, parse_config
from constructs_lib.metric_catalog import CATALOG, PROJECT_NAMESPACE, SAGEMAKER_NAMESPACE
from scripts.metric_math import evaluate
from stacks.ab_test_stack import AbTestStack
from tests.conftest import SHADOW_CONFIG, read_config
from tests.constructs_lib.test_dashboard import dashboard_body, expressions, plain_metrics, titled
from tests.stacks.test_aws_rules_synth import _periods
from tests.stacks.test_shadow_stack import default_template, of_type, template

PRODUCTION, SHADOW, SAMPLING = "Current", "Candidate", 20
PAIR = {"ErrorRate": f"AlarmsErrorRateShadow{SHADOW}", "Latency": f"AlarmsLatencyShadow{SHADOW}"}
SHADOW_ALARMS = {
    **PAIR,
    "NoCopies": f"AlarmsNoCopiesShadow{SHADOW}",
    # Live quality's agreement step failed: the shadow's problem, not a failed run (pages nobody).
    "AgreementFailures": "LiveQualityAgreementFailuresAlarm",
}
MIN_INVOCATIONS, EVALUATION_PERIODS = 20, 5  # shadow.json keeps the monitoring defaults


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


def expression_of(props: dict[str, Any]) -> str:
    (expression,) = [m["Expression"] for m in props["Metrics"] if "Expression" in m]
    return str(expression)


def simulated(props: dict[str, Any], **series: list[float]) -> list[float]:
    """The alarm's expression over ``series`` (metric id → values, NaN for a missing datapoint)."""
    inputs = {name: np.array(values, dtype=float) for name, values in series.items()}
    length = len(next(iter(inputs.values())))
    return [float(v) for v in evaluate(expression_of(props), inputs, length)]


# --- alarms -------------------------------------------------------------------------------------------


def test_the_shadows_pair_keeps_the_production_thresholds_and_periods_but_judges_only_with_traffic():
    """Same thresholds, periods, evaluation periods and metrics; below the guard a period has no value (IF without
    an else branch) and missing data is missing, so an unjudged shadow is INSUFFICIENT_DATA, never OK; the p99
    alarm's guard is at least 100 shadow requests (the p99 of 20 requests is their maximum)."""
    guards = {"ErrorRate": MIN_INVOCATIONS, "Latency": SHADOW_P99_MIN_INVOCATIONS}
    for kind, prefix in PAIR.items():
        _, production = alarm(template(), f"Alarms{kind}{PRODUCTION}")
        _, shadow = alarm(template(), prefix)
        assert f'"{SHADOW}"' in json.dumps(shadow["Metrics"]) and f'"{PRODUCTION}"' not in json.dumps(shadow["Metrics"])
        assert production["TreatMissingData"] == "notBreaching" and shadow["TreatMissingData"] == "missing"
        assert expression_of(production).endswith(", 0)")
        assert expression_of(shadow) == (
            expression_of(production).replace(f">= {MIN_INVOCATIONS},", f">= {guards[kind]},").removesuffix(", 0)")
            + ")"
        ), kind
        as_production = json.loads(json.dumps(shadow).replace(f'"{SHADOW}"', f'"{PRODUCTION}"'))
        as_production["Metrics"] = [
            {**m, "Label": m["Label"].replace(SHADOW, PRODUCTION)} if "Label" in m else m
            for m in as_production["Metrics"]
        ]
        ignored = {"AlarmDescription", "TreatMissingData", "Metrics"}
        assert {k: v for k, v in as_production.items() if k not in ignored} == {
            k: v for k, v in production.items() if k not in ignored
        }, kind
        unexpressed = [m for m in as_production["Metrics"] if "Expression" not in m]
        assert unexpressed == [m for m in production["Metrics"] if "Expression" not in m], kind
        description = shadow["AlarmDescription"]
        assert f"shadow variant {SHADOW}" in description and "does not page" in description
        assert f"at least {guards[kind]} requests" in description


def test_a_shadow_period_below_the_guard_or_without_metrics_has_no_value_and_one_above_is_judged():
    """Simulated with scripts/metric_math.py: 19 requests, or no shadow datapoint at all (Q5 wrong), give no
    value (the alarm then judges nothing); 20 requests at 2 errors give 10 %; production's alarm reads 0."""
    nan = float("nan")
    _, shadow = alarm(template(), PAIR["ErrorRate"])
    _, production = alarm(template(), f"AlarmsErrorRate{PRODUCTION}")
    rates = simulated(shadow, invocations=[19, nan, 20], errors=[19, nan, 2])
    assert np.isnan(rates[0]) and np.isnan(rates[1]) and rates[2] == 10.0
    assert simulated(production, invocations=[19, 20], errors=[19, 2]) == [0.0, 10.0]
    _, latency = alarm(template(), PAIR["Latency"])
    p99 = simulated(latency, invocations=[99, 100], latency=[9e6, 2e6])
    assert np.isnan(p99[0]) and p99[1] == 2000.0


def test_the_no_copies_alarm_fires_when_production_traffic_should_bring_copies_and_none_arrive():
    """Production at min_invocations × 100 / sampling (20 × 100 / 20 = 100) requests per period should bring the
    shadow 20 copies; 0 in every one of the evaluation periods fires it. Below that bar a period has no value."""
    bar = MIN_INVOCATIONS * 100 // SAMPLING
    assert shadow_requests_to_judge(MIN_INVOCATIONS, SAMPLING) == bar == 100
    _, props = alarm(template(), SHADOW_ALARMS["NoCopies"])
    assert expression_of(props) == f"IF(productioninv >= {bar}, FILL(shadowinv, 0))"
    stats = {
        m["Id"]: (
            m["MetricStat"]["Metric"]["MetricName"],
            m["MetricStat"]["Metric"]["Dimensions"][1]["Value"],
            m["MetricStat"]["Stat"],
        )
        for m in props["Metrics"]
        if "MetricStat" in m
    }
    assert stats == {"productioninv": ("Invocations", PRODUCTION, "Sum"), "shadowinv": ("Invocations", SHADOW, "Sum")}
    assert (props["Threshold"], props["ComparisonOperator"]) == (1, "LessThanThreshold")
    assert props["EvaluationPeriods"] == props["DatapointsToAlarm"] == EVALUATION_PERIODS
    assert props["TreatMissingData"] == "missing"
    nan = float("nan")
    copies = simulated(props, productioninv=[99, 100, 500, nan, 500], shadowinv=[0, nan, 3, nan, 0])
    assert np.isnan(copies[0]) and copies[1] == 0.0 and copies[2] == 3.0 and np.isnan(copies[3]) and copies[4] == 0
    for cause in ("Q5", "Q1", "fleet"):
        assert cause in props["AlarmDescription"]


@pytest.mark.parametrize(("min_invocations", "sampling", "expected"), [(20, 1, 2000), (20, 20, 100), (20, 3, 667)])
def test_the_production_traffic_a_shadow_alarm_needs_is_the_guard_scaled_by_the_sampling(
    min_invocations, sampling, expected
):
    assert shadow_requests_to_judge(min_invocations, sampling) == expected


def test_synth_says_below_which_production_traffic_the_shadows_alarms_judge_nothing():
    data = read_config(SHADOW_CONFIG)
    data["endpoints"][0]["variants"][1]["shadow"]["sampling_percentage"] = 1
    stack = AbTestStack(App(), "S", spec=parse_config(data, "shadow.json").endpoints[0])
    infos = [str(m.entry.data) for m in Annotations.from_stack(stack).find_info("*", Match.any_value())]
    (note,) = [i for i in infos if "judge only periods" in i]
    assert "from about 2000 production requests per period of 60 s" in note
    assert "min_invocations 20 × 100 / sampling_percentage 1" in note
    assert "p99 alarm from about 10000" in note and "INSUFFICIENT_DATA (not judged)" in note
    default = AbTestStack(App(), "D", spec=parse_config(read_config(), "default.json").endpoints[0])
    assert not [m for m in Annotations.from_stack(default).find_info("*", Match.string_like_regexp("judge only"))]


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
    assert "INSUFFICIENT_DATA has judged nothing" in props["AlarmDescription"]
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
        alarm(template(), f"Alarms{kind}{PRODUCTION}")[0] for kind in PAIR
    }
    (topic,) = of_type(template(), "AWS::SNS::Topic")
    assert paging["AlarmActions"] == [{"Ref": topic}]


def test_the_default_app_has_no_shadow_alarm():
    cloudwatch = {**of_type(default_template(), "AWS::CloudWatch::Alarm")}
    assert cloudwatch and not [lid for lid in cloudwatch if "Shadow" in lid]
    (only,) = of_type(default_template(), "AWS::CloudWatch::CompositeAlarm")
    assert only.startswith("AlarmsAnyProblem")


def readme_event_pattern() -> dict[str, Any]:
    """The EventBridge pattern README "Shadow stage" gives for mail about the shadow."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("**Mail for the shadow, if you want it:**") :]
    block = section[section.index("```json\n") + len("```json\n") : section.index("\n```", section.index("```json"))]
    pattern: dict[str, Any] = json.loads(block)
    return pattern


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge's exact-value matching, the only kind the README's pattern uses: each pattern key must be in the
    event, a list lists the values allowed, an object matches the event's object field by field."""
    if isinstance(pattern, list):
        return event in pattern
    return isinstance(event, dict) and all(k in event and matches(v, event[k]) for k, v in pattern.items())


def test_the_readmes_eventbridge_pattern_names_the_shadow_composite_and_matches_its_state_changes():
    """ "Alarm events and EventBridge" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
    cloudwatch-and-eventbridge.html): source aws.cloudwatch, detail-type "CloudWatch Alarm State Change",
    detail.alarmName and detail.state.value, as in the page's sample events (the event below keeps their shape).
    The stack's topic is not the way: its policy admits only the alarms it names, and no shadow alarm."""
    pattern = readme_event_pattern()
    _, props = composite(template(), "ShadowProblem")
    name = props["AlarmName"]
    assert pattern["detail"]["alarmName"] == [name]

    def event(alarm_name: str, state: str) -> dict[str, Any]:
        return {
            "version": "0",
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "account": "123456789012",
            "region": "us-east-1",
            "resources": [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm_name}"],
            "detail": {"alarmName": alarm_name, "state": {"value": state}, "previousState": {"value": "OK"}},
        }

    assert matches(pattern, event(name, "ALARM")) and matches(pattern, event(name, "OK"))
    _, paging = composite(template(), "AnyProblem")
    assert not matches(pattern, event(paging["AlarmName"], "ALARM"))
    assert not matches(pattern, event(name, "INSUFFICIENT_DATA"))
    (policy,) = of_type(template(), "AWS::SNS::TopicPolicy").values()
    assert "ShadowProblem" not in json.dumps(policy)


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
    assert len(row) == 6  # five of SageMaker's metrics, and the agreement from captured pairs
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
            assert namespace == (PROJECT_NAMESPACE if name.startswith("Shadow") else SAGEMAKER_NAMESPACE)
            assert tuple(sorted(dims)) == tuple(sorted(CATALOG[(namespace, name)].dimensions))
    header = shadow_widgets()[0]["properties"]["markdown"]
    assert "shadow row just below" in header and "ShadowProblem" in header


def test_the_alarm_status_widget_shows_the_shadow_alarms():
    (dashboard,) = of_type(template(), "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])  # the alarms' ARNs are GetAtt tokens in it
    shadow_ids = [composite(template(), "ShadowProblem")[0], *(alarm(template(), p)[0] for p in SHADOW_ALARMS.values())]
    for lid in shadow_ids:
        assert json.dumps({"Fn::GetAtt": [lid, "Arn"]}) in body, lid


def test_the_agreement_is_drawn_per_run_for_the_shadow_with_its_pairs():
    """ShadowAgreement (percent) and ShadowPairs, VariantName = the shadow, one point per live-quality run: the
    agreement step publishes no ShadowAgreement for a run without pairs, so such a run shows no point (never 0 %)."""
    widget = titled(shadow_widgets(), "Shadow: agreement of shadow")
    seen = {
        (name, variant_of(dims), opts.get("stat"), opts.get("yAxis", "left"), opts.get("period"))
        for _, name, dims, opts in plain_metrics(widget)
    }
    assert seen == {
        ("ShadowAgreement", SHADOW, "Maximum", "left", 3600),
        ("ShadowPairs", SHADOW, "Maximum", "right", 3600),
    }
    assert widget["properties"]["yAxis"]["left"] == {"label": "% of pairs", "showUnits": False, "min": 0, "max": 100}
    assert "none without pairs" in widget["properties"]["title"]


def test_the_default_dashboard_has_no_shadow_row():
    widgets = dashboard_body(read_config())["widgets"]
    assert not [w for w in widgets if w.get("properties", {}).get("title", "").startswith("Shadow")]
