"""AWS's own rules, checked by the loader from the one table or service model each lives in.

Each test names the documented rule it encodes. The values come from the tables the loader reads
(botocore's service models, ``instance_storage``, ``alarm_limits``), so a botocore upgrade that
changes a rule changes loader and tests together.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.config import ConfigError, alarm_limits, instance_storage, load_config, parse_config, service_model
from tests.conftest import read_config

SOURCE = "config/under-test.json"


def load(data: dict[str, Any]) -> Any:
    return parse_config(data, SOURCE)


def problems(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, SOURCE)
    return str(caught.value)


def assert_located(message: str, *parts: str) -> None:
    for part in (SOURCE, *parts):
        assert part in message, f"{part!r} missing from:\n{message}"


def variant(data: dict[str, Any], index: int = 1) -> dict[str, Any]:
    return data["endpoints"][0]["variants"][index]


# --- SageMaker's service model (botocore) ----------------------------------------------------


def test_the_rules_are_read_from_the_model_botocore_itself_loads():
    from botocore.loaders import Loader

    for service in ("sagemaker", "ecr", "cloudwatch"):
        assert service_model.shapes(service) == Loader().load_service_model(service, "service-2")["shapes"], service


def test_names_follow_sagemakers_service_model_up_to_its_maximum_length():
    """CreateEndpoint EndpointName / ProductionVariant VariantName: pattern and max length from botocore."""
    for shape, set_name in (
        ("EndpointName", lambda d, n: d["endpoints"][0].update(name=n)),
        ("VariantName", lambda d, n: variant(d).update(name=n)),
    ):
        longest = service_model.string_rule(shape).max_length
        assert longest == 63
        data = read_config()
        set_name(data, "a" + "-b" * ((longest - 1) // 2))
        load(data)
        data = read_config()
        set_name(data, "a" * (longest + 1))
        assert_located(problems(data), "name", f"at most {longest} characters", shape)


def test_every_sagemaker_hosting_instance_type_is_accepted():
    """ProductionVariantInstanceType: the enum in botocore, not a copied ml.* regex (which refused
    e.g. ml.p6-b200.48xlarge)."""
    data = read_config()
    for instance_type in sorted(service_model.enum_values("ProductionVariantInstanceType")):
        variant(data)["instance_type"] = instance_type
        assert load(data).endpoints[0].variants[1].instance_type == instance_type


def test_instance_type_outside_sagemakers_enum_is_refused_with_the_botocore_version():
    data = read_config()
    variant(data)["instance_type"] = "ml.m5.xxlarge"
    assert_located(problems(data), 'variant "Variant2"', "instance_type", service_model.BOTOCORE_VERSION)


def test_numeric_ranges_come_from_the_service_model():
    """InitialTaskCount min, SamplingPercentage 0..100, ProductionVariantList max 10."""
    low_count, _ = service_model.numeric_range("InitialTaskCount")
    data = read_config()
    variant(data)["initial_instance_count"] = int(low_count or 0) - 1
    assert_located(problems(data), "initial_instance_count", f">= {int(low_count or 0)}")

    low, high = service_model.numeric_range("SamplingPercentage")
    for bad in (int(low or 0) - 1, int(high or 0) + 1):
        data = read_config()
        data["endpoints"][0]["data_capture"] = {"sampling_percentage": bad, "destination_s3_uri": "s3://b/c/"}
        assert_located(problems(data), "data_capture", "sampling_percentage")

    _, most = service_model.list_bounds("ProductionVariantList")
    data = read_config()
    data["endpoints"][0]["variants"] = [dict(variant(data, 0), name=f"V{i}") for i in range((most or 0) + 1)]
    assert_located(problems(data), "variants", f"1 to {most} variants")


def test_environment_is_checked_against_sagemakers_environment_map():
    _, most = service_model.list_bounds("EnvironmentMap")
    data = read_config()
    variant(data)["environment"] = {f"V{i}": "x" for i in range((most or 0) + 1)}
    assert_located(problems(data), "environment", f"at most {most} variables")
    data = read_config()
    longest = service_model.string_rule("EnvironmentValue").max_length or 0
    variant(data)["environment"] = {"LONG": "x" * (longest + 1)}
    assert_located(problems(data), "environment", "LONG", f"at most {longest} characters")


# --- names SageMaker compares without case ---------------------------------------------------


def test_endpoint_names_differing_only_in_case_are_refused():
    """CreateEndpoint, EndpointName: "The name is case-insensitive in CreateEndpoint"."""
    assert "case-insensitive" in service_model.member_documentation("CreateEndpointInput", "EndpointName")
    data = read_config()
    twin = json.loads(json.dumps(data["endpoints"][0]))
    twin["name"] = data["endpoints"][0]["name"].upper()
    data["endpoints"].append(twin)
    assert_located(problems(data), "endpoints", '"churn-ab" and "CHURN-AB" differ only in case')


# Variant names: neither the API reference nor botocore's model says they are case-insensitive
# (ProductionVariant.VariantName: "The name of the production variant."), so Variant1 and variant1
# stay two variants; their weight parameters (WeightVariant1, Weightvariant1) differ as well.


# --- NaN and Infinity --------------------------------------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_json_literals_are_located_errors(tmp_path: Path, literal: str):
    """Python's json reads NaN/Infinity; JSON (RFC 8259) has no such numbers, and Node's parser in
    the CDK CLI fails on a template that carries them."""
    text = json.dumps(read_config(), indent=2).replace('"initial_weight": 1', f'"initial_weight": {literal}', 1)
    path = tmp_path / "weights.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    for part in (str(path), 'endpoint "churn-ab"', 'variant "Variant1"', "initial_weight", "must be a finite number"):
        assert part in message, message


@pytest.mark.parametrize("key", ["error_rate_percent", "p99_latency_ms"])
def test_non_finite_monitoring_thresholds_are_refused(key: str):
    data = read_config()
    data["endpoints"][0]["monitoring"] = {key: float("inf")}
    assert_located(problems(data), "monitoring", key, "finite")


# --- CloudWatch alarm windows ----------------------------------------------------------------


def test_the_alarm_limits_match_putmetricalarms_documentation():
    """The numbers in alarm_limits are the ones PutMetricAlarm documents (botocore's copy of the text)."""
    text = service_model.member_documentation("PutMetricAlarmInput", "Period", "cloudwatch")
    assert f"{alarm_limits.MAX_WINDOW_SECONDS:,}" in text
    assert f"{alarm_limits.MAX_WINDOW_SHORT_PERIODS_SECONDS:,}" in text
    assert f"({alarm_limits.ONE_HOUR_SECONDS:,} seconds)" in text
    assert "10, 20, 30, and any multiple of 60" in text
    assert alarm_limits.HIGH_RESOLUTION_PERIODS == (10, 20, 30)


@pytest.mark.parametrize(
    ("period", "periods", "allowed"),
    [
        (60, alarm_limits.MAX_WINDOW_SHORT_PERIODS_SECONDS // 60, True),
        (60, alarm_limits.MAX_WINDOW_SHORT_PERIODS_SECONDS // 60 + 1, False),
        (3_540, alarm_limits.MAX_WINDOW_SHORT_PERIODS_SECONDS // 3_540 + 1, False),
        (3_600, alarm_limits.MAX_WINDOW_SECONDS // 3_600, True),
        (3_600, alarm_limits.MAX_WINDOW_SECONDS // 3_600 + 1, False),
    ],
)
def test_alarm_windows_beyond_cloudwatchs_limit_are_refused(period: int, periods: int, allowed: bool):
    """period × evaluation periods ≤ 86,400 s for periods under an hour, ≤ 604,800 s otherwise."""
    data = read_config()
    data["endpoints"][0]["monitoring"] = {"period_seconds": period, "evaluation_periods": periods}
    if allowed:
        assert load(data).endpoints[0].monitoring.evaluation_periods == periods
    else:
        assert_located(problems(data), 'endpoint "churn-ab"', "monitoring", f"{period * periods} s exceeds")


@pytest.mark.parametrize("period", alarm_limits.HIGH_RESOLUTION_PERIODS)
def test_high_resolution_periods_are_refused_because_sagemaker_metrics_are_per_minute(period: int):
    data = read_config()
    data["endpoints"][0]["monitoring"] = {"period_seconds": period}
    assert_located(problems(data), "monitoring", "period_seconds", "high-resolution", "per minute")


# --- instances with local storage --------------------------------------------------------------


def test_every_hosting_instance_family_is_classified_once():
    """A botocore upgrade with a new family fails here until someone looks its storage up."""
    families = {instance_storage.instance_family(t) for t in service_model.enum_values("ProductionVariantInstanceType")}
    tables = (
        instance_storage.LOCAL_STORAGE_FAMILIES,
        instance_storage.UNCONFIRMED_FAMILIES,
        instance_storage.EBS_ONLY_FAMILIES,
    )
    for i, table in enumerate(tables):
        for other in tables[i + 1 :]:
            assert not table & other, table & other
    unclassified = families - set().union(*tables)
    assert not unclassified, f"look these up in EC2's instance store tables: {sorted(unclassified)}"


@pytest.mark.parametrize(
    ("instance_type", "local"),
    # The families the CreateEndpointConfig KmsKeyId note and the training storage guide name.
    [
        ("ml.g4dn.xlarge", True),
        ("ml.g5.2xlarge", True),
        ("ml.g6.xlarge", True),
        ("ml.p4d.24xlarge", True),
        ("ml.p5.48xlarge", True),
        ("ml.m5d.large", True),
        ("ml.c5d.xlarge", True),
        ("ml.r5d.large", True),
        ("ml.m5.xlarge", False),
        ("ml.c5.xlarge", False),
        ("ml.p2.xlarge", False),
    ],
)
def test_documented_local_storage_families(instance_type: str, local: bool):
    assert instance_storage.has_local_storage(instance_type) is local


# --- model packages: the image repository --------------------------------------------------------

PACKAGE = "arn:aws:sagemaker:us-east-1:111122223333:model-package/churn/3"
REPOSITORY = "arn:aws:ecr:us-east-1:111122223333:repository/team/churn-inference"


def test_package_image_repository_is_parsed():
    data = read_config()
    variant(data)["model"] = {"model_package_arn": PACKAGE, "image_repository_arn": REPOSITORY}
    assert load(data).endpoints[0].variants[1].model.image_repository_arn == REPOSITORY


@pytest.mark.parametrize(
    "arn",
    [
        "111122223333.dkr.ecr.us-east-1.amazonaws.com/churn",
        "arn:aws:ecr:us-east-1:111122223333:repository/Churn",
        "arn:aws:s3:::bucket",
    ],
)
def test_package_image_repository_must_be_an_ecr_repository_arn(arn: str):
    data = read_config()
    variant(data)["model"] = {"model_package_arn": PACKAGE, "image_repository_arn": arn}
    assert_located(problems(data), 'variant "Variant2"', "model", "image_repository_arn")


def test_image_repository_only_applies_to_packages():
    data = read_config()
    variant(data)["model"]["image_repository_arn"] = REPOSITORY
    assert_located(problems(data), 'variant "Variant2"', "image_repository_arn", "only applies to model_package_arn")
