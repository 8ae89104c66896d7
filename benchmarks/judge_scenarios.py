"""Simulated rollouts through the rollout judge: false rollbacks, power, and requests to a decision.

Every rollout is simulated minute by minute (numpy draws), and judged at the end of each bake by
``rollout.decision.judge``, **in-process**: the very function ``scripts/rollout_replay.py
--judge-batch`` calls (the batch command is a JSON wrapper around it; a process per look would only
measure JSON). As in the state machine, a promotion moves to the next step's weights, a rollback
ends the rollout, and the judge sees every minute since the first step.

Model of a minute: 1,000 requests (candidate and baselines together) unless said, split
multinomially by the weights; each arm's 5XX count is Binomial(n, rate × its multiplier); the
multiplier is 1, or Gamma with mean 1 and the given CV drawn per arm per minute (over-dispersion:
bursts that hit one arm). ModelLatency is lognormal (median 50 ms); a minute's p99 is the
⌈0.99 n⌉-th order statistic of its n requests, drawn exactly through the Beta law of uniform order
statistics (CloudWatch's own percentile rule is not published; nearest rank is the common one). p50
likewise. Rows marked "Pareto tail" draw latency from a Pareto law instead, with the same median and
the same p99/p50 as lognormal σ 1.0 (shape a ≈ 1.68): the judge's rank correction
(``rollout.rank_bias``) is exact for a locally lognormal tail, and a Pareto tail is heavier beyond
the p99, so its order statistics near the p99 spread more than the lognormal fit through p50 and p99
predicts; most where an arm serves 50-99 requests and its p99 is the minute's maximum, which a
Pareto puts far higher. There the judge takes the Pareto offset when it favours the candidate, so
these rows test that guard. Bakes last the plan's default
(``rollout.plan.DEFAULT_BAKE_SECONDS``) unless a row says otherwise; watches of one step (120
minutes unless a row says otherwise) are judged every 10 minutes.

As in the Lambda (``rollout.observe``), the judge at the end of a bake sees the history up to
3 minutes before (the settle margin), and the first minute of every step after the first is left
out (it overlaps the weight switch). A hold at the hold limit rolls back (the default
``on_hold_limit``) and counts as a rollback.

Fixed-horizon reference: the **one-sided** two-proportion z-test at α 0.05 (the judge is
one-sided), balanced arms, looked at once, sized for the true effect (the oracle) and for the
planned effect (1 % → 2 %), at power 0.8 and at the power the judge reached by the end.

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
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

from rollout.decision import judge  # noqa: E402
from rollout.history import Minute, VariantMinute  # noqa: E402
from rollout.plan import DEFAULT_BAKE_SECONDS, parse_plan, step_weights  # noqa: E402
from rollout.traffic_check import refusal  # noqa: E402

ALPHA = 0.05
POWER = 0.8
SEED = 20261202
BAKE_MINUTES = DEFAULT_BAKE_SECONDS // 60  # the plan's default bake
WATCH_BAKE_MINUTES = 10  # a 120-minute watch of one step is judged every 10 minutes
# A Pareto tail whose p99/p50 equals a lognormal σ 1.0's: 50^(1/a) = exp(σ Φ⁻¹(0.99)), a ≈ 1.68.
PARETO_SHAPE = math.log(50.0) / NormalDist().inv_cdf(0.99)
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
    tail: str = "lognormal"  # or "pareto": latency = x_m · (1 - U)^(-1/PARETO_SHAPE), median 50 ms (σ unused)
    bake_minutes: int = BAKE_MINUTES
    latency_ratio: float = 1.0  # candidate's latency scale / baselines'
    truncate_steps: int | None = None  # simulate only the first k steps (long watches of one step)
    kind: str = "null"  # "null": any rollback is false; "errors" / "latency": power rows
    notes: str = ""
    added: float = 0.0  # absolute points added to the candidate's 5XX rate (on top of error_ratio)
    faults: tuple[float, int, float] | None = None  # persistent faults: (start chance a minute, D, K)
    # Mean-zero faults (a confirmation review): the faulty arm is drawn 1 in #arms (a bad instance per variant),
    # not by share, so the candidate's expected fault errors are exactly its share: test B's H0 at its edge.
    faults_mean_zero: bool = False
    wander: tuple[float, float] | None = None  # AR(1) log-latency drift per arm: (φ, sd)
    waits_to_settle: bool = False  # what-if: the state machine waits bake + 3 minutes, so the judge sees the bake
    extra: dict = field(default_factory=dict)


def fixed_horizon_per_arm(p_b: float, p_c: float, alpha: float = ALPHA, power: float = POWER) -> int:
    """Requests per arm of the one-sided two-proportion z-test (pooled under H0, unpooled under H1)."""
    mean = (p_b + p_c) / 2
    top = _NORMAL.inv_cdf(1 - alpha) * math.sqrt(2 * mean * (1 - mean)) + _NORMAL.inv_cdf(power) * math.sqrt(
        p_b * (1 - p_b) + p_c * (1 - p_c)
    )
    return math.ceil((top / (p_c - p_b)) ** 2)


def _quantile(rng: np.random.Generator, n: int, sigma: float, scale: float, q: float, tail: str) -> float | None:
    if n == 0:
        return None
    k = max(1, math.ceil(q * n))
    u = min(max(float(rng.beta(k, n - k + 1)), 1e-300), 1 - 1e-16)
    if tail == "pareto":  # quantile function of a Pareto with median MEDIAN_MS
        return MEDIAN_MS * scale * (0.5 / (1.0 - u)) ** (1.0 / PARETO_SHAPE)
    return MEDIAN_MS * scale * math.exp(sigma * _NORMAL.inv_cdf(u))


MAX_HOLDS = 3
SETTLE_MINUTES = 3  # rollout.observe.SETTLE_MINUTES: the judge does not read the last 3 minutes


class _Faults:
    """Persistent faults on one arm (module docstring); ``extra`` is called once a minute."""

    def __init__(self, spec: tuple[float, int, float] | None, mean_zero: bool = False) -> None:
        self.spec, self.mean_zero, self.arm, self.left = spec, mean_zero, "", 0

    def extra(self, rng: np.random.Generator, names: list[str], counts: np.ndarray) -> dict[str, int]:
        if self.spec is None:
            return {}
        chance, length, size = self.spec
        total = max(int(counts.sum()), 1)
        if self.left == 0 and rng.random() < chance:
            share = 1.0 / len(names) if self.mean_zero else counts[0] / total
            self.arm = "C" if rng.random() < share else str(rng.choice(names[1:]))
            self.left = length
        if self.left == 0:
            return {}
        self.left -= 1
        arm_share = counts[names.index(self.arm)] / total
        return {self.arm: int(rng.poisson(size * arm_share / 0.5))}


def simulate(s: Scenario, rng: np.random.Generator) -> dict:
    """One rollout as the state machine runs it (``max_holds`` 3, hold limit → rollback).

    Each step bakes ``bakes_per_step`` times (judged after each; a long watch), plus any holds.
    Returns the outcome ("rollback", "hold_limit" or "pass"), the deciding rule, the step index of
    the decision, the requests (all, candidate's) by then, and the steps at which error test A and
    test B alone first crossed (None if never).
    """
    names = ["C", *(f"B{i}" for i in range(s.baselines))]
    live = {"C": 0.0, **{b: 1.0 for b in names[1:]}}
    raw = {"candidate": "C", "baselines": names[1:], "steps": list(s.steps), "max_holds": MAX_HOLDS,
           "on_hold_limit": "rollback", "bake_seconds": 60 * s.bake_minutes}  # fmt: skip
    plan = parse_plan(raw, live)
    history: list[Minute] = []
    total = cand_total = 0
    a_step = b_step = None
    faults = _Faults(s.faults, s.faults_mean_zero)
    drift = dict.fromkeys(names, 0.0)
    steps = plan.steps if s.truncate_steps is None else plan.steps[: s.truncate_steps]
    for index in range(len(steps)):
        weights = step_weights(live, plan, plan.steps[index])
        shares = np.array([weights[n] for n in names]) / sum(weights.values())
        last = index == len(plan.steps) - 1
        bakes = holds = 0
        first_minute = True
        while True:
            for _ in range(s.bake_minutes):
                counts = rng.multinomial(s.per_minute, shares)
                base = s.rate(index, last)
                extra = faults.extra(rng, names, counts)
                variants = {}
                for name, n in zip(names, counts, strict=True):
                    p = base * s.error_ratio + s.added if name == "C" else base
                    mult = rng.gamma(1 / s.cv**2, s.cv**2) if s.cv else 1.0
                    if s.wander:
                        phi, sd = s.wander
                        drift[name] = phi * drift[name] + sd * math.sqrt(1 - phi * phi) * rng.standard_normal()
                    scale = (s.latency_ratio if name == "C" else 1.0) * math.exp(drift[name])
                    n = int(n)
                    errors = int(rng.binomial(n, min(1.0, p * mult))) if n else 0
                    variants[name] = VariantMinute(
                        invocations=n,
                        errors_5xx=min(n, errors + extra.get(name, 0)),
                        p50_ms=_quantile(rng, n, s.sigma, scale, 0.5, s.tail),
                        p99_ms=_quantile(rng, n, s.sigma, scale, 0.99, s.tail),
                    )
                total += int(counts.sum())
                cand_total += int(counts[0])
                if first_minute and index > 0:
                    first_minute = False  # overlaps the weight switch: rollout.observe leaves it out
                    continue
                first_minute = False
                history.append(Minute(weights=weights, variants=variants))
            bakes += 1
            settled = history if s.waits_to_settle else history[: max(0, len(history) - SETTLE_MINUTES)]
            verdict = judge(settled, plan, index, holds)
            if a_step is None and verdict.errors.worse_a:
                a_step = index
            if b_step is None and verdict.errors.worse_b:
                b_step = index
            result = {"rule": verdict.rule, "step": index, "total": total, "cand": cand_total, "a_step": a_step,
                      "b_step": b_step}  # fmt: skip
            if verdict.action == "rollback":
                outcome = "hold_limit" if verdict.rule == "hold_limit" else "rollback"
                return {"outcome": outcome, **result}
            if verdict.action == "hold":
                holds += 1
            elif bakes >= s.bakes_per_step:
                break
    return {"outcome": "pass", "rule": "passed", "step": len(steps), "total": total, "cand": cand_total,
            "a_step": a_step, "b_step": b_step}  # fmt: skip


def _drift(per_step: float) -> Callable[[int, bool], float]:
    return lambda step, last: 0.01 * (1 + per_step) ** step


def _watch(name: str, share: float, minutes: int = 120, **kwargs: Any) -> Scenario:
    """A watch of one step at ``share`` percent for ``minutes`` (default 120), judged every 10 minutes."""
    return Scenario(
        name,
        steps=(share, 100.0),
        bakes_per_step=minutes // WATCH_BAKE_MINUTES,
        truncate_steps=1,
        bake_minutes=WATCH_BAKE_MINUTES,
        **kwargs,
    )


SCENARIOS = [
    Scenario("constant 1 %"),
    Scenario("base rate drifting +10 % per step", rate=_drift(0.10)),
    Scenario("drifting +20 % per step", rate=_drift(0.20)),
    Scenario("drifting +30 % per step", rate=_drift(0.30)),
    Scenario("falling −30 % per step", rate=_drift(-0.30)),
    Scenario("endpoint-wide spike 1 % → 3 % during the 100 % step", rate=lambda step, last: 0.03 if last else 0.01),
    Scenario("5 % canary vs 95 %, 200 minutes", steps=(5.0, 100.0), bakes_per_step=20, truncate_steps=1),
    _watch("over-dispersed rates CV 0.32, 10 % share, 120 minutes", 10.0, cv=0.32),
    _watch("over-dispersed rates CV 0.5, 10 % share, 120 minutes", 10.0, cv=0.5),
    Scenario("over-dispersed CV 0.5, default plan", cv=0.5),
    Scenario("faults of 10 min (1 per 100 min, K 20), default plan", faults=(0.01, 10, 20.0)),
    _watch("faults of 10 min (1 per 100 min, K 20), 25 % share, 120 minutes", 25.0, faults=(0.01, 10, 20.0)),
    _watch("faults of 10 min (1 per 100 min, K 20), 50 % share, 120 minutes", 50.0, faults=(0.01, 10, 20.0)),
    _watch("faults of 20 min (1 per 200 min, K 20), 25 % share, 120 min", 25.0, faults=(0.005, 20, 20.0)),
    _watch("faults of 5 min (1 per 50 min, K 40), 10 % share, 120 minutes", 10.0, faults=(0.02, 5, 40.0)),
    _watch(
        "mean-zero faults of 10 min (1 per 100 min, K 20), 10 % share, 120 minutes",
        10.0,
        faults=(0.01, 10, 20.0),
        faults_mean_zero=True,
    ),
    _watch(
        "mean-zero faults of 20 min (1 per 200 min, K 20), 10 % share, 120 minutes",
        10.0,
        faults=(0.005, 20, 20.0),
        faults_mean_zero=True,
    ),
    _watch(
        "mean-zero faults of 5 min (1 per 50 min, K 40), 10 % share, 120 minutes",
        10.0,
        faults=(0.02, 5, 40.0),
        faults_mean_zero=True,
    ),
    _watch(
        "mean-zero faults of 20 min (1 per 200 min, K 20), 25 % share, 120 minutes",
        25.0,
        faults=(0.005, 20, 20.0),
        faults_mean_zero=True,
    ),
    Scenario("latency σ 0.5, 10 % share, one step", steps=(10.0, 100.0), truncate_steps=1, sigma=0.5),
    Scenario("latency σ 1.0, 10 % share, one step", steps=(10.0, 100.0), truncate_steps=1, sigma=1.0),
    Scenario("latency σ 1.0, default plan", sigma=1.0),
    Scenario("p99 ratio = tolerance 1.25, σ 0.5, default plan", latency_ratio=1.25),
    Scenario("p99 ratio = tolerance, σ 1.0, default plan", latency_ratio=1.25, sigma=1.0),
    _watch(
        "p99 ratio = tolerance, σ 1.0, 800/min, 25 % share, 120 min",
        25.0,
        latency_ratio=1.25,
        sigma=1.0,
        per_minute=800,
    ),
    _watch("p99 ratio = tolerance, σ 1.0, 50 % share, 120 min", 50.0, latency_ratio=1.25, sigma=1.0),
    Scenario("p99 ratio = tolerance, σ 1.0, 2,000/min, default plan", latency_ratio=1.25, sigma=1.0, per_minute=2000),
    _watch("p99 ratio = tolerance, σ 1.0, 10 % share, 120 min", 10.0, latency_ratio=1.25, sigma=1.0),
    _watch(
        "p99 ratio = tolerance, σ 1.0, 4 baselines, 50 % share, 120 min",
        50.0,
        latency_ratio=1.25,
        sigma=1.0,
        baselines=4,
        notes="baselines' p99s of ~125 requests against the candidate's ~500",
    ),
    _watch(
        "Pareto tail, p99 ratio = tolerance, 4 baselines, 50 % share, 120 min",
        50.0,
        latency_ratio=1.25,
        tail="pareto",
        baselines=4,
        notes="not lognormal: the rank correction's assumption fails",
    ),
    _watch("Pareto tail, p99 ratio = tolerance, 10 % share, 120 min", 10.0, latency_ratio=1.25, tail="pareto"),
    _watch(
        "Pareto tail, p99 ratio = tolerance, 800/min, 10 % share, 240 min",
        10.0,
        minutes=240,
        per_minute=800,
        latency_ratio=1.25,
        tail="pareto",
        notes="the candidate serves 50-99 requests a minute: its p99 is the minute's maximum",
    ),
    _watch(
        "Pareto tail, p99 ratio = tolerance, 1,500/min, 5 % canary, 200 min",
        5.0,
        minutes=200,
        per_minute=1500,
        latency_ratio=1.25,
        tail="pareto",
        notes="75 candidate requests a minute: its p99 is the minute's maximum",
    ),
    _watch(
        "over-dispersed CV 0.5 and p99 ratio = tolerance σ 1.0, 50 % share, 120 min",
        50.0,
        cv=0.5,
        latency_ratio=1.25,
        sigma=1.0,
        notes="both tests at their edge at once",
    ),
    _watch("over-dispersed CV 0.5, 25 % share, 10,000/min, 120 min", 25.0, cv=0.5, per_minute=10_000),
    _watch("latency wander AR(1) φ 0.4 sd 0.15, 25 % share, 120 min", 25.0, wander=(0.4, 0.15)),
    _watch("latency wander AR(1) φ 0.6 sd 0.15, 25 % share, 120 min", 25.0, wander=(0.6, 0.15)),
    _watch(
        "p99 ratio = tolerance + wander φ 0.9 sd 0.15, 25 %, 120 min",
        25.0,
        latency_ratio=1.25,
        wander=(0.9, 0.15),
        notes="wander longer than a block: treated as real",
    ),
    Scenario("1 % canary (1/5/25/100), 10,000 requests/min", steps=(1.0, 5.0, 25.0, 100.0), per_minute=10_000),
    Scenario(
        "1 % canary (1/5/25/100), 1,000 requests/min",
        steps=(1.0, 5.0, 25.0, 100.0),
        notes="10 requests a minute: 560 by the fourth look at 15-minute bakes, so it holds up to 3 times",
    ),
    Scenario("0.1 % base rate, 10,000 requests/min", per_minute=10_000, rate=lambda step, last: 0.001),
    Scenario(
        "0.1 % base rate, 5 % canary, 1,000/min, 200 min",
        steps=(5.0, 100.0),
        bakes_per_step=20,
        truncate_steps=1,
        rate=lambda step, last: 0.001,
    ),
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
    Scenario("5XX +0.5 points, constant 1 %", added=0.005, kind="errors", notes="before the 50 % step"),
    Scenario(
        "5XX +0.5 points, base falling −30 % per step",
        added=0.005,
        rate=_drift(-0.30),
        kind="errors",
        notes="before the 50 % step",
    ),
    Scenario(
        "5XX +0.5 points, base falling −50 % per step",
        added=0.005,
        rate=_drift(-0.50),
        kind="errors",
        notes="before the 50 % step",
    ),
    Scenario("p99 +50 % (σ 0.5)", latency_ratio=1.5, kind="latency", notes="within two steps"),
    Scenario(
        "p99 +50 % (σ 0.5), 10,000/min", latency_ratio=1.5, per_minute=10_000, kind="latency", notes="within two steps"
    ),
    Scenario("p99 +50 % (σ 1.0)", latency_ratio=1.5, sigma=1.0, kind="latency", notes="within two steps"),
    Scenario(
        "5XX 1 % → 2 % (2×), 10-minute bakes (10,000 requests a bake)",
        error_ratio=2.0,
        kind="errors",
        notes="before the 50 % step",
        bake_minutes=10,
    ),
    Scenario(
        "p99 +50 % (σ 0.5), 10-minute bakes (10,000 requests a bake)",
        latency_ratio=1.5,
        kind="latency",
        notes="within two steps",
        bake_minutes=10,
    ),
    Scenario(
        "p99 +50 % (σ 1.0), 10-minute bakes (10,000 requests a bake)",
        latency_ratio=1.5,
        sigma=1.0,
        kind="latency",
        notes="within two steps",
        bake_minutes=10,
    ),
    Scenario(
        "what if the judge waited bake + 3 min: 5XX 1 % → 2 %",
        error_ratio=2.0,
        kind="errors",
        notes="before the 50 % step",
        waits_to_settle=True,
    ),
    Scenario(
        "what if the judge waited bake + 3 min: p99 +50 % (σ 0.5)",
        latency_ratio=1.5,
        kind="latency",
        notes="within two steps",
        waits_to_settle=True,
    ),
]


def _se(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 0.0) / n)


def _upper(p: float, n: int) -> str:
    """The rate ± one binomial SE, or the one-sided 95 % upper bound (1 - 0.05^(1/n)) when none happened."""
    return f"{_pct(p)} ± {_pct(_se(p, n))}" if p > 0 else f"0 of {n} (≤ {_pct(1 - 0.05 ** (1 / n))})"


def start_refused(s: Scenario) -> bool:
    """Prepare's start check (``rollout.traffic_check``) on the scenario's traffic before the rollout:
    the model's minutes carry exactly ``per_minute`` requests, so it refuses all of a row's runs or none."""
    names = [f"B{i}" for i in range(s.baselines)]
    plan = parse_plan({"candidate": "C", "baselines": names, "steps": list(s.steps), "max_holds": MAX_HOLDS,
                       "bake_seconds": 60 * s.bake_minutes}, {"C": 0.0, **dict.fromkeys(names, 1.0)})  # fmt: skip
    return refusal(plan, float(s.per_minute)) is not None


def measure(runs: int = 2000, power_runs: int | None = None, only: str | None = None, seed: int = SEED) -> dict:
    rng = np.random.default_rng(seed)
    null_rows = []
    start = time.perf_counter()
    for s in SCENARIOS:
        if only is not None and only not in s.name:
            continue
        # A refused rollout never starts; its runs are simulated all the same, so the random stream,
        # and with it every later row, stays the one the full table was run with.
        results = [simulate(s, rng) for _ in range(runs)]
        rate = sum(r["outcome"] in ("rollback", "hold_limit") for r in results) / runs
        null_rows.append({
            "name": s.name, "runs": runs, "rate": rate, "notes": s.notes, "refused": start_refused(s),
            "a_only": sum(r["a_step"] is not None for r in results) / runs,
            "b_only": sum(r["b_step"] is not None for r in results) / runs,
            "stopped": sum(r["outcome"] == "hold_limit" for r in results) / runs,
            "rules": sorted({r["rule"] for r in results if r["outcome"] in ("rollback", "hold_limit")}),
        })  # fmt: skip
    power_rows = []
    n_power = power_runs or runs
    for s in POWER_SCENARIOS:
        if only is not None and only not in s.name:
            continue
        results = [simulate(s, rng) for _ in range(n_power)]
        done = [r for r in results if r["outcome"] == "rollback" and r["rule"] in ("errors", "latency", "alarm")]
        power = sum(r["step"] <= 1 for r in done) / n_power
        row = {"name": s.name, "runs": n_power, "power": power, "se": _se(power, n_power), "notes": s.notes}
        row["any"] = len(done) / n_power
        if done:
            row["total_mean"] = float(np.mean([r["total"] for r in done]))
            row["cand_mean"] = float(np.mean([r["cand"] for r in done]))
        if s.kind == "errors":
            base = s.rate(0, False)
            worse = base * s.error_ratio + s.added
            row["fixed_oracle"] = fixed_horizon_per_arm(base, worse)
            matched = min(max(row["any"], 0.5), 0.999)  # the judge's power by the end (at least 50 %)
            row["fixed_matched"] = fixed_horizon_per_arm(base, worse, power=matched)
            row["matched_power"] = matched
            row["fixed_planned"] = fixed_horizon_per_arm(base, 2 * base)
            row["a_only_power"] = sum(r["a_step"] is not None and r["a_step"] <= 1 for r in results) / n_power
            row["b_only_power"] = sum(r["b_step"] is not None and r["b_step"] <= 1 for r in results) / n_power
        power_rows.append(row)
    return {"null": null_rows, "power": power_rows, "seconds": time.perf_counter() - start, "runs": runs}


def _requests(mean: float | None, candidate: float | None) -> str:
    return f"{mean:,.0f} ({candidate:,.0f})" if mean and candidate is not None else "–"


def _fixed(per_arm_n: int | None) -> str:
    return f"{2 * per_arm_n:,}" if per_arm_n else "–"


def _ratio(mean: float | None, per_arm_n: int | None) -> str:
    return f"{mean / (2 * per_arm_n):.2f}×" if mean and per_arm_n else "–"


def _power_note(row: dict) -> str:
    return f" ({_pct(row['matched_power'])})" if row.get("fixed_matched") else ""


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


BIAS_COUNTS = (100, 101, 150, 199, 200, 250, 299, 300, 500, 501, 900, 1000)


def p99_bias(n: int, sigma: float, draws: int = 20_000, seed: int = SEED) -> float:
    """E[log nearest-rank p99 of n lognormal(σ) requests] - log true p99, by exact Beta draws
    (default 20,000: about 3 decimals)."""
    rng = np.random.default_rng(seed + n)
    k = math.ceil(0.99 * n)
    u = np.clip(rng.beta(k, n - k + 1, size=draws), 1e-300, 1 - 1e-16)
    z = np.array([_NORMAL.inv_cdf(float(x)) for x in u])
    return float(sigma * (z.mean() - _NORMAL.inv_cdf(0.99)))


def bias_markdown() -> list[str]:
    lines = [
        "### How far a per-minute sample p99 sits from the true p99",
        "",
        "Nearest-rank p99 of n lognormal requests (the rule the simulation assumes; CloudWatch's is not documented): "
        "the mean of log(sample p99 / true p99), as a ratio. A minute's Y compares two of these, so two arms with "
        "different counts differ by the ratio of their entries even when the true p99s are equal.",
        "",
        "| requests in the minute | " + " | ".join(f"{n:,}" for n in BIAS_COUNTS) + " |",
        "|---|" + "---:|" * len(BIAS_COUNTS),
    ]
    for sigma in (0.5, 1.0):
        cells = " | ".join(f"{math.exp(p99_bias(n, sigma)):.3f}" for n in BIAS_COUNTS)
        lines.append(f"| σ {sigma} | {cells} |")
    return lines


def markdown(m: dict) -> list[str]:
    lines = [
        "## Rollout judge: scenarios",
        "",
        f"`python benchmarks/judge_scenarios.py --runs {m['runs']}` ({m['seconds']:.0f} s on this machine): simulated "
        f"rollouts minute by minute, judged after every {BAKE_MINUTES}-minute bake (the default; 120-minute watches "
        "every 10 minutes) by `rollout.decision.judge` in-process (the "
        "function `scripts/rollout_replay.py --judge-batch` wraps), on the minutes the Lambda would read: up to 3 "
        "minutes before the judge, without the minute of each weight switch. Default plan 10/25/50/100 %, 1,000 "
        f"requests a minute ({1000 * BAKE_MINUTES:,} per bake), 1 % 5XX, lognormal latency median 50 ms σ 0.5, one "
        "baseline, α 0.05 for the whole judge (each test at α/2), "
        "`min_requests` 500, `latency_tolerance` 1.25, `max_holds` 3 and a hold at the limit rolls back (the "
        "default), unless said. Model, fault and p99 rules in the script's docstring.",
        "",
        "### Identical candidate: false rollbacks (target ≤ α = 5 %)",
        "",
        "| scenario | false rollback ± SE (hold limit included) | of which hold limit | rules that fired | "
        "error test A alone | error test B alone |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for r in m["null"]:
        note = f" ({r['notes']})" if r["notes"] else ""
        if r["refused"]:
            lines.append(f"| {r['name']}{note} | refused at start: {_pct(1.0)} | – | – | – | – |")
            continue
        lines.append(
            f"| {r['name']}{note} | {_upper(r['rate'], r['runs'])} | {_pct(r['stopped'])} | "
            f"{', '.join(r['rules']) or '–'} | {_pct(r['a_only'])} | {_pct(r['b_only'])} |"
        )
    lines += [
        "",
        '"p99 ratio = tolerance" rows put the true p99 ratio exactly at `latency_tolerance`: the edge of the latency '
        "test's H0. 'Error test A/B alone': how often each error test would have crossed without the other; the "
        "judge needs both. At 0 of N the bound is the one-sided 95 % upper confidence bound.",
        "",
        "### Worse candidate: power and requests to a decision",
        "",
        "| scenario | rolled back in time ± SE (target ≥ 80 %) | by the end | A alone in time | B alone in time | "
        "mean requests to rollback (candidate's) | fixed one-sided, oracle, power 80 %: total | fixed, oracle, at the "
        "judge's power by the end | fixed, planned 1 → 2 %: total | sequential / oracle 80 %, / oracle matched, / "
        "planned |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in m["power"]:
        mean = r.get("total_mean")
        matched = r.get("fixed_matched")
        lines.append(
            f"| {r['name']} ({r['notes']}) | {_pct(r['power'])} ± {_pct(r['se'])} | {_pct(r['any'])} | "
            f"{_pct(r['a_only_power']) if 'a_only_power' in r else '–'} | "
            f"{_pct(r['b_only_power']) if 'b_only_power' in r else '–'} | "
            f"{_requests(mean, r.get('cand_mean'))} | {_fixed(r.get('fixed_oracle'))} | "
            f"{_fixed(matched)}{_power_note(r)} | "
            f"{_fixed(r.get('fixed_planned'))} | {_ratio(mean, r.get('fixed_oracle'))}, {_ratio(mean, matched)}, "
            f"{_ratio(mean, r.get('fixed_planned'))} |"
        )
    lines += [
        "",
        '"In time": rolled back by the judge of the 25 % step at the latest (errors: before the 50 % step; latency: '
        "within the first two steps). Requests to a decision: every request of the endpoint up to the judge that "
        "rolled back, averaged over the rollouts that were rolled back by a test (a decision is only taken at the end "
        "of a bake), the candidate's own in brackets. The fixed-horizon test is one-sided like the judge, splits "
        "50/50 and looks once; the rollout gives the candidate 10 % then 25 %, which protects users but needs more "
        "total traffic for the same evidence. No fixed-horizon latency reference is given: there is no standard "
        "fixed test on per-minute p99s to size.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--only", help="run only the scenarios whose name contains this (their draws then differ)")
    parser.add_argument("--seed", type=int, default=SEED, help="a second seed for rows within 1 SE of α")
    args = parser.parse_args()
    print("\n".join([*markdown(measure(runs=args.runs, only=args.only, seed=args.seed)), "", *bias_markdown()]))


if __name__ == "__main__":
    main()
