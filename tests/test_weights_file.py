"""scripts/weights_file.py: the pipeline's weights file, validated against the app config, turned into
the `cdk deploy --parameters` argv, and rewritten one endpoint at a time. Pure: no AWS, no CLI.

Every refusal is checked for the location it names (file, environment, endpoint, variant).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from scripts.weights_file import (
    CDK,
    DEFAULT_WEIGHTS_FILE,
    WeightsFileError,
    deploy_command,
    format_weight,
    format_weights_file,
    load_every_environment,
    load_weights_file,
    parse_weight_assignments,
    record_weights,
)
from tests.conftest import ROOT

TWO_ENDPOINTS = "config/examples/two-endpoints.json"  # churn-ab (Variant1, Variant2), upsell-ab (control, treatment)


def weights_file(tmp_path: Path, data: Any, name: str = "weights.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def one_environment(endpoints: Any, config: Any = "config/default.json", environment: str = "prod") -> dict[str, Any]:
    return {"environments": {environment: {"config": config, "endpoints": endpoints}}}


def refusal(path: Path, environment: str = "prod") -> list[str]:
    with pytest.raises(WeightsFileError) as caught:
        load_weights_file(path, environment)
    assert all(problem.startswith(str(path)) or problem.startswith("  ") for problem in caught.value.problems)
    return caught.value.problems


# --- the committed file ------------------------------------------------------------------------


def test_the_committed_file_is_valid_for_every_environment():
    environments = load_every_environment(DEFAULT_WEIGHTS_FILE)
    assert set(environments) == {"staging", "prod"}
    for loaded in environments.values():
        assert [e.endpoint for e in loaded.endpoints] == ["churn-ab"]
        assert dict(loaded.endpoints[0].weights) == {"Variant1": 1.0, "Variant2": 1.0}


def test_the_committed_file_is_in_the_canonical_layout_so_a_recorded_change_is_a_one_line_diff():
    text = DEFAULT_WEIGHTS_FILE.read_text()
    assert format_weights_file(json.loads(text)) == text


# --- reading -----------------------------------------------------------------------------------


def test_weights_come_in_the_configs_variant_order_with_stack_and_parameter_names(tmp_path):
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant2": 75, "Variant1": 25}}))
    loaded = load_weights_file(path, "prod")
    (entry,) = loaded.endpoints
    assert (loaded.environment, loaded.config_path, loaded.source) == ("prod", "config/default.json", str(path))
    assert list(entry.weights.items()) == [("Variant1", 25.0), ("Variant2", 75.0)]
    assert entry.stack_name == "AbTest-churn-ab"
    assert entry.parameters == {"WeightVariant1": 25.0, "WeightVariant2": 75.0}


def test_the_config_path_is_relative_to_the_project_root_not_the_files_folder(tmp_path):
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": 1, "Variant2": 1}}))
    assert load_weights_file(path, "prod").config.source == str(ROOT / "config" / "default.json")
    absolute = weights_file(
        tmp_path, one_environment({"churn-ab": {"Variant1": 1, "Variant2": 1}}, str(ROOT / "config/default.json"))
    )
    assert load_weights_file(absolute, "prod").config_path == str(ROOT / "config/default.json")


def test_a_weight_may_be_a_fraction_and_zero_drains_a_variant(tmp_path):
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": 0, "Variant2": 0.5}}))
    assert dict(load_weights_file(path, "prod").endpoints[0].weights) == {"Variant1": 0.0, "Variant2": 0.5}


def test_a_broken_other_environment_does_not_block_this_one_but_load_every_environment_reports_it(tmp_path):
    data = one_environment({"churn-ab": {"Variant1": 1, "Variant2": 1}})
    data["environments"]["staging"] = {"config": "config/default.json", "endpoints": {"churn-ab": {"Variant1": -1}}}
    path = weights_file(tmp_path, data)
    assert load_weights_file(path, "prod").endpoints[0].weights["Variant1"] == 1.0
    with pytest.raises(WeightsFileError) as caught:
        load_every_environment(path)
    assert any(
        'environment "staging" > endpoint "churn-ab" > variant "Variant1": must be >= 0' in p
        for p in caught.value.problems
    )


# --- refusals ------------------------------------------------------------------------------------


def test_unknown_environment(tmp_path):
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": 1, "Variant2": 1}}))
    assert refusal(path, "dev") == [f'{path}: no environment "dev" (environments: prod)']


def test_unknown_endpoint(tmp_path):
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": 1, "Variant2": 1}, "upsell": {"a": 1}}))
    assert refusal(path) == [
        f'{path}: environment "prod" > endpoint "upsell": '
        "not an endpoint of config/default.json (its endpoints: churn-ab)"
    ]


def test_unknown_variant(tmp_path):
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": 1, "Variant2": 1, "Variant3": 1}}))
    assert refusal(path) == [
        f'{path}: environment "prod" > endpoint "churn-ab" > variant "Variant3": not a variant of endpoint '
        "churn-ab in config/default.json (its variants: Variant1, Variant2)"
    ]


def test_an_endpoint_with_a_shadow_has_no_weights_to_record(tmp_path):
    """Its stack declares no weight parameters: --parameters Weight<name> would fail cdk deploy."""
    path = weights_file(
        tmp_path, one_environment({"churn-shadow": {"Current": 1}}, config="config/examples/shadow.json")
    )
    (problem,) = refusal(path)
    assert 'endpoint "churn-shadow"' in problem and "shadow variant Candidate" in problem
    assert "no weight parameters" in problem


@pytest.mark.parametrize(
    ("value", "shown"),
    [("25", '"25"'), (True, "True"), (None, "nothing"), ([25], "list [25]"), ({"w": 1}, 'dict {"w": 1}')],
)
def test_a_weight_that_is_not_a_json_number(tmp_path, value, shown):
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": value, "Variant2": 1}}))
    assert refusal(path) == [
        f'{path}: environment "prod" > endpoint "churn-ab" > variant "Variant1": must be a number (got {shown})'
    ]


def test_a_negative_weight(tmp_path):
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": -0.5, "Variant2": 1}}))
    assert refusal(path) == [
        f'{path}: environment "prod" > endpoint "churn-ab" > variant "Variant1": must be >= 0 (got -0.5)'
    ]


@pytest.mark.parametrize(
    ("literal", "shown"), [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"), ("1e400", "Infinity")]
)
def test_nan_and_infinite_weights(tmp_path, literal, shown):
    """JSON has no NaN or Infinity, but Python's json module reads them (and 1e400 as infinity)."""
    text = json.dumps(one_environment({"churn-ab": {"Variant1": "LITERAL", "Variant2": 1}}))
    path = weights_file(tmp_path, text.replace('"LITERAL"', literal))
    assert refusal(path) == [
        f'{path}: environment "prod" > endpoint "churn-ab" > variant "Variant1": must be a finite number (got {shown})'
    ]


