"""Simulated rollouts through the rollout judge: false rollbacks, power, and requests to a decision.

Every rollout is simulated minute by minute (numpy draws), and judged at the end of each bake by
``rollout.decision.judge``, **in-process**: the very function ``scripts/rollout_replay.py
--judge-batch`` calls (the batch command is a JSON wrapper around it; a process per look would only
measure JSON). As in the state machine, a promotion moves to the next step's weights, a rollback
ends the rollout, and the judge sees every minute since the first step.

Model of a minute: 1,000 requests (candidate and baselines together; 10,000 per 10-minute bake)
unless said, split multinomially by the weights; each arm's 5XX count is Binomial(n, rate × its
multiplier); the multiplier is 1, or Gamma with mean 1 and the given CV drawn per arm per minute
(over-dispersion: bursts that hit one arm). ModelLatency is lognormal (median 50 ms); a minute's
p99 is the ⌈0.99 n⌉-th order statistic of its n requests, drawn exactly through the Beta law of
uniform order statistics (CloudWatch's own percentile rule is not published; nearest rank is
the common one). p50 likewise.

Fixed-horizon reference: the two-sided two-proportion z-test at α 0.05 and power 0.8, balanced
arms, sized for the true effect (the oracle) and for the planned effect (1 % → 2 %), looked at once.

    python benchmarks/judge_scenarios.py [--runs 2000]

Numbers go to docs/benchmarks.md; nothing asserts them.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

from rollout.decision import judge  # noqa: E402
from rollout.history import Minute, VariantMinute  # noqa: E402
from rollout.plan import parse_plan, step_weights  # noqa: E402

ALPHA = 0.05
POWER = 0.8
SEED = 20261202
BAKE_MINUTES = 10
MEDIAN_MS = 50.0
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Scenario:
    """One row. ``rate(step, minute_in_step, is_last_step)`` is the shared 5XX rate of a minute."""

    name: str
    steps: tuple[float, ...] = (10.0, 25.0, 50.0, 100.0)
    baselines: int = 1
    per_minute: int = 1000
    bakes_per_step: int = 1
    rate: Callable[[int, bool], float] = lambda step, last: 0.01
    error_ratio: float = 1.0  # candidate's rate / baselines'
    cv: float = 0.0
    sigma: float = 0.5
    latency_ratio: float = 1.0  # candidate's latency scale / baselines'
    truncate_steps: int | None = None  # simulate only the first k steps (long watches of one step)
    kind: str = "null"  # "null": any rollback is false; "errors" / "latency": power rows
    notes: str = ""
    extra: dict = field(default_factory=dict)


def fixed_horizon_per_arm(p_b: float, p_c: float, alpha: float = ALPHA, power: float = POWER) -> int:
    """Requests per arm of the two-sided two-proportion z-test (pooled under H0, unpooled under H1)."""
    mean = (p_b + p_c) / 2
    top = _NORMAL.inv_cdf(1 - alpha / 2) * math.sqrt(2 * mean * (1 - mean)) + _NORMAL.inv_cdf(power) * math.sqrt(
        p_b * (1 - p_b) + p_c * (1 - p_c)
    )
    return math.ceil((top / (p_c - p_b)) ** 2)


def _quantile(rng: np.random.Generator, n: int, sigma: float, scale: float, q: float) -> float | None:
    if n == 0:
        return None
    k = max(1, math.ceil(q * n))
    u = rng.beta(k, n - k + 1)
    return MEDIAN_MS * scale * math.exp(sigma * _NORMAL.inv_cdf(min(max(u, 1e-300), 1 - 1e-16)))


MAX_HOLDS = 3


def simulate(s: Scenario, rng: np.random.Generator) -> dict:
    """One rollout as the state machine runs it (``max_holds`` 3, hold limit → stop, counted apart).

    Each step bakes ``bakes_per_step`` times (judged after each; a long watch), plus any holds.
    Returns the outcome ("rollback", "hold_limit" or "pass"), the deciding rule, the step index of
    the decision, the requests (all, candidate's) by then, and the step at which error test A
    alone first crossed (None if never).
    """
    names = ["C", *(f"B{i}" for i in range(s.baselines))]
    live = {"C": 0.0, **{b: 1.0 for b in names[1:]}}
    raw = {"candidate": "C", "baselines": names[1:], "steps": list(s.steps), "max_holds": MAX_HOLDS,
           "on_hold_limit": "stop"}  # fmt: skip
    plan = parse_plan(raw, live)
    history: list[Minute] = []
    total = cand_total = 0
    a_step = None
    steps = plan.steps if s.truncate_steps is None else plan.steps[: s.truncate_steps]
    for index in range(len(steps)):
        weights = step_weights(live, plan, plan.steps[index])
        shares = np.array([weights[n] for n in names]) / sum(weights.values())
        last = index == len(plan.steps) - 1
        bakes = holds = 0
        while True:
            for _ in range(BAKE_MINUTES):
                counts = rng.multinomial(s.per_minute, shares)
                base = s.rate(index, last)
                variants = {}
                for name, n in zip(names, counts, strict=True):
                    ratio = s.error_ratio if name == "C" else 1.0
                    mult = rng.gamma(1 / s.cv**2, s.cv**2) if s.cv else 1.0
                    p = min(1.0, base * ratio * mult)
                    scale = s.latency_ratio if name == "C" else 1.0
                    n = int(n)
                    variants[name] = VariantMinute(
                        invocations=n,
                        errors_5xx=int(rng.binomial(n, p)) if n else 0,
                        p50_ms=_quantile(rng, n, s.sigma, scale, 0.5),
                        p99_ms=_quantile(rng, n, s.sigma, scale, 0.99),
                    )
                history.append(Minute(weights=weights, variants=variants))
                total += int(counts.sum())
                cand_total += int(counts[0])
            bakes += 1
            verdict = judge(history, plan, index, holds)
            if a_step is None and verdict.errors.worse_a:
                a_step = index
            result = {"rule": verdict.rule, "step": index, "total": total, "cand": cand_total, "a_step": a_step}
            if verdict.action == "rollback":
                return {"outcome": "rollback", **result}
            if verdict.action == "stop":
                return {"outcome": "hold_limit", **result}
            if verdict.action == "hold":
                holds += 1
            elif bakes >= s.bakes_per_step:
                break
    return {"outcome": "pass", "rule": "passed", "step": len(steps), "total": total, "cand": cand_total,
            "a_step": a_step}  # fmt: skip


def _drift(per_step: float) -> Callable[[int, bool], float]:
    return lambda step, last: 0.01 * (1 + per_step) ** step


SCENARIOS = [
    Scenario("constant 1 %"),
    Scenario("base rate drifting +10 % per step", rate=_drift(0.10)),
    Scenario("drifting +20 % per step", rate=_drift(0.20)),
    Scenario("drifting +30 % per step", rate=_drift(0.30)),
    Scenario("falling −30 % per step", rate=_drift(-0.30)),
    Scenario("endpoint-wide spike 1 % → 3 % during the 100 % step", rate=lambda step, last: 0.03 if last else 0.01),
    Scenario("5 % canary vs 95 %, 200 minutes", steps=(5.0, 100.0), bakes_per_step=20, truncate_steps=1),
    Scenario(
        "over-dispersed rates CV 0.32, 10 % share, 120 minutes",
        steps=(10.0, 100.0),
        bakes_per_step=12,
        truncate_steps=1,
        cv=0.32,
    ),
    Scenario(
        "over-dispersed rates CV 0.5, 10 % share, 120 minutes",
        steps=(10.0, 100.0),
        bakes_per_step=12,
        truncate_steps=1,
        cv=0.5,
    ),
    Scenario("over-dispersed CV 0.5, default plan", cv=0.5),
    Scenario("latency σ 0.5, 10 % share, one step", steps=(10.0, 100.0), truncate_steps=1, sigma=0.5),
    Scenario("latency σ 1.0, 10 % share, one step", steps=(10.0, 100.0), truncate_steps=1, sigma=1.0),
    Scenario("latency σ 1.0, default plan", sigma=1.0),
    Scenario("1 % canary (1/5/25/100), 10,000 requests/min", steps=(1.0, 5.0, 25.0, 100.0), per_minute=10_000),
    Scenario("0.1 % base rate, 10,000 requests/min", per_minute=10_000, rate=lambda step, last: 0.001),
    Scenario("2 baselines", baselines=2),
    Scenario("4 baselines, σ 1.0", baselines=4, sigma=1.0),
]
POWER_SCENARIOS = [
    Scenario("5XX 1 % → 2 % (2×)", error_ratio=2.0, kind="errors", notes="before the 50 % step"),
    Scenario("5XX 1 % → 3 % (3×)", error_ratio=3.0, kind="errors", notes="before the 50 % step"),
    Scenario("5XX 1 % → 2 %, 4 baselines", error_ratio=2.0, baselines=4, kind="errors", notes="before the 50 % step"),
    Scenario(
        "5XX 0.1 % → 0.2 %, 10,000/min",
        error_ratio=2.0,
        per_minute=10_000,
        rate=lambda s, last: 0.001,
        kind="errors",
        notes="before the 50 % step",
    ),
    Scenario("p99 +50 % (σ 0.5)", latency_ratio=1.5, kind="latency", notes="within two steps"),
    Scenario(
        "p99 +50 % (σ 0.5), 10,000/min", latency_ratio=1.5, per_minute=10_000, kind="latency", notes="within two steps"
    ),
]


def _se(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 0.0) / n)


def measure(runs: int = 2000, power_runs: int | None = None) -> dict:
    rng = np.random.default_rng(SEED)
    null_rows = []
    start = time.perf_counter()
    for s in SCENARIOS:
        results = [simulate(s, rng) for _ in range(runs)]
        rate = sum(r["outcome"] == "rollback" for r in results) / runs
        a_only = sum(r["a_step"] is not None for r in results) / runs
        stopped = sum(r["outcome"] == "hold_limit" for r in results) / runs
        rules = sorted({r["rule"] for r in results if r["outcome"] == "rollback"})
        null_rows.append({"name": s.name, "runs": runs, "rate": rate, "se": _se(rate, runs), "a_only": a_only,
                          "rules": rules, "stopped": stopped})  # fmt: skip
    power_rows = []
    n_power = power_runs or runs
    for s in POWER_SCENARIOS:
        results = [simulate(s, rng) for _ in range(n_power)]
        caught = [r for r in results if r["outcome"] == "rollback" and r["step"] <= 1]
        power = len(caught) / n_power
        row = {"name": s.name, "runs": n_power, "power": power, "se": _se(power, n_power), "notes": s.notes}
        done = [r for r in results if r["outcome"] == "rollback"]
        row["any"] = len(done) / n_power
        if done:
            row["total_median"] = float(np.median([r["total"] for r in done]))
            row["total_mean"] = float(np.mean([r["total"] for r in done]))
            row["cand_mean"] = float(np.mean([r["cand"] for r in done]))
        if s.kind == "errors":
            base = s.rate(0, False)
            row["fixed_oracle"] = fixed_horizon_per_arm(base, base * s.error_ratio)
            row["fixed_planned"] = fixed_horizon_per_arm(base, 2 * base)
            row["a_only_power"] = sum(r["a_step"] is not None and r["a_step"] <= 1 for r in results) / n_power
        power_rows.append(row)
    return {"null": null_rows, "power": power_rows, "seconds": time.perf_counter() - start, "runs": runs}


def _requests(mean: float | None, candidate: float | None) -> str:
    return f"{mean:,.0f} ({candidate:,.0f})" if mean and candidate is not None else "–"


def _fixed(per_arm_n: int | None, per_arm: bool = True) -> str:
    if not per_arm_n:
        return "–"
    return f"{2 * per_arm_n:,} ({per_arm_n:,})" if per_arm else f"{2 * per_arm_n:,}"


def _ratio(mean: float | None, oracle: int | None, per_arm: bool = False) -> str:
    if not mean or not oracle:
        return "–"
    return f"{mean / (oracle if per_arm else 2 * oracle):.2f}×"


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def markdown(m: dict) -> list[str]:
    lines = [
        "## Rollout judge: scenarios",
        "",
        f"`python benchmarks/judge_scenarios.py --runs {m['runs']}` ({m['seconds']:.0f} s on this machine): simulated "
        "rollouts minute by minute, judged after every 10-minute bake by `rollout.decision.judge` in-process (the "
        "function `scripts/rollout_replay.py --judge-batch` wraps). Default plan 10/25/50/100 %, 1,000 requests a "
        "minute (10,000 per bake), 1 % 5XX, lognormal latency median 50 ms σ 0.5, one baseline, α 0.05, unless said. "
        "Model and p99 rule in the script's docstring.",
        "",
        "### Identical candidate: false rollbacks (target ≤ α = 5 %)",
        "",
        "| scenario | false rollback ± SE | rules that fired | error test A alone | hold limit reached |",
        "|---|---:|---|---:|---:|",
    ]
    for r in m["null"]:
        lines.append(
            f"| {r['name']} | {_pct(r['rate'])} ± {_pct(r['se'])} | {', '.join(r['rules']) or '–'} | "
            f"{_pct(r['a_only'])} | "
            f"{_pct(r['stopped'])} |"
        )
    lines += [
        "",
        '"Error test A alone" is how often the exact conditional-binomial mixture would have crossed without the '
        "self-normalized test B beside it: the α that B buys back under over-dispersion.",
        "",
        "### Worse candidate: power and requests to a decision",
        "",
        "| scenario | rolled back in time ± SE (target ≥ 80 %) | by the end | A alone in time | mean requests to "
        "rollback (candidate's) | fixed horizon, oracle: total (per arm) | fixed, planned 1→2 %: total | "
        "sequential / oracle: total, candidate's |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in m["power"]:
        mean = r.get("total_mean")
        oracle = r.get("fixed_oracle")
        planned = r.get("fixed_planned")
        lines.append(
            f"| {r['name']} ({r['notes']}) | {_pct(r['power'])} ± {_pct(r['se'])} | {_pct(r['any'])} | "
            f"{_pct(r['a_only_power']) if 'a_only_power' in r else '–'} | "
            f"{_requests(mean, r.get('cand_mean'))} | {_fixed(oracle)} | {_fixed(planned, per_arm=False)} | "
            f"{_ratio(mean, oracle)}, {_ratio(r.get('cand_mean'), oracle, per_arm=True)} |"
        )
    compared = [r for r in m["power"] if r.get("fixed_oracle") and r.get("total_mean")]
    totals = [r["total_mean"] / (2 * r["fixed_oracle"]) for r in compared] or [math.nan]
    candidates = [r["cand_mean"] / r["fixed_oracle"] for r in compared] or [math.nan]
    lines += [
        "",
        '"In time": rolled back by the judge of the 25 % step at the latest (errors: before the 50 % step; '
        "latency: within the first two steps). Requests to a decision count every request of the endpoint up to the "
        "judge that rolled back (a decision is only taken at the end of a bake), and the candidate's own in "
        "brackets. The fixed-horizon test splits 50/50 and looks once; the rollout gives the candidate 10 % then "
        "25 %, which protects users but needs more total traffic for the same evidence: against the oracle the "
        f"judge uses {min(totals):.1f}–{max(totals):.1f}× the total requests, and {min(candidates):.1f}–"
        f"{max(candidates):.1f}× the candidate requests of one fixed-test arm. A fixed "
        "test sized for the planned 1 → 2 % difference is the oracle in the first row and over-sized for the 3× row. "
        '"Hold limit reached" counts rollouts that held 3 times in a row (sample-ratio mismatch by chance, or a '
        "5 % step short of `min_requests`); the simulation stops them, the default `on_hold_limit` would roll them "
        "back.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    print("\n".join(markdown(measure(runs=args.runs))))


if __name__ == "__main__":
    main()
