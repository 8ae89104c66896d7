"""How often the evaluation names a false winner when every variant is equally good.

Simulated labelled test sets scored by k variants of identical quality: each scores a row as
sigmoid(true logit + its own Gaussian noise, sd 1), labels drawn from the true logit. Every
candidate is compared with the baseline (the first variant) by the evaluation's own tests
(``mcnemar_exact``, ``delong_test``), and two verdict rules are applied to the same tests:

- **per pair** (the rule before): each candidate's two p-values Holm-adjusted on their own, i.e.
  every pair tested at alpha;
- **family-wise** (``evaluate.verdicts.verdicts_against_baseline``): all 2·(k − 1) p-values
  Holm-adjusted together.

A "false winner" is an evaluation in which any verdict names a winner. Target: family-wise ≤ alpha
(within its binomial standard error).

A second table puts one truly better candidate (``Variant2``, noise sd ``BETTER_NOISE``) among
identical ones: the false winners are then verdicts naming any winner among the identical
candidates, or the baseline over the better one, and the power is the share of evaluations naming
``Variant2`` the winner, under both rules. Numbers go to the docs; nothing asserts them.

    python benchmarks/evaluation_false_winners.py [--runs 2000] [--rows 500]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

from evaluate.metrics import correct_predictions  # noqa: E402
from evaluate.paired_tests import delong_test, mcnemar_exact  # noqa: E402
from evaluate.verdicts import CandidateTests, verdicts_against_baseline  # noqa: E402

ALPHA = 0.05
SEED = 20261202
BETTER_NOISE = 0.4  # the better candidate's score noise (the others': 1.0)


def _evaluations(
    variants: int, runs: int, rows: int, noise: list[float], seed: int
) -> Iterator[tuple[list[str], list[CandidateTests]]]:
    """Per simulated test set: the names and every candidate's paired tests against the baseline."""
    rng = np.random.default_rng(seed)
    names = [f"Variant{i + 1}" for i in range(variants)]
    for _ in range(runs):
        logit = rng.normal(-0.5, 1.5, rows)
        labels = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int).tolist()
        scores = [(1 / (1 + np.exp(-(logit + rng.normal(0.0, sd, rows))))).tolist() for sd in noise]
        correct = [correct_predictions(labels, s) for s in scores]
        yield (
            names,
            [
                CandidateTests(
                    names[i], mcnemar_exact(correct[0], correct[i]), delong_test(labels, scores[0], scores[i])
                )
                for i in range(1, variants)
            ],
        )


def _winners(names: list[str], tests: list[CandidateTests]) -> tuple[list[str | None], list[str | None]]:
    """Each candidate's winner under the per-pair rule and under the family-wise rule."""
    per_pair = [verdicts_against_baseline(names[0], [t], ALPHA)[0].winner for t in tests]
    family = [v.winner for v in verdicts_against_baseline(names[0], tests, ALPHA)]
    return per_pair, family


def simulate(variants: int, runs: int, rows: int, seed: int = SEED) -> dict[str, float]:
    """Share of evaluations with any false winner, under each rule, for ``variants`` identical variants."""
    per_pair = family = 0
    for names, tests in _evaluations(variants, runs, rows, [1.0] * variants, seed):
        pair_winners, family_winners = _winners(names, tests)
        per_pair += any(pair_winners)
        family += any(family_winners)
    return {"variants": variants, "runs": runs, "rows": rows, "per_pair": per_pair / runs, "family": family / runs}


def simulate_one_better(variants: int, runs: int, rows: int, seed: int = SEED) -> dict[str, float]:
    """One better candidate (Variant2) among identical ones: false winners and power under each rule."""
    noise = [1.0, BETTER_NOISE] + [1.0] * (variants - 2)
    counts = {"per_pair_false": 0, "family_false": 0, "per_pair_power": 0, "family_power": 0}
    for names, tests in _evaluations(variants, runs, rows, noise, seed + 1):
        for rule, winners in zip(("per_pair", "family"), _winners(names, tests), strict=True):
            better, *identical = winners
            counts[f"{rule}_false"] += better == names[0] or any(identical)
            counts[f"{rule}_power"] += better == names[1]
    return {"variants": variants, "runs": runs, "rows": rows, **{k: v / runs for k, v in counts.items()}}


def _se(rate: float, runs: int) -> float:
    return math.sqrt(rate * (1 - rate) / runs)


def markdown(results: list[dict[str, float]]) -> list[str]:
    runs, rows = int(results[0]["runs"]), int(results[0]["rows"])
    lines = [
        "## Evaluation: false winners among identical variants",
        "",
        f"{runs:,} simulated test sets of {rows:,} rows per row of the table, every variant of the same quality "
        f"(`benchmarks/evaluation_false_winners.py`, seed {SEED}); each candidate compared with the baseline by "
        "McNemar and DeLong, alpha 0.05. A false winner is an evaluation whose verdicts name any winner.",
        "",
        "| variants | tests | per pair (the rule before) | family-wise Holm (now) |",
        "|---:|---:|---:|---:|",
    ]
    for r in (r for r in results if "per_pair" in r):
        n = int(r["runs"])
        lines.append(
            f"| {int(r['variants'])} | {2 * (int(r['variants']) - 1)} | {100 * r['per_pair']:.1f} % "
            f"± {100 * _se(r['per_pair'], n):.1f} | {100 * r['family']:.1f} % ± {100 * _se(r['family'], n):.1f} |"
        )
    lines += [
        "",
        "± is one binomial standard error. Target: family-wise ≤ alpha. With two variants both rules are the "
        "same family of two tests.",
    ]
    better = [r for r in results if "family_power" in r]
    if better:
        lines += [
            "",
            f"One truly better candidate (`Variant2`, score noise sd {BETTER_NOISE} instead of 1) among identical "
            "ones, same test sets otherwise. False winner: any verdict naming an identical candidate, or the "
            "baseline over `Variant2`. Power: `Variant2` named the winner.",
            "",
            "| variants | false winner, per pair | false winner, family-wise | power, per pair | power, family-wise |",
            "|---:|---:|---:|---:|---:|",
        ]
        for r in better:
            n = int(r["runs"])
            cells = " | ".join(
                f"{100 * r[k]:.1f} % ± {100 * _se(r[k], n):.1f}"
                for k in ("per_pair_false", "family_false", "per_pair_power", "family_power")
            )
            lines.append(f"| {int(r['variants'])} | {cells} |")
        lines += [
            "",
            "Holm's adjustment pays for its false-winner control with power: plan the test set at the family's "
            "Holm level (`scripts/evaluation_sample_size.py --variants`), not at alpha.",
        ]
    return lines


def measure(runs: int = 2000, rows: int = 500) -> list[dict[str, float]]:
    """The tables' rows: 2, 3 and 5 identical variants; then 3 and 5 variants with one better candidate."""
    return [simulate(k, runs, rows) for k in (2, 3, 5)] + [simulate_one_better(k, runs, rows) for k in (3, 5)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=500)
    args = parser.parse_args()
    print("\n".join(markdown(measure(args.runs, args.rows))))


if __name__ == "__main__":
    main()