def test_an_all_zero_endpoint(tmp_path):
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": 0, "Variant2": 0.0}}))
    assert refusal(path) == [
        f'{path}: environment "prod" > endpoint "churn-ab": '
        "all weights are 0; at least one variant must keep a weight above 0"
    ]


def test_a_variant_of_the_config_missing_from_the_file_is_an_error_not_a_kept_value(tmp_path):
    """cdk deploy would pass UsePreviousValue for the unnamed parameter: a weight the file does not show."""
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": 1}}))
    (problem,) = refusal(path)
    assert problem.startswith(f'{path}: environment "prod" > endpoint "churn-ab" > variant "Variant2": missing;')
    assert "cdk deploy would keep the weight it last deployed" in problem
    assert "its initial_weight there is 1" in problem


def test_every_problem_is_reported_at_once(tmp_path):
    data = {
        "environments": {
            "prod": {
                "config": TWO_ENDPOINTS,
                "endpoints": {"churn-ab": {"Variant1": -1, "Variant9": 1}, "upsell-ab": {"control": 0, "treatment": 0}},
            }
        }
    }
    problems = refusal(weights_file(tmp_path, data))
    assert len(problems) == 4  # Variant1 negative, Variant9 unknown, Variant2 missing, upsell-ab all zero
    assert any('"Variant1": must be >= 0' in p for p in problems)
    assert any('"Variant9": not a variant' in p for p in problems)
    assert any('"Variant2": missing' in p for p in problems)
    assert any('"upsell-ab": all weights are 0' in p for p in problems)


def test_an_invalid_config_is_refused_with_the_configs_own_problems(tmp_path):
    config = json.loads((ROOT / "config/default.json").read_text())
    config["endpoints"][0]["variants"][1]["initial_weight"] = -3
    config_path = tmp_path / "bad-config.json"
    config_path.write_text(json.dumps(config))
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": 1, "Variant2": 1}}, str(config_path)))
    problems = refusal(path)
    assert problems[0] == f'{path}: environment "prod" > config: {config_path} is not a valid config:'
    assert 'endpoint "churn-ab" > variant "Variant2" > initial_weight: must be >= 0' in problems[1]


