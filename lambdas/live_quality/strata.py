"""Which strata the comparison is made within: inference days, and the capture hours of a day whose
traffic split changed inside it. No AWS in here.

**Why hours.** Within a day both variants draw requests from the same population only if the split
was the same all day. A rollout step changes it inside a day (0 → 50 % at 14:00): the candidate then
gets that day's afternoon and the baseline mostly its morning, and where requests differ by hour
(harder in the evening, another class mix at night) identical models differ within the day. The
statistician's review measured 24-100 % false winners at 20,000 requests a day with day strata;
with hour strata on such days, 1.0 % (docs/benchmarks.md). Within an hour the split is constant
again (a step at a whole hour) or nearly so.

**Why not hours everywhere.** ROC AUC needs two labelled requests of each class of both variants in
a stratum; at low volume, with lopsided traffic, most hours have none and are left out, and hours
cost power even for accuracy (measured: 1,000 requests a day, a 10 % candidate truly better, power
over 30 daily looks fell from 61 % with days to 34 % with hours everywhere; docs/benchmarks.md).
So a day is split into its hours only when its hourly allocation is not homogeneous: a chi-square
test of "each variant's share of the captured requests is the same in every hour of the day" on
the captured counts (hours × variants), p < :data:`SPLIT_CHANGE_P`. The choice looks at the
allocation only (which variant got how many requests when), never at labels or scores, so it does
not pick strata by their outcome. It is one choice for all variants: a day is split for every
variant if the split of any changed, so every pair is compared over the same strata.

**A small change that repeats every day.** An hourly ramp (the candidate's share a little higher
every afternoon) can pass each day's test while its bias, the same sign every day, adds up over the
window. So the days are also tested together: the sum of the days' statistics against χ² with the
sum of their degrees of freedom (independent days; same approximation and level), over the days
their own test did not split (so one rollout's day of change does not send the whole window to
hours). When that rejects,
every day goes by hour: a ramp's days whose own statistic fell under its mean carry the same-signed
bias too (keeping them whole left 14-21 % of a ramp's bias in a reviewer's simulation), and a day
split needlessly costs a little power only (under a constant split the days-together test rejects in
about 0.1-0.5 % of runs).

Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from live_quality.stratified import Stratum

# A day is compared by hour when the hourly allocation's chi-square test gives p below this. A false
# alarm only moves one day to hour strata (valid, a little less power); a missed change of the split
# is a small one (a large one at this traffic would be found), and a small change biases little.
SPLIT_CHANGE_P = 0.001
DAY_LENGTH = len("yyyy/mm/dd")  # an inference day's period; a capture hour's is 'yyyy/mm/dd/hh'


def chi_square_sf(statistic: float, df: int) -> float:
    """P(χ²_df ≥ statistic) by Wilson and Hilferty's cube-root normal approximation (1931, "The
    distribution of chi-square", PNAS 17:684-688): close enough at small p to set a threshold."""
    if df < 1:
        raise ValueError(f"df is {df}; it must be at least 1")
    if statistic <= 0:
        return 1.0
    scale = 2 / (9 * df)
    z = ((statistic / df) ** (1 / 3) - (1 - scale)) / math.sqrt(scale)
    return 0.5 * math.erfc(z / math.sqrt(2))


def split_changed_days(captured_by_hour: Mapping[str, Mapping[str, int]]) -> set[str]:
    """The days (``yyyy/mm/dd``) to compare by hour: those whose captured requests per hour and variant
    reject "the same split in every hour" at :data:`SPLIT_CHANGE_P`, and, when all days together reject
    it at that level (module docstring), every day that has a statistic (two hours and two variants).
    The days-together test reads only the days their own test did not already split.
    ``captured_by_hour``: variant -> {capture hour ``yyyy/mm/dd/hh``: captured requests}."""
    statistics = day_split_statistics(captured_by_hour)
    changed = {day for day, (statistic, df) in statistics.items() if chi_square_sf(statistic, df) < SPLIT_CHANGE_P}
    # The days-together test is over the days not already split: one rollout's day of change, found by
    # its own test, must not send every other day of the window to hours (power at low volume).
    rest = [statistics[day] for day in statistics if day not in changed]
    rest_df = sum(df for _, df in rest)
    if rest_df and chi_square_sf(sum(x for x, _ in rest), rest_df) < SPLIT_CHANGE_P:
        changed |= set(statistics)
    return changed


def day_split_statistics(captured_by_hour: Mapping[str, Mapping[str, int]]) -> dict[str, tuple[float, int]]:
    """Per day with at least two hours and two variants: Pearson's chi-square statistic of the hours ×
    variants table of captured requests, and its degrees of freedom."""
    tables: dict[str, dict[str, dict[str, int]]] = {}  # day -> hour -> variant -> captured
    for variant, hours in captured_by_hour.items():
        for hour, captured in hours.items():
            if captured > 0:
                tables.setdefault(hour[:DAY_LENGTH], {}).setdefault(hour, {})[variant] = captured
    statistics = {}
    for day, table in tables.items():
        variants = sorted({v for row in table.values() for v in row})
        if len(table) < 2 or len(variants) < 2:
            continue
        row_totals = {h: sum(row.values()) for h, row in table.items()}
        column_totals = {v: sum(row.get(v, 0) for row in table.values()) for v in variants}
        total = sum(row_totals.values())
        statistic = 0.0
        for hour, row in table.items():
            for v in variants:
                expected = row_totals[hour] * column_totals[v] / total
                statistic += (row.get(v, 0) - expected) ** 2 / expected
        statistics[day] = (statistic, (len(table) - 1) * (len(variants) - 1))
    return statistics


def choose_strata(days: Sequence[Stratum], hours: Sequence[Stratum], by_hour: set[str]) -> tuple[Stratum, ...]:
    """A variant's strata: its days, except those in ``by_hour``, which are replaced by their hours."""
    kept = [d for d in days if d.period not in by_hour]
    split = [h for h in hours if h.period[:DAY_LENGTH] in by_hour]
    return tuple(sorted([*kept, *split], key=lambda s: s.period))
