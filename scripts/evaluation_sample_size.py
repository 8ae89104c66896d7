#!/usr/bin/env python3
"""Rows a labelled test set needs, planned BEFORE the evaluation from the smallest difference that matters.

    python scripts/evaluation_sample_size.py --accuracy 0.85 --min-difference 0.01 --discordant-rate 0.10
    python scripts/evaluation_sample_size.py --accuracy 0.85 --min-difference 0.01 --discordant-rate 0.10 --variants 4

``--accuracy`` is the baseline's accuracy, ``--min-difference`` the smallest accuracy gain (or loss)
worth acting on, ``--discordant-rate`` the share of rows on which exactly one of two variants is
right (an earlier run's report gives it as (b + c) / rows). With ``--variants`` k > 2 the plan
uses α / (2·(k − 1)), the level the evaluation's Holm adjustment asks of its first test. Do not feed
it the difference a run observed: that only restates that run's p-value. Prints JSON; exit 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

from evaluate.sample_size import (  # noqa: E402
    connor_approximation,
    exact_mcnemar_power,
    required_pairs_for_accuracy_difference,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accuracy", type=float, required=True, help="baseline accuracy, e.g. 0.85")
    parser.add_argument("--min-difference", type=float, required=True, help="smallest difference worth detecting")
    parser.add_argument("--discordant-rate", type=float, required=True, help="share of rows exactly one is right")
    parser.add_argument("--variants", type=int, default=2, help="variants evaluated, baseline included (default 2)")
    parser.add_argument("--alpha", type=float, default=0.05, help="family-wise alpha (default 0.05)")
    parser.add_argument("--power", type=float, default=0.8, help="default 0.8")
    args = parser.parse_args(argv)
    if args.variants < 2:
        print(f"error: --variants must be at least 2 (got {args.variants})", file=sys.stderr)
        return 2
    tests = 2 * (args.variants - 1)
    level = args.alpha / tests
    rates = (args.accuracy, args.accuracy + args.min_difference, args.discordant_rate)
    try:
        rows = required_pairs_for_accuracy_difference(*rates, alpha=level, power=args.power)
        normal = connor_approximation(*rates, alpha=level, power=args.power)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                "rows": rows,
                "exact_power": round(exact_mcnemar_power(rows, *rates, alpha=level), 4),
                "test_alpha": level,
                "family_tests": tests,
                "normal_approximation_rows": normal,
                "normal_approximation_exact_power": round(exact_mcnemar_power(normal, *rates, alpha=level), 4),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
