"""How often the live comparison names a false winner, how often it finds a real one, and when it waits.

Simulated live traffic: requests split between a baseline A and a candidate B (each request to one
variant), true logit ~ N(mu, sd), label ~ Bernoulli(sigmoid(logit)), each variant's score =
sigmoid(logit + its own N(0, noise) noise). Every run goes through the live comparison itself
(``live_quality.comparison.compare_with_baseline``) with the statistics the query computes (per
inference day and over the window: confusion counts, ROC AUC, variances of DeLong's placement
values), here from numpy on simulated counts (the query is not the point: it is checked against
scikit-learn in tests/lambdas/test_live_quality_query.py).

Three kinds of scenario:

- *one look*: each variant's labelled requests at one moment, the window one stratum (labels missing
  at random or by class; lopsided traffic with a high AUC; class-dependent arrival at large n);
- *daily looks*: requests over 30 days with late labels and a traffic split that may change; the
  comparison runs once a day over the growing window (day 0 to the run), as the schedule does, and
  a winner named at *any* run counts. Both variants identical unless a scenario says which is better.
  Strata as the report chooses them: days, and the hours of a day whose split changed inside it
  (``live_quality.strata``). The hard nulls of the statistician's review (``HARD_LOOKS``): equal ROC
  AUCs with differently shaped ROC curves, identical models at AUC 0.98 behind a 1 % canary, a high-
  accuracy 1 % canary, and a split changed at 14:00 while difficulty follows the hour of day;
- *window starts* (``--windows``): 120 days with a drifting base rate and a split change, a run a day,
  the window either anchored at day 0 (the experiment's start: what the plan does,
  ``live_quality.window``), sliding over the last 7 days (the old schedule), or anchored and cut at
  42 days (the default longest window); a winner at any of the first 60 or of all 120 runs counts.

    python benchmarks/live_quality_false_winners.py [--runs 1000] [--looks-runs 400] [--only NAME ...]
        (--only: scenarios whose name contains one of the words; "delong" adds the variance table)
    python benchmarks/live_quality_false_winners.py --precision-scan   # power at other mixture precisions
    python benchmarks/live_quality_false_winners.py --windows [--windows-runs 160] [--windows-per-day 300]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from statistics import NormalDist

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

from evaluate.family_verdict import holm_adjust  # noqa: E402
from live_quality.anytime import DIFFERENCE_WORTH_ACTING_ON, MIXTURE_PRECISION  # noqa: E402
from live_quality.comparison import VariantEvidence, compare_with_baseline, family_size  # noqa: E402
from live_quality.strata import choose_strata, split_changed_days  # noqa: E402
from live_quality.stratified import Stratum, auc_difference  # noqa: E402

ALPHA = 0.05
SEED = 20261203
THRESHOLD = 0.5


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _auc(y: np.ndarray, s: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """ROC AUC and the sample variances of DeLong's placement values, as the query computes them (ties
    count 1/2), by binary search in each class's sorted scores (rankdata is slower on many small days)."""
    pos, neg = s[y == 1], s[y == 0]
    if pos.size == 0 or neg.size == 0:
        return None, None, None
    neg_sorted, pos_sorted = np.sort(neg), np.sort(pos)
    v10 = (np.searchsorted(neg_sorted, pos, "left") + np.searchsorted(neg_sorted, pos, "right")) / (2 * neg.size)
    v01 = 1 - (np.searchsorted(pos_sorted, neg, "left") + np.searchsorted(pos_sorted, neg, "right")) / (2 * pos.size)
    return float(v10.mean()), _sample_variance(v10), _sample_variance(v01)


def _sample_variance(x: np.ndarray) -> float | None:
    if x.size < 2:
        return None
    total = float(x.sum())
    return max(0.0, (float(x @ x) - total * total / x.size) / (x.size - 1))


def _stratum(period: str, y: np.ndarray, s: np.ndarray, threshold: float) -> Stratum:
    positives = int(y.sum())
    auc, v10, v01 = _auc(y, s)
    correct = int(((s >= threshold).astype(int) == y).sum())
    return Stratum(period, int(y.size), positives, int(y.size) - positives, correct, auc, v10, v01)


def evidence(
    name: str,
    captured: int,
    y: np.ndarray,
    s: np.ndarray,
    day: np.ndarray | None = None,
    threshold: float = THRESHOLD,
    cache: dict | None = None,
) -> VariantEvidence:
    """A variant's evidence from its labelled requests (labels ``y``, scores ``s``, inference ``day``).

    ``cache``: strata already computed, by (name, day, labelled requests): with labels that only ever
    arrive, a day with as many labels as at an earlier look has the same ones."""
    total = _stratum("all", y, s, threshold)
    strata: tuple[Stratum, ...] = ()
    if day is not None and day.size:
        order = np.argsort(day, kind="stable")
        y, s, day = y[order], s[order], day[order]
        days, starts = np.unique(day, return_index=True)
        ends = [*starts[1:], day.size]
        computed = []
        for d, i, j in zip(days, starts, ends, strict=True):
            key = (name, int(d), int(j - i))
            if cache is None or key not in cache:
                stratum = _stratum(f"{d:03d}", y[i:j], s[i:j], threshold)
                if cache is not None:
                    cache[key] = stratum
            computed.append(stratum if cache is None or key not in cache else cache[key])
        strata = tuple(computed)
    return VariantEvidence(
        name,
        captured,
        total.labelled,
        total.positives,
        total.negatives,
        total.correct,
        total.roc_auc,
        total.v10_variance,
        total.v01_variance,
        strata=strata,
    )