def test_a_missing_config_file(tmp_path):
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": 1}}, "config/nope.json"))
    problems = refusal(path)
    assert problems[0] == f'{path}: environment "prod" > config: config/nope.json is not a valid config:'
    assert "cannot read file" in problems[1]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], 'must be an object with "environments" (got list [])'),
        ({}, "environments: must name at least one environment (got nothing)"),
        ({"environments": {}}, "environments: must name at least one environment (got dict {})"),
        ({"environments": {"prod": 1}, "colour": "red"}, 'unknown key "colour" (allowed: environments, description)'),
        ({"environments": {"prod": {}}, "description": 7}, "description: must be a string (got 7)"),
    ],
)
def test_the_files_top_level_shape(tmp_path, data, expected):
    path = weights_file(tmp_path, data)
    assert f"{path}: {expected}" in refusal(path)


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ("just text", 'environment "prod": must be an object with config and endpoints (got "just text")'),
        ({"endpoints": {"churn-ab": {"Variant1": 1}}}, 'environment "prod" > config: required'),
        ({"config": "config/default.json"}, 'environment "prod" > endpoints: required'),
        (
            {"config": "config/default.json", "endpoints": {}},
            'environment "prod" > endpoints: must name at least one endpoint',
        ),
        (
            {"config": 3, "endpoints": {"churn-ab": {}}},
            'environment "prod" > config: must be the path of a config file (got 3)',
        ),
        (
            {"config": "config/default.json", "endpoints": {"churn-ab": []}},
            'environment "prod" > endpoint "churn-ab": must be an object of variant name -> weight',
        ),
        ({"config": "config/default.json", "endpoints": {}, "weights": 1}, 'environment "prod": unknown key "weights"'),
    ],
)
def test_an_environments_shape(tmp_path, environment, expected):
    path = weights_file(tmp_path, {"environments": {"prod": environment}})
    assert any(p.startswith(f"{path}: {expected}") for p in refusal(path)), refusal(path)


def test_an_unreadable_file_and_invalid_json(tmp_path):
    missing = tmp_path / "nope.json"
    assert refusal(missing)[0].startswith(f"{missing}: cannot read file:")
    broken = weights_file(tmp_path, '{"environments": {')
    assert refusal(broken)[0].startswith(f"{broken}: line 1 column 19: invalid JSON:")


# --- the deploy command --------------------------------------------------------------------------


def test_the_deploy_command_names_every_weight_so_none_is_left_to_use_previous_value(tmp_path):
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": 25, "Variant2": 75}}))
    assert deploy_command(load_weights_file(path, "prod")) == [
        *CDK,
        "deploy",
        "AbTest-churn-ab",
        *("-c", "config=config/default.json"),
        *("--require-approval", "never"),
        "--no-notices",
        *("--parameters", "AbTest-churn-ab:WeightVariant1=25"),
        *("--parameters", "AbTest-churn-ab:WeightVariant2=75"),
    ]


def test_several_endpoints_deploy_their_stacks_in_one_command_and_unlisted_endpoints_are_left_alone(tmp_path):
    both = {"churn-ab": {"Variant1": 1, "Variant2": 3}, "upsell-ab": {"control": 90, "treatment": 10}}
    command = deploy_command(load_weights_file(weights_file(tmp_path, one_environment(both, TWO_ENDPOINTS)), "prod"))
    assert command[3:6] == ["deploy", "AbTest-churn-ab", "AbTest-upsell-ab"]
    assert [command[i + 1] for i, a in enumerate(command) if a == "--parameters"] == [
        "AbTest-churn-ab:WeightVariant1=1",
        "AbTest-churn-ab:WeightVariant2=3",
        "AbTest-upsell-ab:Weightcontrol=90",
        "AbTest-upsell-ab:Weighttreatment=10",
    ]
    only_upsell = one_environment({"upsell-ab": {"control": 90, "treatment": 10}}, TWO_ENDPOINTS)
    command = deploy_command(load_weights_file(weights_file(tmp_path, only_upsell, "upsell.json"), "prod"))
    assert "AbTest-churn-ab" not in " ".join(command)


def test_extra_arguments_go_last_and_only_narrows_to_one_stack(tmp_path):
    both = {"churn-ab": {"Variant1": 1, "Variant2": 3}, "upsell-ab": {"control": 90, "treatment": 10}}
    loaded = load_weights_file(weights_file(tmp_path, one_environment(both, TWO_ENDPOINTS)), "prod")
    command = deploy_command(loaded.only("upsell-ab"), extra_args=["--output", "/tmp/out"])
    assert command[4] == "AbTest-upsell-ab" and "AbTest-churn-ab" not in " ".join(command)
    assert command[-2:] == ["--output", "/tmp/out"]
    with pytest.raises(WeightsFileError, match=r'endpoint "nope": not in the file \(it lists: churn-ab, upsell-ab\)'):
        loaded.only("nope")


