#!/usr/bin/env python3
"""Replay a canned metric stream through the rollout's decisions, offline: ``python scripts/rollout_replay.py``.

The rollout state machine applies a step's weights, bakes, reads an observation from CloudWatch,
judges it and acts. This replays that loop with the Lambda's own pure code (``rollout.plan`` and
``rollout.decision``, nothing re-implemented) over a list of observations, one per judge round,
so a plan or a judge setting can be tried on a metric stream before it meets an endpoint:

    python scripts/rollout_replay.py worse_errors          # a built-in scenario
    python scripts/rollout_replay.py --file stream.json    # {"plan", "live_weights", "observations"}
    python scripts/rollout_replay.py healthy --json        # the records as JSON

Observations use :class:`rollout.decision.Observation`'s field names; request and error counts are
cumulative since the rollout started, latency and ``step_candidate_requests`` cover one bake.
A file may also be a bare list of observations (then the default plan and weights are used).
The exit status is 0 whenever the replay ran, whatever the outcome, and 2 for unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

_LAMBDAS = str(Path(__file__).resolve().parent.parent / "lambdas")
if _LAMBDAS not in sys.path:
    sys.path.insert(0, _LAMBDAS)

from rollout.decision import Observation, judge, next_action  # noqa: E402
from rollout.plan import parse_plan, step_weights  # noqa: E402

# The classic two-variant endpoint (config/default.json), rolling out Variant2 over Variant1.
DEFAULT_LIVE_WEIGHTS: dict[str, float] = {"Variant1": 1.0, "Variant2": 1.0}
DEFAULT_PLAN: dict[str, Any] = {"candidate": "Variant2", "baselines": ["Variant1"]}

# Requests per bake, for the built-in scenarios: candidate and baselines together.
_REQUESTS_PER_BAKE = 10_000
_OBSERVATION_FIELDS = frozenset(f.name for f in fields(Observation))


def _window(share: float, *, requests: int = _REQUESTS_PER_BAKE, **overrides: Any) -> dict[str, Any]:
    """One bake's traffic at candidate share ``share``: 1 % errors, 110/100 ms p99, no alarm."""
    window = {
        "share": share,
        "requests": requests,
        "candidate_error_rate": 0.01,
        "baseline_error_rate": 0.01,
        "candidate_p99_ms": 110.0,
        "baseline_p99_ms": 100.0,
        "alarms_in_alarm": [],
        "srm_p_value": None,
    }
    window.update(overrides)
    return window


