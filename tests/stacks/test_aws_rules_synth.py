"""AWS rules that show in the synthesized template: no KmsKeyId with local-storage instances, ECR pull
for model packages, alarm windows CloudWatch accepts, and construct IDs no variant name can break.

Two apps are synthesized once each (cdk-nag on, as ``cdk synth`` runs app.py); a third only builds
the construct tree for many random variant names, which is where an ID collision crashes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Annotations, Match

from app import build_app
from constructs_lib.config import alarm_limits, instance_storage, parse_config, service_model, weight_parameter_name
from tests.conftest import FULL_CONFIG, SHIPPED_CONFIGS, read_config
from tests.synth import CDK_CONTEXT, synth_templates

LOCAL_STORAGE_TYPE = "ml.g5.xlarge"  # named in the CreateEndpointConfig KmsKeyId note's families
PACKAGE_REPOSITORY = "arn:aws:ecr:eu-west-1:111122223333:repository/fraud-registry-inference"
ECR_PULL = {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"}

# Variant names chosen to collide with what the stack builds from them: "s" + "Weight" is the
# stack's "Weights" construct; the others echo other stack-level IDs and CDK's own.
AWKWARD_NAMES = ["s", "S", "Parameters", "sProvider", "SetWeights", "BootstrapVersion", "0", "a-b--c", "x" * 63]


def synthesized(data: dict[str, Any]) -> tuple[Stack, dict[str, Any]]:
    (endpoint,) = data["endpoints"]
    app = build_app(parse_config(data, "test-config.json"), App(context=CDK_CONTEXT))
    assembly = app.synth()
    stack_name = f"AbTest-{endpoint['name']}"
    return app.node.find_child(stack_name), assembly.get_stack_by_name(stack_name).template  # type: ignore[return-value]


@pytest.fixture(scope="module")
def local_storage_app() -> tuple[Stack, dict[str, Any]]:
    """The full example with one variant moved to an instance type with local NVMe storage."""
    data = read_config(FULL_CONFIG)
    challenger = next(v for v in data["endpoints"][0]["variants"] if v["name"] == "challenger")
    challenger["instance_type"] = LOCAL_STORAGE_TYPE
    return synthesized(data)


@pytest.fixture(scope="module")
def awkward_app() -> tuple[Stack, dict[str, Any]]:
    data = read_config()
    first = data["endpoints"][0]["variants"][0]
    data["endpoints"][0]["variants"] = [dict(first, name=name) for name in AWKWARD_NAMES]
    return synthesized(data)


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


# --- KmsKeyId and local storage ------------------------------------------------------------------


def test_kms_key_id_is_left_out_when_any_variant_has_local_storage(local_storage_app):
    """CreateEndpointConfig API reference, KmsKeyId: with any Nitro instance with local storage in
    ProductionVariants, a KmsKeyId makes the call fail. The key is config-wide."""
    stack, template = local_storage_app
    assert instance_storage.has_local_storage(LOCAL_STORAGE_TYPE)
    (config,) = of_type(template, "AWS::SageMaker::EndpointConfig").values()
    assert "KmsKeyId" not in config["Properties"]
    # Data capture's key is a different field, about S3 objects: it stays.
    assert "KmsKeyId" in config["Properties"]["DataCaptureConfig"]
    # full.json names its own key (kms_key_arn): dropping it from the instance storage is a warning.
    Annotations.from_stack(stack).has_warning(
        "*", Match.string_like_regexp(f"KmsKeyId left out.*challenger \\({LOCAL_STORAGE_TYPE}\\).*kms_key_arn")
    )


def test_kms_key_id_stays_when_no_variant_has_local_storage(awkward_app):
    _, template = awkward_app
    (config,) = of_type(template, "AWS::SageMaker::EndpointConfig").values()
    assert not any(
        instance_storage.has_local_storage(v["InstanceType"]) for v in config["Properties"]["ProductionVariants"]
    )
    assert "KmsKeyId" in config["Properties"]


# --- model packages pull from their named repository ------------------------------------------------


def test_package_variant_may_pull_from_exactly_its_image_repository(local_storage_app):
    _, template = local_storage_app
    (role,) = (
        r
        for k, r in of_type(template, "AWS::IAM::Policy").items()
        # the execution role's own policy, not the one that lets it read the rollback alarms
        if "ExecutionRole" in json.dumps(r["Properties"]["Roles"]) and "DeploymentAlarms" not in k
    )
    pulls = [s for s in role["Properties"]["PolicyDocument"]["Statement"] if ECR_PULL & set(_as_list(s["Action"]))]
    assert len(pulls) == 1, pulls
    resources = _as_list(pulls[0]["Resource"])
    assert PACKAGE_REPOSITORY in resources
    assert "*" not in resources


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- alarm windows -------------------------------------------------------------------------------


def _periods(node: Any) -> list[int]:
    if isinstance(node, dict):
        found = [int(node["Period"])] if "Period" in node else []
        return found + [p for value in node.values() for p in _periods(value)]
    if isinstance(node, list):
        return [p for item in node for p in _periods(item)]
    return []


def test_every_alarm_window_is_one_cloudwatch_accepts(local_storage_app, awkward_app):
    """PutMetricAlarm: period × evaluation periods ≤ 86,400 s (periods < 1 h) or 604,800 s; no
    high-resolution periods on SageMaker's per-minute metrics. Covers the SRM alarm as well."""
    checked = 0
    for _, template in (local_storage_app, awkward_app):
        for name, alarm in of_type(template, "AWS::CloudWatch::Alarm").items():
            evaluation_periods = int(alarm["Properties"]["EvaluationPeriods"])
            for period in _periods(alarm["Properties"]):
                assert alarm_limits.period_problem(period) is None, (name, period)
                assert alarm_limits.window_problem(period, evaluation_periods) is None, (name, period)
                checked += 1
    assert checked


