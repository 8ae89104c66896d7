"""SRM statistics: the chi-square tail, the exact binomial test and the SRM test, checked against scipy.

scipy and numpy are test-only references here; the module itself is standard library only.
Random cases use fixed seeds, so every run checks the same numbers.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from srm_check.srm_stats import (
    EXACT_BINOMIAL,
    EXACT_BONFERRONI,
    NotEnoughTraffic,
    SrmResult,
    binomial_two_sided_p,
    chi2_sf,
    enough_traffic,
    srm_test,
)

RTOL = 1e-9
ATOL = 1e-300  # below this, both sides are in float underflow territory

X_GRID = [1e-12, 1e-6, 1e-3, 0.01, 0.1, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0]
X_GRID += [75.0, 100.0, 150.0, 200.0, 300.0, 500.0, 750.0, 1000.0, 1200.0, 1400.0, 2000.0, 5000.0]
DOF_GRID = [*range(1, 21), 25, 30, 40, 50, 75, 100, 150, 200, 300, 500, 1000]


def close(got: float, want: float) -> bool:
    return math.isclose(got, want, rel_tol=RTOL, abs_tol=ATOL)


# --- chi2_sf ---------------------------------------------------------------------------------


def test_chi2_sf_matches_scipy_on_a_grid():
    # Around x = dof and dof + 2 the function switches between series and continued fraction.
    mismatches = []
    for dof in DOF_GRID:
        for x in [*X_GRID, dof - 1.0, float(dof), dof + 2.0 - 1e-9, dof + 2.0, dof + 2.0 + 1e-9]:
            if x <= 0:
                continue
            want = float(stats.chi2.sf(x, dof))
            got = chi2_sf(x, dof)
            if not close(got, want):
                mismatches.append((x, dof, got, want))
    assert mismatches == []


def test_chi2_sf_matches_scipy_on_random_values():
    rng = np.random.default_rng(20240601)
    mismatches = []
    for i in range(600):
        dof = int(rng.integers(1, 11)) if i % 2 else int(rng.integers(1, 1001))
        # Two in three x values are spread so that p-values cover 1 down to 1e-300 evenly on a
        # log scale; the rest are uniform over the bulk of the distribution.
        p_target = 10.0 ** rng.uniform(-300, 0)
        x = float(stats.chi2.isf(p_target, dof)) if i % 3 else float(rng.uniform(0, 4 * dof + 10))
        want = float(stats.chi2.sf(x, dof))
        got = chi2_sf(x, dof)
        if not close(got, want):
            mismatches.append((x, dof, got, want))
    assert mismatches == []


def test_chi2_sf_matches_closed_forms_for_one_and_two_dof():
    # Independent of scipy: Q(1/2, x/2) = erfc(sqrt(x/2)) and Q(1, x/2) = exp(-x/2).
    for x in [1e-9, 0.01, 0.3, 1.0, 2.0, 3.0, 3.84, 6.63, 10.83, 50.0, 300.0, 1300.0]:
        assert math.isclose(chi2_sf(x, 1), math.erfc(math.sqrt(x / 2)), rel_tol=1e-12, abs_tol=ATOL)
        assert math.isclose(chi2_sf(x, 2), math.exp(-x / 2), rel_tol=1e-12, abs_tol=ATOL)


def test_chi2_sf_edges():
    assert chi2_sf(0.0, 1) == 1.0
    assert chi2_sf(-3.0, 4) == 1.0
    assert chi2_sf(-math.inf, 4) == 1.0
    assert chi2_sf(math.inf, 4) == 0.0
    assert chi2_sf(1e6, 3) == 0.0  # true value ~1e-217000: underflows, as in scipy
    assert chi2_sf(3, 1) == chi2_sf(3.0, 1)  # int x is fine


@pytest.mark.parametrize(("x", "dof"), [(math.nan, 1), (1.0, 0), (1.0, -2), (1.0, 1.5), (1.0, True)])
def test_chi2_sf_rejects_bad_input(x, dof):
    with pytest.raises(ValueError, match=r"dof must be an integer|x must be a number"):
        chi2_sf(x, dof)


# --- srm_test against scipy (chisquare for the statistic, binomtest for the p-value) ------------


def random_case(rng: np.random.Generator) -> tuple[dict[str, float], dict[str, float | int], list[str]]:
    """Random weights and multinomial counts; sometimes the traffic follows perturbed weights.

    Returns (weights, counts, names of the positive-weight variants).
    """
    k = int(rng.integers(2, 11))
    # Half SageMaker-style integer weights, half arbitrary positive floats.
    integer_weights = rng.random() < 0.5
    raw = rng.integers(1, 101, size=k).astype(float) if integer_weights else rng.uniform(0.05, 5.0, size=k)
    shares = raw / raw.sum()
    if rng.random() < 0.5:
        shares = shares * np.exp(rng.normal(0.0, 0.05, size=k))
        shares /= shares.sum()
    n = int(10 ** rng.uniform(2, 6.5))
    counts = rng.multinomial(n, shares)
    names = [f"Variant{i}" for i in range(k)]
    weights = {name: float(w) for name, w in zip(names, raw, strict=True)}
    as_float = rng.random() < 0.5  # CloudWatch sums arrive as floats
    observed: dict[str, float | int] = {
        name: (float(c) if as_float else int(c)) for name, c in zip(names, counts, strict=True)
    }
    # Now and then a retired variant: weight 0, no traffic. It must change nothing.
    for j in range(int(rng.integers(0, 3)) if rng.random() < 0.3 else 0):
        weights[f"Retired{j}"] = 0.0
        observed[f"Retired{j}"] = 0
    return weights, observed, names


def reference_p_value(observed: dict[str, float | int], weights: dict[str, float], tested: list[str]) -> float:
    """The exact SRM p-value from scipy: binomtest for two variants, Bonferroni over per-variant ones for more."""
    total = sum(int(v) for v in observed.values())
    weight_sum = sum(weights.values())
    per_variant = [stats.binomtest(int(observed[n]), total, weights[n] / weight_sum).pvalue for n in tested]
    if len(tested) == 2:
        return float(per_variant[0])
    return min(1.0, len(tested) * float(min(per_variant)))


def test_srm_test_matches_scipy_on_random_cases():
    rng = np.random.default_rng(7)
    for _ in range(300):
        weights, observed, tested = random_case(rng)
        result = srm_test(observed, weights)

        total = sum(int(v) for v in observed.values())
        weight_sum = sum(weights.values())
        f_obs = np.array([observed[n] for n in tested], dtype=float)
        f_exp = np.array([weights[n] / weight_sum * total for n in tested])
        want = stats.chisquare(f_obs, f_exp)

        context = (weights, observed)
        assert result.total == total, context
        assert result.dof == len(tested) - 1, context
        assert close(result.chi2, float(want.statistic)), context
        # lgamma's rounding grows with the total (~1e-9 relative at 3 million requests)
        assert math.isclose(result.p_value, reference_p_value(observed, weights, tested), rel_tol=1e-8), context
        assert result.method == (EXACT_BINOMIAL if len(tested) == 2 else EXACT_BONFERRONI), context
        assert result.observed == {n: int(v) for n, v in observed.items()}, context
        assert all(type(v) is int for v in result.observed.values()), context
        for name in weights:
            assert math.isclose(result.expected_share[name], weights[name] / weight_sum, rel_tol=1e-12)
            assert math.isclose(result.observed_share[name], observed[name] / total, rel_tol=1e-12)


def test_srm_test_worked_example():
    # 1000 vs 1100 on a 50/50 split: expected 1050 each, chi2 = 2 * 50² / 1050, one dof.
    result = srm_test({"A": 1000, "B": 1100}, {"A": 0.5, "B": 0.5})
    assert result.chi2 == pytest.approx(5000 / 1050, rel=1e-12)
    assert result.dof == 1
    # The p-value is the exact binomial one, close to chi-square's at this size but not equal.
    assert result.p_value == pytest.approx(stats.binomtest(1000, 2100, 0.5).pvalue, rel=1e-12)
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(result.chi2 / 2)), rel=0.1)
    assert result.expected_share == {"A": 0.5, "B": 0.5}
    assert result.observed_share == pytest.approx({"A": 1000 / 2100, "B": 1100 / 2100})
    # Only the ratio of the weights matters.
    assert srm_test({"A": 1000, "B": 1100}, {"A": 1, "B": 1}) == result


def test_srm_test_perfect_split_has_p_one():
    result = srm_test({"A": 300, "B": 200, "C": 500}, {"A": 30, "B": 20, "C": 50})
    assert result.chi2 == 0.0
    assert result.p_value == 1.0
    assert result.dof == 2


def test_result_is_frozen_and_keeps_the_weights_order():
    result = srm_test({"B": 10, "A": 12}, {"A": 1, "B": 1})
    assert list(result.observed) == ["A", "B"]
    assert isinstance(result, SrmResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.p_value = 0.5  # type: ignore[misc]


# --- counts as CloudWatch sends them -------------------------------------------------------------


def test_whole_float_counts_are_rounded():
    result = srm_test({"A": 1000.0, "B": 1100.0000000001}, {"A": 1, "B": 1})
    assert result.observed == {"A": 1000, "B": 1100}
    assert result == srm_test({"A": 1000, "B": 1100}, {"A": 1, "B": 1})


def test_numpy_numbers_are_accepted():
    result = srm_test({"A": np.int64(1000), "B": np.float64(1100.0)}, {"A": np.float64(1.0), "B": 1})
    assert result == srm_test({"A": 1000, "B": 1100}, {"A": 1, "B": 1})


# --- error cases ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observed", "weights", "message"),
    [
        ({"A": 1, "B": 2}, {"A": 1, "B": 1, "C": 1}, "same variants; no count for: C"),
        ({"A": 1, "B": 2, "C": 3}, {"A": 1, "B": 1}, "count for variants without a weight: C"),
        ({"A": 1, "X": 2}, {"A": 1, "B": 1}, "no count for: B; count for variants without a weight: X"),
        ({}, {}, "at least one variant"),
        ({"A": -1, "B": 2}, {"A": 1, "B": 1}, "count of A must be >= 0"),
        ({"A": 1.5, "B": 2}, {"A": 1, "B": 1}, "count of A must be a whole number"),
        ({"A": math.nan, "B": 2}, {"A": 1, "B": 1}, "count of A must be finite"),
        ({"A": math.inf, "B": 2}, {"A": 1, "B": 1}, "count of A must be finite"),
        ({"A": "3", "B": 2}, {"A": 1, "B": 1}, "count of A must be a number"),
        ({"A": True, "B": 2}, {"A": 1, "B": 1}, "count of A must be a number"),
        ({"A": 1, "B": 2}, {"A": -1, "B": 1}, "weight of A must be >= 0"),
        ({"A": 1, "B": 2}, {"A": math.nan, "B": 1}, "weight of A must be finite"),
        ({"A": 1, "B": 2}, {"A": None, "B": 1}, "weight of A must be a number"),
        ({"A": 1, "B": 2}, {"A": 0, "B": 0.0}, "all weights are 0"),
    ],
)
def test_srm_test_rejects_bad_input(observed, weights, message):
    with pytest.raises(ValueError, match=message):
        srm_test(observed, weights)


def test_no_traffic_is_its_own_error():
    with pytest.raises(NotEnoughTraffic, match="no requests"):
        srm_test({"A": 0, "B": 0.0}, {"A": 1, "B": 1})
    assert issubclass(NotEnoughTraffic, ValueError)


# --- zero-weight variants ------------------------------------------------------------------------


def test_zero_weight_variant_without_traffic_takes_no_part():
    with_retired = srm_test({"A": 480, "B": 520, "Old": 0}, {"A": 1, "B": 1, "Old": 0})
    without = srm_test({"A": 480, "B": 520}, {"A": 1, "B": 1})
    assert with_retired.dof == without.dof == 1
    assert with_retired.chi2 == without.chi2
    assert with_retired.p_value == without.p_value
    assert with_retired.expected_share["Old"] == 0.0
    assert with_retired.observed_share["Old"] == 0.0


def test_zero_weight_variant_with_traffic_is_a_mismatch():
    result = srm_test({"A": 500, "B": 500, "Old": 1}, {"A": 1, "B": 1, "Old": 0})
    assert result.p_value == 0.0
    assert result.chi2 == math.inf
    assert result.dof == 1
    assert result.total == 1001
    assert result.observed_share["Old"] == pytest.approx(1 / 1001)
    # Even when it is the only variant that got anything.
    assert srm_test({"A": 0, "B": 0, "Old": 7}, {"A": 1, "B": 1, "Old": 0}).p_value == 0.0


def test_single_positive_variant_tests_nothing_but_the_zero_weight_rule():
    result = srm_test({"A": 1000, "B": 0}, {"A": 100, "B": 0})
    assert (result.chi2, result.dof, result.p_value) == (0.0, 0, 1.0)
    assert srm_test({"A": 1000}, {"A": 1}).p_value == 1.0
    leaked = srm_test({"A": 1000, "B": 3}, {"A": 100, "B": 0})
    assert (leaked.chi2, leaked.dof, leaked.p_value) == (math.inf, 0, 0.0)


# --- traffic helpers -----------------------------------------------------------------------------


def test_enough_traffic():
    assert enough_traffic(500, 500)
    assert not enough_traffic(499, 500)


# --- the exact binomial test --------------------------------------------------------------------


def test_binomial_two_sided_p_matches_scipy_binomtest():
    rng = np.random.default_rng(5)
    for _ in range(2000):
        n = int(rng.choice([1, 2, 3, 7, 20, 100, 1000, 20_000, 500_000]))
        share = float(rng.choice([0.5, 0.01, 0.001, 0.25, rng.uniform(0.0005, 0.9995)]))
        sd = math.sqrt(n * share * (1 - share))
        k = int(rng.integers(0, n + 1)) if rng.random() < 0.2 else int(np.clip(rng.normal(n * share, 4 * sd + 1), 0, n))
        want = float(stats.binomtest(k, n, share).pvalue)
        assert math.isclose(binomial_two_sided_p(k, n, share), want, rel_tol=1e-8, abs_tol=ATOL), (k, n, share)


def test_binomial_two_sided_p_edges():
    assert binomial_two_sided_p(50, 100, 0.5) == 1.0
    assert binomial_two_sided_p(0, 1, 0.5) == 1.0
    assert binomial_two_sided_p(0, 10_000_000, 0.5) == 0.0  # 2**-1e7 underflows, as in scipy
    for bad in ((1, 10, 0.0), (1, 10, 1.0), (11, 10, 0.5), (-1, 10, 0.5)):
        with pytest.raises(ValueError):
            binomial_two_sided_p(*bad)


# --- size: false alarms at the alarm's level, computed exactly -------------------------------------

ALARM = 0.001  # the default srm_p_value of the alarm and of the rollout judge


@pytest.mark.parametrize("expected", [1, 2, 5, 10, 20, 50])
def test_two_variants_false_alarm_rate_is_at_most_the_level_at_any_expected_count(expected):
    # Exact size: the probability, over every possible split of 1000 requests, that the test alarms
    # when traffic follows the weights. Pearson's chi-square (the test before) gives 3.6×, 4.5×,
    # 2.0×, 1.5×, 1.4× and 1.2× the level here (asserted below, so the docstring's numbers are checked).
    n = 1000
    weights = {"Small": expected, "Large": n - expected}
    alarms = [k for k in range(n + 1) if srm_test({"Small": k, "Large": n - k}, weights).p_value < ALARM]
    size = float(stats.binom.pmf(alarms, n, expected / n).sum())
    assert size <= ALARM, size
    chi_square_alarms = [
        k for k in range(n + 1) if stats.chisquare([k, n - k], [expected, n - expected]).pvalue < ALARM
    ]
    chi_square_size = float(stats.binom.pmf(chi_square_alarms, n, expected / n).sum())
    assert chi_square_size > ALARM * (1.15 if expected < 50 else 1.0), chi_square_size


def test_three_variants_false_alarm_rate_is_at_most_the_level_with_small_shares():
    # 200 requests on a 95/3/2 split (expected 190, 6, 4), every split with probability above 1e-16.
    n, weights = 200, {"A": 95, "B": 3, "C": 2}
    size = 0.0
    for b in range(60):
        for c in range(60 - b):
            probability = float(stats.multinomial.pmf([n - b - c, b, c], n, [0.95, 0.03, 0.02]))
            if srm_test({"A": n - b - c, "B": b, "C": c}, weights).p_value < ALARM:
                size += probability
    assert size <= ALARM, size


# --- behaviour as a test ---------------------------------------------------------------------------


def test_false_alarm_rate_under_the_null_is_at_most_alpha():
    rng = np.random.default_rng(12345)
    weights = {"A": 50.0, "B": 30.0, "C": 20.0}
    shares = np.array(list(weights.values())) / 100.0
    draws, alpha = 2000, 0.01
    counts = rng.multinomial(5000, shares, size=draws)
    p_values = [srm_test(dict(zip(weights, map(int, row), strict=True)), weights).p_value for row in counts]
    alarms = sum(p < alpha for p in p_values)
    # Bonferroni is conservative: at most the upper end of the central 99.9% of Binomial(2000, 0.01).
    assert alarms <= stats.binom.isf(0.0005, draws, alpha)
    # Two variants: the exact binomial p-values are close to uniform, not just in the tail.
    two = rng.multinomial(5000, [0.3, 0.7], size=draws)
    p_two = [srm_test({"A": int(a), "B": int(b)}, {"A": 3, "B": 7}).p_value for a, b in two]
    assert abs(np.mean(p_two) - 0.5) < 0.03


def test_a_one_point_shift_is_caught_with_enough_traffic():
    # 49/51 served on a 50/50 split, 100k requests: noncentrality 40, power ~0.999 at 0.001.
    rng = np.random.default_rng(99)
    counts = rng.multinomial(100_000, [0.49, 0.51], size=200)
    p_values = [srm_test({"A": int(a), "B": int(b)}, {"A": 1, "B": 1}).p_value for a, b in counts]
    assert np.mean(np.array(p_values) < 0.001) > 0.95
