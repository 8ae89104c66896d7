#!/usr/bin/env python3
"""Preview the CloudWatch dashboards of synthesized templates, without an AWS account.

usage: python scripts/dashboard_preview.py [--template PATH ...] [--out DIR] [--seed N] [--dpi N]

Reads every ``*.template.json`` in ``cdk.out/`` (or only the ``--template`` files; it never
synthesizes anything itself), finds each ``AWS::CloudWatch::Dashboard``, rebuilds its
``DashboardBody`` with readable placeholders for the CloudFormation intrinsics, and draws it as
charts over a simulated A/B run (:mod:`scripts.dashboard_render`, :mod:`scripts.dashboard_simulation`):
one ``<stack>-<logical id>.png`` per dashboard in ``--out`` (default ``docs/dashboard-preview/``).
Paths are relative to the current directory, as for ``cdk synth``. A short summary (every widget's
grid rectangle) goes to stdout.

This module holds the reading (body reconstruction, widget layout on the 24-column grid, metric
rows); the drawing lives in ``dashboard_render``.

Exit status: 0 when every layout is clean; 1 when some widget overlaps another or crosses column
24 (the picture is still written, with those widgets outlined in red); 2 when there is nothing to
read or a template/body cannot be parsed.

Output is deterministic (seeded simulation, no timestamps in the PNG), so committed previews only
change when the dashboard, the simulation or matplotlib does.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GRID_COLUMNS = 24
"""CloudWatch dashboards are a 24-column grid."""
DEFAULT_SIZE = 6
"""CloudWatch's default widget width and height when the body omits them."""
DEFAULT_STAT = "Average"
"""CloudWatch's statistic for a metric row without ``stat`` (CDK omits it for Average)."""
DEFAULT_TEMPLATE_DIR = Path("cdk.out")
DEFAULT_OUT_DIR = Path("docs/dashboard-preview")

PSEUDO_PARAMETERS: Mapping[str, str] = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": "",
}
"""Example values for pseudo parameters (``AWS::StackName`` uses the stack's name)."""

_GENERIC_ATTRIBUTES = frozenset({"Arn", "Id", "Name"})
_CDK_HASH = re.compile(r"^(.+?)[0-9A-F]{8}$")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")

# ---------------------------------------------------------------------------------------------
# Reading templates: DashboardBody → dict
# ---------------------------------------------------------------------------------------------


def short_id(logical_id: str) -> str:
    """``AbEndpointAA85BA8E`` → ``AbEndpoint``: CDK's 8-hex-digit path hash is noise in a preview."""
    match = _CDK_HASH.match(logical_id)
    return match.group(1) if match else logical_id


class Resolver:
    """Turns CloudFormation intrinsics into readable plain text (never JSON-quoted)."""

    def __init__(self, template: Mapping[str, Any], stack_name: str) -> None:
        self.mappings = template.get("Mappings") or {}
        self.stack_name = stack_name

    def ref(self, name: str) -> str:
        if name == "AWS::StackName":
            return self.stack_name
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name.startswith("AWS::"):
            return f"<{name}>"
        return f"<{short_id(name)}>"

    def get_att(self, logical_id: str, attribute: str) -> str:
        # An endpoint's "<EndpointName>" says it all; an "<Arn>" needs to say whose.
        if attribute in _GENERIC_ATTRIBUTES:
            return f"<{short_id(logical_id)}.{attribute}>"
        return f"<{attribute}>"

    def text(self, value: Any) -> str:
        """The plain text standing for ``value`` (a literal or an intrinsic)."""
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float) or value is None:
            return json.dumps(value)
        if isinstance(value, list):
            return ",".join(self.text(item) for item in value)
        if not (isinstance(value, Mapping) and len(value) == 1):
            return "<?>"
        ((function, argument),) = value.items()
        if function == "Ref" and isinstance(argument, str):
            return self.ref(argument)
        if function == "Fn::GetAtt":
            parts = argument.split(".", 1) if isinstance(argument, str) else argument
            if isinstance(parts, list) and len(parts) == 2:
                return self.get_att(self.text(parts[0]), self.text(parts[1]))
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            delimiter, items = argument
            if isinstance(items, list):
                return self.text(delimiter).join(self.text(item) for item in items)
        if function == "Fn::FindInMap" and isinstance(argument, list) and len(argument) >= 3:
            keys = [self.text(key) for key in argument[:3]]
            found = self.mappings.get(keys[0], {}).get(keys[1], {}).get(keys[2])
            return self.text(found) if found is not None else f"<{'.'.join(keys)}>"
        if function == "Fn::Sub":
            return "".join(part if isinstance(part, str) else self.text(part) for part in _sub_parts(argument))
        if function == "Fn::Select" and isinstance(argument, list) and len(argument) == 2:
            index, items = argument
            if isinstance(items, list) and str(index).isdigit() and int(index) < len(items):
                return self.text(items[int(index)])
        if function == "Fn::ImportValue":
            return f"<import {self.text(argument)}>"
        return f"<{function}>"