@dataclass
class Tally:
    """Outcomes over runs: a run counts once in the first of false winner, right winner, or its status."""

    runs: int = 0
    false_winner: int = 0
    right_winner: int = 0
    not_enough: int = 0
    not_comparable: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def add(self, results: Sequence, better: str | None) -> None:
        self.runs += 1
        winners = {r.winner for r in results if r.winner is not None}
        if winners - {better}:
            self.false_winner += 1
        elif better in winners:
            self.right_winner += 1
        elif any(r.status == "not_enough_labels" for r in results):
            self.not_enough += 1
        elif any(r.status == "labels_not_comparable" for r in results):
            self.not_comparable += 1

    def count(self, key: str, value: bool = True) -> None:
        self.extra[key] = self.extra.get(key, 0) + int(value)

    def rate(self, key: str) -> float:
        value = self.extra[key] if key in self.extra else getattr(self, key)
        return value / self.runs if self.runs else float("nan")


# ---------------------------------------------------------------------------------------------- one look
@dataclass(frozen=True)
class Arm:
    requests: int
    noise: float = 1.0  # score noise sd
    arrive: tuple[float, float] = (0.8, 0.8)  # probability a label is in: (negative, positive)
    pre_predicted: tuple[float, float] | None = None  # (TPR, TNR): scores carry only the prediction


@dataclass(frozen=True)
class OneLook:
    name: str
    a: Arm
    b: Arm
    mu: float = -0.5
    sd: float = 1.5
    better: str | None = None
    prevalence: float | None = None  # with pre_predicted arms: the share of positives
    binormal_shift: tuple[float, float] | None = None  # scores N(shift·y, 1), a fixed class mix
    positives: tuple[int, int] | None = None  # with binormal_shift: positives of A and B (the rest negatives)
    runs_factor: float = 1.0


def _one_arm(rng: np.random.Generator, name: str, arm: Arm, look: OneLook, index: int) -> VariantEvidence:
    n = arm.requests
    if look.binormal_shift is not None:
        assert look.positives is not None
        positives = look.positives[index]
        y = np.r_[np.ones(positives, int), np.zeros(n - positives, int)]
        shift = look.binormal_shift[index]
        s = _sigmoid(rng.normal(shift * y, 1.0) - shift / 2)  # threshold 0.5 sits between the classes
    elif arm.pre_predicted is not None:
        assert look.prevalence is not None
        y = (rng.random(n) < look.prevalence).astype(int)
        tpr, tnr = arm.pre_predicted
        predicted = np.where(y == 1, rng.random(n) < tpr, rng.random(n) >= tnr)
        s = np.where(predicted, 0.5 + 0.5 * rng.random(n), 0.5 * rng.random(n))  # AUC = balanced accuracy
    else:
        logit = rng.normal(look.mu, look.sd, n)
        y = (rng.random(n) < _sigmoid(logit)).astype(int)
        s = _sigmoid(logit + rng.normal(0.0, arm.noise, n))
    keep = rng.random(n) < np.where(y == 1, arm.arrive[1], arm.arrive[0])
    return evidence(name, n, y[keep], s[keep])


def run_one_look(look: OneLook, runs: int, seed: int = SEED) -> Tally:
    rng = np.random.default_rng(seed)
    tally = Tally()
    for _ in range(max(1, round(runs * look.runs_factor))):
        base, cand = _one_arm(rng, "A", look.a, look, 0), _one_arm(rng, "B", look.b, look, 1)
        (result,) = compare_with_baseline(base, [cand], ALPHA)
        tally.add([result], look.better)
        accuracy, p_accuracy = result.accuracy, result.p_accuracy_adjusted
        names_b = accuracy is not None and p_accuracy is not None and p_accuracy < ALPHA and accuracy.difference > 0
        tally.count("accuracy_names_b", names_b)
    return tally