@pytest.mark.parametrize(
    ("weight", "text"), [(25, "25"), (25.0, "25"), (0.5, "0.5"), (1e-7, "0.0000001"), (33.25, "33.25"), (0, "0")]
)
def test_weights_are_written_in_plain_decimal_notation(weight, text):
    assert format_weight(weight) == text


# --- overrides (--set) ---------------------------------------------------------------------------


@pytest.fixture
def prod(tmp_path):
    both = {"churn-ab": {"Variant1": 1, "Variant2": 1}, "upsell-ab": {"control": 90, "treatment": 10}}
    return load_weights_file(weights_file(tmp_path, one_environment(both, TWO_ENDPOINTS)), "prod")


def test_an_override_changes_only_the_variants_it_names(prod):
    changed = prod.with_overrides("churn-ab", {"Variant2": "75"})
    assert dict(changed.endpoint("churn-ab").weights) == {"Variant1": 1.0, "Variant2": 75.0}
    assert changed.endpoint("upsell-ab") == prod.endpoint("upsell-ab")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"Variant3": "5"},
            '> variant "Variant3": not a variant of endpoint churn-ab in config/examples/two-endpoints.json',
        ),
        ({"Variant1": "-1"}, '> variant "Variant1": must be >= 0 (got "-1")'),
        ({"Variant1": "nan"}, '> variant "Variant1": must be a finite number (got "nan")'),
        ({"Variant1": "inf"}, '> variant "Variant1": must be a finite number (got "inf")'),
        ({"Variant1": "lots"}, '> variant "Variant1": must be a number (got "lots")'),
        ({"Variant1": "0", "Variant2": "0"}, ": all weights are 0"),
    ],
)
def test_an_override_is_held_to_the_files_rules(prod, overrides, expected):
    with pytest.raises(WeightsFileError) as caught:
        prod.with_overrides("churn-ab", overrides, source="--set")
    (problem,) = caught.value.problems
    assert problem.startswith('--set: environment "prod" > endpoint "churn-ab"')
    assert expected in problem


def test_an_override_needs_the_endpoint_when_the_environment_lists_several(prod, tmp_path):
    with pytest.raises(WeightsFileError, match=r"name the endpoint to override \(.* lists: churn-ab, upsell-ab\)"):
        prod.with_overrides(None, {"Variant1": "2"}, source="--set")
    single = load_weights_file(
        weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": 1, "Variant2": 1}}), "one.json"), "prod"
    )
    assert single.with_overrides(None, {"Variant1": "2"}).endpoints[0].weights["Variant1"] == 2.0


def test_weight_assignments_from_the_command_line():
    assert parse_weight_assignments(["Variant1=25,Variant2=75"]) == {"Variant1": "25", "Variant2": "75"}
    assert parse_weight_assignments(["Variant1=25", " Variant2 = 75 "]) == {"Variant1": "25", "Variant2": "75"}
    with pytest.raises(WeightsFileError) as caught:
        parse_weight_assignments(["Variant1", "=3,Variant2=", "Variant3=1,Variant3=2"])
    assert caught.value.problems == [
        "--set: 'Variant1' is not VARIANT=WEIGHT",
        "--set: '=3' is not VARIANT=WEIGHT",
        "--set: 'Variant2=' is not VARIANT=WEIGHT",
        '--set: variant "Variant3" is given twice',
    ]


# --- recording ----------------------------------------------------------------------------------


@pytest.fixture
def committed_copy(tmp_path):
    """A copy of the committed two-environment file (its config paths resolve from the project root)."""
    path = tmp_path / "weights.json"
    path.write_text(DEFAULT_WEIGHTS_FILE.read_text())
    return path


def test_recording_changes_only_that_endpoints_line(committed_copy):
    before = committed_copy.read_text().splitlines()
    written = record_weights(committed_copy, "prod", "churn-ab", {"Variant2": 75.0, "Variant1": 25.0})
    after = committed_copy.read_text().splitlines()
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert changed == [
        ('        "churn-ab": {"Variant1": 1, "Variant2": 1}', '        "churn-ab": {"Variant1": 25, "Variant2": 75}')
    ]
    assert after.index(changed[0][1]) > after.index('    "prod": {')  # prod's line, not staging's
    assert dict(load_weights_file(committed_copy, "prod").endpoint("churn-ab").weights) == {
        "Variant1": 25.0,
        "Variant2": 75.0,
    }
    assert dict(written.endpoint("churn-ab").weights) == {"Variant1": 25.0, "Variant2": 75.0}
    assert dict(load_weights_file(committed_copy, "staging").endpoint("churn-ab").weights) == {
        "Variant1": 1.0,
        "Variant2": 1.0,
    }