class _Fragment(str):
    """A piece of the body's JSON text (as opposed to an intrinsic's value)."""


def _sub_parts(argument: Any) -> list[Any]:
    """``Fn::Sub`` as JSON-text fragments and intrinsics (variables become Ref/GetAtt/their value)."""
    if isinstance(argument, list) and len(argument) == 2:
        source, variables = argument
    else:
        source, variables = argument, {}
    if not isinstance(source, str):
        raise ValueError(f"Fn::Sub needs a string, not {type(source).__name__}")
    parts: list[Any] = []
    position = 0
    for match in _SUB_VARIABLE.finditer(source):
        parts.append(_Fragment(source[position : match.start()]))
        name = match.group(1)
        if name.startswith("!"):  # ${!Literal} is the text ${Literal}
            parts.append(_Fragment("${" + name[1:] + "}"))
        elif isinstance(variables, Mapping) and name in variables:
            value = variables[name]
            parts.append(_Fragment(value) if isinstance(value, str) else value)
        elif "." in name:
            parts.append({"Fn::GetAtt": name.split(".", 1)})
        else:
            parts.append({"Ref": name})
        position = match.end()
    parts.append(_Fragment(source[position:]))
    return parts


def _body_parts(body: Any) -> Iterator[Any]:
    """The body as JSON-text fragments (``_Fragment``) and intrinsics, in order."""
    if isinstance(body, str):
        yield _Fragment(body)
    elif isinstance(body, Mapping) and set(body) == {"Fn::Join"}:
        delimiter, items = body["Fn::Join"]
        for index, item in enumerate(items):
            if index and delimiter:
                yield _Fragment(delimiter)
            if isinstance(item, str):
                yield _Fragment(item)
            elif isinstance(item, Mapping) and set(item) <= {"Fn::Join", "Fn::Sub"} and len(item) == 1:
                yield from _body_parts(item)  # nested joins are JSON text too
            else:
                yield item
    elif isinstance(body, Mapping) and set(body) == {"Fn::Sub"}:
        yield from _sub_parts(body["Fn::Sub"])
    else:
        raise ValueError(f"unsupported DashboardBody form: {json.dumps(body)[:80]}")


def _reconstruct(body: Any, resolver: Resolver) -> str:
    """The body's JSON text with each intrinsic replaced by a placeholder that keeps it valid.

    CDK splices tokens in anywhere: usually inside a JSON string (``"region":"`` Ref ``"``), but
    a number token (a CfnParameter used as an annotation value) lands outside one. So the JSON
    text is scanned as it goes, and a placeholder is escaped into the string it is in, or
    written as a string of its own where a value is expected.
    """
    out: list[str] = []
    in_string = escaped = False
    for part in _body_parts(body):
        if isinstance(part, _Fragment):
            out.append(part)
            for char in part:
                if escaped:
                    escaped = False
                elif in_string and char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = not in_string
        else:
            quoted = json.dumps(resolver.text(part), ensure_ascii=False)
            out.append(quoted[1:-1] if in_string else quoted)
    return "".join(out)


