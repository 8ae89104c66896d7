"""Rows McNemar's exact test needs, checked against an independent power computation with scipy."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from functools import cache

import numpy as np
import pytest
from scipy.stats import binom, binomtest

from evaluate.sample_size import connor_approximation, exact_mcnemar_power, required_pairs_for_accuracy_difference
from tests.conftest import ROOT


@cache
def _rejection_bound(discordant: int, alpha: float) -> int:
    """Largest min(b, c) the exact two-sided test rejects at (p = 2·P(X ≤ min) < alpha, X ~ Bin(d, ½))."""
    k = np.arange(discordant // 2 + 1)
    rejecting = k[2 * binom.cdf(k, discordant, 0.5) < alpha]
    return int(rejecting.max()) if rejecting.size else -1


def test_the_rejection_bound_is_where_scipys_binomial_test_starts_rejecting():
    for d in (5, 6, 17, 40, 101):
        k = _rejection_bound(d, 0.05)
        assert k < 0 or binomtest(k, d, 0.5).pvalue < 0.05
        assert binomtest(k + 1, d, 0.5).pvalue >= 0.05


def scipy_power(rows: int, p_a: float, p_b: float, psi: float, alpha: float = 0.05) -> float:
    """Σ_d P(D = d)·P(reject | d), with scipy's binomial distribution (d with P(D = d) < 1e-18 skipped)."""
    pi = (psi + (p_b - p_a)) / (2 * psi)
    discordant = np.arange(rows + 1)
    weights = binom.pmf(discordant, rows, psi)
    power = 0.0
    for d in np.nonzero(weights >= 1e-18)[0]:
        k = _rejection_bound(int(d), alpha)
        if d and k >= 0:
            power += weights[d] * (binom.cdf(k, d, pi) + binom.sf(d - k - 1, d, pi))
    return float(power)


CASES = [
    (0.80, 0.85, 0.20, 0.05, 0.8),
    (0.90, 0.92, 0.05, 0.05, 0.8),
    (0.70, 0.75, 0.30, 0.05, 0.9),
    (0.85, 0.88, 0.10, 0.05 / 8, 0.8),  # five variants: the first Holm level of 8 tests
]


@pytest.mark.parametrize(("p_a", "p_b", "psi", "alpha", "power"), CASES)
def test_rows_give_the_stated_power_for_the_exact_test(p_a, p_b, psi, alpha, power):
    rows = required_pairs_for_accuracy_difference(p_a, p_b, psi, alpha=alpha, power=power)
    assert scipy_power(rows, p_a, p_b, psi, alpha) >= power
    assert scipy_power(rows - 1, p_a, p_b, psi, alpha) < power


@pytest.mark.parametrize("rows", [1, 7, 50, 626, 658, 1500])
def test_exact_power_matches_scipy(rows):
    assert exact_mcnemar_power(rows, 0.80, 0.85, 0.20) == pytest.approx(scipy_power(rows, 0.80, 0.85, 0.20), abs=1e-9)


def test_connors_normal_approximation_falls_short_of_the_stated_power():
    # Why the search exists: 626 rows (Connor) give the exact test only 0.78 power, not 0.80.
    assert connor_approximation(0.80, 0.85, 0.20) == 626
    assert scipy_power(626, 0.80, 0.85, 0.20) == pytest.approx(0.779, abs=0.001)
    assert required_pairs_for_accuracy_difference(0.80, 0.85, 0.20) > 626


def test_symmetric_in_which_variant_is_better():
    assert required_pairs_for_accuracy_difference(0.80, 0.85, 0.20) == required_pairs_for_accuracy_difference(
        0.85, 0.80, 0.20
    )


def test_rows_grow_with_power_and_shrink_with_the_effect():
    by_effect = [required_pairs_for_accuracy_difference(0.80, 0.80 + d, 0.2) for d in (0.02, 0.05, 0.1)]
    assert by_effect == sorted(by_effect, reverse=True) and len(set(by_effect)) == 3
    by_power = [required_pairs_for_accuracy_difference(0.8, 0.83, 0.2, power=p) for p in (0.5, 0.8, 0.95)]
    assert by_power == sorted(by_power) and len(set(by_power)) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.8, 0.8, 0.1), "no difference to detect"),
        ((0.8, 0.9, 0.05), "discordant_rate 0.05 is impossible"),
        ((0.8, 0.9, 0.9), "discordant_rate 0.9 is impossible"),
        ((1.2, 0.9, 0.2), "p_a is 1.2"),
        ((0.8, 0.9, -0.1), "discordant_rate is -0.1"),
    ],
)
def test_impossible_inputs_are_rejected(args, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        required_pairs_for_accuracy_difference(*args)


def test_planning_command_uses_the_holm_level_for_several_variants():
    done = subprocess.run(
        [
            sys.executable,
            "scripts/evaluation_sample_size.py",
            "--accuracy",
            "0.85",
            "--min-difference",
            "0.03",
            "--discordant-rate",
            "0.10",
            "--variants",
            "5",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    plan = json.loads(done.stdout)
    assert plan["family_tests"] == 8 and plan["test_alpha"] == pytest.approx(0.05 / 8)
    assert plan["rows"] == required_pairs_for_accuracy_difference(0.85, 0.88, 0.10, alpha=0.05 / 8)
    assert plan["exact_power"] >= 0.8 > plan["normal_approximation_exact_power"]
    rejected = subprocess.run(
        [
            sys.executable,
            "scripts/evaluation_sample_size.py",
            "--accuracy",
            "0.8",
            "--min-difference",
            "0",
            "--discordant-rate",
            "0.1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rejected.returncode == 2 and "no difference to detect" in rejected.stderr


def trinomial_power(rows: int, p_a: float, p_b: float, psi: float, alpha: float = 0.05) -> float:
    """Power by brute force over every possible evaluation, independent of the conditional formula.

    Each row is "only A right" (probability (ψ − δ)/2), "only B right" ((ψ + δ)/2) or concordant, so
    (b, c) is trinomial; the test's decision on each (b, c) comes from scipy's binomtest.
    """
    delta = p_b - p_a
    only_a, only_b = (psi - delta) / 2, (psi + delta) / 2
    power = 0.0
    for b in range(rows + 1):
        for c in range(rows - b + 1):
            if b + c == 0 or binomtest(min(b, c), b + c, 0.5).pvalue >= alpha:
                continue
            ways = math.comb(rows, b) * math.comb(rows - b, c)
            power += ways * only_a**b * only_b**c * (1 - psi) ** (rows - b - c)
    return power


@pytest.mark.parametrize(("rows", "p_a", "p_b", "psi"), [(15, 0.6, 0.8, 0.4), (60, 0.7, 0.8, 0.3), (90, 0.8, 0.9, 0.2)])
def test_exact_power_matches_a_brute_force_trinomial_enumeration(rows, p_a, p_b, psi):
    assert exact_mcnemar_power(rows, p_a, p_b, psi) == pytest.approx(trinomial_power(rows, p_a, p_b, psi), abs=1e-12)