@pytest.mark.parametrize("path", SHIPPED_CONFIGS, ids=[p.name for p in SHIPPED_CONFIGS])
def test_every_alarm_of_every_shipped_config_has_a_window_cloudwatch_accepts(path: Path):
    """The same rule on every alarm the shipped configs synthesize: the deployment rollback alarms and live
    quality's "has not succeeded" alarm (full.json), the shadow stage's alarms (shadow.json), and whatever
    alarm is added next. A composite alarm has no window of its own."""
    checked = 0
    for template in synth_templates(json.loads(path.read_text()), str(path)).values():
        for name, alarm in template.find_resources("AWS::CloudWatch::Alarm").items():
            props = alarm["Properties"]
            evaluation_periods = int(props["EvaluationPeriods"])
            periods = _periods(props)
            assert periods, f"{path.name}: {name} has no period"
            for period in periods:
                assert alarm_limits.period_problem(period) is None, (path.name, name, period)
                assert alarm_limits.window_problem(period, evaluation_periods) is None, (path.name, name, period)
                checked += 1
    assert checked


# --- construct IDs against awkward variant names ------------------------------------------------------


def test_awkward_variant_names_synthesize_with_their_documented_parameters(awkward_app):
    _, template = awkward_app
    assert {weight_parameter_name(n) for n in AWKWARD_NAMES} <= set(template["Parameters"])


def test_logical_ids_are_unique_across_template_sections(awkward_app):
    """CloudFormation logical IDs must be unique within the template (parameters, resources, outputs)."""
    _, template = awkward_app
    seen: dict[str, str] = {}
    for section in ("Parameters", "Resources", "Outputs", "Conditions", "Rules"):
        for logical_id in template.get(section, {}):
            assert logical_id not in seen, f"{logical_id} in {seen.get(logical_id)} and {section}"
            seen[logical_id] = section


def _random_names(rng: random.Random, count: int) -> list[str]:
    """Names SageMaker accepts (its VariantName pattern), short ones often: they collide most."""
    rule = service_model.string_rule("VariantName")
    alphabet = "sSWeightParmo0123-"
    names: dict[str, str] = {}
    while len(names) < count:
        name = "".join(rng.choice(alphabet) for _ in range(rng.choice([1, 1, 2, 3, 8, 20])))
        if rule.problem(name) is None:
            names.setdefault(weight_parameter_name(name), name)  # the loader refuses parameter twins
    return list(names.values())


def test_random_variant_names_never_collide_with_construct_ids():
    """Property-style: seeded random batches of valid names; building the stacks must not raise."""
    rng = random.Random(9)
    _, most = service_model.list_bounds("ProductionVariantList")
    data = read_config()
    first = data["endpoints"][0]["variants"][0]
    data["endpoints"] = [
        dict(
            data["endpoints"][0],
            name=f"awkward-{i}",
            variants=[dict(first, name=n) for n in _random_names(rng, most or 10)],
        )
        for i in range(6)
    ]
    app = build_app(parse_config(data, "random-names.json"), App(context=CDK_CONTEXT))
    assert len([c for c in app.node.children if isinstance(c, Stack)]) == 6


def test_package_without_image_repository_is_flagged_at_synth():
    """Nothing to grant on: the warning says why the image may not pull (construct tree only, no synth)."""
    data = read_config()
    data["endpoints"][0]["variants"][1]["model"] = {
        "model_package_arn": "arn:aws:sagemaker:us-east-1:111122223333:model-package/churn/3"
    }
    app = build_app(parse_config(data, "package.json"), App(context=CDK_CONTEXT))
    warnings = [
        str(entry.data)
        for node in app.node.find_all()
        for entry in node.node.metadata
        if entry.type == "aws:cdk:warning"
    ]
    assert any("Variant2" in w and "image_repository_arn" in w for w in warnings), warnings