def load_dashboards(template: Mapping[str, Any], *, stack_name: str = "<StackName>") -> list[tuple[str, dict]]:
    """``(logical id, body)`` for every ``AWS::CloudWatch::Dashboard`` in ``template``, in template order.

    Intrinsics become placeholders: pseudo parameters an example value (``us-east-1``), ``Ref``
    ``<LogicalId>`` (CDK's hash suffix dropped), ``Fn::GetAtt`` ``<Attribute>`` (``<Id.Arn>`` for
    generic attributes), ``Fn::FindInMap`` the mapped value when the template has it.

    :param stack_name: the value for ``AWS::StackName``; default ``<StackName>``.
    :raises ValueError: a body that is not JSON once rebuilt, naming the logical id.
    """
    resolver = Resolver(template, stack_name)
    dashboards: list[tuple[str, dict]] = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::CloudWatch::Dashboard":
            continue
        raw = (resource.get("Properties") or {}).get("DashboardBody")
        try:
            text = _reconstruct(raw, resolver)
            body = json.loads(text)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{logical_id}: cannot rebuild DashboardBody: {err}") from err
        if not isinstance(body, dict):
            raise ValueError(f"{logical_id}: DashboardBody is not a JSON object")
        dashboards.append((logical_id, body))
    return dashboards


# ---------------------------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """A widget with its grid rectangle; ``auto`` when the body gave no x/y and we chose one."""

    index: int
    x: int
    y: int
    width: int
    height: int
    widget: Mapping[str, Any]
    auto: bool = False

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _overlaps(a: Placed, b: Placed) -> bool:
    return a.x < b.right and b.x < a.right and a.y < b.bottom and b.y < a.bottom


def place_widgets(widgets: Sequence[Mapping[str, Any]]) -> list[Placed]:
    """Grid rectangles for ``widgets`` (width/height default 6).

    CDK always writes x and y. For a widget without them CloudWatch places it itself; this
    approximates that with the first free slot in reading order, not before the previous
    automatically placed widget (a missing x alone takes the leftmost free column at that y).
    """
    placed: list[Placed] = []
    cursor = (0, 0)
    for index, widget in enumerate(widgets):
        width = _int(widget.get("width"), DEFAULT_SIZE)
        height = _int(widget.get("height"), DEFAULT_SIZE)
        x, y = widget.get("x"), widget.get("y")
        if isinstance(x, int) and isinstance(y, int):
            placed.append(Placed(index, x, y, width, height, widget))
            continue

        def free(cx: int, cy: int, width: int = width, height: int = height) -> bool:
            probe = Placed(-1, cx, cy, width, height, {})
            return not any(_overlaps(probe, other) for other in placed)

        span = max(GRID_COLUMNS - width, 0)
        if isinstance(x, int):
            cy = next(cy for cy in range(10**6) if free(x, cy))
            spot = (cy, x)
        elif isinstance(y, int):
            spot = next(((y, cx) for cx in range(span + 1) if free(cx, y)), (y, 0))
        else:
            spot = next(
                (cy, cx)
                for cy in range(cursor[0], 10**6)
                for cx in range(span + 1)
                if (cy, cx) >= cursor and free(cx, cy)
            )
        cursor = spot
        placed.append(Placed(index, spot[1], spot[0], width, height, widget, auto=True))
    return placed


