"""The config loader: the default and example configs load; every bad input is named precisely."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.config import (
    BuiltinImage,
    ConfigError,
    ContainerModel,
    EcrImage,
    PackageModel,
    load_config,
    parse_config,
    weight_parameter_name,
)
from tests.conftest import DEFAULT_CONFIG, FULL_CONFIG, SHIPPED_CONFIGS, read_config

SOURCE = "config/under-test.json"


def error_for(mutate: Callable[[dict[str, Any]], None]) -> str:
    """The error message for the default config after ``mutate``; fails if it still loads."""
    data = read_config()
    mutate(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, SOURCE)
    return str(caught.value)


def variant(data: dict[str, Any], index: int = 1) -> dict[str, Any]:
    return data["endpoints"][0]["variants"][index]


def assert_located(message: str, *parts: str) -> None:
    """The message names the file and every given part (endpoint, variant, field)."""
    for part in (SOURCE, *parts):
        assert part in message, f"{part!r} missing from:\n{message}"


# --- what loads -----------------------------------------------------------------------------


def test_default_config_is_the_classic_two_variant_example():
    config = load_config(DEFAULT_CONFIG)
    (endpoint,) = config.endpoints
    assert [v.name for v in endpoint.variants] == ["Variant1", "Variant2"]
    assert [v.model.image for v in endpoint.variants] == [  # type: ignore[union-attr]
        BuiltinImage("xgboost", "0.90-1"),
        BuiltinImage("xgboost", "0.90-2"),
    ]
    assert {(v.instance_type, v.initial_instance_count, v.initial_weight) for v in endpoint.variants} == {
        ("ml.m5.xlarge", 1, 1.0)
    }


def test_full_example_loads_every_option():
    (endpoint,) = load_config(FULL_CONFIG).endpoints
    models = {v.name: v.model for v in endpoint.variants}
    assert isinstance(models["champion"], ContainerModel)
    assert isinstance(models["challenger"], ContainerModel)
    assert isinstance(models["challenger"].image, EcrImage)
    assert models["challenger"].image.repository == "fraud-model"
    assert isinstance(models["registry-candidate"], PackageModel)
    assert endpoint.vpc and endpoint.data_capture and endpoint.network_isolation and endpoint.kms_key_arn
    champion = endpoint.variants[0]
    assert champion.autoscaling and champion.autoscaling.max_capacity == 6


def test_every_shipped_config_loads():
    for path in SHIPPED_CONFIGS:
        assert load_config(path).endpoints, path


def test_loaded_config_is_immutable():
    config = load_config(DEFAULT_CONFIG)
    with pytest.raises(AttributeError):
        config.endpoints[0].variants[0].initial_weight = 5  # type: ignore[misc]


def test_weight_parameter_names_can_be_guessed_from_the_variant_name():
    assert weight_parameter_name("Variant1") == "WeightVariant1"
    assert weight_parameter_name("model-b") == "Weightmodelb"


# --- file-level problems ---------------------------------------------------------------------


def test_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read file"):
        load_config(tmp_path / "nope.json")


def test_invalid_json_names_line_and_column(tmp_path: Path):
    path = tmp_path / "broken.json"
    path.write_text('{"endpoints": [\n  {"name": "x",}\n]}')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and "line 2" in str(caught.value)


def test_unknown_top_level_key():
    assert_located(error_for(lambda d: d.update(endpoint=[])), "endpoint", "unknown key")


def test_no_endpoints():
    assert_located(error_for(lambda d: d.update(endpoints=[])), "endpoints", "non-empty list")


# --- endpoint-level problems -----------------------------------------------------------------


def test_unknown_endpoint_key():
    message = error_for(lambda d: d["endpoints"][0].update(instance_type="ml.m5.large"))
    assert_located(message, 'endpoint "churn-ab"', "instance_type", "unknown key")


def test_duplicate_endpoint_names():
    message = error_for(lambda d: d["endpoints"].append(read_config()["endpoints"][0]))
    assert_located(message, "endpoints", 'duplicate endpoint name "churn-ab"')


@pytest.mark.parametrize("name", ["-churn", "churn_ab", "churn ab", "a" * 64])
def test_endpoint_name_breaking_sagemaker_rules(name: str):
    message = error_for(lambda d: d["endpoints"][0].update(name=name))
    assert_located(message, "name", "SageMaker's name rule")


def test_empty_endpoint_name():
    assert_located(error_for(lambda d: d["endpoints"][0].update(name="")), "endpoints[0]", "name", "non-empty")


def test_zero_variants():
    message = error_for(lambda d: d["endpoints"][0].update(variants=[]))
    assert_located(message, 'endpoint "churn-ab"', "variants", "1 to 10 variants (got 0)")


def test_more_than_ten_variants():
    def eleven(d: dict[str, Any]) -> None:
        template = d["endpoints"][0]["variants"][0]
        d["endpoints"][0]["variants"] = [dict(template, name=f"V{i}") for i in range(11)]

    assert_located(error_for(eleven), 'endpoint "churn-ab"', "variants", "(got 11)")


def test_kms_key_that_is_not_an_arn():
    message = error_for(lambda d: d["endpoints"][0].update(kms_key_arn="alias/my-key"))
    assert_located(message, 'endpoint "churn-ab"', "kms_key_arn", "KMS key ARN")


@pytest.mark.parametrize("sampling", [-1, 101, 50.5])
def test_data_capture_sampling_outside_0_to_100(sampling: Any):
    capture = {"sampling_percentage": sampling, "destination_s3_uri": "s3://bucket/capture/"}
    message = error_for(lambda d: d["endpoints"][0].update(data_capture=capture))
    assert_located(message, 'endpoint "churn-ab"', "data_capture", "sampling_percentage")


def test_data_capture_destination_not_s3():
    capture = {"sampling_percentage": 10, "destination_s3_uri": "https://bucket/capture/"}
    message = error_for(lambda d: d["endpoints"][0].update(data_capture=capture))
    assert_located(message, "data_capture", "destination_s3_uri", "s3://")


def test_vpc_with_bad_subnet_and_no_security_groups():
    vpc = {"subnet_ids": ["vpc-123"], "security_group_ids": []}
    message = error_for(lambda d: d["endpoints"][0].update(vpc=vpc))
    assert_located(message, "vpc", "subnet_ids", "security_group_ids")


def test_network_isolation_must_be_boolean():
    message = error_for(lambda d: d["endpoints"][0].update(network_isolation="yes"))
    assert_located(message, "network_isolation", "true or false")


# --- variant-level problems ------------------------------------------------------------------


def test_unknown_variant_key():
    message = error_for(lambda d: variant(d).update(weight=3))
    assert_located(message, 'endpoint "churn-ab"', 'variant "Variant2"', "weight", "unknown key")


def test_missing_variant_field():
    message = error_for(lambda d: variant(d).pop("instance_type"))
    assert_located(message, 'variant "Variant2"', "instance_type", "is required")


def test_negative_weight():
    message = error_for(lambda d: variant(d).update(initial_weight=-1))
    assert_located(message, 'endpoint "churn-ab"', 'variant "Variant2"', "initial_weight", ">= 0", "-1")


def test_weight_that_is_not_a_number():
    message = error_for(lambda d: variant(d).update(initial_weight="50"))
    assert_located(message, 'variant "Variant2"', "initial_weight", "must be a number")


def test_all_weights_zero():
    def zero(d: dict[str, Any]) -> None:
        for v in d["endpoints"][0]["variants"]:
            v["initial_weight"] = 0

    assert_located(error_for(zero), 'endpoint "churn-ab"', "variants", "initial_weight is 0 for every variant")


def test_one_zero_weight_is_fine():
    data = read_config()
    variant(data)["initial_weight"] = 0
    assert parse_config(data, SOURCE).endpoints[0].variants[1].initial_weight == 0


def test_duplicate_variant_names():
    message = error_for(lambda d: variant(d).update(name="Variant1"))
    assert_located(message, 'endpoint "churn-ab"', "variants", 'duplicate variant name "Variant1"')


def test_variant_names_colliding_in_their_weight_parameter():
    def collide(d: dict[str, Any]) -> None:
        variant(d, 0)["name"] = "model-b"
        variant(d, 1)["name"] = "modelb"

    assert_located(error_for(collide), "variants", "Weightmodelb")


@pytest.mark.parametrize("name", ["Variant_2", "-Variant2", "Variant2-", "V" * 64])
def test_variant_name_breaking_sagemaker_rules(name: str):
    message = error_for(lambda d: variant(d).update(name=name))
    assert_located(message, 'endpoint "churn-ab"', "name", "SageMaker's name rule")


@pytest.mark.parametrize("url", ["https://bucket/model.tar.gz", "bucket/model.tar.gz", "s3://bucket", "s3://bucket/"])
def test_model_data_not_an_s3_uri(url: str):
    message = error_for(lambda d: variant(d)["model"].update(model_data_url=url))
    assert_located(message, 'variant "Variant2"', "model", "model_data_url", "s3://")


@pytest.mark.parametrize("instance_type", ["m5.xlarge", "ml.m5", "ML.M5.XLARGE", "t3.micro", "ml.m5.huge"])
def test_instance_type_not_a_sagemaker_hosting_type(instance_type: str):
    message = error_for(lambda d: variant(d).update(instance_type=instance_type))
    assert_located(message, 'variant "Variant2"', "instance_type", "ProductionVariantInstanceType")


@pytest.mark.parametrize("count", [0, -1, 1.5, True])
def test_instance_count_below_one_or_not_whole(count: Any):
    message = error_for(lambda d: variant(d).update(initial_instance_count=count))
    assert_located(message, 'variant "Variant2"', "initial_instance_count")


def test_autoscaling_min_above_max():
    scaling = {"min_capacity": 3, "max_capacity": 2, "target_invocations_per_instance": 100}
    message = error_for(lambda d: variant(d).update(autoscaling=scaling))
    assert_located(message, 'variant "Variant2"', "autoscaling", "min_capacity (3) must be <= max_capacity (2)")


def test_autoscaling_target_must_be_positive():
    scaling = {"min_capacity": 1, "max_capacity": 2, "target_invocations_per_instance": 0}
    message = error_for(lambda d: variant(d).update(autoscaling=scaling))
    assert_located(message, "autoscaling", "target_invocations_per_instance", "> 0")


def test_initial_count_outside_autoscaling_range():
    scaling = {"min_capacity": 2, "max_capacity": 4, "target_invocations_per_instance": 100}
    message = error_for(lambda d: variant(d).update(autoscaling=scaling))
    assert_located(message, 'variant "Variant2"', "initial_instance_count", "(2..4)")


def test_both_container_and_model_package():
    arn = "arn:aws:sagemaker:us-east-1:111122223333:model-package/churn/3"
    message = error_for(lambda d: variant(d)["model"].update(model_package_arn=arn))
    assert_located(message, 'variant "Variant2"', "model", "exactly one of", "(got both)")


def test_neither_container_nor_model_package():
    message = error_for(lambda d: variant(d).update(model={}))
    assert_located(message, 'variant "Variant2"', "model", "exactly one of", "(got neither)")


def test_container_without_model_data():
    message = error_for(lambda d: variant(d)["model"].pop("model_data_url"))
    assert_located(message, 'variant "Variant2"', "model_data_url", "is required")


def test_image_uri_and_algorithm_together():
    uri = "111122223333.dkr.ecr.us-east-1.amazonaws.com/churn:1"
    message = error_for(lambda d: variant(d)["model"].update(image_uri=uri))
    assert_located(message, 'variant "Variant2"', "model", "not both")


@pytest.mark.parametrize("uri", ["churn:1", "111122223333.dkr.ecr.us-east-1.amazonaws.com/churn", "docker.io/x:1"])
def test_image_uri_not_an_ecr_image(uri: str):
    def use(d: dict[str, Any]) -> None:
        model = variant(d)["model"]
        del model["algorithm"], model["version"]
        model["image_uri"] = uri

    assert_located(error_for(use), 'variant "Variant2"', "image_uri", "ECR image URI")


def test_unknown_builtin_algorithm():
    message = error_for(lambda d: variant(d)["model"].update(algorithm="lightgbm"))
    assert_located(message, 'variant "Variant2"', "algorithm", "unknown built-in algorithm", "xgboost")


def test_unknown_builtin_version():
    message = error_for(lambda d: variant(d)["model"].update(version="9.9-9"))
    assert_located(message, 'variant "Variant2"', "version", "unknown xgboost version", "0.90-1")


def test_model_package_arn_malformed():
    message = error_for(lambda d: variant(d).update(model={"model_package_arn": "churn/3"}))
    assert_located(message, 'variant "Variant2"', "model_package_arn", "model package ARN")


def test_environment_values_must_be_strings():
    message = error_for(lambda d: variant(d).update(environment={"WORKERS": 2}))
    assert_located(message, 'variant "Variant2"', "environment", "WORKERS", "must be a string")


def test_every_problem_is_reported_at_once():
    def many(d: dict[str, Any]) -> None:
        variant(d, 0)["initial_weight"] = -1
        variant(d, 1)["instance_type"] = "m5.large"
        d["endpoints"][0]["colour"] = "blue"

    message = error_for(many)
    assert "3 problem(s)" in message
    assert 'variant "Variant1"' in message and 'variant "Variant2"' in message


def test_unnamed_entries_are_located_by_index():
    message = error_for(lambda d: variant(d).pop("name"))
    assert_located(message, 'endpoint "churn-ab"', "variants[1]", "name", "is required")


def test_config_error_carries_the_individual_problems():
    data = read_config()
    variant(data)["initial_weight"] = -1
    with pytest.raises(ConfigError) as caught:
        parse_config(data, SOURCE)
    assert caught.value.source == SOURCE
    assert len(caught.value.problems) == 1
    assert json.dumps("Variant2") in caught.value.problems[0]


# --- monitoring ----------------------------------------------------------------------------------


def test_monitoring_defaults_apply_without_a_monitoring_section():
    monitoring = load_config(DEFAULT_CONFIG).endpoints[0].monitoring
    assert (monitoring.error_rate_percent, monitoring.p99_latency_ms, monitoring.period_seconds) == (5.0, 1000.0, 60)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("error_rate_percent", -1, "> 0"),
        ("p99_latency_ms", 0, "> 0"),
        ("period_seconds", 0, "multiple of 60"),
        ("period_seconds", 90, "multiple of 60"),
        ("evaluation_periods", 0, ">= 1"),
        ("datapoints_to_alarm", 0, ">= 1"),
        ("min_invocations", -5, ">= 0"),
        ("srm_p_value", 0, "between 0 and 1"),
        ("srm_schedule_minutes", 0, ">= 1"),
        ("notification_emails", ["not-an-address"], "e-mail addresses"),
        ("alarm_email", "x@example.com", "unknown key"),
    ],
)
def test_bad_monitoring_settings_are_named(key: str, value: Any, problem: str):
    message = error_for(lambda d: d["endpoints"][0].update(monitoring={key: value}))
    assert_located(message, 'endpoint "churn-ab"', "monitoring", key, problem)


def test_datapoints_to_alarm_cannot_exceed_evaluation_periods():
    monitoring = {"evaluation_periods": 2, "datapoints_to_alarm": 3}
    message = error_for(lambda d: d["endpoints"][0].update(monitoring=monitoring))
    assert_located(message, "monitoring", "datapoints_to_alarm (3) must be <= evaluation_periods (2)")


def test_evaluation_bucket_name_must_be_an_s3_bucket_name():
    message = error_for(lambda d: d["endpoints"][0].update(evaluation={"report_bucket_name": "My_Bucket"}))
    assert_located(message, 'endpoint "churn-ab"', "evaluation", "report_bucket_name", "S3 bucket name")


# --- how long captures and access logs are kept ----------------------------------------------------


def with_capture_and_window(retention: int | None, lookback: int | None, enabled: bool = True) -> dict[str, Any]:
    data = read_config()
    endpoint = data["endpoints"][0]
    endpoint["data_capture"] = {"enabled": enabled} | ({} if retention is None else {"retention_days": retention})
    endpoint["live_quality"] = {} if lookback is None else {"lookback_days": lookback}
    return data


def test_captures_are_kept_as_long_as_the_longest_window_plus_a_day_by_default():
    (endpoint,) = parse_config(with_capture_and_window(None, 30), SOURCE).endpoints
    assert endpoint.data_capture.retention_days is None
    assert endpoint.capture_retention_days == 31
    (default,) = parse_config(read_config(), SOURCE).endpoints
    assert default.capture_retention_days == default.live_quality.lookback_days + 1


def test_a_retention_that_covers_the_window_is_kept_as_given():
    (endpoint,) = parse_config(with_capture_and_window(8, 7), SOURCE).endpoints
    assert endpoint.capture_retention_days == 8
    (longer,) = parse_config(with_capture_and_window(400, None), SOURCE).endpoints
    assert longer.capture_retention_days == 400


@pytest.mark.parametrize(("retention", "lookback", "least"), [(7, 7, 8), (1, None, 43), (29, 30, 31)])
def test_captures_that_would_expire_inside_the_window_are_refused_where_they_are_set(
    retention: int, lookback: int | None, least: int
):
    with pytest.raises(ConfigError) as caught:
        parse_config(with_capture_and_window(retention, lookback), SOURCE)
    (problem,) = caught.value.problems
    assert_located(problem, 'endpoint "churn-ab" > data_capture > retention_days', f"lookback_days + 1 ({least})")
    assert f"(got {retention})" in problem


def test_retention_is_not_compared_with_the_window_when_capture_is_off():
    (endpoint,) = parse_config(with_capture_and_window(1, 30, enabled=False), SOURCE).endpoints
    assert not endpoint.data_capture.enabled


@pytest.mark.parametrize(
    ("section", "key", "value", "problem"),
    [
        ("data_capture", "retention_days", 0, "must be >= 1 (got 0)"),
        ("data_capture", "retention_days", 1.5, "must be an integer"),
        ("evaluation", "access_log_retention_days", 0, "must be >= 1 (got 0)"),
        ("evaluation", "access_log_retention_days", "90", "must be an integer"),
    ],
)
def test_retention_days_are_whole_positive_days(section: str, key: str, value: Any, problem: str):
    message = error_for(lambda d: d["endpoints"][0].setdefault(section, {}).update({key: value}))
    assert_located(message, f'endpoint "churn-ab" > {section} > {key}', problem)


def test_access_logs_are_kept_a_year_by_default():
    (endpoint,) = parse_config(read_config(), SOURCE).endpoints
    assert endpoint.evaluation.access_log_retention_days == 365