GOOD = dict(binormal_shift=(2.0, 2.0))  # AUC ≈ 0.92
VERY_GOOD = dict(binormal_shift=(3.0, 3.0))  # AUC ≈ 0.98
ONE_LOOK = [
    OneLook("balanced 50/50, 4,000 requests, 80 % labelled at random", Arm(2000), Arm(2000)),
    OneLook("unbalanced 90/10, 4,000 requests, 80 % labelled at random", Arm(3600), Arm(400)),
    OneLook("few labels: 300 requests, 80 % labelled", Arm(150), Arm(150)),
    OneLook("very few labels: 120 requests, 80 % labelled", Arm(60), Arm(60)),
    OneLook(
        "lopsided 95/5, AUC 0.92: small arm 30 positives / 3,000 negatives, large 570 / 57,000",
        Arm(57570, arrive=(1.0, 1.0)),
        Arm(3030, arrive=(1.0, 1.0)),
        positives=(570, 30),
        runs_factor=0.5,
        **GOOD,  # type: ignore[arg-type]
    ),
    OneLook(
        "the same at AUC 0.98",
        Arm(57570, arrive=(1.0, 1.0)),
        Arm(3030, arrive=(1.0, 1.0)),
        positives=(570, 30),
        runs_factor=0.5,
        **VERY_GOOD,  # type: ignore[arg-type]
    ),
    OneLook(
        "lopsided, AUC 0.92 vs 0.95 (B better): power",
        Arm(57570, arrive=(1.0, 1.0)),
        Arm(3030, arrive=(1.0, 1.0)),
        positives=(570, 30),
        binormal_shift=(2.0, 2.33),
        better="B",
        runs_factor=0.5,
    ),
    OneLook(
        "labels arrive by class, B's later (coverage ~83 % vs ~52 %), 4,000 requests",
        Arm(2000, arrive=(0.75, 0.95)),
        Arm(2000, arrive=(0.3, 0.9)),
    ),
    OneLook(
        "milder (coverage ~83 % vs ~76 %), 40,000 requests",
        Arm(20000, arrive=(0.75, 0.95)),
        Arm(20000, arrive=(0.65, 0.93)),
        runs_factor=0.5,
    ),
    OneLook(
        "milder, 200,000 requests",
        Arm(100000, arrive=(0.75, 0.95)),
        Arm(100000, arrive=(0.65, 0.93)),
        runs_factor=0.1,
    ),
    OneLook(
        "equal coverage, labels by class (positives 90 %, negatives 30 % in); A more accurate on all "
        "traffic (0.86 vs 0.80), B on the labelled mix and by AUC; 10,000 requests each",
        Arm(10000, arrive=(0.3, 0.9), pre_predicted=(0.50, 0.95)),
        Arm(10000, arrive=(0.3, 0.9), pre_predicted=(0.75, 0.88)),
        prevalence=0.2,
        better="B",
        runs_factor=0.5,
    ),
    OneLook(
        "B truly better (noise sd 0.6 vs 1.0), balanced, 4,000 requests: power",
        Arm(2000),
        Arm(2000, noise=0.6),
        better="B",
    ),
]


# ------------------------------------------------------------------------------------------- daily looks
@dataclass(frozen=True)
class DailyLooks:
    name: str
    per_day: int
    share_b: Callable[[np.ndarray], np.ndarray]
    mu: Callable[[np.ndarray], np.ndarray] = lambda t: np.full_like(t, -0.5)
    noise: tuple[float, float] = (1.0, 1.0)
    delay_pos: Callable[[int, np.random.Generator], np.ndarray] = lambda n, rng: rng.exponential(5, n)
    delay_neg: Callable[[int, np.random.Generator], np.ndarray] = lambda n, rng: rng.exponential(5, n)
    days: int = 30
    better: str | None = None
    runs_factor: float = 1.0
    # Another traffic model (time, label, variant, score, arrival), for the hard nulls below.
    generate: Callable[[DailyLooks, np.random.Generator], dict[str, np.ndarray]] | None = None