def _layout_issues(placed: Sequence[Placed]) -> list[tuple[str, tuple[int, ...]]]:
    issues: list[tuple[str, tuple[int, ...]]] = []
    for box in placed:
        name = _widget_name(box)
        if box.width < 1 or box.height < 1:
            issues.append((f"{name} has size {box.width}x{box.height}; both must be at least 1", (box.index,)))
        if box.x < 0 or box.y < 0:
            issues.append((f"{name} is at x={box.x}, y={box.y}; neither may be negative", (box.index,)))
        if box.right > GRID_COLUMNS:
            issues.append(
                (
                    f"{name} crosses column {GRID_COLUMNS}: x={box.x} + width={box.width} = {box.right}",
                    (box.index,),
                )
            )
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            if _overlaps(a, b):
                cols = f"{max(a.x, b.x)}-{min(a.right, b.right) - 1}"
                rows = f"{max(a.y, b.y)}-{min(a.bottom, b.bottom) - 1}"
                issues.append(
                    (
                        f"{_widget_name(a)} and {_widget_name(b)} overlap (columns {cols}, rows {rows})",
                        (a.index, b.index),
                    )
                )
    return issues


def layout_problems(widgets: Sequence[Mapping[str, Any]]) -> list[str]:
    """Human-readable layout faults: overlapping widgets, widgets past column 24, bad sizes.

    An empty list means the layout is clean.
    """
    return [message for message, _ in _layout_issues(place_widgets(widgets))]


# ---------------------------------------------------------------------------------------------
# What a widget shows
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WidgetView:
    """What the preview shows of one widget, shared by the HTML and the SVG."""

    title: str
    kind: str
    lines: tuple[str, ...]
    text: str | None = None
    notes: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    """Per line, fuller detail for the HTML tooltip ("" for none); may be shorter than ``lines``."""

    @property
    def label(self) -> str:
        """The title; for an untitled text widget its first markdown line, else ``(kind)``."""
        if self.title:
            return self.title
        first = next((line.strip().lstrip("#").strip() for line in (self.text or "").splitlines() if line.strip()), "")
        return first or f"({self.kind})"


def _properties(widget: Mapping[str, Any]) -> Mapping[str, Any]:
    properties = widget.get("properties")
    return properties if isinstance(properties, Mapping) else {}


def widget_title(widget: Mapping[str, Any]) -> str:
    """The widget's ``properties.title``, or "" (text widgets have none)."""
    title = _properties(widget).get("title")
    return title if isinstance(title, str) else ""


def _widget_name(box: Placed) -> str:
    title = widget_title(box.widget)
    return f"widget {box.index} ({title!r})" if title else f"widget {box.index} ({box.widget.get('type', '?')})"


def expand_metric_rows(rows: Any) -> list[tuple[list[Any], dict[str, Any]]]:
    """``(values, options)`` per row of a metric widget's compact ``metrics`` array.

    A row is ``[namespace, metricName, dimName, dimValue, ..., {options}]``; ``"."`` repeats the
    previous row's value at that position and a leading ``"..."`` repeats all of the previous
    row's values but the last ones given. An expression row is ``[{"expression": ...}]``.
    """
    expanded: list[tuple[list[Any], dict[str, Any]]] = []
    previous: list[Any] = []
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, Mapping):
            row = [row]
        if not isinstance(row, list):
            continue
        has_options = bool(row) and isinstance(row[-1], Mapping)
        options = dict(row[-1]) if has_options else {}
        values = list(row[:-1] if has_options else row)
        if values and values[0] == "...":
            tail = values[1:]
            values = previous[: max(len(previous) - len(tail), 0)] + tail
        values = [previous[i] if value == "." and i < len(previous) else value for i, value in enumerate(values)]
        if values:
            previous = values
        expanded.append((values, options))
    return expanded


