#!/usr/bin/env python3
"""Replay per-minute metrics through the rollout's judge, offline: ``python scripts/rollout_replay.py``.

The rollout state machine applies a step's weights, bakes, builds the per-minute history since the
rollout began from CloudWatch, judges it and acts. This replays that loop with the Lambda's own
pure code (``rollout.plan``, ``rollout.decision``; nothing re-implemented), so a plan or a judge
setting can be tried on a metric stream before it meets an endpoint:

    python scripts/rollout_replay.py worse_errors          # a built-in scenario
    python scripts/rollout_replay.py --file stream.json    # {"plan", "live_weights", "bakes"}
    python scripts/rollout_replay.py healthy --json        # the records as JSON
    python scripts/rollout_replay.py --judge-batch < requests.json > verdicts.json

A bake is ``{"minutes": [{variant: {"invocations", "errors_5xx", "p50_ms", "p99_ms"}}, ...],
"alarms_in_alarm": [...]}``; the replay adds the weights in force (the step's) to each minute.
First comes Prepare's start check (``rollout.traffic_check``), on the first bake's requests a minute
(candidate and baselines) as the traffic before the rollout: a plan that cannot gather
``min_requests`` ends with the outcome "refused" and its reason, before any bake is judged.

``--judge-batch`` judges many histories in one process: stdin is a JSON array of requests
``{"plan": <rollout input>, "step_index": i, "holds": h, "minutes": [{"weights": {variant: w},
"variants": {variant: {"invocations": n, "errors_5xx": e, "p50_ms": x, "p99_ms": y}}}, ...]}``
(optionally ``"alarms_in_alarm": [...]``); stdout is a JSON array with one
``{"action": "promote" | "hold" | "rollback" | "complete" | "stop", "reason": ...}`` per request, in
order ("stop" only when the plan's ``on_hold_limit`` is "stop" and the hold limit is reached).
The plan is checked against the variants of the first minute's weights.

The exit status is 0 whenever the replay ran, whatever the outcome, and 2 for unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

_LAMBDAS = str(Path(__file__).resolve().parent.parent / "lambdas")
if _LAMBDAS not in sys.path:
    sys.path.insert(0, _LAMBDAS)

from rollout.decision import judge  # noqa: E402
from rollout.history import Minute, parse_minutes, variant_minute  # noqa: E402
from rollout.plan import RolloutPlan, parse_plan, step_weights  # noqa: E402
from rollout.traffic_check import refusal  # noqa: E402

# The classic two-variant endpoint (config/default.json), rolling out Variant2 over Variant1.
DEFAULT_LIVE_WEIGHTS: dict[str, float] = {"Variant1": 1.0, "Variant2": 1.0}
DEFAULT_PLAN: dict[str, Any] = {"candidate": "Variant2", "baselines": ["Variant1"]}

# Built-in scenarios: 1,000 requests a minute for candidate and baseline together, 10-minute bakes.
_REQUESTS_PER_MINUTE = 1_000
_BAKE_MINUTES = 10


def _bake(
    share: float,
    *,
    requests_per_minute: int = _REQUESTS_PER_MINUTE,
    candidate_error_rate: float = 0.01,
    baseline_error_rate: float = 0.01,
    candidate_p99_ms: float = 100.0,
    baseline_p99_ms: float = 100.0,
    alarms_in_alarm: Sequence[str] = (),
) -> dict[str, Any]:
    """One bake at candidate share ``share`` with deterministic (expected) counts every minute."""
    candidate = round(requests_per_minute * share / 100)
    baseline = requests_per_minute - candidate
    minute = {
        "Variant2": {
            "invocations": candidate,
            "errors_5xx": round(candidate * candidate_error_rate),
            "p50_ms": candidate_p99_ms / 4,
            "p99_ms": candidate_p99_ms if candidate else None,
        },
        "Variant1": {
            "invocations": baseline,
            "errors_5xx": round(baseline * baseline_error_rate),
            "p50_ms": baseline_p99_ms / 4,
            "p99_ms": baseline_p99_ms if baseline else None,
        },
    }
    return {"minutes": [minute] * _BAKE_MINUTES, "alarms_in_alarm": list(alarms_in_alarm)}


SCENARIOS: dict[str, list[dict[str, Any]]] = {
    # Same error rate and latency throughout: 10 → 25 → 50 → 100 %, complete.
    "healthy": [_bake(share) for share in (10, 25, 50, 100)],
    # The candidate fails 3 % of requests against the baseline's 1 %: rolled back at the first look.
    "worse_errors": [_bake(10, candidate_error_rate=0.03), _bake(10, candidate_error_rate=0.03)],
    # The candidate's p99 is 250 ms against 100 ms, beyond the default 1.25 ×: rolled back.
    "slow_candidate": [_bake(10, candidate_p99_ms=250.0)],
    # Healthy at 10 %, then the candidate's 5XX alarm fires at 25 %: rolled back.
    "alarm": [_bake(10), _bake(25, alarms_in_alarm=["churn-ab-Variant2-Invocation5XXErrors"])],
    # A quiet first bake (200 candidate requests, 500 needed) holds; then traffic comes and it completes.
    "not_enough_traffic_then_ok": [_bake(10, requests_per_minute=200), *(_bake(share) for share in (10, 25, 50, 100))],
}


def _bake_minutes(raw: Any, index: int, weights: Mapping[str, float]) -> tuple[list[Minute], tuple[str, ...]]:
    if (
        not isinstance(raw, Mapping)
        or not isinstance(raw.get("minutes"), list)
        or set(raw) - {"minutes", "alarms_in_alarm"}
    ):
        raise ValueError(f"bakes[{index}]: must be an object {{minutes: [...], alarms_in_alarm?: [...]}}")
    minutes = []
    for m, variants in enumerate(raw["minutes"]):
        if not isinstance(variants, Mapping):
            raise ValueError(f"bakes[{index}].minutes[{m}]: must map each variant to its counts")
        where = f"bakes[{index}].minutes[{m}]"
        parsed = {str(name): variant_minute(value, f"{where}.{name}") for name, value in variants.items()}
        minutes.append(Minute(weights=dict(weights), variants=parsed))
    return minutes, tuple(raw.get("alarms_in_alarm") or ())


def _first_bake_traffic(plan: RolloutPlan, bakes: Sequence[Mapping[str, Any]]) -> float:
    """The candidate's and baselines' requests a minute in the first bake (0 without one); a bad
    first bake raises here, naming the field, as it would when judged."""
    if not bakes:
        return 0.0
    minutes, _ = _bake_minutes(bakes[0], 0, {})
    if not minutes:
        return 0.0
    pool = (plan.candidate, *plan.baselines)
    return sum(m.get(name).invocations for m in minutes for name in pool) / len(minutes)


def replay(
    plan_raw: Mapping[str, Any], live_weights: Mapping[str, float], bakes: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Run ``bakes`` through the state machine's loop; one record per judge round, then the outcome.

    As in the state machine: the weights come from the weights before the rollout
    (``live_weights``) at each step's share; the judge sees every minute since the first step;
    a hold bakes the same step again and counts towards ``max_holds``, reset by each new step.
    The last record is ``{"event": "outcome", "outcome": "complete" | "rollback" | "stop" |
    "incomplete" | "refused", "weights": ..., "rounds": ...}``: "incomplete" when the stream ran out
    first; "refused" (with ``reason``, and no judge record) when the start check refuses the plan;
    "rollback" reports ``live_weights`` as the restored weights. Raises ``InvalidPlan`` for a bad
    plan and ``ValueError`` for a bad bake.
    """
    plan = parse_plan(plan_raw, live_weights)
    refused = refusal(plan, _first_bake_traffic(plan, bakes))
    if refused is not None:
        return [
            {"event": "outcome", "outcome": "refused", "reason": refused, "weights": dict(live_weights), "rounds": 0}
        ]
    step_index, holds = 0, 0
    weights = step_weights(live_weights, plan, plan.steps[0])
    history: list[Minute] = []
    records: list[dict[str, Any]] = []
    outcome = "incomplete"
    for index, raw in enumerate(bakes):
        minutes, alarms = _bake_minutes(raw, index, weights)
        history.extend(minutes)
        verdict = judge(history, plan, step_index, holds, alarms)
        action = verdict.next_action
        records.append(
            {
                "event": "judge",
                "round": index + 1,
                "step": step_index + 1,
                "share_percent": plan.steps[step_index],
                "weights": weights,
                "holds": holds,
                "decision": verdict.action,
                "rule": verdict.rule,
                "reasons": list(verdict.reasons),
                "next": action,
            }
        )
        if action == "next_step":
            step_index, holds = step_index + 1, 0
            weights = step_weights(live_weights, plan, plan.steps[step_index])
        elif action == "judge_again":
            holds += 1
        else:
            outcome = action
            if action == "rollback":
                weights = dict(live_weights)
            break
    records.append({"event": "outcome", "outcome": outcome, "weights": weights, "rounds": len(records)})
    return records


