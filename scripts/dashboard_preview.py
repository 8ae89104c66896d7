#!/usr/bin/env python3
"""Preview the CloudWatch dashboards of synthesized templates, without an AWS account.

usage: python scripts/dashboard_preview.py [--template PATH ...] [--out DIR]

Reads every ``*.template.json`` in ``cdk.out/`` (or only the ``--template`` files; it never
synthesizes anything itself), finds each ``AWS::CloudWatch::Dashboard``, rebuilds its
``DashboardBody`` with readable placeholders for the CloudFormation intrinsics, and writes, per
dashboard, ``<stack>-<logical id>.html`` (a self-contained page) and ``<stack>-<logical id>.svg``
(the same layout, for a README) into ``--out`` (default ``docs/dashboard-preview/``). Paths are
relative to the current directory, as for ``cdk synth``. A short summary goes to stdout.

Exit status: 0 when every layout is clean; 1 when some widget overlaps another or crosses column
24 (the files are still written, with those widgets drawn in red); 2 when there is nothing to read
or a template/body cannot be parsed.

Output is deterministic (no timestamps, template order kept), so committed previews only change
when the dashboard does.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GRID_COLUMNS = 24
"""CloudWatch dashboards are a 24-column grid."""
CELL_PX = 40
"""Drawing scale: one grid unit is 40 px wide and one row unit 40 px tall."""
DEFAULT_SIZE = 6
"""CloudWatch's default widget width and height when the body omits them."""
DEFAULT_STAT = "Average"
"""CloudWatch's statistic for a metric row without ``stat`` (CDK omits it for Average)."""
MAX_SVG_LINES = 6
"""Series (or text) lines drawn per widget in the SVG; the rest become "… +N more"."""
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
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# ---------------------------------------------------------------------------------------------
# Reading templates: DashboardBody → dict
# ---------------------------------------------------------------------------------------------


def _short_id(logical_id: str) -> str:
    """``AbEndpointAA85BA8E`` → ``AbEndpoint``: CDK's 8-hex-digit path hash is noise in a preview."""
    match = _CDK_HASH.match(logical_id)
    return match.group(1) if match else logical_id


class _Resolver:
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
        return f"<{_short_id(name)}>"

    def get_att(self, logical_id: str, attribute: str) -> str:
        # An endpoint's "<EndpointName>" says it all; an "<Arn>" needs to say whose.
        if attribute in _GENERIC_ATTRIBUTES:
            return f"<{_short_id(logical_id)}.{attribute}>"
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