def simulate_traffic(look: DailyLooks, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Requests over ``look.days`` days: time, label, variant (0 = A), score, label arrival time."""
    if look.generate is not None:
        return look.generate(look, rng)
    n = rng.poisson(look.per_day * look.days)
    t = np.sort(rng.uniform(0, look.days, n))
    logit = rng.normal(look.mu(t), 1.5)
    y = (rng.random(n) < _sigmoid(logit)).astype(int)
    v = (rng.random(n) < look.share_b(t)).astype(int)
    s = _sigmoid(logit + rng.normal(0, 1, n) * np.where(v == 0, look.noise[0], look.noise[1]))
    arrive = t + np.where(y == 1, look.delay_pos(n, rng), look.delay_neg(n, rng))
    return {"t": t, "y": y, "v": v, "s": s, "arrive": arrive, "day": np.floor(t).astype(int)}


def _fixed_look_winner(results: Sequence, alpha: float) -> set[str]:
    """Winners from a single pre-planned look with fixed-level z-tests on the same within-day estimates; as in
    the comparison, only accuracy decides and ROC AUC's slot in the family enters with p = 1."""
    p_values: list[float] = []
    sides: list[str | None] = []
    for r in results:
        test = r.accuracy
        if test is not None and test.estimate.variance > 0:
            z = test.difference / math.sqrt(test.estimate.variance)
            p_values.append(math.erfc(abs(z) / math.sqrt(2)))
            sides.append(r.candidate if z > 0 else r.baseline)
        p_values.append(1.0)
        sides.append(None)
    adjusted = holm_adjust(p_values)
    named = {side for side, p in zip(sides, adjusted, strict=True) if side is not None and p < alpha}
    return named if len(named) == 1 else set()


def run_daily_looks(
    look: DailyLooks, runs: int, seed: int = SEED, precisions: Sequence[float] = (MIXTURE_PRECISION,)
) -> dict[float, Tally]:
    """Tallies per mixture precision; extra counts: ``final_only`` (a winner at the last look alone, anytime
    p-values), ``fixed_final`` (the last look with fixed-level tests: valid only if it were the only look)."""
    rng = np.random.default_rng(seed)
    tallies = {p: Tally() for p in precisions}
    for _ in range(max(1, round(runs * look.runs_factor))):
        index = DayIndex(simulate_traffic(look, rng), look.days)
        seen: dict[float, list] = {p: [] for p in precisions}
        for end in range(1, look.days + 1):
            base, cand = index.evidence(0, end)
            for p in precisions:
                results = compare_with_baseline(base, [cand], ALPHA, precision=p)
                seen[p].append(results)
        for p in precisions:
            tally = tallies[p]
            winners = {r.winner for results in seen[p] for r in results if r.winner is not None}
            final = seen[p][-1]
            tally.runs += 1
            if winners - {look.better}:
                tally.false_winner += 1
            elif look.better in winners:
                tally.right_winner += 1
            elif final[0].status == "not_enough_labels":
                tally.not_enough += 1
            elif final[0].status == "labels_not_comparable":
                tally.not_comparable += 1
            tally.count("final_only", final[0].winner is not None and final[0].winner == look.better)
            # A diagnostic only: ROC AUC decides nothing (live_quality.comparison); its own p-value at the level of
            # Holm's first step. Rows in docs/benchmarks.md measured before counted the Holm-adjusted p-value.
            auc_level = ALPHA / family_size(1)
            tally.count("auc_any", any(r.auc is not None and r.auc.p_value < auc_level for (r,) in seen[p]))
            fixed = _fixed_look_winner(final, ALPHA) if final[0].status == "tested" else set()
            tally.count("fixed_final", bool(fixed) and fixed == {look.better})
    return tallies


def _churn_pos(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.exponential(3, n)


def _churn_neg(n: int, rng: np.random.Generator) -> np.ndarray:
    return 21 + rng.exponential(1, n)


DAILY_LOOKS = [
    DailyLooks("30 daily looks, 50/50, 300 requests/day, label delay Exp(5 d)", 300, lambda t: np.full_like(t, 0.5)),
    DailyLooks(
        "30 daily looks, B truly better (noise sd 0.6 vs 1.0): power",
        300,
        lambda t: np.full_like(t, 0.5),
        noise=(1.0, 0.6),
        better="B",
    ),
    DailyLooks(
        "split 95/5 then 50/50 from day 15 while the base rate rises (logit mean -2.5 -> 0), 1,000/day, labels at once",
        1000,
        lambda t: np.where(t < 15, 0.05, 0.5),
        mu=lambda t: np.where(t < 15, -2.5, 0.0),
        delay_pos=lambda n, rng: np.zeros(n),
        delay_neg=lambda n, rng: np.zeros(n),
        runs_factor=0.5,
    ),
    DailyLooks(
        "the same, B truly better: power",
        1000,
        lambda t: np.where(t < 15, 0.05, 0.5),
        mu=lambda t: np.where(t < 15, -2.5, 0.0),
        noise=(1.0, 0.6),
        delay_pos=lambda n, rng: np.zeros(n),
        delay_neg=lambda n, rng: np.zeros(n),
        better="B",
        runs_factor=0.5,
    ),
    DailyLooks(
        "churn-like labels (positives Exp(3 d), negatives after 21 d), split 10/90 then 50/50 from day 15, 200/day",
        200,
        lambda t: np.where(t < 15, 0.1, 0.5),
        delay_pos=_churn_pos,
        delay_neg=_churn_neg,
    ),
]


def _binormal(mean_a: float, sd_b: float, auc_b: float | None = None, prevalence: float = 0.05) -> Callable:
    """Traffic whose scores are binormal: negatives N(0, 1), A's positives N(mean_a, 1), B's N(μ_B, sd_b)
    with μ_B giving B the ROC AUC ``auc_b`` (default A's: equal AUCs, differently shaped ROC curves when
    sd_b != 1); a fixed share of positives; labels at once."""
    normal = NormalDist()
    auc_a = normal.cdf(mean_a / math.sqrt(2))
    mean_b = normal.inv_cdf(auc_a if auc_b is None else auc_b) * math.sqrt(1 + sd_b**2)

    def generate(look: DailyLooks, rng: np.random.Generator) -> dict[str, np.ndarray]:
        n = rng.poisson(look.per_day * look.days)
        t = np.sort(rng.uniform(0, look.days, n))
        y = (rng.random(n) < prevalence).astype(int)
        v = (rng.random(n) < look.share_b(t)).astype(int)
        z = rng.normal(0, 1, n)
        s = np.where(v == 0, mean_a * y + z, np.where(y == 1, mean_b + sd_b * z, z))
        return {"t": t, "y": y, "v": v, "s": _sigmoid(s - 1.5), "arrive": t.copy(), "day": np.floor(t).astype(int)}

    return generate


def _noise_by_hour(amplitude: float) -> Callable:
    """The default traffic, labels at once, with both models' score noise following the hour of day
    (1 ± amplitude · sin): requests are harder at some hours than at others, the class mix is not."""

    def generate(look: DailyLooks, rng: np.random.Generator) -> dict[str, np.ndarray]:
        n = rng.poisson(look.per_day * look.days)
        t = np.sort(rng.uniform(0, look.days, n))
        logit = rng.normal(look.mu(t), 1.5)
        y = (rng.random(n) < _sigmoid(logit)).astype(int)
        v = (rng.random(n) < look.share_b(t)).astype(int)
        noise = (1.0 + amplitude * np.sin(2 * np.pi * t)) * np.where(v == 0, look.noise[0], look.noise[1])
        s = _sigmoid(logit + rng.normal(0, 1, n) * noise)
        return {"t": t, "y": y, "v": v, "s": s, "arrive": t.copy(), "day": np.floor(t).astype(int)}

    return generate


def _at_once(n: int, rng: np.random.Generator) -> np.ndarray:
    return np.zeros(n)


MID_DAY = 3 + 14 / 24  # day 3, 14:00
# The hard nulls and their power rows (review of the within-day tests); 1,000 runs for the nulls at
# the default --looks-runs 400.
HARD_LOOKS = [
    DailyLooks(
        "equal ROC AUC 0.92, the canary's positives' scores 3× as spread (ROC curves of different shape), "
        "5 % canary of 12,000/day, 5 % positives, labels at once (accuracy truly differs, B +0.007: the "
        "ROC AUC column is the false rejection)",
        12000,
        lambda t: np.full_like(t, 0.05),
        generate=_binormal(2.0, 3.0),
        better="B",
        runs_factor=2.5,
    ),
    DailyLooks(
        "identical models, ROC AUC 0.98, 1 % canary of 12,000/day, 5 % positives, labels at once",
        12000,
        lambda t: np.full_like(t, 0.01),
        generate=_binormal(3.0, 1.0),
        runs_factor=2.5,
    ),
    DailyLooks(
        "5 % canary of 12,000/day, the canary's ROC AUC 0.94 vs 0.92: power",
        12000,
        lambda t: np.full_like(t, 0.05),
        generate=_binormal(2.0, 1.0, auc_b=0.94),
        better="B",
    ),
    DailyLooks(
        "identical models, high accuracy (logit mean -4: ~4 % positives), 1 % canary of 20,000/day, labels at once",
        20000,
        lambda t: np.full_like(t, 0.01),
        mu=lambda t: np.full_like(t, -4.0),
        delay_pos=_at_once,
        delay_neg=_at_once,
        runs_factor=2.5,
    ),
    DailyLooks(
        "identical models, split 0 -> 50 % at 14:00 on day 3, score noise by hour of day (1 ± 0.5), "
        "20,000/day, 8 daily looks, labels at once",
        20000,
        lambda t: np.where(t < MID_DAY, 0.0, 0.5),
        mu=lambda t: np.full_like(t, -1.0),
        generate=_noise_by_hour(0.5),
        days=8,
        runs_factor=2.5,
    ),
    DailyLooks(
        "1,000/day, a 10 % candidate truly better (noise sd 0.6 vs 1.0), split 10 -> 50 % at 14:00 on day 3, "
        "score noise by hour (1 ± 0.5), labels at once: power",
        1000,
        lambda t: np.where(t < MID_DAY, 0.1, 0.5),
        mu=lambda t: np.full_like(t, -1.0),
        noise=(1.0, 0.6),
        generate=_noise_by_hour(0.5),
        better="B",
    ),
    DailyLooks(
        "1,000/day, a 10 % candidate truly better (noise sd 0.6 vs 1.0), constant split, labels at once: power",
        1000,
        lambda t: np.full_like(t, 0.1),
        mu=lambda t: np.full_like(t, -1.0),
        noise=(1.0, 0.6),
        delay_pos=_at_once,
        delay_neg=_at_once,
        better="B",
    ),
]
DAILY_LOOKS += HARD_LOOKS


# ---------------------------------------------------------------------------------------- window starts
SLIDING_DAYS = 7  # the old schedule's lookback_days
LONGEST_WINDOW_DAYS = 42  # the config's default longest window (lookback_days)
WINDOW_STARTS = {
    "anchored at the experiment's start": lambda end: 0.0,
    f"anchored, cut at {LONGEST_WINDOW_DAYS} days (the default)": lambda end: max(0.0, end - LONGEST_WINDOW_DAYS),
    f"sliding, last {SLIDING_DAYS} days (the old schedule)": lambda end: max(0.0, end - SLIDING_DAYS),
}
LOOK_COUNTS = (60, 120)


def _drift(t: np.ndarray) -> np.ndarray:
    """The base rate drifts: logit mean -2 at day 0, rising to 0 by day 120, with a 30-day wave."""
    return -2.0 + t / 60.0 + 0.5 * np.sin(2 * np.pi * t / 30.0)


WINDOW_TRAFFIC = DailyLooks(
    "120 days, 300 requests/day, base rate drifting (logit mean -2 -> 0 with a 30-day wave), split 90/10 then "
    "50/50 from day 20, label delay Exp(5 d)",
    300,
    lambda t: np.where(t < 20, 0.1, 0.5),
    mu=_drift,
    days=max(LOOK_COUNTS),
)
WINDOW_POWER = DailyLooks(
    "the same, B truly better (noise sd 0.6 vs 1.0)",
    300,
    lambda t: np.where(t < 20, 0.1, 0.5),
    mu=_drift,
    noise=(1.0, 0.6),
    days=max(LOOK_COUNTS),
    better="B",
)


EPOCH = date(2026, 1, 1)  # day 0 of a simulated traffic: the strata are named as the query names them


def _period(day: int, hour: int | None = None) -> str:
    """An inference day's period ('yyyy/mm/dd') or a capture hour's ('yyyy/mm/dd/hh'), as the query's."""
    text = (EPOCH + timedelta(days=day)).strftime("%Y/%m/%d")
    return text if hour is None else f"{text}/{hour:02d}"


class DayIndex:
    """One simulated traffic arranged for fast looks: per variant and inference day, the requests in the
    order their labels arrive, so the labelled requests of a day at any look are a prefix of that list.
    A day's stratum then depends only on (variant, day, labels in) and is computed once per traffic.

    Strata as the report chooses them (``live_quality.strata``): a day whose captured requests per hour
    and variant show a split that changed inside it is compared by hour, every other day whole."""

    def __init__(self, traffic: dict[str, np.ndarray], days: int) -> None:
        self.days = days
        hour = np.clip(np.floor((traffic["t"] - traffic["day"]) * 24).astype(int), 0, 23)
        self.by_day: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}
        self.captured: dict[tuple[int, int], np.ndarray] = {}
        for k in (0, 1):
            for d in range(days):
                mask = (traffic["v"] == k) & (traffic["day"] == d)
                order = np.argsort(traffic["arrive"][mask], kind="stable")
                arrays = (traffic["arrive"], traffic["y"], traffic["s"], hour)
                self.by_day[k, d] = tuple(a[mask][order] for a in arrays)
                self.captured[k, d] = np.bincount(hour[mask], minlength=24)
        self.strata: dict[tuple[int, int, int, int], Stratum] = {}
        self.changed: dict[int, bool] = {}

    def split_changed(self, d: int) -> bool:
        """Whether day ``d`` is compared by hour (a whole day's captures: fixed once the day is over)."""
        if d not in self.changed:
            counts = {
                name: {_period(d, h): int(c) for h, c in enumerate(self.captured[k, d])}
                for k, name in enumerate(("A", "B"))
            }
            self.changed[d] = bool(split_changed_days(counts))
        return self.changed[d]

    def _cached(self, k: int, d: int, hour: int, n: int, y: np.ndarray, s: np.ndarray) -> Stratum:
        key = (k, d, hour, n)
        if key not in self.strata:
            self.strata[key] = _stratum(_period(d, None if hour < 0 else hour), y, s, THRESHOLD)
        return self.strata[key]

    def evidence(self, start: int, end: int) -> list[VariantEvidence]:
        """Both variants over inference days [start, end) with labels collected until ``end``. The window's
        totals are the strata's sums; its pooled ROC AUC, which only the report's table shows (the tests
        use the strata), is left as the mean of the strata's to keep the looks fast."""
        by_hour = {_period(d) for d in range(start, end) if self.split_changed(d)}
        out = []
        for k, name in enumerate(("A", "B")):
            days, hours, captured = [], [], 0
            for d in range(start, end):
                arrive, y, s, hour = self.by_day[k, d]
                captured += arrive.size
                n = int(np.searchsorted(arrive, end, "left"))
                if n == 0:
                    continue
                if _period(d) not in by_hour:
                    days.append(self._cached(k, d, -1, n, y[:n], s[:n]))
                    continue
                for h in np.unique(hour[:n]):
                    in_hour = hour[:n] == h
                    hours.append(self._cached(k, d, int(h), int(in_hour.sum()), y[:n][in_hour], s[:n][in_hour]))
            strata = choose_strata(days, hours, by_hour)
            labelled = sum(x.labelled for x in strata)
            positives = sum(x.positives for x in strata)
            aucs = [x.roc_auc for x in strata if x.roc_auc is not None]
            has_auc = positives > 0 and labelled - positives > 0 and aucs
            out.append(
                VariantEvidence(
                    name,
                    captured,
                    labelled,
                    positives,
                    labelled - positives,
                    sum(x.correct for x in strata),
                    float(np.mean(aucs)) if has_auc else None,
                    None,
                    None,
                    strata=strata,
                )
            )
        return out


def run_window_starts(look: DailyLooks, runs: int, seed: int = SEED) -> dict[str, dict[int, Tally]]:
    """Per window start and number of looks: a winner named at any of the first n daily runs. The same
    simulated traffic is looked at with every window start, so the rows differ by the start alone."""
    rng = np.random.default_rng(seed)
    tallies = {name: {n: Tally() for n in LOOK_COUNTS} for name in WINDOW_STARTS}
    for _ in range(runs):
        index = DayIndex(simulate_traffic(look, rng), look.days)
        for name, start_of in WINDOW_STARTS.items():
            first_winner: dict[str, int] = {}  # winner -> the first look that named it
            for end in range(1, look.days + 1):
                base, cand = index.evidence(int(start_of(float(end))), end)
                for result in compare_with_baseline(base, [cand], ALPHA):
                    if result.winner is not None:
                        first_winner.setdefault(result.winner, end)
            for n, tally in tallies[name].items():
                winners = {w for w, day in first_winner.items() if day <= n}
                tally.runs += 1
                if winners - {look.better}:
                    tally.false_winner += 1
                elif look.better in winners:
                    tally.right_winner += 1
    return tallies


def windows_markdown(runs: int, per_day: int = WINDOW_TRAFFIC.per_day) -> list[str]:
    """The window-starts table: ``runs`` experiments with identical variants, half as many with B better
    (power needs less precision than a false-winner rate near alpha); ``per_day`` requests a day."""
    started = time.perf_counter()
    traffic = replace(WINDOW_TRAFFIC, per_day=per_day, name=WINDOW_TRAFFIC.name.replace("300", f"{per_day:,}", 1))
    null = run_window_starts(traffic, runs)
    print(f"[{time.perf_counter() - started:.0f} s] identical variants", file=sys.stderr, flush=True)
    power_runs = max(1, runs // 2)
    power = run_window_starts(replace(WINDOW_POWER, per_day=per_day), power_runs, seed=SEED + 1)
    seconds = time.perf_counter() - started
    se = math.sqrt(ALPHA * (1 - ALPHA) / runs)
    false_heads = " | ".join(f"false winner, identical variants, {n} looks" for n in LOOK_COUNTS)
    right_heads = " | ".join(f"right winner, B better, {n} looks" for n in LOOK_COUNTS)
    lines = [
        f"{traffic.name}; a run a day, each over its window with labels collected until the run; "
        f"{runs} simulated experiments with identical variants and {power_runs} with B better, every window start "
        f"on the same traffic (binomial standard error of a 5 % rate: {_pct(se)}).",
        "",
        f"| window | {false_heads} | {right_heads} |",
        "|---|" + "---:|" * (2 * len(LOOK_COUNTS)),
    ]
    for name in WINDOW_STARTS:
        false = " | ".join(_pct(null[name][n].false_winner / runs) for n in LOOK_COUNTS)
        right = " | ".join(_pct(power[name][n].right_winner / power_runs) for n in LOOK_COUNTS)
        lines.append(f"| {name} | {false} | {right} |")
    lines += ["", f"({seconds:.0f} s)"]
    return lines


def delong_small_classes(runs: int, seed: int = SEED) -> list[tuple[int, float, float]]:
    """The ROC AUC difference's variance alone under the null, by rows of each class per variant: the
    rejection rate of a fixed-level z-test at 0.025 as a multiple of 0.025, with the p-value's variance
    (the larger of the pooled and unpooled placement variances) and the unpooled one (the interval's)."""
    rng = np.random.default_rng(seed)
    z = 2.2414  # two-sided 0.025
    out = []
    for per_class in (5, 10, 20, 30, 50, 100):
        pooled = unpooled = 0
        for _ in range(runs):
            arms = []
            for _variant in range(2):
                y = np.r_[np.ones(per_class, int), np.zeros(4 * per_class, int)]
                arms.append(_stratum("d1", y, _sigmoid(rng.normal(1.0 * y, 1.0)), THRESHOLD))
            estimate = auc_difference([(arms[0], arms[1])])
            assert estimate is not None
            pooled += abs(estimate.difference) > z * math.sqrt(estimate.variance)
            unpooled += abs(estimate.difference) > z * math.sqrt(estimate.interval_variance)
        out.append((per_class, pooled / runs / 0.025, unpooled / runs / 0.025))
    return out


# ------------------------------------------------------------------------------------------------ output
def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a rate k/n (95 % by default)."""
    p = k / n
    d = 1 + z * z / n
    center = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, center - half), min(1.0, center + half)


def _rate(k: int, n: int) -> str:
    """A rate with its 95 % Wilson interval: '0.5 % [0.2, 1.2]'."""
    low, high = wilson(k, n)
    return f"{100 * k / n:.1f} % [{100 * low:.1f}, {100 * high:.1f}]"


def measure(runs: int, looks_runs: int, only: Sequence[str] = ()) -> dict:
    started = time.perf_counter()
    one, daily = [], []
    for s in ONE_LOOK:
        if not only or any(o in s.name for o in only):
            one.append((s, run_one_look(s, runs)))
            print(f"[{time.perf_counter() - started:.0f} s] {s.name}: {one[-1][1]}", file=sys.stderr, flush=True)
    for d in DAILY_LOOKS:
        if not only or any(o in d.name for o in only):
            daily.append((d, run_daily_looks(d, looks_runs)[MIXTURE_PRECISION]))
            print(f"[{time.perf_counter() - started:.0f} s] {d.name}: {daily[-1][1]}", file=sys.stderr, flush=True)
    delong = delong_small_classes(runs) if not only or "delong" in only else []
    return {
        "runs": runs,
        "looks_runs": looks_runs,
        "one": one,
        "daily": daily,
        "delong": delong,
        "seconds": time.perf_counter() - started,
    }


def markdown(results: dict) -> list[str]:
    se = math.sqrt(ALPHA * (1 - ALPHA) / results["runs"])
    lines = [
        '## Live quality: false winners, power and "not enough labels"',
        "",
        f"`benchmarks/live_quality_false_winners.py`, two variants, alpha {ALPHA} family-wise (binomial standard "
        f"error of a 5 % rate at {results['runs']} runs: {_pct(se)}). Every run goes through "
        "`live_quality.comparison.compare_with_baseline`: accuracy and ROC AUC within inference days (CMH weights, "
        "accuracy's p-value from the CMH test and its interval from Sato's variance, per-day DeLong with the "
        "larger of the pooled and unpooled placement variances, ROC AUC from 60 labels per "
        "class), the days compared by hour where the split changed inside them (`live_quality.strata`), "
        "anytime-valid p-values from the normal mixture, Holm over the fixed family; only accuracy decides (ROC "
        "AUC enters Holm with p = 1). *False winner*: a winner named among "
        "identical models, or the worse one named. *ROC AUC rejected* (a diagnostic; it decides nothing): its own "
        "p-value below alpha/2, the level of Holm's first step, at some look, either way (a rejection where the "
        "AUCs are equal shows the test's variance too small).",
        "",
        "One look (the window as one stratum; labels in with the given probabilities), "
        f"{results['runs']} runs per row unless the runs column says fewer:",
        "",
        "| scenario | runs | false winner [95 % Wilson] | right winner (power) | not enough labels "
        "| labels not comparable | accuracy significant for B |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s, t in results["one"]:
        power = _rate(t.right_winner, t.runs) if s.better else "—"
        lines.append(
            f"| {s.name} | {t.runs} | {_rate(t.false_winner, t.runs)} | {power} | {_pct(t.not_enough / t.runs)} | "
            f"{_pct(t.not_comparable / t.runs)} | {_pct(t.rate('accuracy_names_b'))} |"
        )
    lines += [
        "",
        f"Daily looks (a run a day over the growing window, a winner at any run counts), {results['looks_runs']} "
        "runs per row unless the runs column says fewer:",
        "",
        "| scenario | runs | false winner (any look) [95 % Wilson] | ROC AUC rejected (any look) [95 % Wilson] "
        "| right winner (any look) | right winner at the last look alone "
        "| fixed-level test at the last look only (for reference) | not comparable at the last look |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s, t in results["daily"]:
        better = s.better is not None
        lines.append(
            f"| {s.name} | {t.runs} | {_rate(t.false_winner, t.runs)} | {_rate(t.extra.get('auc_any', 0), t.runs)} | "
            f"{_rate(t.right_winner, t.runs) if better else '—'} | "
            f"{_pct(t.rate('final_only')) if better else '—'} | {_pct(t.rate('fixed_final')) if better else '—'} | "
            f"{_pct(t.not_comparable / t.runs)} |"
        )
    if results["delong"]:
        lines += [
            "",
            "The ROC AUC difference's variance alone under the null (AUC 0.76 both; positives per variant, four "
            "times as many negatives): rejections of a fixed-level z-test at 0.025, as a multiple of 0.025, with "
            "the p-value's variance (the larger of pooled and unpooled placement variances) / the unpooled one "
            "(the interval's).",
            "",
            "| positives per variant | " + " | ".join(str(n) for n, _, _ in results["delong"]) + " |",
            "|---|" + "---:|" * len(results["delong"]),
            "| p-value's / unpooled | " + " | ".join(f"{a:.2f} / {b:.2f}" for _, a, b in results["delong"]) + " |",
        ]
    lines += ["", f"({results['seconds']:.0f} s)"]
    return lines


def precision_scan(looks_runs: int) -> list[str]:
    """Power of the daily-looks "B truly better" scenario at mixture scales around the chosen one."""
    look = DAILY_LOOKS[1]
    scales = [DIFFERENCE_WORTH_ACTING_ON * f for f in (0.33, 0.5, 1.0, 2.0)]
    precisions = [((1 / MIXTURE_PRECISION) ** 0.5 * f) ** -2 for f in (0.33, 0.5, 1.0, 2.0)]
    null = run_daily_looks(DAILY_LOOKS[0], looks_runs, precisions=precisions)
    power = run_daily_looks(look, looks_runs, precisions=precisions)
    lines = [
        "| difference the mixture is tuned to (δ) | 1/sqrt(m) | false winner, 30 looks | power, 30 looks |",
        "|---:|---:|---:|---:|",
    ]
    for delta, p in zip(scales, precisions, strict=True):
        lines.append(
            f"| {delta:.3f} | {p**-0.5:.4f} | {_pct(null[p].false_winner / null[p].runs)} | "
            f"{_pct(power[p].right_winner / power[p].runs)} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--looks-runs", type=int, default=400)
    parser.add_argument("--only", nargs="*", default=(), help="scenarios whose name contains one of these")
    parser.add_argument("--precision-scan", action="store_true")
    parser.add_argument("--windows", action="store_true", help="anchored, cut and sliding windows over 120 days")
    parser.add_argument("--windows-runs", type=int, default=160)
    parser.add_argument("--windows-per-day", type=int, default=WINDOW_TRAFFIC.per_day)
    args = parser.parse_args()
    if args.windows:
        print("\n".join(windows_markdown(args.windows_runs, args.windows_per_day)))
        return
    if args.precision_scan:
        print("\n".join(precision_scan(args.looks_runs)))
        return
    print("\n".join(markdown(measure(args.runs, args.looks_runs, args.only))))


if __name__ == "__main__":
    main()