def judge_request(request: Any, index: int = 0) -> dict[str, str]:
    """One ``--judge-batch`` request → ``{"action", "reason"}`` (format in the module docstring).

    Raises ``ValueError`` (``InvalidPlan``, ``InvalidHistory``) naming ``requests[index]`` and the field.
    """
    where = f"requests[{index}]"
    if not isinstance(request, Mapping):
        raise ValueError(f"{where}: must be an object")
    unknown = sorted(set(request) - {"plan", "step_index", "holds", "minutes", "alarms_in_alarm"})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
    minutes = parse_minutes(request.get("minutes", []), f"{where}.minutes")
    plan_raw = request.get("plan")
    if not isinstance(plan_raw, Mapping):
        raise ValueError(f"{where}.plan: must be the rollout input object")
    if minutes:
        live: dict[str, float] = dict(minutes[0].weights)
    else:
        live = {str(plan_raw.get("candidate")): 1.0, **{str(b): 1.0 for b in plan_raw.get("baselines") or ()}}
    try:
        plan = parse_plan(plan_raw, live)
    except ValueError as err:
        raise ValueError(f"{where}.plan: {err}") from None
    numbers = {}
    for key in ("step_index", "holds"):
        value = request.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{where}.{key}: must be a whole number >= 0 (got {value!r})")
        numbers[key] = value
    if numbers["step_index"] >= len(plan.steps):
        raise ValueError(f"{where}.step_index: the plan has {len(plan.steps)} steps (got {numbers['step_index']})")
    verdict = judge(minutes, plan, numbers["step_index"], numbers["holds"], tuple(request.get("alarms_in_alarm") or ()))
    return {"action": verdict.action, "reason": " ".join(verdict.reasons)}


