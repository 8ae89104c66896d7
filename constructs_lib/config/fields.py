"""How a section of the config file is read and described: a table of keys, each with its rule.

A :class:`Section` is an object with a fixed set of keys. Each key is a :class:`Field`: its rule
(a :mod:`~constructs_lib.config.rules` object for one value, or a :class:`Nested` kind for a
section, list or map) and the model attribute (:mod:`~constructs_lib.config.model`) whose default
and description it shares. ``Section.parse`` reads a value and reports every problem, located;
``Section.json_schema`` states the same keys and rules as JSON Schema. The tables themselves are in
:mod:`constructs_lib.config.loader`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from constructs_lib.config.rules import JsonSchema, Probe, Rule, describe


class ConfigError(ValueError):
    """The config file is invalid; ``problems`` holds one located message per problem."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid config {source} ({len(problems)} problem(s)):\n{lines}")


class Context:
    """Where in the file we are, and the problems found so far."""

    def __init__(self, source: str, problems: list[str], path: tuple[str, ...] = ()):
        self.source = source
        self.problems = problems
        self.path = path

    def child(self, label: str) -> Context:
        return Context(self.source, self.problems, (*self.path, label))

    def error(self, message: str, key: str | None = None) -> None:
        where = " > ".join(self.path + ((key,) if key else ()))
        self.problems.append(f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}")


class Keys:
    """The keys an object may have (``required`` among them): checked by :meth:`check`."""

    def __init__(self, required: Iterable[str], optional: Iterable[str] = ()):
        self.required = tuple(required)
        self.allowed = frozenset((*self.required, *optional))
        self.listed = ", ".join(sorted(self.allowed))

    def check(self, ctx: Context, value: Any) -> dict[str, Any] | None:
        """``value`` if it is an object (unknown and missing keys reported), else None (reported)."""
        if not isinstance(value, dict):
            ctx.error(f"must be an object (got {describe(value)})")
            return None
        for key in value:
            if key not in self.allowed:
                ctx.error(f"unknown key (allowed: {self.listed})", key)
        for key in self.required:
            if key not in value:
                ctx.error("is required", key)
        return value


def read_value(ctx: Context, obj: dict[str, Any], key: str, rule: Rule, default: Any = None) -> Any:
    """``obj[key]`` as the model holds it when ``rule`` finds nothing wrong; otherwise report and return None."""
    if key not in obj:
        return default
    value = obj[key]
    problem = rule(value)
    if problem:
        ctx.error(f"{problem} (got {describe(value)})", key)
        return None
    return rule.convert(value) if rule.converts else value


# --- the shape of a section ---------------------------------------------------------------------


class Nested:
    """A key whose value the parser reads with the context (sections, lists, maps), not a single rule."""

    def read(self, ctx: Context, obj: dict[str, Any], key: str, default: Any) -> Any:
        raise NotImplementedError

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        raise NotImplementedError

    def probes(self) -> tuple[Probe, ...]:
        """Whole values this key refuses (wrong type, bad sizes); the keys inside have their own."""
        return ()


Kind = Rule | Nested


class Field:
    """One key of a section: its rule, and the model attribute holding its default and description.

    ``model``/``attribute`` default to the section's dataclass and the key itself; ``doc`` describes
    keys no model attribute holds. ``required`` defaults to "the attribute has no default".
    (A plain class: the loader is imported by every synth, and a dataclass costs milliseconds to define.)
    """

    def __init__(
        self,
        key: str,
        kind: Kind,
        model: type | None = None,
        attribute: str | None = None,
        *,
        doc: str = "",
        required: bool | None = None,
    ):
        self.key, self.kind, self.model, self.attribute = key, kind, model, attribute
        self.doc, self.required = doc, required
        self.nested = isinstance(kind, Nested)
        # The bound method: calling it costs less than calling the rule object (the loader's hot path).
        self.check: Callable[[Any], str | None] | None = kind.__call__ if isinstance(kind, Rule) else None
        self.name = attribute or key  # the model attribute the value fills

    def of(self, model: type) -> Field:
        """This key, described by ``model``'s attribute of the same name (or ``attribute``)."""
        return Field(self.key, self.kind, model, self.attribute, doc=self.doc, required=self.required)

    @functools.cached_property
    def _model_field(self) -> dataclasses.Field[Any] | None:
        if self.model is None:
            return None
        name = self.attribute or self.key
        found: dataclasses.Field[Any] | None = self.model.__dataclass_fields__.get(name)  # type: ignore[attr-defined]
        if found is None:
            raise TypeError(f"config key {self.key!r}: {self.model.__name__} has no field {name!r} to describe it")
        return found

    @property
    def default(self) -> Any:
        """The model's default, or ``dataclasses.MISSING`` for a key without one."""
        field = self._model_field
        if field is None:
            return dataclasses.MISSING
        if field.default_factory is not dataclasses.MISSING:
            return field.default_factory()
        return field.default

    @functools.cached_property
    def is_required(self) -> bool:
        return self.required if self.required is not None else self.default is dataclasses.MISSING

    @property
    def description(self) -> str:
        field = self._model_field
        return str(field.metadata["description"]) if field is not None else self.doc

    @functools.cached_property
    def _absent(self) -> tuple[Callable[[], Any] | None, Any]:
        """What the parser holds when the file leaves the key out, as (factory, value): the model's
        default (a fresh one from a default_factory), or None for a key without one (its absence is
        reported already)."""
        field = self._model_field
        if field is not None and field.default_factory is not dataclasses.MISSING:
            made = field.default_factory()
            if dataclasses.is_dataclass(made) and type(made).__dataclass_params__.frozen:  # type: ignore[union-attr]
                return None, made  # immutable: one shared instance (MonitoringSpec() costs µs per endpoint)
            return field.default_factory, None
        return None, None if field is None or field.default is dataclasses.MISSING else field.default

    def read(self, ctx: Context, obj: dict[str, Any]) -> Any:
        """The key's value as the model holds it (the default when absent), or None when refused."""
        key, kind = self.key, self.kind
        if key not in obj:
            factory, default = self._absent
            if factory:
                default = factory()
            return kind.read(ctx, obj, key, default) if self.nested else default  # type: ignore[union-attr]
        if self.nested:
            return kind.read(ctx, obj, key, None)  # type: ignore[union-attr]
        value = obj[key]
        problem = self.check(value)  # type: ignore[misc]
        if problem:
            ctx.error(f"{problem} (got {describe(value)})", key)
            return None
        return kind.convert(value) if kind.converts else value  # type: ignore[union-attr]


