"""Draw a synthesized CloudWatch dashboard as the console would show it, over a simulated A/B run.

Every widget sits at its own ``x``/``y``/``width``/``height`` on the dashboard's 24-column grid
(:func:`scripts.dashboard_preview.place_widgets`) and shows what the body asks for:

* ``metric`` widgets (``timeSeries``, the default view, and ``singleValue``): each metric row is
  looked up in the simulation by namespace, metric name and ``VariantName``
  (:func:`scripts.dashboard_simulation.series_for`) with the row's statistic and period; math
  expressions are **evaluated** from their inputs (:mod:`scripts.metric_math`); hidden rows
  (``visible: false``) are inputs only. Labels, left/right axes (label, min, max) and horizontal
  annotations (drawn as dashed lines: this project's alarm thresholds) come from the body. A series
  the simulation does not have is listed under the chart as "no simulated data".
* ``text`` widgets: the markdown as plain text (headings bold, tables aligned, ``**``/`` ` `` dropped).
* ``alarm`` widgets: each alarm's state over the run, evaluated from the template's alarm
  definitions on the simulated metrics (:mod:`scripts.dashboard_alarms`), and its state at the end.
* anything else (``log``, ``custom``, ``explorer``, metric views ``bar``/``pie``/``gauge``): a
  hatched, labelled **placeholder** naming the widget type, so the layout stays complete.

Colours follow the variant (the same variant has the same colour in every widget); a variant's
second and third series in one widget are dashed and dotted. Uses matplotlib's Agg backend only.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch, Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MultipleLocator
from PIL import Image, PngImagePlugin

from scripts.dashboard_alarms import ALARM, AlarmTimeline, alarm_key, alarm_timelines
from scripts.dashboard_preview import (
    DEFAULT_STAT,
    Placed,
    canvas_size,
    dashboard_widgets,
    expand_metric_rows,
    flagged_widgets,
    place_widgets,
)
from scripts.dashboard_simulation import Phase, RunSettings, SimulatedRun, series_for, simulate
from scripts.metric_math import UnsupportedExpression, evaluate

COLUMN_INCHES = 0.56
ROW_INCHES = 0.3
HEADER_INCHES = 0.55
MARGIN_INCHES = 0.12
DEFAULT_PERIOD = 300
"""CloudWatch's graph period when neither the row nor the widget sets one."""
DEFAULT_WINDOW_MINUTES = 180
"""CloudWatch's default time range (3 hours) when the body has no ``start``."""
START_CLOCK_MINUTES = 8 * 60
"""The simulated run starts at 08:00 (UTC, as the console shows by default)."""
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
LINESTYLES = ("-", "--", ":", "-.")
THRESHOLD_COLOR = "#d62728"
STATE_COLORS = {"OK": "#8fd19e", "ALARM": "#e8505b"}
SUPPORTED_VIEWS = ("timeSeries", "singleValue")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


_DURATION = re.compile(r"^-P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")


@dataclass(frozen=True)
class Series:
    label: str
    values: np.ndarray
    period_minutes: int
    variant: str | None
    right: bool


def window_minutes(body: Mapping[str, Any]) -> int:
    """The dashboard's time range from its ``start`` (``-PT3H``, ``-P1D``…); default 3 hours."""
    match = _DURATION.match(str(body.get("start", "")))
    if not match or not any(match.groups()):
        return DEFAULT_WINDOW_MINUTES
    days, hours, minutes = (int(group or 0) for group in match.groups())
    return days * 1440 + hours * 60 + minutes


def dashboard_variants(body: Mapping[str, Any]) -> list[str]:
    """Every ``VariantName`` the body's metric rows name, in order of appearance; at least two
    (``Variant1``, ``Variant2`` make up the numbers, as an A/B run needs two)."""
    names: dict[str, None] = {}
    for widget in dashboard_widgets(body):
        for values, _ in expand_metric_rows((widget.get("properties") or {}).get("metrics")):
            dims = dict(zip(values[2::2], values[3::2], strict=False))
            if isinstance(dims.get("VariantName"), str):
                names[dims["VariantName"]] = None
    for filler in ("Variant1", "Variant2"):
        if len(names) < 2:
            names.setdefault(filler, None)
    return list(names)