def _reconstruct(body: Any, resolver: _Resolver) -> str:
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
    resolver = _Resolver(template, stack_name)
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


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Drop control characters that XML 1.0 (and so the SVG) cannot hold."""
    return _XML_INVALID.sub("", text)


def _esc(text: str) -> str:
    return html.escape(_clean(text), quote=True)


def _truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _widgets(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    widgets = body.get("widgets")
    return [w for w in widgets if isinstance(w, Mapping)] if isinstance(widgets, list) else []


def _canvas(placed: Sequence[Placed]) -> tuple[int, int]:
    """Grid columns and rows to draw: at least 24 columns, more if a widget crosses the edge."""
    columns = max([GRID_COLUMNS, *(box.right for box in placed)])
    rows = max([1, *(box.bottom for box in placed)])
    return columns, rows


_HTML_STYLE = """
body { font: 14px/1.35 system-ui, sans-serif; margin: 24px; color: #16191f; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #5f6b7a; margin: 0 0 12px; }
.problems { color: #b0160b; } .ok { color: #037f0c; }
.grid { position: relative; border: 1px solid #d1d5db; background-color: #fafafa;
  background-image: linear-gradient(to right, #eceff3 1px, transparent 1px),
                    linear-gradient(to bottom, #eceff3 1px, transparent 1px);
  background-size: 40px 40px; }
.edge { position: absolute; top: 0; bottom: 0; border-left: 2px dashed #b0160b; }
.widget { position: absolute; box-sizing: border-box; overflow: auto; padding: 6px 8px;
  background: #fff; border: 1px solid #8d99a8; border-radius: 4px; }
.widget.problem { border: 2px solid #b0160b; background: rgba(255, 235, 235, 0.85); }
.widget.auto { border-style: dashed; }
.widget h2 { font-size: 14px; margin: 0; }
.kind { font-size: 11px; color: #5f6b7a; text-transform: uppercase; letter-spacing: .03em; }
.widget ul { margin: 4px 0 0; padding-left: 16px; font-size: 12px; }
.widget pre { margin: 4px 0 0; font-size: 12px; white-space: pre-wrap; word-break: break-word; }
.notes { margin: 4px 0 0; font-size: 11px; color: #5f6b7a; }
"""


def render_html(name: str, body: Mapping[str, Any]) -> str:
    """A self-contained HTML page drawing ``body``'s widgets on the 24-column grid.

    Every text from the body (titles, series, markdown, queries) is HTML-escaped; widgets in a
    layout problem are outlined in red, automatically placed ones dashed.
    """
    placed = place_widgets(_widgets(body))
    issues = _layout_issues(placed)
    flagged = {index for _, indexes in issues for index in indexes}
    columns, rows = _canvas(placed)
    settings = ", ".join(f"{key} {body[key]}" for key in ("start", "end", "periodOverride") if key in body)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        f"<title>Dashboard preview: {_esc(name)}</title>",
        f"<style>{_HTML_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_esc(name)}</h1>",
        f'<p class="meta">{len(placed)} widgets on a {GRID_COLUMNS}-column grid (1 unit = {CELL_PX} px)'
        + (f"; {_esc(settings)}" if settings else "")
        + ". Series read <i>name [VariantName] stat</i> (hover for every dimension); "
        "placeholders in &lt;angle brackets&gt; stand for CloudFormation references.</p>",
    ]
    if issues:
        out.append('<ul class="problems">')
        out += [f"<li>{_esc(message)}</li>" for message, _ in issues]
        out.append("</ul>")
    else:
        out.append('<p class="ok">Layout: no overlaps, nothing past column 24.</p>')
    out.append(f'<div class="grid" style="width:{columns * CELL_PX}px;height:{rows * CELL_PX}px">')
    if columns > GRID_COLUMNS:
        out.append(f'<div class="edge" style="left:{GRID_COLUMNS * CELL_PX - 1}px"></div>')
    for box in placed:
        view = describe_widget(box.widget)
        classes = " ".join(["widget", *(["problem"] if box.index in flagged else []), *(["auto"] if box.auto else [])])
        style = (
            f"left:{box.x * CELL_PX + 2}px;top:{box.y * CELL_PX + 2}px;"
            f"width:{max(box.width * CELL_PX - 4, 8)}px;height:{max(box.height * CELL_PX - 4, 8)}px"
        )
        where = f"widget {box.index}: x={box.x} y={box.y} width={box.width} height={box.height}"
        where += " (placed automatically)" if box.auto else ""
        out.append(f'<section class="{classes}" style="{style}" title="{_esc(where)}">')
        if view.title:
            out.append(f"<h2>{_esc(view.title)}</h2>")
        out.append(f'<div class="kind">{_esc(view.kind)}</div>')
        if view.lines:
            hints = [*view.hints, *[""] * len(view.lines)]
            items = [
                f'<li title="{_esc(hint)}">{_esc(line)}</li>' if hint else f"<li>{_esc(line)}</li>"
                for line, hint in zip(view.lines, hints, strict=False)
            ]
            out.append("<ul>" + "".join(items) + "</ul>")
        if view.text is not None:
            out.append(f"<pre>{_esc(view.text)}</pre>")
        if view.notes:
            out.append(f'<p class="notes">{_esc("; ".join(view.notes))}</p>')
        out.append("</section>")
    out += ["</div>", "</body>", "</html>", ""]
    return "\n".join(out)


_SVG_PAD = 12
_SVG_HEADER = 28
_TITLE_CHAR_PX = 7.8  # 13 px bold monospace
_LINE_CHAR_PX = 6.6  # 11 px monospace
_LINE_PX = 14


def render_svg(name: str, body: Mapping[str, Any]) -> str:
    """The layout of ``body`` as a standalone SVG for a README.

    Each widget is a box with its title, kind and up to six lines (series, alarms, markdown),
    each cut to the box width with an ellipsis; the full title is the box's ``<title>``
    (tooltip). Problem widgets are red, automatically placed ones dashed.
    """
    placed = place_widgets(_widgets(body))
    flagged = {index for _, indexes in _layout_issues(placed) for index in indexes}
    columns, rows = _canvas(placed)
    width = columns * CELL_PX + 2 * _SVG_PAD
    height = rows * CELL_PX + _SVG_PAD + _SVG_HEADER
    ox, oy = _SVG_PAD, _SVG_HEADER
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="ui-monospace, Menlo, Consolas, monospace" role="img">',
        f"<title>Dashboard preview: {_esc(name)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{ox}" y="19" font-size="14" font-weight="bold" fill="#16191f">'
        f"{_esc(_truncate(f'{name} — {len(placed)} widgets', int((width - 2 * _SVG_PAD) / 8.4)))}</text>",
    ]
    grid = [f"M{ox + c * CELL_PX} {oy}V{oy + rows * CELL_PX}" for c in range(columns + 1)]
    grid += [f"M{ox} {oy + r * CELL_PX}H{ox + columns * CELL_PX}" for r in range(rows + 1)]
    out.append(f'<path d="{"".join(grid)}" stroke="#eceff3" stroke-width="1" fill="none"/>')
    if columns > GRID_COLUMNS:
        edge = ox + GRID_COLUMNS * CELL_PX
        out.append(
            f'<line x1="{edge}" y1="{oy}" x2="{edge}" y2="{oy + rows * CELL_PX}" '
            'stroke="#b0160b" stroke-width="2" stroke-dasharray="6 4"/>'
        )
    for box in placed:
        view = describe_widget(box.widget)
        bad = box.index in flagged
        left, top = ox + box.x * CELL_PX + 2, oy + box.y * CELL_PX + 2
        box_w, box_h = max(box.width * CELL_PX - 4, 4), max(box.height * CELL_PX - 4, 4)
        stroke = 'stroke="#b0160b" stroke-width="2"' if bad else 'stroke="#8d99a8" stroke-width="1"'
        dash = ' stroke-dasharray="5 3"' if box.auto else ""
        fill = "#ffebeb" if bad else "#ffffff"
        label = view.label
        out.append("<g>")
        out.append(f"<title>{_esc(label)} ({_esc(view.kind)}; x={box.x} y={box.y} {box.width}x{box.height})</title>")
        out.append(
            f'<rect x="{left}" y="{top}" width="{box_w}" height="{box_h}" rx="4" fill="{fill}" '
            f'fill-opacity="{0.85 if bad else 1}" {stroke}{dash}/>'
        )
        title_chars = max(int((box_w - 12) / _TITLE_CHAR_PX), 1)
        line_chars = max(int((box_w - 12) / _LINE_CHAR_PX), 1)
        out.append(
            f'<text x="{left + 6}" y="{top + 17}" font-size="13" font-weight="bold" fill="#16191f">'
            f"{_esc(_truncate(label, title_chars))}</text>"
        )
        out.append(
            f'<text x="{left + 6}" y="{top + 31}" font-size="10" fill="#5f6b7a">'
            f"{_esc(_truncate(view.kind, line_chars))}</text>"
        )
        content = list(view.lines)
        if view.text is not None:
            text_lines = [line for line in view.text.splitlines() if line.strip()]
            content += text_lines if view.title else text_lines[1:]  # else the first is the label
        room = min(MAX_SVG_LINES, max((box_h - 36) // _LINE_PX, 0))
        if len(content) > room:
            shown = max(room - 1, 0)
            content = [*content[:shown], f"… +{len(content) - shown} more"] if room else []
        for n, line in enumerate(content):
            out.append(
                f'<text x="{left + 6}" y="{top + 47 + n * _LINE_PX}" font-size="11" fill="#16191f">'
                f"{_esc(_truncate(line, line_chars))}</text>"
            )
        out.append("</g>")
    out += ["</svg>", ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _summary(name: str, body: Mapping[str, Any], problems: Sequence[str]) -> list[str]:
    placed = place_widgets(_widgets(body))
    columns, rows = _canvas(placed)
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
        description="Draw the CloudWatch dashboards of synthesized CDK templates as HTML and SVG, offline.",
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
    args = parser.parse_args(argv)

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
            stem = args.out / _file_stem(stack, logical_id)
            written = []
            for suffix, text in ((".html", render_html(name, body)), (".svg", render_svg(name, body))):
                target = stem.with_name(stem.name + suffix)
                target.write_text(text, encoding="utf-8", newline="\n")
                written.append(target)
            print("\n".join(_summary(name, body, problems)))
            print("\n".join(f"  wrote {target}" for target in written))

    if not found:
        print(f"no AWS::CloudWatch::Dashboard in {', '.join(map(str, templates))}", file=sys.stderr)
        return 0
    if problem_count:
        print(f"{problem_count} layout problem(s) found", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
