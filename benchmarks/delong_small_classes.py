"""How anti-conservative DeLong's test is with few rows of one class, at the levels Holm tests at.

Two models of equal quality score the same rows (a shared true score that separates the classes by
one standard deviation, plus each model's own Gaussian noise, sd 1); ``positives`` rows of the small
class and 200 of the other. The false-rejection rate of ``evaluate.paired_tests.delong_test`` at
0.025 (Holm's first level with 2 tests: two variants) and 0.00625 (8 tests: five variants) is printed
as a multiple of the level. It chose ``DELONG_MIN_PER_CLASS``; numbers go to the docs, nothing asserts
them.

    python benchmarks/delong_small_classes.py [--runs 20000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

from evaluate.paired_tests import delong_test  # noqa: E402

LEVELS = (0.025, 0.00625)
NEGATIVES = 200
SEED = 1


def false_rejections(positives: int, runs: int, rng: np.random.Generator) -> list[float]:
    """Share of null runs rejected at each of :data:`LEVELS`."""
    hits = [0] * len(LEVELS)
    labels = [1] * positives + [0] * NEGATIVES
    for _ in range(runs):
        truth = np.concatenate([rng.normal(1.0, 1, positives), rng.normal(0, 1, NEGATIVES)])
        a = (truth + rng.normal(0, 1, truth.size)).tolist()
        b = (truth + rng.normal(0, 1, truth.size)).tolist()
        p_value = delong_test(labels, a, b, minimum_per_class=2).p_value
        for i, level in enumerate(LEVELS):
            hits[i] += p_value < level
    return [h / runs for h in hits]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    print("| rows of the smaller class | " + " | ".join(f"at {lv:g}" for lv in LEVELS) + " |")
    print("|---:|" + "---:|" * len(LEVELS))
    for positives in (2, 4, 8, 10, 15, 20, 30, 40, 50):
        rates = false_rejections(positives, args.runs, rng)
        cells = " | ".join(f"{r:.4f} ({r / lv:.2f}×)" for r, lv in zip(rates, LEVELS, strict=True))
        print(f"| {positives} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