def source_digest(body: Mapping[str, Any], template: Mapping[str, Any], seed: int) -> str:
    """What a picture was drawn from: the body, the template's alarm definitions and the seed (sha256).

    Only each alarm's ``Type`` and ``Properties`` count: ``cdk synth`` adds ``Metadata`` (construct
    paths) that a test synth leaves out, and neither changes the picture.
    """
    alarms = {
        key: {"Type": resource.get("Type"), "Properties": resource.get("Properties")}
        for key, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, Mapping)
        and resource.get("Type") in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
    }
    text = json.dumps({"body": body, "alarms": alarms, "seed": seed}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# --- geometry ------------------------------------------------------------------------------------


class _Grid:
    def __init__(self, columns: int, rows: int) -> None:
        self.width = columns * COLUMN_INCHES + 2 * MARGIN_INCHES
        self.height = rows * ROW_INCHES + HEADER_INCHES + MARGIN_INCHES

    def rect(self, box: Placed) -> tuple[float, float, float, float]:
        """Figure coordinates (left, bottom, width, height) of a widget's grid rectangle."""
        left = (MARGIN_INCHES + box.x * COLUMN_INCHES) / self.width
        top = (HEADER_INCHES + box.y * ROW_INCHES) / self.height
        return (
            left,
            1 - top - box.height * ROW_INCHES / self.height,
            box.width * COLUMN_INCHES / self.width,
            (box.height * ROW_INCHES / self.height),
        )

    def inset(self, rect: tuple[float, float, float, float], *, left: float, right: float, top: float, bottom: float):
        """``rect`` shrunk by margins given in inches."""
        x, y, w, h = rect
        return (
            x + left / self.width,
            y + bottom / self.height,
            max(w - (left + right) / self.width, 0.01),
            max(h - (top + bottom) / self.height, 0.01),
        )


def grid_position(figure: Figure, axes: Axes) -> tuple[int, int, int, int]:
    """The grid rectangle (x, y, width, height) a widget frame was drawn at (for tests)."""
    width, height = figure.get_size_inches()
    box = axes.get_position()
    x = (box.x0 * width - MARGIN_INCHES) / COLUMN_INCHES
    y = ((1 - box.y1) * height - HEADER_INCHES) / ROW_INCHES
    return round(x), round(y), round(box.width * width / COLUMN_INCHES), round(box.height * height / ROW_INCHES)


def widget_frames(figure: Figure) -> list[Axes]:
    """The frame axes of every widget, in body order (their label is ``widget <index>: <type>``)."""
    frames = [a for a in figure.axes if str(a.get_label()).startswith("widget ")]
    return sorted(frames, key=lambda a: int(str(a.get_label()).split(":")[0].split()[1]))


# --- drawing -------------------------------------------------------------------------------------


class _Painter:
    def __init__(
        self, figure: Figure, grid: _Grid, run: SimulatedRun, alarms: Mapping[str, AlarmTimeline], window: int
    ):
        self.figure = figure
        self.grid = grid
        self.run = run
        self.alarms = alarms
        self.start = max(run.minutes - window, 0)
        self.variant_index = {name: i for i, name in enumerate(run.variants)}

    # frame and title

    def frame(self, box: Placed, title: str, flagged: bool) -> tuple[Axes, tuple[float, float, float, float]]:
        rect = self.grid.rect(box)
        frame = self.figure.add_axes(rect, label=f"widget {box.index}: {box.widget.get('type', '?')}")
        frame.set_axis_off()
        frame.set_xlim(0, 1)
        frame.set_ylim(0, 1)
        frame.add_patch(
            FancyBboxPatch(
                (0.004, 0.01),
                0.992,
                0.98,
                boxstyle="round,pad=0,rounding_size=0.01",
                transform=frame.transAxes,
                facecolor="#ffffff",
                edgecolor="#d62728" if flagged else "#c6ccd2",
                linewidth=1.6 if flagged else 0.8,
            )
        )
        if title:
            chars = int(box.width * COLUMN_INCHES * 13)
            frame.text(
                0.012,
                1 - 0.07 / (box.height * ROW_INCHES),
                title if len(title) <= chars else title[: chars - 1] + "…",
                transform=frame.transAxes,
                va="top",
                ha="left",
                fontsize=7.5,
                fontweight="bold",
                color="#16191f",
            )
        return frame, rect

    def _color(self, series: Series, order: list[str]) -> str:
        if series.variant in self.variant_index:
            return PALETTE[self.variant_index[series.variant] % len(PALETTE)]
        return PALETTE[(len(self.variant_index) + order.index(series.label)) % len(PALETTE)]

    def _time_axis(self, ax: Axes, box: Placed) -> None:
        ax.set_xlim(self.start, self.run.minutes)
        ax.xaxis.set_major_locator(MultipleLocator(30 if box.width >= 12 else 60))
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda m, _: f"{int(START_CLOCK_MINUTES + m) // 60 % 24:02d}:{int(m) % 60:02d}")
        )
        ax.tick_params(labelsize=5.5, length=2, pad=1.5, colors="#5f6b7a")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_color("#c6ccd2")
        ax.grid(True, axis="y", color="#eceff3", linewidth=0.6)

    # metric widgets

    def series(self, properties: Mapping[str, Any]) -> tuple[list[Series], list[str]]:
        """The visible series of a metric widget, and notes on what could not be simulated."""
        widget_stat = str(properties.get("stat", DEFAULT_STAT))
        widget_period = int(properties.get("period", DEFAULT_PERIOD))
        values_by_id: dict[str, np.ndarray] = {}
        variant_by_id: dict[str, str | None] = {}
        rows = []
        notes: list[str] = []
        for number, (values, options) in enumerate(expand_metric_rows(properties.get("metrics"))):
            row_id = str(options.get("id") or f"m{number + 1}")
            period = int(options.get("period", widget_period))
            rows.append((row_id, values, options, period))
            if "expression" in options or len(values) < 2:
                continue
            dims = {str(k): str(v) for k, v in zip(values[2::2], values[3::2], strict=False)}
            variant_by_id[row_id] = dims.get("VariantName")
            stat = str(options.get("stat", widget_stat))
            try:
                found = series_for(self.run, str(values[0]), str(values[1]), dims, stat, period)
            except ValueError as err:
                found, reason = None, str(err)
            else:
                reason = "no simulated data"
            if found is None:
                if options.get("visible") is not False:
                    notes.append(f"{reason}: {values[0]} {values[1]}")
                continue
            values_by_id[row_id] = found
        for row_id, _, options, _period in rows:  # expressions, after every metric they may use
            if "expression" not in options:
                continue
            expression = str(options["expression"])
            used = [i for i in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression) if i in variant_by_id]
            variant_by_id[row_id] = next((variant_by_id[i] for i in used if variant_by_id[i]), None)
            length = max((values_by_id[i].size for i in used if i in values_by_id), default=0)
            try:
                values_by_id[row_id] = evaluate(expression, values_by_id, length)
            except UnsupportedExpression as err:
                notes.append(f"not simulated: {err}")
        shown = []
        for row_id, values, options, period in rows:
            if options.get("visible") is False or row_id not in values_by_id:
                continue
            label = options.get("label") or (
                f"{values[1]} {variant_by_id.get(row_id) or ''}".strip() if len(values) >= 2 else row_id
            )
            shown.append(
                Series(
                    str(label),
                    values_by_id[row_id],
                    period // 60,
                    variant_by_id.get(row_id),
                    options.get("yAxis") == "right",
                )
            )
        return shown, notes

    def metric(self, box: Placed, rect: tuple[float, float, float, float], properties: Mapping[str, Any]) -> None:
        view = str(properties.get("view", "timeSeries"))
        series, notes = self.series(properties)
        if view == "singleValue":
            self._single_values(rect, series, notes)
            return
        has_right = any(s.right for s in series)
        ax = self.figure.add_axes(
            self.grid.inset(rect, left=0.42, right=0.42 if has_right else 0.12, top=0.25, bottom=0.42),
            label=f"chart {box.index}",
        )
        self._time_axis(ax, box)
        right_ax = ax.twinx() if has_right else None
        if right_ax is not None:
            right_ax.tick_params(labelsize=5.5, length=2, pad=1.5, colors="#5f6b7a")
            right_ax.spines["top"].set_visible(False)
        order = [s.label for s in series if s.variant not in self.variant_index]
        styles: dict[str, int] = {}
        handles = []
        for s in series:
            target = right_ax if s.right and right_ax is not None else ax
            color = self._color(s, order)
            style = LINESTYLES[styles.get(color, 0) % len(LINESTYLES)]
            styles[color] = styles.get(color, 0) + 1
            x = np.arange(s.values.size) * s.period_minutes
            real = np.count_nonzero(~np.isnan(s.values))
            sparse = real < 0.5 * s.values.size or real <= 48  # isolated or few datapoints: show each one
            (line,) = target.plot(
                x,
                s.values,
                color=color,
                linestyle=style,
                linewidth=0.9,
                marker="o" if sparse else None,
                markersize=2.2,
                label=s.label,
            )
            handles.append(line)
        axes = {"left": ax, "right": right_ax}
        self._axes_settings(properties, axes)
        handles += self._annotations(properties, axes)
        if not any(np.any(~np.isnan(s.values)) for s in series):
            ax.text(0.5, 0.5, "No data available.", transform=ax.transAxes, ha="center", fontsize=6.5, color="#5f6b7a")
        if handles:
            columns = max(1, int(box.width * COLUMN_INCHES / 1.05))
            ax.legend(
                handles=handles,
                loc="upper left",
                bbox_to_anchor=(-0.02, -0.13),
                ncol=min(columns, len(handles)),
                fontsize=5.5,
                frameon=False,
                handlelength=1.8,
                columnspacing=0.8,
                borderaxespad=0,
            )
        if notes:
            ax.text(0.01, 0.97, "\n".join(notes), transform=ax.transAxes, va="top", fontsize=5.5, color="#b0160b")

    def _axes_settings(self, properties: Mapping[str, Any], axes: Mapping[str, Axes | None]) -> None:
        settings = _mapping(properties.get("yAxis"))
        for side, ax in axes.items():
            if ax is None:
                continue
            axis = _mapping(settings.get(side))
            if axis.get("label"):
                ax.set_ylabel(str(axis["label"]), fontsize=5.5, color="#5f6b7a", labelpad=2)
            low, high = axis.get("min"), axis.get("max")
            current_low, current_high = ax.get_ylim()
            ax.set_ylim(
                low if isinstance(low, int | float) else current_low,
                high if isinstance(high, int | float) else current_high,
            )

    def _annotations(self, properties: Mapping[str, Any], axes: Mapping[str, Axes | None]) -> list[Line2D]:
        annotations = _mapping(properties.get("annotations"))
        lines = list(annotations.get("horizontal") or [])
        for reference in annotations.get("alarms") or []:  # an alarm annotation draws its threshold
            timeline = self.alarms.get(alarm_key(str(reference)))
            if timeline is not None and timeline.threshold is not None:
                lines.append({"value": timeline.threshold, "label": timeline.name})
        handles = []
        for note in lines:
            if not isinstance(note, Mapping) or not isinstance(note.get("value"), int | float):
                continue  # e.g. a value from a parameter: unknown until deploy
            ax = axes.get(str(note.get("yAxis", "left"))) or axes["left"]
            assert ax is not None
            color = str(note.get("color") or THRESHOLD_COLOR)
            value = float(note["value"])
            low, high = ax.get_ylim()
            if value > high:  # keep the threshold in view, as the console does
                ax.set_ylim(low, value * 1.1)
            line = ax.axhline(
                value, color=color, linestyle=(0, (4, 2)), linewidth=0.9, label=str(note.get("label") or value)
            )
            line.set_gid("annotation")
            handles.append(line)
        return handles

    def _single_values(self, rect: tuple[float, float, float, float], series: list[Series], notes: list[str]) -> None:
        ax = self.figure.add_axes(self.grid.inset(rect, left=0.1, right=0.1, top=0.25, bottom=0.1))
        ax.set_axis_off()
        for i, s in enumerate(series or []):
            real = s.values[~np.isnan(s.values)]
            text = f"{real[-1]:.4g}" if real.size else "–"
            x = (i + 0.5) / len(series)
            ax.text(x, 0.55, text, ha="center", fontsize=14, color=PALETTE[i % len(PALETTE)])
            ax.text(x, 0.25, s.label, ha="center", fontsize=6, color="#5f6b7a")
        if notes:
            ax.text(0, 0.05, "\n".join(notes), fontsize=5.5, color="#b0160b")

    # text widgets

    def text(self, box: Placed, rect: tuple[float, float, float, float], markdown: str) -> None:
        ax = self.figure.add_axes(self.grid.inset(rect, left=0.1, right=0.1, top=0.08, bottom=0.05))
        ax.set_axis_off()
        width_chars = int(box.width * COLUMN_INCHES * 19)
        lines = markdown_lines(markdown, width_chars)
        line_height = 0.13 / (box.height * ROW_INCHES - 0.13)
        for n, (kind, line) in enumerate(lines):
            y = 1 - n * line_height
            if y < 0:
                break
            ax.text(
                0,
                y,
                line,
                va="top",
                fontsize=8 if kind == "heading" else 6,
                fontweight="bold" if kind == "heading" else "normal",
                family="monospace" if kind == "table" else "sans-serif",
                color="#16191f",
            )

    # alarm widgets

    def alarm(self, box: Placed, rect: tuple[float, float, float, float], properties: Mapping[str, Any]) -> None:
        references = [str(r) for r in properties.get("alarms") or []]
        ax = self.figure.add_axes(
            self.grid.inset(rect, left=1.95, right=0.55, top=0.25, bottom=0.3), label=f"chart {box.index}"
        )
        self._time_axis(ax, box)
        ax.grid(False)
        ax.set_ylim(max(len(references), 1), 0)
        ax.set_yticks([i + 0.5 for i in range(len(references))])
        names = []
        for i, reference in enumerate(references):
            timeline = self.alarms.get(alarm_key(reference))
            if timeline is None:
                names.append(f"{alarm_key(reference)} (not in the template)")
                continue
            names.append(timeline.name if len(timeline.name) <= 34 else "…" + timeline.name[-33:])
            for state, color in STATE_COLORS.items():
                spans = _spans([s == state for s in timeline.states])
                ax.broken_barh(spans, (i + 0.15, 0.7), facecolors=color, linewidth=0)
            end = timeline.states[-1]
            ax.text(
                self.run.minutes + 2,
                i + 0.5,
                end,
                va="center",
                fontsize=5.5,
                fontweight="bold",
                color="#b0160b" if end == ALARM else "#037f0c",
                clip_on=False,
            )
        ax.set_yticklabels(names, fontsize=5.5)
        ax.tick_params(axis="y", length=0)
        ax.legend(
            handles=[Patch(color=c, label=s) for s, c in STATE_COLORS.items()],
            loc="upper left",
            bbox_to_anchor=(0, -0.1),
            ncol=2,
            fontsize=5.5,
            frameon=False,
        )

    # everything else

    def placeholder(self, rect: tuple[float, float, float, float], what: str) -> None:
        ax = self.figure.add_axes(self.grid.inset(rect, left=0.1, right=0.1, top=0.25, bottom=0.1))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.add_patch(
            Rectangle((0, 0), 1, 1, facecolor="#f2f3f3", edgecolor="#aab7b8", hatch="////", transform=ax.transAxes)
        )
        ax.text(
            0.5,
            0.5,
            what,
            ha="center",
            va="center",
            fontsize=6.5,
            color="#5f6b7a",
            transform=ax.transAxes,
            bbox={"facecolor": "white", "edgecolor": "none"},
        )


