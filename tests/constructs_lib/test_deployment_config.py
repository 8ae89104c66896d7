"""The ``deployment`` section: SageMaker's deployment guardrails, checked by the loader.

Ranges and enums come from botocore's service model, the prose-only rules from
``constructs_lib/config/deployment_limits.py``; the drift tests below fail when botocore's documentation
no longer says what that table quotes. Every refusal names the file, the endpoint and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cfnlint
import pytest

from constructs_lib.config import ConfigError, parse_config, service_model
from constructs_lib.config import deployment_limits as limits
from constructs_lib.config.model import DeploymentSpec
from tests.conftest import read_config

SOURCE = "config/guarded.json"
CANARY = {"strategy": "canary", "size": {"type": "capacity_percent", "value": 25}}


def config(deployment: Any, *, counts: tuple[int, ...] = (1, 1), mutate: Any = None) -> dict[str, Any]:
    data = read_config()
    endpoint = data["endpoints"][0]
    endpoint["deployment"] = deployment
    for variant, count in zip(endpoint["variants"], counts, strict=False):
        variant["initial_instance_count"] = count
    if len(counts) < len(endpoint["variants"]):
        del endpoint["variants"][len(counts) :]
    if mutate:
        mutate(endpoint)
    return data


def load(data: dict[str, Any]) -> DeploymentSpec:
    deployment = parse_config(data, SOURCE).endpoints[0].deployment
    assert deployment is not None
    return deployment


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, SOURCE)
    return caught.value.problems


def assert_refused(data: dict[str, Any], field: str, *parts: str) -> None:
    found = problems(data)
    assert len(found) >= 1
    where = f'{SOURCE}: endpoint "churn-ab" > deployment > {field}: '
    assert any(p.startswith(where) and all(part in p for part in parts) for p in found), found


# --- the section itself ------------------------------------------------------------------------------


def test_no_deployment_is_sagemakers_default():
    assert parse_config(read_config(), SOURCE).endpoints[0].deployment is None


def test_a_canary_with_defaults():
    assert load(config(CANARY)) == DeploymentSpec(
        strategy="canary",
        size=limits_size("capacity_percent", 25),
        wait_seconds=600,
        termination_wait_seconds=None,
        timeout_seconds=None,
        auto_rollback=True,
    )


def limits_size(kind: str, value: int) -> Any:
    from constructs_lib.config.model import CapacitySizeSpec

    return CapacitySizeSpec(type=kind, value=value)


def test_strategies_are_botocores_routing_types_lower_cased_plus_rolling():
    routing = sorted(v.lower() for v in service_model.enum_values("TrafficRoutingConfigType"))
    assert routing == ["all_at_once", "canary", "linear"]
    assert (*routing, "rolling") == limits.STRATEGIES
    for spelled in ("CANARY", "Canary", "blue_green", ""):
        assert_refused(config({"strategy": spelled}), "strategy", "must be one of all_at_once, canary, linear, rolling")


def test_size_types_are_botocores_capacity_size_types_lower_cased():
    assert {v.lower() for v in service_model.enum_values("CapacitySizeType")} == {"instance_count", "capacity_percent"}
    assert_refused(config({**CANARY, "size": {"type": "CAPACITY_PERCENT", "value": 25}}), "size > type")


@pytest.mark.parametrize(
    ("key", "shape"),
    [
        ("wait_seconds", "WaitIntervalInSeconds"),
        ("termination_wait_seconds", "TerminationWaitInSeconds"),
        ("timeout_seconds", "MaximumExecutionTimeoutInSeconds"),
    ],
)
def test_waits_and_timeout_take_botocores_range_at_both_ends(key: str, shape: str):
    low, high = service_model.numeric_range(shape)
    assert low is not None and high is not None
    # all at once takes every key; the timeout must stay above the waits (another rule), so the waits are 0
    base = {"strategy": "all_at_once", "wait_seconds": 0, "termination_wait_seconds": 0}
    for good in (int(low), int(high)):
        assert getattr(load(config({**base, key: good})), key) == good
    for bad in (int(low) - 1, int(high) + 1):
        assert_refused(
            config({**base, key: bad}), key, f"{'>=' if bad < low else '<='} {int(low if bad < low else high)}"
        )


def test_a_size_is_at_least_botocores_capacity_size_value():
    low, _ = service_model.numeric_range("CapacitySizeValue")
    assert low == 1
    assert_refused(config({**CANARY, "size": {"type": "capacity_percent", "value": 0}}), "size > value", ">= 1")


def test_unknown_keys_are_refused_in_the_section_and_in_a_size():
    assert_refused(config({**CANARY, "bake": 60}), "bake", "unknown key")
    assert_refused(config({**CANARY, "size": {"type": "capacity_percent", "value": 25, "unit": "%"}}), "size > unit")


# --- which keys each strategy takes ------------------------------------------------------------------


def test_all_at_once_takes_no_size():
    assert_refused(
        config({**CANARY, "strategy": "all_at_once"}), "size", "only for strategy canary or linear or rolling"
    )


@pytest.mark.parametrize("strategy", ["canary", "linear", "rolling"])
def test_canary_linear_and_rolling_need_a_size(strategy: str):
    assert_refused(config({"strategy": strategy}, counts=(1,)), "size", f"is required for strategy {strategy}")


def test_the_termination_wait_is_blue_green_only():
    rolling = {"strategy": "rolling", "size": {"type": "capacity_percent", "value": 50}}
    assert_refused(
        config({**rolling, "termination_wait_seconds": 0}, counts=(2,)), "termination_wait_seconds", "only for"
    )


def test_the_rollback_batch_is_rolling_only_and_a_percentage_at_most_100():
    batch = {"type": "capacity_percent", "value": 50}
    assert_refused(config({**CANARY, "rollback_size": batch}), "rollback_size", "only for strategy rolling")
    rolling = {"strategy": "rolling", "size": batch}
    assert load(config({**rolling, "rollback_size": {"type": "capacity_percent", "value": 100}}, counts=(2,)))
    too_much = {**rolling, "rollback_size": {"type": "capacity_percent", "value": 101}}
    assert_refused(config(too_much, counts=(2,)), "rollback_size", "at most 100")


# --- the prose rules (deployment_limits) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "low", "high"),
    [("canary", 1, 50), ("linear", 10, 50), ("rolling", 5, 50)],
)
def test_step_percentages_stay_within_the_documented_share(strategy: str, low: int, high: int):
    limit = limits.SIZE_LIMITS[strategy]
    assert (limit.low, limit.high) == (low, high)
    counts = (20,)  # one variant: rolling allows no more, and 20 instances keep every percentage whole
    for good in (low, high):
        size = {"type": "capacity_percent", "value": good}
        assert load(config({"strategy": strategy, "size": size}, counts=counts)).size.value == good  # type: ignore[union-attr]
    for bad in ({low - 1} - {0}) | {high + 1}:
        size = {"type": "capacity_percent", "value": bad}
        assert_refused(config({"strategy": strategy, "size": size}, counts=counts), "size", limit.rule.sentence)


def test_an_instance_count_is_checked_against_every_variants_count():
    """Canary: at most half of *each* variant (the smallest binds); linear: at least 10 % of each (the largest
    binds)."""
    two = {"type": "instance_count", "value": 2}
    assert load(config({"strategy": "canary", "size": two}, counts=(4, 6)))
    assert_refused(
        config({"strategy": "canary", "size": two}, counts=(3, 6)),
        "size",
        "variant Variant1's 3",
        limits.CANARY_SIZE.sentence,
    )
    one = {"type": "instance_count", "value": 1}
    assert_refused(
        config({"strategy": "linear", "size": one}, counts=(2, 20)),
        "size",
        "variant Variant2's 20",
        limits.LINEAR_STEP.sentence,
    )


def test_rolling_needs_a_single_production_variant():
    rolling = {"strategy": "rolling", "size": {"type": "capacity_percent", "value": 50}}
    assert load(config(rolling, counts=(2,)))
    assert_refused(config(rolling, counts=(2, 2)), "strategy", "single production variant (got 2)", "Multi-variant")


def test_the_blue_green_timeout_must_exceed_the_waits():
    base = {"strategy": "all_at_once", "wait_seconds": 300, "termination_wait_seconds": 300}
    assert load(config({**base, "timeout_seconds": 601})).timeout_seconds == 601
    assert_refused(
        config({**base, "timeout_seconds": 600}), "timeout_seconds", "(600)", limits.TIMEOUT_ABOVE_WAITS.sentence
    )


def test_at_most_five_variants_with_auto_rollback():
    """Two alarms per variant, and AlarmList holds at most 10 (botocore)."""
    _, most = service_model.list_bounds("AlarmList")
    assert most == 10

    def variants(n: int) -> Any:
        def mutate(endpoint: dict[str, Any]) -> None:
            endpoint["variants"] = [dict(endpoint["variants"][0], name=f"V{i}") for i in range(n)]

        return mutate

    assert load(config(CANARY, mutate=variants(5))).auto_rollback
    assert_refused(
        config(CANARY, mutate=variants(6)), "auto_rollback", "6 variants need 12 rollback alarms", "at most 5"
    )
    assert not load(config({**CANARY, "auto_rollback": False}, mutate=variants(6))).auto_rollback


def test_inf1_variants_refuse_guardrails_that_would_not_happen():
    def inf1(endpoint: dict[str, Any]) -> None:
        endpoint["variants"][1]["instance_type"] = "ml.inf1.xlarge"

    assert_refused(config(CANARY, mutate=inf1), "strategy", "Variant2 (ml.inf1.xlarge)", "Inf1 (Inferentia-based)")
    # all at once still bakes by default (wait_seconds 600) and rolls back: neither would happen
    assert_refused(config({"strategy": "all_at_once"}, mutate=inf1), "strategy", "Inf1")
    nothing_asked = {"strategy": "all_at_once", "wait_seconds": 0, "auto_rollback": False}
    assert load(config(nothing_asked, mutate=inf1)).strategy == "all_at_once"


def test_every_problem_is_reported_at_once():
    data = config(
        {"strategy": "canary", "size": {"type": "capacity_percent", "value": 25}, "wait_seconds": -1, "bake": 1}
    )
    assert len(problems(data)) == 2


# --- drift: the table against botocore's documentation and the CloudFormation schema -------------------


@pytest.mark.parametrize("rule", [r for r in limits.RULES if r.structure], ids=lambda r: r.name)
def test_botocores_documentation_still_says_what_the_table_quotes(rule: limits.DocumentedRule):
    assert rule.member is not None
    text = " ".join(service_model.member_documentation(rule.structure, rule.member).split())  # type: ignore[arg-type]
    assert rule.sentence in text, f"{rule.structure}.{rule.member} now reads: {text}"


def test_the_rules_botocore_does_not_carry_cite_the_exclusions_page():
    """The developer guide's exclusions (Inf1/Marketplace fallback, rolling on one variant, same variant names)
    are in no botocore documentation string: they cannot be drift-tested here, only cited."""
    uncarried = [r for r in limits.RULES if not r.structure]
    assert {r.name for r in uncarried} == {"fallback-to-all-at-once", "rolling-single-variant", "same-variant-names"}
    assert {r.source for r in uncarried} == {limits.EXCLUSIONS_PAGE}


def test_the_size_table_matches_the_quoted_percentages():
    assert "less than or equal to 50%" in limits.CANARY_SIZE.sentence
    assert "10-50%" in limits.LINEAR_STEP.sentence
    assert "between 5% to 50%" in limits.ROLLING_BATCH.sentence


def _cfn_schema_definitions() -> dict[str, Any]:
    schemas = Path(cfnlint.__file__).parent / "data" / "schemas"
    providers = json.loads((schemas / "providers" / "us-east-1.json").read_text())
    schema = json.loads((schemas / "resources" / f"{providers['AWS::SageMaker::Endpoint']}.json").read_text())
    return schema["definitions"]


def test_botocore_and_the_cloudformation_schema_agree_on_the_ranges():
    cfn = _cfn_schema_definitions()
    pairs = {
        "WaitIntervalInSeconds": cfn["TrafficRoutingConfig"]["properties"]["WaitIntervalInSeconds"],
        "TerminationWaitInSeconds": cfn["BlueGreenUpdatePolicy"]["properties"]["TerminationWaitInSeconds"],
        "MaximumExecutionTimeoutInSeconds": cfn["BlueGreenUpdatePolicy"]["properties"][
            "MaximumExecutionTimeoutInSeconds"
        ],
    }
    for shape, prop in pairs.items():
        assert service_model.numeric_range(shape) == (prop["minimum"], prop["maximum"]), shape
    assert service_model.numeric_range("CapacitySizeValue")[0] == cfn["CapacitySize"]["properties"]["Value"]["minimum"]
    assert cfn["AutoRollbackConfig"]["properties"]["Alarms"]["maxItems"] == service_model.list_bounds("AlarmList")[1]
    # The schema lets WaitIntervalInSeconds out of TrafficRoutingConfig; the API requires it (always written).
    assert cfn["TrafficRoutingConfig"]["required"] == ["Type"]
    assert "WaitIntervalInSeconds" in service_model.shapes()["TrafficRoutingConfig"]["required"]


# --- synth warnings: what the config allows but SageMaker may not do as asked ----------------------------


def warnings_for(deployment: Any, *, counts: tuple[int, ...] = (4, 4), mutate: Any = None) -> list[str]:
    spec = parse_config(config(deployment, counts=counts, mutate=mutate), SOURCE).endpoints[0]
    assert spec.deployment is not None
    return [f"{wid}: {text}" for wid, text in limits.warnings(spec.deployment, spec.variants, spec.monitoring)]


def test_a_valid_canary_warns_about_nothing():
    assert warnings_for(CANARY) == []


def test_a_percentage_below_one_instance_is_warned_about():
    """How SageMaker rounds 25 % of one instance is not documented (design question Q8)."""
    (warning,) = warnings_for(CANARY, counts=(1, 4))
    assert warning.startswith("ab-test:deploymentPercentBelowOneInstance: deployment size 25 % is less than one")
    assert "Variant1 (1)" in warning and "Variant2" not in warning


def test_a_bake_shorter_than_the_alarms_need_is_warned_about():
    """Defaults: 3 breaching one-minute periods fire an alarm, so a bake under 180 s cannot catch a bad model."""
    (warning,) = warnings_for({**CANARY, "wait_seconds": 179})
    assert "wait_seconds (179) is shorter than the rollback alarms need to fire" in warning and "= 180 s" in warning
    assert warnings_for({**CANARY, "wait_seconds": 180}) == []
    assert warnings_for({**CANARY, "wait_seconds": 0, "auto_rollback": False}) == []


def test_instance_count_sizes_on_autoscaled_variants_are_warned_about():
    def autoscale(endpoint: dict[str, Any]) -> None:
        endpoint["variants"][0]["autoscaling"] = {
            "min_capacity": 2,
            "max_capacity": 8,
            "target_invocations_per_instance": 1,
        }

    (warning,) = warnings_for({"strategy": "canary", "size": {"type": "instance_count", "value": 1}}, mutate=autoscale)
    assert "checked against initial_instance_count only; Variant1 autoscale(s)" in warning
    assert warnings_for(CANARY, mutate=autoscale) == []  # a percentage follows the live count


def test_a_package_that_may_be_from_the_marketplace_is_warned_about():
    def package(endpoint: dict[str, Any]) -> None:
        endpoint["variants"][1]["model"] = {
            "model_package_arn": "arn:aws:sagemaker:us-east-1:111122223333:model-package/c/3"
        }

    (warning,) = warnings_for(CANARY, mutate=package)
    assert "Variant2: a model package without image_repository_arn may be an AWS Marketplace one" in warning
    assert limits.FALLBACK_EXCLUSIONS.sentence in warning


def test_a_timeout_below_the_estimated_waits_is_warned_about():
    """Canary: two bakes (the canary's, then the rest's) of 600 s plus a 300 s termination wait = 1500 s."""
    deployment = {**CANARY, "termination_wait_seconds": 300}
    (warning,) = warnings_for({**deployment, "timeout_seconds": 1500})
    assert "estimated waits (2 bake(s) of 600 s plus the termination wait = 1500 s)" in warning
    assert warnings_for({**deployment, "timeout_seconds": 1501}) == []


@pytest.mark.parametrize(
    ("deployment", "counts", "bakes"),
    [
        ({"strategy": "all_at_once"}, (4, 4), 1),
        (CANARY, (4, 4), 2),
        ({"strategy": "linear", "size": {"type": "capacity_percent", "value": 30}}, (4, 4), 4),
        ({"strategy": "linear", "size": {"type": "instance_count", "value": 2}}, (4, 10), 5),
        ({"strategy": "rolling", "size": {"type": "capacity_percent", "value": 25}}, (4,), 4),
    ],
)
def test_the_estimated_bakes(deployment: dict[str, Any], counts: tuple[int, ...], bakes: int):
    spec = parse_config(config(deployment, counts=counts), SOURCE).endpoints[0]
    assert spec.deployment is not None
    assert limits.estimated_bakes(spec.deployment, spec.variants) == bakes
    assert limits.estimated_seconds(spec.deployment, spec.variants) == 600 * bakes