def _stream(windows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Observations from per-bake windows, counts accumulated as ``rollout.observe`` reports them."""
    totals = {"candidate_requests": 0, "candidate_errors": 0, "baseline_requests": 0, "baseline_errors": 0}
    stream = []
    for window in windows:
        candidate = round(window["requests"] * window["share"] / 100)
        baseline = window["requests"] - candidate
        totals["candidate_requests"] += candidate
        totals["candidate_errors"] += round(candidate * window["candidate_error_rate"])
        totals["baseline_requests"] += baseline
        totals["baseline_errors"] += round(baseline * window["baseline_error_rate"])
        stream.append(
            {
                **totals,
                "step_candidate_requests": candidate,
                "candidate_p99_ms": window["candidate_p99_ms"],
                "baseline_p99_ms": window["baseline_p99_ms"],
                "alarms_in_alarm": list(window["alarms_in_alarm"]),
                "srm_p_value": window["srm_p_value"],
            }
        )
    return stream


SCENARIOS: dict[str, list[dict[str, Any]]] = {
    # Same error rate and latency throughout: 10 → 25 → 50 → 100 %, complete.
    "healthy": _stream([_window(share) for share in (10, 25, 50, 100)]),
    # The candidate fails 3 % of requests against the baseline's 1 %: rolled back at the first look.
    "worse_errors": _stream([_window(10, candidate_error_rate=0.03), _window(10, candidate_error_rate=0.03)]),
    # The candidate's p99 is 250 ms against 100 ms, beyond the default 1.25 ×: rolled back.
    "slow_candidate": _stream([_window(10, candidate_p99_ms=250.0)]),
    # Healthy at 10 %, then the candidate's 5XX alarm fires at 25 %: rolled back.
    "alarm": _stream([_window(10), _window(25, alarms_in_alarm=["churn-ab-Variant2-Invocation5XXErrors"])]),
    # A quiet first bake (200 candidate requests, 500 needed) holds; then traffic comes and it completes.
    "not_enough_traffic_then_ok": _stream(
        [_window(10, requests=2_000), *(_window(share) for share in (10, 25, 50, 100))]
    ),
}


def _observation(raw: Mapping[str, Any] | Observation, index: int) -> Observation:
    if isinstance(raw, Observation):
        return raw
    if not isinstance(raw, Mapping):
        raise ValueError(f"observations[{index}]: must be an object (got {type(raw).__name__})")
    unknown = sorted(set(raw) - _OBSERVATION_FIELDS)
    if unknown:
        raise ValueError(f"observations[{index}]: unknown key(s) {', '.join(unknown)}")
    values = dict(raw)
    values["alarms_in_alarm"] = tuple(values.get("alarms_in_alarm") or ())
    try:
        return Observation(**values)
    except TypeError as err:  # a required count is missing
        raise ValueError(f"observations[{index}]: {err}") from None


def replay(
    plan_raw: Mapping[str, Any],
    live_weights: Mapping[str, float],
    observations: Sequence[Mapping[str, Any] | Observation],
) -> list[dict[str, Any]]:
    """Run ``observations`` through the state machine's loop; one record per judge round, then the outcome.

    As in the state machine: the weights come from the weights before the rollout
    (``live_weights``) at each step's share; each judge passes on the previous always-valid p;
    a hold bakes the same step again and counts towards ``max_holds``, reset by each new step.
    The last record is ``{"event": "outcome", "outcome": "complete" | "rollback" | "stop" |
    "incomplete", "weights": ..., "rounds": ...}``: "incomplete" when the stream ran out first;
    "rollback" reports ``live_weights`` as the restored weights. Raises ``InvalidPlan`` for a bad
    plan and ``ValueError`` for a bad observation.
    """
    plan = parse_plan(plan_raw, live_weights)
    step_index, holds, previous_p = 0, 0, 1.0
    weights = step_weights(live_weights, plan, plan.steps[0])
    records: list[dict[str, Any]] = []
    outcome = "incomplete"
    for index, raw in enumerate(observations):
        decision = judge(_observation(raw, index), plan.judge, previous_p=previous_p)
        action = next_action(decision, holds, plan, step_index)
        records.append(
            {
                "event": "judge",
                "round": index + 1,
                "step": step_index + 1,
                "share_percent": plan.steps[step_index],
                "weights": weights,
                "holds": holds,
                "decision": decision.action,
                "reasons": list(decision.reasons),
                "always_valid_p": decision.always_valid_p,
                "candidate_rate": decision.candidate_rate,
                "baseline_rate": decision.baseline_rate,
                "next": action,
            }
        )
        previous_p = decision.always_valid_p
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
            continue
        if record["step"] != shown_step:
            shown_step = record["step"]
            lines.append(
                f"Step {shown_step}/{steps}: candidate at {record['share_percent']:g} %; "
                f"weights {_weights_text(record['weights'])}"
            )
        hold = f" (hold {record['holds'] + 1})" if record["decision"] == "hold" else ""
        lines.append(
            f"  round {record['round']}: {record['decision']}{hold} → {record['next']} "
            f"(always-valid p {record['always_valid_p']:.3g})"
        )
        lines.extend(f"    - {reason}" for reason in record["reasons"])
    return "\n".join(lines)


def _load(path: Path) -> tuple[dict[str, Any], dict[str, float], list[Any]]:
    data = json.loads(path.read_text())
    if isinstance(data, list):
        return dict(DEFAULT_PLAN), dict(DEFAULT_LIVE_WEIGHTS), data
    if not isinstance(data, dict) or not isinstance(data.get("observations"), list):
        raise ValueError(f"{path}: expected a list of observations or an object with an 'observations' list")
    unknown = sorted(set(data) - {"plan", "live_weights", "observations"})
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}")
    plan = data.get("plan", DEFAULT_PLAN)
    live = data.get("live_weights", DEFAULT_LIVE_WEIGHTS)
    return plan, live, data["observations"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("scenario", nargs="?", choices=sorted(SCENARIOS), help="built-in scenario (default healthy)")
    source.add_argument("--file", type=Path, help="JSON file: {plan, live_weights, observations} or a list")
    parser.add_argument("--json", action="store_true", help="print the records as JSON instead of text")
    args = parser.parse_args(argv)

    try:
        if args.file:
            plan_raw, live, observations = _load(args.file)
        else:
            plan_raw, live, observations = DEFAULT_PLAN, DEFAULT_LIVE_WEIGHTS, SCENARIOS[args.scenario or "healthy"]
        records = replay(plan_raw, live, observations)
        steps = len(parse_plan(plan_raw, live).steps)
    except (OSError, ValueError) as err:  # InvalidPlan and json.JSONDecodeError are ValueErrors
        print(f"rollout_replay: {err}", file=sys.stderr)
        return 2
    print(json.dumps(records, indent=2) if args.json else format_records(records, steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