@pytest.mark.parametrize(
    ("environment", "endpoint", "weights", "expected"),
    [
        ("dev", "churn-ab", {"Variant1": 1, "Variant2": 1}, 'no environment "dev"'),
        ("prod", "upsell-ab", {"control": 1}, 'endpoint "upsell-ab": not an endpoint of config/default.json'),
        ("prod", "churn-ab", {"Variant1": 0, "Variant2": 0}, "all weights are 0"),
        ("prod", "churn-ab", {"Variant1": 1}, 'variant "Variant2": missing'),
        ("prod", "churn-ab", {"Variant1": float("nan"), "Variant2": 1}, "must be a finite number"),
        ("prod", "churn-ab", {"Variant1": 1, "Variant2": 1, "Variant3": 1}, 'variant "Variant3": not a variant'),
    ],
)
def test_recording_validates_before_writing_and_leaves_the_file_as_it_was(
    committed_copy, environment, endpoint, weights, expected
):
    before = committed_copy.read_bytes()
    with pytest.raises(WeightsFileError) as caught:
        record_weights(committed_copy, environment, endpoint, weights)
    assert any(expected in p for p in caught.value.problems), caught.value.problems
    assert committed_copy.read_bytes() == before
    assert os.listdir(committed_copy.parent) == ["weights.json"]


def test_recording_refuses_to_write_when_another_endpoint_of_the_environment_is_invalid(tmp_path):
    data = one_environment(
        {"churn-ab": {"Variant1": 1, "Variant2": 1}, "upsell-ab": {"control": -5, "treatment": 1}}, TWO_ENDPOINTS
    )
    path = weights_file(tmp_path, data)
    before = path.read_bytes()
    with pytest.raises(WeightsFileError, match=r'endpoint "upsell-ab" > variant "control": must be >= 0'):
        record_weights(path, "prod", "churn-ab", {"Variant1": 2, "Variant2": 1})
    assert path.read_bytes() == before


def test_recording_can_repair_an_entry_lacking_a_variant_and_can_add_an_endpoint(tmp_path):
    path = weights_file(tmp_path, one_environment({"churn-ab": {"Variant1": 1}}, TWO_ENDPOINTS))
    record_weights(path, "prod", "churn-ab", {"Variant1": 1, "Variant2": 3})
    record_weights(path, "prod", "upsell-ab", {"control": 50, "treatment": 50})
    loaded = load_weights_file(path, "prod")
    assert [e.endpoint for e in loaded.endpoints] == ["churn-ab", "upsell-ab"]
    assert path.read_text() == format_weights_file(json.loads(path.read_text()))


def test_recording_keeps_the_files_permissions_and_leaves_no_temporary_file(committed_copy):
    committed_copy.chmod(0o640)
    record_weights(committed_copy, "staging", "churn-ab", {"Variant1": 0, "Variant2": 100})
    assert stat.S_IMODE(committed_copy.stat().st_mode) == 0o640
    assert os.listdir(committed_copy.parent) == ["weights.json"]


def test_a_failed_replace_leaves_the_old_file_whole(committed_copy, monkeypatch):
    before = committed_copy.read_bytes()

    def fail(*_: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        record_weights(committed_copy, "prod", "churn-ab", {"Variant1": 25, "Variant2": 75})
    assert committed_copy.read_bytes() == before
    assert os.listdir(committed_copy.parent) == ["weights.json"]


def test_the_layout_keeps_key_order_and_writes_parts_of_another_shape_unchanged():
    data = {
        "description": "d",
        "environments": {
            "b": {"config": "c.json", "endpoints": {"e": {"y": 2.0, "x": 0.25}}},
            "a": {"config": "c.json", "endpoints": []},
            "z": "odd",
        },
    }
    assert format_weights_file(data) == (
        "{\n"
        '  "description": "d",\n'
        '  "environments": {\n'
        '    "b": {\n'
        '      "config": "c.json",\n'
        '      "endpoints": {\n'
        '        "e": {"y": 2, "x": 0.25}\n'
        "      }\n"
        "    },\n"
        '    "a": {\n'
        '      "config": "c.json",\n'
        '      "endpoints": []\n'
        "    },\n"
        '    "z": "odd"\n'
        "  }\n"
        "}\n"
    )
    assert json.loads(format_weights_file(data))["environments"]["b"]["endpoints"]["e"] == {"y": 2, "x": 0.25}