def judge_batch(requests: Any) -> list[dict[str, str]]:
    """Every request of a ``--judge-batch`` array, judged in order."""
    if not isinstance(requests, list):
        raise ValueError("--judge-batch: stdin must be a JSON array of requests")
    return [judge_request(request, index) for index, request in enumerate(requests)]


def _weights_text(weights: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {weight:g}" for name, weight in weights.items())


def format_records(records: Sequence[Mapping[str, Any]], steps: int) -> str:
    """The records as a person reads them: each step's weights, each decision and why, the outcome."""
    lines: list[str] = []
    shown_step = 0
    for record in records:
        if record["event"] == "outcome":
            lines.append(
                f"Outcome after {record['rounds']} judge round(s): {record['outcome'].upper()}; "
                f"weights {_weights_text(record['weights'])}"
            )
            if record.get("reason"):
                lines.append(f"  - {record['reason']}")
            continue
        if record["step"] != shown_step:
            shown_step = record["step"]
            lines.append(
                f"Step {shown_step}/{steps}: candidate at {record['share_percent']:g} %; "
                f"weights {_weights_text(record['weights'])}"
            )
        hold = f" (hold {record['holds'] + 1})" if record["decision"] == "hold" else ""
        lines.append(f"  round {record['round']}: {record['decision']}{hold} → {record['next']} ({record['rule']})")
        lines.extend(f"    - {reason}" for reason in record["reasons"])
    return "\n".join(lines)


def _load(path: Path) -> tuple[dict[str, Any], dict[str, float], list[Any]]:
    data = json.loads(path.read_text())
    if isinstance(data, list):
        return dict(DEFAULT_PLAN), dict(DEFAULT_LIVE_WEIGHTS), data
    if not isinstance(data, dict) or not isinstance(data.get("bakes"), list):
        raise ValueError(f"{path}: expected a list of bakes or an object with a 'bakes' list")
    unknown = sorted(set(data) - {"plan", "live_weights", "bakes"})
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}")
    return data.get("plan", DEFAULT_PLAN), data.get("live_weights", DEFAULT_LIVE_WEIGHTS), data["bakes"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("scenario", nargs="?", choices=sorted(SCENARIOS), help="built-in scenario (default healthy)")
    source.add_argument("--file", type=Path, help="JSON file: {plan, live_weights, bakes} or a list of bakes")
    source.add_argument("--judge-batch", action="store_true", help="judge a JSON array of requests from stdin")
    parser.add_argument("--json", action="store_true", help="print the records as JSON instead of text")
    args = parser.parse_args(argv)

    try:
        if args.judge_batch:
            print(json.dumps(judge_batch(json.load(sys.stdin))))
            return 0
        if args.file:
            plan_raw, live, bakes = _load(args.file)
        else:
            plan_raw, live, bakes = DEFAULT_PLAN, DEFAULT_LIVE_WEIGHTS, SCENARIOS[args.scenario or "healthy"]
        records = replay(plan_raw, live, bakes)
        steps = len(parse_plan(plan_raw, live).steps)
    except (OSError, ValueError) as err:  # InvalidPlan, InvalidHistory and json.JSONDecodeError are ValueErrors
        print(f"rollout_replay: {err}", file=sys.stderr)
        return 2
    print(json.dumps(records, indent=2) if args.json else format_records(records, steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