Build = Callable[[Context, dict[str, Any], int], Any]


class Section(Nested):
    """An object with a fixed set of keys; ``build`` makes the model object from the fields' values
    (None where a value was refused), given the problem count before the fields were read."""

    def __init__(self, name: str, model: type, fields: Iterable[Field], build: Build):
        self.name, self.model, self.build = name, model, build
        # A key documented in place (``doc``) has no model attribute; the others belong to ``model``.
        self.fields = tuple(f if f.model or f.doc else f.of(model) for f in fields)
        self.required = tuple(f.key for f in self.fields if f.is_required)
        self.keys = Keys(self.required, (f.key for f in self.fields if not f.is_required))

    def parse(self, ctx: Context, value: Any) -> Any:
        obj = self.keys.check(ctx, value)
        if obj is None:
            return None
        before = len(ctx.problems)
        values = {f.name: f.read(ctx, obj) for f in self.fields}
        return self.build(ctx, values, before)

    def read(self, ctx: Context, obj: dict[str, Any], key: str, default: Any) -> Any:
        return self.parse(ctx.child(key), obj[key]) if key in obj else default

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        if self.name not in defs:
            defs[self.name] = {}  # reserved first: sections may nest
            defs[self.name] = {
                "type": "object",
                "properties": {f.key: field_schema(f, defs) for f in self.fields},
                "required": list(self.required),
                "additionalProperties": False,
            }
            if not defs[self.name]["required"]:
                del defs[self.name]["required"]
        return {"$ref": f"#/$defs/{self.name}"}

    def probes(self) -> tuple[Probe, ...]:
        return (Probe("x"), Probe([]))


def field_schema(field: Field, defs: dict[str, JsonSchema]) -> JsonSchema:
    """A key's JSON Schema: its rule's keywords, with the model's description and default."""
    rule = field.kind.json_schema(defs) if isinstance(field.kind, Nested) else field.kind.json_schema()
    schema: JsonSchema = {"description": field.description} if field.description else {}
    schema.update((k, v) for k, v in rule.items() if k != "examples")
    default = field.default
    if default is not dataclasses.MISSING and default is not None and not dataclasses.is_dataclass(default):
        schema["default"] = list(default) if isinstance(default, tuple) else default
    if "examples" in rule:
        schema["examples"] = rule["examples"]
    return schema


# --- lists of strings ------------------------------------------------------------------------------


class StringList(Nested):
    """1 to ``max_items`` strings matching ``pattern``; checked also when the key is missing (the
    message then says what the list should hold, besides "is required")."""

    def __init__(self, pattern: re.Pattern[str], hint: str, max_items: int):
        self.pattern, self.hint, self.max_items = pattern, hint, max_items

    def read(self, ctx: Context, obj: dict[str, Any], key: str, default: Any) -> tuple[str, ...]:
        value = obj.get(key)
        if not isinstance(value, list) or not value or len(value) > self.max_items:
            ctx.error(f"must be a list of 1 to {self.max_items} strings (got {describe(value)})", key)
            return ()
        for i, item in enumerate(value):
            if not isinstance(item, str) or not self.pattern.match(item):
                ctx.error(f"item {i} must look like {self.hint} (got {describe(item)})", key)
        return tuple(value)

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        return {
            "type": "array",
            "minItems": 1,
            "maxItems": self.max_items,
            "items": {"type": "string", "pattern": self.pattern.pattern},
            "examples": [[self.hint]],
        }

    def probes(self) -> tuple[Probe, ...]:
        return (Probe(self.hint), Probe([]), Probe(["nope"]), Probe([5]), Probe([self.hint] * (self.max_items + 1)))