def describe_series(values: Sequence[Any], options: Mapping[str, Any], default_stat: str = DEFAULT_STAT) -> str:
    """One compact line per series: ``name [variant] stat``, or ``label = expression``.

    ``name`` is the label, else the metric name; ``[Variant1]`` is the VariantName dimension (for
    a metric without one, the first key dimension other than EndpointName, as ``[Name=value]``).
    Hidden series (``"visible": false``, e.g. the inputs of an expression) start ``(hidden)``.
    """
    if "expression" in options:
        name = options.get("label") or options.get("id") or "expression"
        line = f"{name} = {options['expression']}"
    elif len(values) >= 2:
        dimensions = dict(zip(values[2::2], values[3::2], strict=False))
        key = next((d for d in ("VariantName", *dimensions) if d in dimensions and d != "EndpointName"), None)
        where = (
            "" if key is None else f" [{dimensions[key]}]" if key == "VariantName" else f" [{key}={dimensions[key]}]"
        )
        line = f"{options.get('label') or values[1]}{where} {options.get('stat', default_stat)}"
    else:
        line = json.dumps([*values, dict(options)], ensure_ascii=False)
    if options.get("visible") is False:
        line = f"(hidden) {line}"
    if options.get("yAxis") == "right":
        line = f"{line} (right axis)"
    return line


def series_details(values: Sequence[Any], options: Mapping[str, Any], default_stat: str = DEFAULT_STAT) -> str:
    """Everything about one series (namespace, metric, every dimension, options), for a tooltip."""
    settings = {} if "expression" in options else {"stat": default_stat}
    settings.update(options)
    head = [str(values[0]), str(values[1])] if len(values) >= 2 else []
    dimensions = [f"{name}={value}" for name, value in zip(values[2::2], values[3::2], strict=False)]
    return " ".join([*head, *dimensions, *(f"{key}={value}" for key, value in settings.items())])


def _axis_notes(properties: Mapping[str, Any]) -> list[str]:
    notes = []
    axes = properties.get("yAxis")
    for side, axis in sorted(axes.items()) if isinstance(axes, Mapping) else []:
        if isinstance(axis, Mapping) and axis:
            bits = [str(axis["label"])] if axis.get("label") else []
            bits += [f"{bound} {axis[bound]}" for bound in ("min", "max") if bound in axis]
            if axis.get("showUnits") is False:
                bits.append("no units")
            notes.append(f"{side} axis: {', '.join(bits)}")
    return notes


def describe_widget(widget: Mapping[str, Any]) -> WidgetView:
    """Title, kind and content lines of one widget."""
    properties = _properties(widget)
    kind = str(widget.get("type", "?"))
    lines: list[str] = []
    hints: list[str] = []
    text: str | None = None
    notes: list[str] = []
    if kind == "metric":
        kind += f" · {properties.get('view', 'timeSeries')}"
        if properties.get("stacked"):
            kind += " · stacked"
        default_stat = str(properties.get("stat", DEFAULT_STAT))
        for values, options in expand_metric_rows(properties.get("metrics")):
            lines.append(describe_series(values, options, default_stat))
            hints.append(series_details(values, options, default_stat))
        annotations = properties.get("annotations")
        if isinstance(annotations, Mapping):
            lines += [f"alarm: {arn}" for arn in annotations.get("alarms") or []]
            for direction in ("horizontal", "vertical"):
                for note in annotations.get(direction) or []:
                    if isinstance(note, Mapping):
                        lines.append(f"{direction} line: {note.get('label', '')} = {note.get('value', '?')}".strip())
        notes += _axis_notes(properties)
    elif kind == "text":
        text = str(properties.get("markdown", ""))
    elif kind == "alarm":
        lines += [f"alarm: {arn}" for arn in properties.get("alarms") or []]
    elif kind == "log":
        kind += f" · {properties.get('view', 'table')}"
        text = str(properties.get("query", ""))
    elif kind == "custom":
        lines.append(f"function: {properties.get('endpoint', '?')}")
    else:
        lines += [
            f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in properties.items() if key != "title"
        ]
    return WidgetView(widget_title(widget), kind, tuple(lines), text, tuple(notes), tuple(hints))