def _spans(flags: Sequence[bool]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = None
    for minute, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = minute
        elif not flag and start is not None:
            spans.append((start, minute - start))
            start = None
    return spans


def markdown_lines(markdown: str, width: int) -> list[tuple[str, str]]:
    """Markdown as plain ``(kind, line)`` pairs: ``heading``, ``table`` (cells aligned) or ``text`` (wrapped).

    Emphasis and code marks are dropped; a table's separator row is skipped.
    """

    def plain(text: str) -> str:
        return re.sub(r"\*\*|__|`", "", text).strip()

    out: list[tuple[str, str]] = []
    table: list[list[str]] = []

    def flush() -> None:
        if table:
            widths = [max(len(row[c]) if c < len(row) else 0 for row in table) for c in range(max(map(len, table)))]
            out.extend(
                ("table", "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip())
                for row in table
            )
            table.clear()

    for raw in markdown.splitlines():
        line = raw.strip()
        if line.startswith("|"):
            cells = [plain(cell) for cell in line.strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                table.append(cells)
            continue
        flush()
        if not line:
            continue
        heading = re.match(r"^#+\s*(.*)$", line)
        if heading:
            out.append(("heading", plain(heading.group(1))))
        else:
            out.extend(("text", part) for part in textwrap.wrap(plain(line), width) or [""])
    flush()
    return out


def _run_caption(run: SimulatedRun, window: int) -> str:
    parts = []
    start = 0
    for phase in run.phases:
        total = sum(phase.weights)
        split = "/".join(f"{100 * w / total:g}" for w in phase.weights)
        clock = START_CLOCK_MINUTES + start
        parts.append(f"{split} from {clock // 60 % 24:02d}:{clock % 60:02d}")
        start += phase.minutes
    return (
        f"Simulated A/B run, last {window // 60} h shown. Declared weights ({' · '.join(run.variants)}): "
        + ", ".join(parts)
    )


def render_dashboard(
    name: str,
    body: Mapping[str, Any],
    template: Mapping[str, Any],
    *,
    seed: int = 7,
    phases: Sequence[Phase] | None = None,
    stack_name: str = "<StackName>",
) -> Figure:
    """The dashboard ``body`` (from ``template``) as a matplotlib figure over a simulated run.

    The run covers the body's time range plus the SRM check's window before it (so the check has
    results from the first minute shown); its variants are the ones the body's metrics name.

    :raises ValueError: the body names fewer than two variants, or an alarm cannot be simulated.
    """
    variants = dashboard_variants(body)
    window = window_minutes(body)
    run = simulate(variants, phases=phases, settings=RunSettings(seed=seed))
    if run.minutes < window:
        window = run.minutes
    alarms = alarm_timelines(template, run, stack_name=stack_name)
    placed = place_widgets(dashboard_widgets(body))
    columns, rows = canvas_size(placed)
    grid = _Grid(columns, rows)
    figure = Figure(figsize=(grid.width, grid.height), facecolor="#f2f3f3")
    figure.text(MARGIN_INCHES / grid.width, 1 - 0.12 / grid.height, name, va="top", fontsize=10, fontweight="bold")
    figure.text(
        MARGIN_INCHES / grid.width,
        1 - 0.32 / grid.height,
        _run_caption(run, window),
        va="top",
        fontsize=7,
        color="#5f6b7a",
    )
    painter = _Painter(figure, grid, run, alarms, window)
    flagged = flagged_widgets(placed)
    for box in placed:
        properties = _mapping(box.widget.get("properties"))
        kind = str(box.widget.get("type", "?"))
        title = str(properties.get("title") or "")
        _, rect = painter.frame(box, title, box.index in flagged)
        view = str(properties.get("view", "timeSeries"))
        if kind == "metric" and view in SUPPORTED_VIEWS:
            painter.metric(box, rect, properties)
        elif kind == "text":
            painter.text(box, rect, str(properties.get("markdown", "")))
        elif kind == "alarm":
            painter.alarm(box, rect, properties)
        else:
            what = f"{kind} widget ({view} view)" if kind == "metric" else f"{kind} widget"
            painter.placeholder(rect, f"{what}: not drawn in the preview")
    return figure


def png_bytes(figure: Figure, *, dpi: int, description: str = "") -> bytes:
    """The figure as a compact PNG: 8-bit palette (charts need few colours), no timestamp."""
    raw = io.BytesIO()
    figure.savefig(raw, format="png", dpi=dpi, metadata={"Software": None})
    # Octree keeps small areas' colours (an ALARM span, a threshold line) that median cut merges away.
    image = (
        Image.open(raw).convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    )
    info = PngImagePlugin.PngInfo()
    if description:
        info.add_text("Description", description)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True, pnginfo=info)
    return out.getvalue()


def write_png(
    path: Path,
    name: str,
    body: Mapping[str, Any],
    template: Mapping[str, Any],
    *,
    seed: int = 7,
    dpi: int = 100,
    stack_name: str = "<StackName>",
) -> None:
    """Render and write one dashboard; the PNG's ``Description`` holds :func:`source_digest`."""
    figure = render_dashboard(name, body, template, seed=seed, stack_name=stack_name)
    digest = source_digest(body, template, seed)
    path.write_bytes(png_bytes(figure, dpi=dpi, description=f"dashboard-source-sha256={digest}"))
