"""config/schema.json: generated from the loader's field tables, committed, and in step with the loader.

The agreement test builds its mutations from the same declarations (each rule's probes, each
section's keys), so a new key or rule is covered without touching this file. Where the loader refuses
a config the schema accepts, the mutation must name an entry of ``schema.LOADER_ONLY_RULES``, and the
rules seen that way must be exactly that list.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from constructs_lib.config import ConfigError, parse_config
from constructs_lib.config.fields import Field, Nested, Section, StringList
from constructs_lib.config.loader import (
    ROOT as CONFIG_ROOT,
)
from constructs_lib.config.loader import EndpointList, Model, VariantList
from constructs_lib.config.rules import Rule
from constructs_lib.config.schema import LOADER_ONLY_RULES, build_schema
from scripts.config_schema import outputs
from tests.conftest import CONFIG_SCHEMA, FULL_CONFIG, ROOT, SHADOW_CONFIG, SHIPPED_CONFIGS, read_config

SOURCE = "config/under-test.json"
SCHEMA = build_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
# Editors that do not know draft 2020-12 fall back to draft-07 rules.
DRAFT7 = jsonschema.Draft7Validator(SCHEMA)

# --- the committed files ---------------------------------------------------------------------------


def test_committed_schema_and_reference_are_the_generated_ones():
    for path, text in outputs().items():
        assert path.exists() and path.read_text(encoding="utf-8") == text, (
            f"{path.relative_to(ROOT)} is out of date: run make schema"
        )


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


@pytest.mark.skipif(shutil.which("node") is None, reason="node (the CDK CLI's runtime) is not installed")
def test_every_pattern_compiles_as_the_ecma_262_regex_editors_use():
    """JSON Schema patterns are ECMA-262 regexes (VS Code compiles them with the u flag); the loader's
    are Python's. Python's named groups, for one, do not compile there."""
    patterns = sorted(set(_patterns(SCHEMA)))
    script = "for (const p of JSON.parse(require('fs').readFileSync(0, 'utf8'))) { new RegExp(p, 'u'); }"
    done = subprocess.run(["node", "-e", script], input=json.dumps(patterns), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("path", SHIPPED_CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_config_names_the_schema_and_validates_against_it(path: Path):
    data = json.loads(path.read_text())
    assert (path.parent / data["$schema"]).resolve() == CONFIG_SCHEMA
    assert not [e.message for e in VALIDATOR.iter_errors(data)]


def test_the_loader_ignores_schema_only_at_the_top_level():
    data = read_config()
    data["$schema"] = "https://example.com/anything.json"
    assert parse_config(data, SOURCE).endpoints
    data["endpoints"][0]["$schema"] = "./schema.json"
    with pytest.raises(ConfigError, match=r'endpoint "churn-ab" > \$schema: unknown key'):
        parse_config(data, SOURCE)
    assert not VALIDATOR.is_valid(data)


# --- declarations → schema --------------------------------------------------------------------------


def _sections() -> Iterator[Section]:
    seen: set[str] = set()
    pending = [CONFIG_ROOT]
    while pending:
        section = pending.pop()
        if section.name in seen:
            continue
        seen.add(section.name)
        yield section
        for field in section.fields:
            if isinstance(field.kind, Section):
                pending.append(field.kind)
            elif isinstance(field.kind, (VariantList, EndpointList)):
                pending.append(field.kind.item)


def _all_fields() -> Iterator[tuple[str, Field]]:
    for section in _sections():
        for field in section.fields:
            yield section.name, field
            if isinstance(field.kind, Model):
                for inner in field.kind.fields:
                    yield "model", inner


def test_defaults_and_descriptions_come_from_the_model():
    defs = SCHEMA["$defs"]
    for section in _sections():
        properties = SCHEMA["properties"] if section is CONFIG_ROOT else defs[section.name]["properties"]
        for field in section.fields:
            described = properties[field.key]
            assert described["description"], (section.name, field.key)
            if field.doc:
                continue
            model_field = next(f for f in dataclasses.fields(section.model) if f.name == (field.attribute or field.key))
            assert described["description"] == model_field.metadata["description"]
            if model_field.default not in (dataclasses.MISSING, None):
                default = model_field.default
                assert described["default"] == (list(default) if isinstance(default, tuple) else default)


def test_every_example_in_the_schema_passes_its_own_rule():
    for where, field in _all_fields():
        if isinstance(field.kind, Rule):
            for example in field.kind.json_schema().get("examples", []):
                assert field.kind(example) is None, (where, field.key, example)


# --- schema and loader agree -------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    label: str
    apply: Callable[[dict[str, Any]], None]
    gap: str | None = None
    refused: bool = True  # the loader must refuse it (deleting an optional key need not be)


def _json_default(field: Field) -> Any:
    default = field.default
    if default is dataclasses.MISSING or default is None or dataclasses.is_dataclass(default):
        examples = field.kind.json_schema().get("examples", []) if isinstance(field.kind, Rule) else []
        return examples[0] if examples else dataclasses.MISSING
    return list(default) if isinstance(default, tuple) else default


def _complete(section: Section, obj: dict[str, Any]) -> None:
    """Give ``obj`` every key of ``section`` that a default or example fills, and every section
    that can be filled that way, so that mutations reach every key."""
    for field in section.fields:
        if field.key in obj:
            continue
        if isinstance(field.kind, Section):
            child: dict[str, Any] = {}
            _complete(field.kind, child)
            if all(f.key in child for f in field.kind.fields if f.is_required):
                obj[field.key] = child
        elif isinstance(field.kind, Rule) and _json_default(field) is not dataclasses.MISSING:
            obj[field.key] = _json_default(field)


def _base() -> dict[str, Any]:
    """The full example, completed from the declarations: every key present at least once."""
    data = read_config(FULL_CONFIG)
    # The shadow endpoint: the only place the shadow keys (and a variant without initial_weight) appear.
    data["endpoints"].extend(read_config(SHADOW_CONFIG)["endpoints"])
    _complete(CONFIG_ROOT, data)
    for endpoint in data["endpoints"]:
        _complete(CONFIG_ROOT.fields[-1].kind.item, endpoint)  # type: ignore[union-attr]
    return data


def _at(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], Any]:
    def get(data: dict[str, Any]) -> Any:
        for step in path:
            data = data[step]
        return data

    return get


def _set(path: tuple[Any, ...], key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: _at(path)(data).__setitem__(key, copy.deepcopy(value))


def _delete(path: tuple[Any, ...], key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: _at(path)(data).pop(key)


def _field_mutations(path: tuple[Any, ...], field: Field, where: str) -> Iterator[Mutation]:
    for probe in field.kind.probes():
        yield Mutation(f"{where}.{field.key} = {probe.value!r:.60}", _set(path, field.key, probe.value), probe.gap)


# Keys the shadow variant may not have at all (the cross-field cases below): their value probes would test
# nothing on it.
SHADOW_EXCLUDES = ("initial_weight", "autoscaling")


def _mutations(section: Section, obj: dict[str, Any], path: tuple[Any, ...], seen: set[str]) -> Iterator[Mutation]:
    where = "/".join(map(str, path)) or "(top)"
    yield Mutation(f"{where}: unknown key", _set(path, "unexpected_key", 1))
    for field in section.fields:
        seen.add(f"{section.name}.{field.key}")
        if field.key in obj:
            yield Mutation(f"{where}: without {field.key}", _delete(path, field.key), refused=field.is_required)
        if not (field.key in SHADOW_EXCLUDES and "shadow" in obj):  # refused there whatever its value
            yield from _field_mutations(path, field, where)
        kind, value = field.kind, obj.get(field.key)
        if isinstance(kind, Section) and isinstance(value, dict):
            yield from _mutations(kind, value, (*path, field.key), seen)
        elif isinstance(kind, (VariantList, EndpointList)) and isinstance(value, list):
            maximum = kind.json_schema({}).get("maxItems")
            if maximum is not None:
                yield Mutation(f"{where}: {maximum + 1} {field.key}", _set(path, field.key, [value[0]] * (maximum + 1)))
            for index, item in enumerate(value):
                yield from _mutations(kind.item, item, (*path, field.key, index), seen)
        elif isinstance(kind, Model) and isinstance(value, dict):
            yield from _model_mutations(kind, value, (*path, field.key), seen)


def _model_mutations(model: Model, obj: dict[str, Any], path: tuple[Any, ...], seen: set[str]) -> Iterator[Mutation]:
    """A model's keys are probed in the form the model has (a package's keys on a package)."""
    where = "/".join(map(str, path))
    yield Mutation(f"{where}: unknown key", _set(path, "unexpected_key", 1))
    (branch,) = [b for b in model.branches if set(b.required) <= obj.keys()]
    for field in model.fields:
        if field.key in (*branch.required, *branch.optional):
            seen.add(f"model.{field.key}")
            if field.key in obj:
                yield Mutation(
                    f"{where}: without {field.key}", _delete(path, field.key), refused=field.key in branch.required
                )
            yield from _field_mutations(path, field, where)


# The loader-only rules no single value runs into: one config each that only the loader refuses.
CROSS_FIELD: dict[str, Callable[[dict[str, Any]], None]] = {
    "unique-endpoint-names": lambda d: d["endpoints"].append(
        dict(copy.deepcopy(d["endpoints"][0]), name=d["endpoints"][0]["name"].upper())
    ),
    "unique-variant-names": lambda d: d["endpoints"][0]["variants"][1].update(
        name=d["endpoints"][0]["variants"][0]["name"]
    ),
    "distinct-weight-parameters": lambda d: (
        d["endpoints"][0]["variants"][0].update(name="model-b"),
        d["endpoints"][0]["variants"][1].update(name="modelb"),
    ),
    "autoscaling-min-le-max": lambda d: d["endpoints"][0]["variants"][0].update(
        initial_instance_count=2,
        autoscaling={"min_capacity": 3, "max_capacity": 2, "target_invocations_per_instance": 1},
    ),
    "initial-count-within-autoscaling": lambda d: d["endpoints"][0]["variants"][0].update(
        initial_instance_count=9,
        autoscaling={"min_capacity": 1, "max_capacity": 2, "target_invocations_per_instance": 1},
    ),
    "datapoints-le-evaluation-periods": lambda d: d["endpoints"][0]["monitoring"].update(
        evaluation_periods=2, datapoints_to_alarm=3
    ),
    "alarm-window-limit": lambda d: d["endpoints"][0]["monitoring"].update(period_seconds=60, evaluation_periods=1441),
    "srm-window-ge-schedule": lambda d: d["endpoints"][0]["monitoring"].update(
        srm_window_minutes=5, srm_schedule_minutes=10
    ),
    "capture-retention-covers-window": lambda d: (
        d["endpoints"][0]["data_capture"].update(retention_days=7),
        d["endpoints"][0]["live_quality"].update(lookback_days=7),
    ),
    "enabled-schedule-alarm-window": lambda d: d["endpoints"][0]["live_quality"].update(
        schedule_enabled=True, schedule_hours=167
    ),
    "image-region-fits-host": lambda d: d["endpoints"][0]["variants"][1]["model"].update(
        image_uri="111122223333.dkr.ecr.cn-north-1.amazonaws.com/fraud-model:1"
    ),
    "deployment-size-per-variant": lambda d: d["endpoints"][0]["deployment"].update(
        size={"type": "instance_count", "value": 1}
    ),
    "deployment-rolling-single-variant": lambda d: (
        d["endpoints"][0]["deployment"].update(strategy="rolling", size={"type": "capacity_percent", "value": 50}),
        d["endpoints"][0]["deployment"].pop("termination_wait_seconds", None),
    ),
    "deployment-inf1-no-guardrails": lambda d: d["endpoints"][0]["variants"][1].update(instance_type="ml.inf1.xlarge"),
    "deployment-rollback-alarm-limit": lambda d: d["endpoints"][0]["variants"].extend(
        dict(copy.deepcopy(d["endpoints"][0]["variants"][1]), name=f"extra{i}") for i in range(3)
    ),
    "deployment-timeout-above-waits": lambda d: d["endpoints"][0]["deployment"].update(timeout_seconds=900),
    "shadow-no-rolling": lambda d: d["endpoints"][-1].update(
        deployment={"strategy": "rolling", "size": {"type": "capacity_percent", "value": 50}}
    ),
}


# Rules across keys that the schema does state (``contains``): refused by both.
STATED_CROSS_FIELD: dict[str, Callable[[dict[str, Any]], None]] = {
    "not every weight 0": lambda d: [v.update(initial_weight=0) for v in d["endpoints"][0]["variants"]],
    "two shadows": lambda d: d["endpoints"][-1]["variants"].append(
        dict(copy.deepcopy(d["endpoints"][-1]["variants"][1]), name="Shadow2")
    ),
    "shadow and two production variants": lambda d: d["endpoints"][-1]["variants"].append(
        dict(copy.deepcopy(d["endpoints"][-1]["variants"][0]), name="Current2")
    ),
    "only a shadow": lambda d: d["endpoints"][-1]["variants"].pop(0),
    "shadow with initial_weight": lambda d: d["endpoints"][-1]["variants"][1].update(initial_weight=1),
    "shadow with autoscaling": lambda d: d["endpoints"][-1]["variants"][1].update(
        autoscaling={"min_capacity": 1, "max_capacity": 2, "target_invocations_per_instance": 1}
    ),
    "production variant without initial_weight": lambda d: d["endpoints"][-1]["variants"][0].pop("initial_weight"),
}


def _loader_refuses(data: dict[str, Any]) -> bool:
    try:
        parse_config(data, SOURCE)
    except ConfigError:
        return True
    return False


@dataclass(frozen=True)
class Outcome:
    mutation: Mutation
    loader_refuses: bool
    schema_refuses: bool
    draft7_refuses: bool


@pytest.fixture(scope="module")
def outcomes() -> tuple[list[Outcome], set[str]]:
    base = _base()
    seen: set[str] = set()
    mutations = [
        *_mutations(CONFIG_ROOT, base, (), seen),
        *(Mutation(f"cross-field: {name}", mutate, name) for name, mutate in CROSS_FIELD.items()),
        *(Mutation(f"cross-field: {name}", mutate) for name, mutate in STATED_CROSS_FIELD.items()),
    ]
    found = []
    for mutation in mutations:
        data = copy.deepcopy(base)
        mutation.apply(data)
        found.append(Outcome(mutation, _loader_refuses(data), not VALIDATOR.is_valid(data), not DRAFT7.is_valid(data)))
    return found, seen


def test_the_mutations_start_from_a_config_both_accept_with_every_key_present(outcomes):
    base = _base()
    assert not _loader_refuses(base)
    assert VALIDATOR.is_valid(base)
    _, seen = outcomes
    declared = {f"{where}.{field.key}" for where, field in _all_fields() if not isinstance(field.kind, Model)}
    assert declared <= seen, f"keys no mutation reached: {sorted(declared - seen)}"


def test_the_loader_refuses_every_probe(outcomes):
    found, _ = outcomes
    accepted = [o.mutation.label for o in found if o.mutation.refused and not o.loader_refuses]
    assert not accepted, "probes the loader accepts (a rule's probes() is wrong):\n" + "\n".join(accepted)


def test_the_schema_refuses_nothing_the_loader_accepts(outcomes):
    found, _ = outcomes
    stricter = [o.mutation.label for o in found if o.schema_refuses and not o.loader_refuses]
    assert not stricter, "the schema refuses configs the loader accepts:\n" + "\n".join(stricter)


def test_the_schema_refuses_what_the_loader_refuses_except_the_listed_loader_only_rules(outcomes):
    found, _ = outcomes
    missed = [o for o in found if o.loader_refuses and not o.schema_refuses]
    untagged = [o.mutation.label for o in missed if o.mutation.gap is None]
    assert not untagged, "the schema accepts configs the loader refuses:\n" + "\n".join(untagged)
    now_expressed = [o.mutation.label for o in found if o.mutation.gap and o.schema_refuses]
    assert not now_expressed, "the schema now states these; drop them from LOADER_ONLY_RULES:\n" + "\n".join(
        now_expressed
    )
    assert {o.mutation.gap for o in missed} == {r.name for r in LOADER_ONLY_RULES}


def test_draft_07_validators_reach_the_same_verdicts(outcomes):
    """The schema uses only keywords draft-07 reads the same way ($defs is reached by JSON pointer)."""
    found, _ = outcomes
    differ = [o.mutation.label for o in found if o.schema_refuses != o.draft7_refuses]
    assert not differ, "draft-07 and 2020-12 disagree on:\n" + "\n".join(differ)


def test_string_lists_are_checked_even_when_missing():
    """VpcSpec's lists: the loader says what the list should hold besides "is required"."""
    assert any(isinstance(f.kind, StringList) for s in _sections() for f in s.fields)
    data = read_config(FULL_CONFIG)
    del data["endpoints"][0]["vpc"]["subnet_ids"]
    with pytest.raises(ConfigError) as caught:
        parse_config(data, SOURCE)
    assert [p.split(" > ")[-1] for p in caught.value.problems] == [
        "subnet_ids: is required",
        "subnet_ids: must be a list of 1 to 16 strings (got null)",
    ]
    assert not VALIDATOR.is_valid(data)


def test_nested_kinds_say_what_they_refuse():
    """Every kind of key offers probes, so no key escapes the agreement test."""
    for where, field in _all_fields():
        if isinstance(field.kind, (Rule, Nested)) and field.doc == "":
            assert field.kind.probes(), (where, field.key)
