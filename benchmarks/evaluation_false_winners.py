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
(within its binomial standard error). Numbers go to the docs; nothing asserts them.

    python benchmarks/evaluation_false_winners.py [--runs 2000] [--rows 500]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

from evaluate.metrics import correct_predictions  # noqa: E402
from evaluate.paired_tests import delong_test, mcnemar_exact  # noqa: E402
from evaluate.verdicts import CandidateTests, verdicts_against_baseline  # noqa: E402

ALPHA = 0.05
SEED = 20261202


def simulate(variants: int, runs: int, rows: int, seed: int = SEED) -> dict[str, float]:
    """Share of evaluations with any false winner, under each rule, for ``variants`` identical variants."""
    rng = np.random.default_rng(seed)
    names = [f"Variant{i + 1}" for i in range(variants)]
    per_pair = family = 0
    for _ in range(runs):
        logit = rng.normal(-0.5, 1.5, rows)
        labels = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int).tolist()
        scores = [(1 / (1 + np.exp(-(logit + rng.normal(0.0, 1.0, rows))))).tolist() for _ in names]
        correct = [correct_predictions(labels, s) for s in scores]
        tests = [
            CandidateTests(names[i], mcnemar_exact(correct[0], correct[i]), delong_test(labels, scores[0], scores[i]))
            for i in range(1, variants)
        ]
        per_pair += any(verdicts_against_baseline(names[0], [t], ALPHA)[0].winner for t in tests)
        family += any(v.winner for v in verdicts_against_baseline(names[0], tests, ALPHA))
    return {"variants": variants, "runs": runs, "rows": rows, "per_pair": per_pair / runs, "family": family / runs}


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
    for r in results:
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
    return lines


def measure(runs: int = 2000, rows: int = 500) -> list[dict[str, float]]:
    """The table's rows: 2, 3 and 5 identical variants."""
    return [simulate(k, runs, rows) for k in (2, 3, 5)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=500)
    args = parser.parse_args()
    print("\n".join(markdown(measure(args.runs, args.rows))))


if __name__ == "__main__":
    main()
