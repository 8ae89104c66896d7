"""How the reports look on a terminal (rich). ``--json`` prints the same data instead."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

ALARM_STYLES = {"OK": "green", "ALARM": "bold red", "INSUFFICIENT_DATA": "yellow"}


def print_json(data: Any) -> None:
    """One JSON document on stdout (plain print: rich would wrap long lines)."""
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def _weight(weight: float | None, share: float | None) -> str:
    if weight is None:
        return "—"
    return f"{weight:g} ({100 * share:.1f} %)" if share is not None else f"{weight:g}"


def _weights_text(weights: Mapping[str, float]) -> str:
    return " ".join(f"{name}={weight:g}" for name, weight in weights.items())


def status(console: Console, report: Mapping[str, Any]) -> None:
    stack = report["stack"]
    console.print(
        f"[bold]{report['endpoint']}[/]  stack {stack['name']} [dim]{stack['status']}[/], "
        f"endpoint {report['endpoint_name']} [bold]{report['endpoint_status']}[/]"
    )
    traffic = report["traffic"]
    window = f"observed share, last {traffic['window_minutes']} min"
    table = Table(title="Weights", title_justify="left")
    for column in ("variant", "declared (parameter)", "live", "instances", window, "drift"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in report["variants"]:
        instances = "—" if row["instances"] is None else str(row["instances"])
        if row["desired_instances"] not in (None, row["instances"]):
            instances += f" → {row['desired_instances']}"
        live = _weight(row["live_weight"], row["live_share"])
        if row["desired_weight"] is not None and row["desired_weight"] != row["live_weight"]:
            live += f" → {row['desired_weight']:g}"
        if row["observed_share"] is None:
            observed = "no traffic" if traffic["error"] is None else "unavailable"
        else:
            observed = f"{100 * row['observed_share']:.1f} % of {row['invocations']:,.0f}"
        table.add_row(
            row["variant"],
            _weight(row["declared_weight"], row["declared_share"]),
            live,
            instances,
            observed,
            Text("—", style="dim")
            if report.get("shadow")
            else Text("DRIFT", style="bold red")
            if row["drift"]
            else Text("ok", style="green"),
        )
    console.print(table)
    if traffic["error"]:
        console.print(f"[yellow]traffic unavailable:[/] {traffic['error']}")
    if report.get("shadow"):
        console.print(shadow_table(report["shadow"]["variants"]))
        console.print(f"[bold]{report['shadow']['note']}[/]")
        print_alarms(console, report["alarms"])
        return
    if report["drift"]:
        console.print(drift_panel(report))
    if report["orphan_parameters"]:
        console.print(f"weight parameters of variants the endpoint lacks: {', '.join(report['orphan_parameters'])}")

    srm = report["srm"]
    if srm["error"]:
        console.print(f"SRM p-value: [yellow]unavailable[/] ({srm['error']})")
    elif srm["p_value"] is None:
        console.print("SRM p-value: none published in the last 2 h (too little traffic, or weights changed)")
    else:
        console.print(f"SRM p-value: [bold]{srm['p_value']:.3g}[/] at {srm['at']}")

    print_alarms(console, report["alarms"])

    rollout = report["rollout"]
    if rollout["error"]:
        console.print(f"Rollout: [yellow]unavailable[/] ({rollout['error']})")
    elif not rollout["running"]:
        console.print("Rollout: none running")
    for item in rollout["running"]:
        console.print(rollout_line(item))


def shadow_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """The shadow variant(s): instances, CurrentWeight and the sampling it implies (hypothesis H1)."""
    table = Table(title="Shadow", title_justify="left")
    for column in ("variant", "instances", "weight", "copies of production requests (H1, unverified)"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in rows:
        instances = "—" if row["instances"] is None else str(row["instances"])
        if row["desired_instances"] not in (None, row["instances"]):
            instances += f" → {row['desired_instances']}"
        sampling = "—" if row["sampling_percentage"] is None else f"{row['sampling_percentage']:g} %"
        table.add_row(row["variant"], instances, f"{row['current_weight']:g}", sampling)
    return table


def print_alarms(console: Console, alarms: Mapping[str, Any]) -> None:
    if alarms["error"]:
        console.print(f"Alarms: [yellow]unavailable[/] ({alarms['error']})")
    elif not alarms["items"]:
        console.print("Alarms: the stack lists none")
    else:
        alarm_table = Table(title="Alarms", title_justify="left")
        for column in ("alarm", "type", "state", "since"):
            alarm_table.add_column(column)
        for alarm in alarms["items"]:
            state = alarm["state"] or "not in CloudWatch"
            alarm_table.add_row(
                alarm["name"], alarm["kind"], Text(state, style=ALARM_STYLES.get(state, "dim")), alarm["updated"] or ""
            )
        console.print(alarm_table)


def drift_panel(report: Mapping[str, Any]) -> Panel:
    declared = {r["variant"]: r["declared_weight"] for r in report["variants"] if r["declared_weight"] is not None}
    live = {r["variant"]: r["live_weight"] for r in report["variants"] if r["live_weight"] is not None}
    lines = [
        f"Live weights      {_weights_text(live)}",
        f"Declared weights  {_weights_text(declared)}  (stack parameters)",
        "",
    ]
    rollout = report["rollout"]
    if rollout["running"]:
        # The rollout moves the weights step by step: recording one step would declare a split it
        # is about to leave. Its end rule settles them; record after that if they still differ.
        lines += [
            "A rollout is running: it sets the live weights step by step, so they differ from the",
            "declared ones until it ends. Do not record them now.",
            f"Watch it:  abtest rollout status {report['endpoint']}",
        ]
    else:
        lines += [
            "A Lambda call or a rollout changed the weights without the parameters. The next parameter",
            "change or endpoint-config replacement re-applies the declared ones (a drained variant gets",
            "traffic back).",
        ]
        if rollout["error"]:
            lines.append(f"Whether a rollout is running is unknown ({rollout['error']}): check before recording.")
        lines.append(f"Keep the live weights:  abtest weights record {report['endpoint']}")
    return Panel("\n".join(lines), title="DRIFT: declared and live weights differ", border_style="red")


def rollout_line(item: Mapping[str, Any]) -> str:
    if item["step"] is None:
        where = "preparing"
    else:
        where = f"step {item['step']}/{len(item['steps'])}, {item['candidate']} at {item['share']:g} %"
    holds = f", holds {item['holds']}" if item.get("holds") else ""
    state = f", in state {item['state']}" if item.get("state") else ""
    text = f"Rollout [bold]{item['name']}[/] {item['status']}: {where}{holds}{state}"
    if item.get("last_action") and item.get("reason"):
        text += f"\n  last: {item['last_action']}: {item['reason']}"
    return text


def weights_result(console: Console, data: Mapping[str, Any]) -> None:
    console.print(f"[green]done[/]: {data['endpoint_name']} shows {_weights_text(data['weights'])} ({data['via']})")


def rollout_table(console: Console, items: Sequence[Mapping[str, Any]]) -> None:
    if not items:
        console.print("no rollout executions")
    for item in items:
        console.print(rollout_line(item))
        if item.get("error") or item.get("cause"):
            console.print(f"  ended: {item.get('error') or ''} {item.get('cause') or ''}".rstrip())


def evaluation(console: Console, data: Mapping[str, Any]) -> None:
    result = data["result"]
    console.print(f"evaluation of {data['endpoint']} on {data['data_uri']}")
    for verdict in result.get("verdicts", []):
        console.print(f"  verdict: [bold]{verdict}[/]")
    if not result.get("complete", True):
        console.print(f"  [yellow]partial[/]: incomplete variants {', '.join(result.get('incomplete_variants', []))}")
    for name, location in (result.get("reports") or {}).items():
        console.print(f"  {name}: {location}")
