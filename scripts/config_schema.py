#!/usr/bin/env python3
"""Write the config's JSON Schema and the config reference generated from it (``make schema``).

    python scripts/config_schema.py            # writes config/schema.json and docs/config-reference.md
    python scripts/config_schema.py --check    # exit 1 when either file differs from a fresh one

Both are generated from the loader's field tables (constructs_lib/config); edit those, never the
outputs. Editors pick the schema up from each config's ``"$schema": "./schema.json"``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from constructs_lib.config.schema import LOADER_ONLY_RULES, build_schema  # noqa: E402

SCHEMA_PATH = ROOT / "config" / "schema.json"
REFERENCE_PATH = ROOT / "docs" / "config-reference.md"
# An enum longer than this (instance types) is summarised in the reference; the schema lists it all.
ENUM_SHOWN = 12


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with its ``$ref`` (``#/$defs/<name>``) followed; the node's own keywords win."""
    if "$ref" not in node:
        return node
    target = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _code(value: Any) -> str:
    return f"`{value if isinstance(value, str) else json.dumps(value)}`"


def _rules(node: dict[str, Any]) -> str:
    """The constraints of one key, in words, from its schema keywords."""
    said: list[str] = []
    if "enum" in node:
        values = node["enum"]
        if len(values) <= ENUM_SHOWN:
            said.append("one of " + ", ".join(_code(v) for v in values))
        else:
            said.append(f"one of {len(values)} values (listed in the schema)")
    for keyword, word in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if keyword in node:
            said.append(f"{word} {node[keyword]}")
    if "multipleOf" in node:
        said.append(f"a multiple of {node['multipleOf']}")
    if "maxLength" in node:
        said.append(f"at most {node['maxLength']} characters")
    if "pattern" in node:
        said.append(f"matches {_code(node['pattern'])}")
    if "maxItems" in node:
        said.append(f"{node.get('minItems', 0)} to {node['maxItems']} items")
    elif "minItems" in node:
        said.append(f"at least {node['minItems']} item{'s' if node['minItems'] != 1 else ''}")
    if node.get("type") == "array" and "items" in node and "$ref" not in node["items"]:
        said.append("items: " + (_rules(node["items"]) or node["items"].get("type", "any")))
    if "propertyNames" in node:
        said.append(f"names: {_rules(node['propertyNames'])}")
    if isinstance(node.get("additionalProperties"), dict):
        values = node["additionalProperties"]
        said.append(f"values: {values.get('type', 'any')}s, {_rules(values)}")
    if "maxProperties" in node:
        said.append(f"at most {node['maxProperties']} entries")
    if "oneOf" in node:
        forms = ["**" + b["title"] + "** (" + ", ".join(_code(k) for k in b["required"]) + ")" for b in node["oneOf"]]
        said.append("exactly one of: " + "; ".join(forms))
    for case in node.get("allOf", ()):
        if "$comment" in case:  # a rule across keys, said in words where it is declared
            said.append(case["$comment"])
            continue
        ((key, condition),) = case["if"]["properties"].items()
        ((then_key, then),) = case["then"]["properties"].items()
        said.append(f"`{then_key}` when `{key}` is {_code(condition['const'])}: {_rules(then)}")
    return "; ".join(said)


def _type(node: dict[str, Any]) -> str:
    if node.get("type") == "array" and "$ref" in node.get("items", {}):
        return "list of objects"
    return str(node.get("type", "any"))


def _rows(schema: dict[str, Any], node: dict[str, Any], prefix: str) -> Iterator[str]:
    """One table row per key under ``node``, depth first, as ``endpoints[].variants[].name``."""
    required = set(node.get("required", ()))
    for key, child in node.get("properties", {}).items():
        resolved = _resolve(schema, child)
        default = "required" if key in required else _code(child["default"]) if "default" in child else "none"
        path = f"{prefix}{key}"
        cells = (f"`{path}`", _type(resolved), default, _rules(resolved), resolved.get("description", ""))
        yield "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
        if resolved.get("type") == "array" and "$ref" in resolved.get("items", {}):
            yield from _rows(schema, _resolve(schema, resolved["items"]), f"{path}[].")
        elif "properties" in resolved:
            yield from _rows(schema, resolved, f"{path}.")


def render_reference(schema: dict[str, Any]) -> str:
    """The config reference (markdown) as rendered from ``schema``."""
    lines = [
        "# Config reference",
        "",
        "<!-- Generated by scripts/config_schema.py (make schema) from config/schema.json; do not edit. -->",
        "",
        "Every key of a config file, from [config/schema.json](../config/schema.json). "
        "Unknown keys are errors at every level.",
        "",
        "| key | type | default | rules | meaning |",
        "|---|---|---|---|---|",
        *_rows(schema, schema, ""),
        "",
        "## Checked when the app loads the file, not by the schema",
        "",
        "An editor validating against the schema does not see these; `cdk synth` refuses the file.",
        "",
        *(f"- {r.rule} (JSON Schema: {r.why})" for r in LOADER_ONLY_RULES),
        "",
    ]
    return "\n".join(lines)


def outputs() -> dict[Path, str]:
    schema = build_schema()
    return {SCHEMA_PATH: schema_text(schema), REFERENCE_PATH: render_reference(schema)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.relative_to(ROOT))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"out of date: {', '.join(map(str, stale))}; run make schema", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
