"""How often the live comparison names a false winner, and when it says "not enough labels yet".

Simulated live traffic: requests split between a baseline and a candidate (each request to one
variant), true logit ~ N(-0.5, 1.5), label ~ Bernoulli(sigmoid(logit)), each variant's score =
sigmoid(logit + its own N(0, sd) noise). Some labels have arrived, some not. Every run goes through
the live comparison itself (``live_quality.comparison.compare_with_baseline``) with the statistics
the query computes (confusion counts, AUC, variances of DeLong's placement values), here from numpy.

Scenarios (identical models unless said):

- balanced / unbalanced split, labels missing at random;
- few labels: how often the comparison waits ("not enough labels") and how often it errs when it does not;
- label delay that differs per variant *and* depends on the class (positives known early): the
  candidate's traffic is younger, so fewer of its negatives are labelled. Accuracy then differs by class
  mix alone. Shown with the coverage guard ("labels not comparable yet") and without it;
- a truly better candidate (noise sd 0.6 vs 1.0): power.

Also the unpaired DeLong test alone under the null, by rows of the smaller class, at the level Holm
uses first with two tests (0.025): the evidence for the minimum of 30 labels per class.

    python benchmarks/live_quality_false_winners.py [--runs 2000]
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

import live_quality.comparison as comparison  # noqa: E402
from live_quality.comparison import VariantEvidence, compare_with_baseline  # noqa: E402
from live_quality.independent_tests import auc_variance, unpaired_delong_test  # noqa: E402

ALPHA = 0.05
SEED = 20261203


@dataclass(frozen=True)
class Scenario:
    name: str
    requests: int  # both variants together
    candidate_share: float = 0.5
    noise: tuple[float, float] = (1.0, 1.0)  # score noise sd: baseline, candidate
    # probability that a label has arrived, by (variant, class): ((base neg, base pos), (cand neg, cand pos))
    labelled: tuple[tuple[float, float], tuple[float, float]] = ((0.8, 0.8), (0.8, 0.8))
    guard: bool = True
    better: str | None = None  # the truly better variant, if any


def _evidence(name: str, logit: np.ndarray, rng: np.random.Generator, sd: float, arrive: tuple[float, float]):
    labels = (rng.random(logit.size) < 1 / (1 + np.exp(-logit))).astype(int)
    scores = 1 / (1 + np.exp(-(logit + rng.normal(0.0, sd, logit.size))))
    has_label = rng.random(logit.size) < np.where(labels == 1, arrive[1], arrive[0])
    y, s = labels[has_label], scores[has_label]
    positives, negatives = int(y.sum()), int(y.size - y.sum())
    auc = v10_var = v01_var = None
    if positives >= 2 and negatives >= 2:
        ranks = rankdata(s)
        v10 = (ranks[y == 1] - rankdata(s[y == 1])) / negatives
        v01 = 1 - (ranks[y == 0] - rankdata(s[y == 0])) / positives
        auc, v10_var, v01_var = float(v10.mean()), float(v10.var(ddof=1)), float(v01.var(ddof=1))
    correct = int(((s >= 0.5).astype(int) == y).sum())
    return VariantEvidence(name, logit.size, int(y.size), positives, negatives, correct, auc, v10_var, v01_var)


def simulate(scenario: Scenario, runs: int, seed: int = SEED) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    counts = {"false_winner": 0, "right_winner": 0, "not_enough": 0, "not_comparable": 0}
    tolerance = comparison.COVERAGE_RELATIVE_TOLERANCE
    if not scenario.guard:
        comparison.COVERAGE_RELATIVE_TOLERANCE = math.inf
    try:
        for _ in range(runs):
            n_candidate = round(scenario.requests * scenario.candidate_share)
            base = _evidence(
                "A",
                rng.normal(-0.5, 1.5, scenario.requests - n_candidate),
                rng,
                scenario.noise[0],
                scenario.labelled[0],
            )
            cand = _evidence("B", rng.normal(-0.5, 1.5, n_candidate), rng, scenario.noise[1], scenario.labelled[1])
            (result,) = compare_with_baseline(base, [cand], ALPHA)
            if result.status == "not_enough_labels":
                counts["not_enough"] += 1
            elif result.status == "labels_not_comparable":
                counts["not_comparable"] += 1
            elif result.winner is not None:
                counts["right_winner" if result.winner == scenario.better else "false_winner"] += 1
    finally:
        comparison.COVERAGE_RELATIVE_TOLERANCE = tolerance
    return {k: v / runs for k, v in counts.items()}


SCENARIOS = [
    Scenario("balanced 50/50, 4,000 requests, 80 % labelled at random", 4000),
    Scenario("unbalanced 90/10, 4,000 requests, 80 % labelled at random", 4000, candidate_share=0.1),
    Scenario("few labels: 300 requests, 80 % labelled", 300),
    Scenario("very few labels: 120 requests, 80 % labelled", 120),
    Scenario(
        "label delay differs per variant and by class (B younger: coverage ~83 % vs ~52 %), with the guard",
        4000,
        labelled=((0.75, 0.95), (0.3, 0.9)),
    ),
    Scenario(
        "the same without the coverage guard",
        4000,
        labelled=((0.75, 0.95), (0.3, 0.9)),
        guard=False,
    ),
    Scenario(
        "milder delay difference (coverage ~83 % vs ~76 %, inside the 10 % tolerance)",
        4000,
        labelled=((0.75, 0.95), (0.65, 0.93)),
    ),
    Scenario(
        "B truly better (noise sd 0.6 vs 1.0), balanced, 4,000 requests: power", 4000, noise=(1.0, 0.6), better="B"
    ),
    Scenario(
        "B truly better, B younger by class-dependent delay, with the guard",
        4000,
        noise=(1.0, 0.6),
        labelled=((0.75, 0.95), (0.3, 0.9)),
        better="B",
    ),
]


def delong_small_classes(runs: int, seed: int = SEED) -> list[tuple[int, float]]:
    """Unpaired DeLong alone under the null: rejection rate at 0.025 / 0.025, by rows of each class per variant."""
    rng = np.random.default_rng(seed)
    out = []
    for per_class in (5, 10, 20, 30, 50, 100):
        rejected = 0
        for _ in range(runs):
            parts = []
            for _variant in range(2):
                y = np.r_[np.ones(per_class, int), np.zeros(4 * per_class, int)]
                s = rng.normal(1.0 * y, 1.0)
                ranks = rankdata(s)
                v10 = (ranks[y == 1] - rankdata(s[y == 1])) / (y == 0).sum()
                v01 = 1 - (ranks[y == 0] - rankdata(s[y == 0])) / (y == 1).sum()
                variance = auc_variance(v10.var(ddof=1), v10.size, v01.var(ddof=1), v01.size)
                parts.append((float(v10.mean()), variance))
            result = unpaired_delong_test(parts[0][0], parts[0][1], parts[1][0], parts[1][1])
            rejected += result.p_value < 0.025
        out.append((per_class, rejected / runs / 0.025))
    return out


def measure(runs: int = 2000) -> dict:
    return {
        "runs": runs,
        "scenarios": [(s, simulate(s, runs)) for s in SCENARIOS],
        "delong": delong_small_classes(runs),
    }


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def markdown(results: dict) -> list[str]:
    runs = results["runs"]
    se = math.sqrt(ALPHA * (1 - ALPHA) / runs)
    lines = [
        '## Live quality: false winners, power and "not enough labels"',
        "",
        f"`benchmarks/live_quality_false_winners.py`, {runs} simulated runs per row, two variants, alpha {ALPHA} "
        f"(binomial standard error of a 5 % rate: {_pct(se)}). Every run goes through "
        "`live_quality.comparison.compare_with_baseline` (Newcombe for accuracy, unpaired DeLong for ROC AUC, "
        "Holm over both). *False winner*: a winner named among identical models, or the worse one named.",
        "",
        "| scenario | false winner | right winner (power) | not enough labels | labels not comparable |",
        "|---|---:|---:|---:|---:|",
    ]
    for scenario, r in results["scenarios"]:
        power = _pct(r["right_winner"]) if scenario.better else "—"
        lines.append(
            f"| {scenario.name} | {_pct(r['false_winner'])} | {power} | {_pct(r['not_enough'])} | "
            f"{_pct(r['not_comparable'])} |"
        )
    lines += [
        "",
        "Unpaired DeLong alone under the null (AUC 0.76 both; rows of the positive class per variant, four "
        "times as many negatives): rejection rate at 0.025 as a multiple of 0.025.",
        "",
        "| positives per variant | " + " | ".join(str(n) for n, _ in results["delong"]) + " |",
        "|---|" + "---:|" * len(results["delong"]),
        "| rejections / level | " + " | ".join(f"{x:.2f}" for _, x in results["delong"]) + " |",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    print("\n".join(markdown(measure(args.runs))))


if __name__ == "__main__":
    main()