def _widgets(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    widgets = body.get("widgets")
    return [w for w in widgets if isinstance(w, Mapping)] if isinstance(widgets, list) else []


def dashboard_widgets(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The body's widgets (entries that are not objects are skipped)."""
    return _widgets(body)


def canvas_size(placed: Sequence[Placed]) -> tuple[int, int]:
    """Grid columns and rows to draw: at least 24 columns, more if a widget crosses the edge."""
    columns = max([GRID_COLUMNS, *(box.right for box in placed)])
    rows = max([1, *(box.bottom for box in placed)])
    return columns, rows


def flagged_widgets(placed: Sequence[Placed]) -> set[int]:
    """Indexes of the widgets in a layout problem (drawn in red)."""
    return {index for _, indexes in _layout_issues(placed) for index in indexes}


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _summary(name: str, body: Mapping[str, Any], problems: Sequence[str]) -> list[str]:
    placed = place_widgets(_widgets(body))
    columns, rows = canvas_size(placed)
    lines = [f"{name}: {len(placed)} widgets, {columns} x {rows} grid units"]
    for box in sorted(placed, key=lambda b: (b.y, b.x, b.index)):
        view = describe_widget(box.widget)
        auto = " (auto)" if box.auto else ""
        lines.append(f"  x={box.x:>2} y={box.y:>3} {box.width:>2}x{box.height:<3} {view.kind:<30} {view.label}{auto}")
    lines += [f"  PROBLEM: {problem}" for problem in problems] or ["  layout ok"]
    return lines


def _file_stem(stack: str, logical_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{stack}-{logical_id}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 clean, 1 layout problems, 2 nothing readable)."""
    parser = argparse.ArgumentParser(
        prog="dashboard_preview.py",
        description="Draw the CloudWatch dashboards of synthesized CDK templates over a simulated A/B run, offline.",
    )
    parser.add_argument(
        "--template",
        action="append",
        type=Path,
        metavar="PATH",
        help=f"a synthesized template (repeatable); default every *.template.json in {DEFAULT_TEMPLATE_DIR}/",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT_DIR, metavar="DIR", help=f"output directory; default {DEFAULT_OUT_DIR}/"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated run; default 7")
    parser.add_argument("--dpi", type=int, default=100, help="resolution of the PNG; default 100")
    args = parser.parse_args(argv)
    # matplotlib takes a second to import: only when there is something to draw.
    from scripts.dashboard_render import write_png

    templates: list[Path] = args.template or sorted(DEFAULT_TEMPLATE_DIR.glob("*.template.json"))
    if not templates:
        print(f"error: no *.template.json in {DEFAULT_TEMPLATE_DIR}/; synthesize first (make synth)", file=sys.stderr)
        return 2

    found = problem_count = 0
    for path in templates:
        try:
            template = json.loads(path.read_text(encoding="utf-8"))
            stack = path.name.removesuffix(".template.json").removesuffix(".json")
            dashboards = load_dashboards(template, stack_name=stack)
        except (OSError, ValueError) as err:
            print(f"error: {path}: {err}", file=sys.stderr)
            return 2
        for logical_id, body in dashboards:
            found += 1
            name = f"{stack}/{logical_id}"
            problems = layout_problems(_widgets(body))
            problem_count += len(problems)
            args.out.mkdir(parents=True, exist_ok=True)
            target = args.out / f"{_file_stem(stack, logical_id)}.png"
            try:
                write_png(target, name, body, template, seed=args.seed, dpi=args.dpi, stack_name=stack)
            except ValueError as err:
                print(f"error: {name}: {err}", file=sys.stderr)
                return 2
            print("\n".join(_summary(name, body, problems)))
            print(f"  wrote {target} ({target.stat().st_size // 1024} KB)")

    if not found:
        print(f"no AWS::CloudWatch::Dashboard in {', '.join(map(str, templates))}", file=sys.stderr)
        return 0
    if problem_count:
        print(f"{problem_count} layout problem(s) found", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a file: `scripts` importable
    sys.exit(main())
