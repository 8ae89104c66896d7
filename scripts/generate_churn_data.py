#!/usr/bin/env python3
"""Write a synthetic, churn-like labelled test set for evaluating endpoint variants offline.

usage: python scripts/generate_churn_data.py [--rows 1000] [--seed 7] [--out data/churn-test.csv] [--header]

The columns imitate the numeric part of the telecom churn data of the classic SageMaker XGBoost example:
label first (``churn``, 0/1), then account length, international and voicemail plans, voicemail
messages, day/evening/night minutes, day calls, international minutes and calls, and customer-service
calls. There is no header unless ``--header`` is given: SageMaker's XGBoost reads CSV as label-first
with no header. Without ``--out`` the CSV goes to stdout.

Labels come from a known logistic model (:func:`churn_probability`), so the truth is known, and two
deliberately different simple scorers (:data:`MODELS`) give two "variants" to compare: ``baseline``
sees only three features; ``challenger`` has the true linear terms but misses the jump in churn after
four service calls. Nothing is downloaded; the same ``--rows`` and ``--seed`` give the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from random import Random

FEATURES = (
    "account_length",
    "intl_plan",
    "vmail_plan",
    "vmail_messages",
    "day_mins",
    "day_calls",
    "eve_mins",
    "night_mins",
    "intl_mins",
    "intl_calls",
    "custserv_calls",
)
LABEL = "churn"
# Columns written with one decimal; the rest are integers.
_MINUTES = frozenset({"day_mins", "eve_mins", "night_mins", "intl_mins"})


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def _clip(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _poisson(rng: Random, mean: float) -> int:
    # Knuth's multiplication method: fine for the small means used here.
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _customer(rng: Random) -> dict[str, float]:
    vmail_plan = int(rng.random() < 0.28)
    return {
        "account_length": round(_clip(rng.gauss(101, 40), 1, 243)),
        "intl_plan": int(rng.random() < 0.10),
        "vmail_plan": vmail_plan,
        "vmail_messages": round(_clip(rng.gauss(29, 7.5), 1, 51)) if vmail_plan else 0,
        "day_mins": round(_clip(rng.gauss(180, 54), 0, 351), 1),
        "day_calls": round(_clip(rng.gauss(100, 20), 0, 165)),
        "eve_mins": round(_clip(rng.gauss(201, 51), 0, 364), 1),
        "night_mins": round(_clip(rng.gauss(201, 51), 23, 395), 1),
        "intl_mins": round(_clip(rng.gauss(10.2, 2.8), 0, 20), 1),
        "intl_calls": round(_clip(rng.gauss(4.5, 2.5), 0, 20)),
        "custserv_calls": _poisson(rng, 1.56),
    }


def _linear_logit(f: Sequence[float]) -> float:
    x = dict(zip(FEATURES, f, strict=True))
    return (
        -2.5
        + 0.016 * (x["day_mins"] - 180)
        + 0.007 * (x["eve_mins"] - 200)
        + 0.003 * (x["night_mins"] - 200)
        + 0.09 * (x["intl_mins"] - 10)
        - 0.1 * (x["intl_calls"] - 4.5)
        + 2.1 * x["intl_plan"]
        - 1.0 * x["vmail_plan"]
        + 0.3 * (x["custserv_calls"] - 1.5)
    )


def churn_probability(features: Sequence[float]) -> float:
    """The ground truth: P(churn) for one row of :data:`FEATURES` values (about 14% churn overall)."""
    jump = 2.0 if features[FEATURES.index("custserv_calls")] >= 4 else 0.0
    return _sigmoid(_linear_logit(features) + jump)


def baseline_score(features: Sequence[float]) -> float:
    """A weak variant: logistic in day minutes and service calls only (blind to the plans)."""
    x = dict(zip(FEATURES, features, strict=True))
    return _sigmoid(-2.1 + 0.014 * (x["day_mins"] - 180) + 0.45 * (x["custserv_calls"] - 1.5))


def challenger_score(features: Sequence[float]) -> float:
    """A stronger variant: the true linear terms, without the step after four service calls."""
    return _sigmoid(_linear_logit(features) + 0.25)


MODELS: dict[str, Callable[[Sequence[float]], float]] = {"baseline": baseline_score, "challenger": challenger_score}


def generate(rows: int, seed: int) -> list[tuple[int, tuple[float, ...]]]:
    """``rows`` labelled rows ``(churn, features)``, drawn with ``random.Random(seed)``."""
    if rows < 1:
        raise ValueError(f"rows is {rows}; need at least 1")
    rng = Random(seed)
    out = []
    for _ in range(rows):
        customer = _customer(rng)
        features = tuple(customer[name] for name in FEATURES)
        out.append((int(rng.random() < churn_probability(features)), features))
    return out


def to_csv(records: Sequence[tuple[int, Sequence[float]]], *, header: bool = False) -> str:
    """Label-first CSV with ``\\n`` line ends; minutes with one decimal, other columns as integers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow((LABEL, *FEATURES))
    for label, features in records:
        cells = [f"{v:.1f}" if name in _MINUTES else str(int(v)) for name, v in zip(FEATURES, features, strict=True)]
        writer.writerow((label, *cells))
    return buffer.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000, help="number of rows (default 1000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--out", type=Path, help="output file, parent folders created (default: stdout)")
    parser.add_argument("--header", action="store_true", help="write a header row (default: none, as SageMaker)")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error(f"--rows must be at least 1, not {args.rows}")
    text = to_csv(generate(args.rows, args.seed), header=args.header)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8", newline="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
