"""Strata: inference days, and the hours of a day whose traffic split changed inside it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from scipy import stats

from live_quality.local_engine import run_on_folders
from live_quality.query import QueryWindow
from live_quality.report import build_report, to_markdown
from live_quality.results import parse_rows
from live_quality.strata import (
    SPLIT_CHANGE_P,
    chi_square_sf,
    choose_strata,
    day_split_statistics,
    split_changed_days,
)
from live_quality.stratified import Stratum
from tests.lambdas.live_capture_data import ENDPOINT, START, Request, write_capture, write_labels


@pytest.mark.parametrize(("statistic", "df"), [(10.83, 1), (23.0, 5), (49.7, 23), (82.0, 46), (30.0, 23)])
def test_the_chi_square_tail_is_close_to_the_exact_one_near_the_threshold(statistic, df):
    assert chi_square_sf(statistic, df) == pytest.approx(stats.chi2.sf(statistic, df), rel=0.2)
    assert chi_square_sf(0.0, df) == 1.0


def _hours(day: str, counts: dict[int, int]) -> dict[str, int]:
    return {f"{day}/{h:02d}": n for h, n in counts.items()}


def test_a_split_that_changes_inside_a_day_marks_that_day_and_a_constant_split_does_not():
    constant = {
        "A": _hours("2026/11/01", {h: 90 for h in range(24)}),
        "B": _hours("2026/11/01", {h: 10 for h in range(24)}),
    }
    assert split_changed_days(constant) == set()
    # 0 % to the candidate until 14:00, then 50 %; the next day 50 % all day.
    a = {
        **_hours("2026/11/01", {h: 100 if h < 14 else 50 for h in range(24)}),
        **_hours("2026/11/02", {h: 50 for h in range(24)}),
    }
    b = {**_hours("2026/11/01", {h: 50 for h in range(14, 24)}), **_hours("2026/11/02", {h: 50 for h in range(24)})}
    assert split_changed_days({"A": a, "B": b}) == {"2026/11/01"}
    assert split_changed_days({"A": a}) == set()  # one variant: nothing to compare


def test_a_small_ramp_repeated_every_day_is_caught_by_the_days_together():
    # The candidate's share rises by 0.2 points an hour, every day: each day's test misses it (p ~ 0.008),
    # but its bias has the same sign every day; the seven days together reject "the same split all day".
    ramp_days = [f"2026/11/{d:02d}" for d in range(1, 8)]
    a = {f"{day}/{h:02d}": 900 - 2 * h for day in ramp_days for h in range(24)}
    b = {f"{day}/{h:02d}": 100 + 2 * h for day in ramp_days for h in range(24)}
    a |= _hours("2026/11/08", {h: 900 for h in range(24)})  # a day with a constant split
    b |= _hours("2026/11/08", {h: 100 for h in range(24)})
    statistics = day_split_statistics({"A": a, "B": b})
    for day in ramp_days:
        statistic, df = statistics[day]
        assert df == 23 and SPLIT_CHANGE_P < stats.chi2.sf(statistic, df) < 0.01  # each day alone: not changed
    assert statistics["2026/11/08"] == (0.0, 23)
    total = sum(x for x, _ in statistics.values())
    assert stats.chi2.sf(total, 23 * 8) < SPLIT_CHANGE_P
    # Then every day goes by hour, even one whose own statistic is under its mean (here 0): a ramp's day
    # that fell under it carries the same-signed bias, and a day split needlessly costs power only.
    assert split_changed_days({"A": a, "B": b}) == {*ramp_days, "2026/11/08"}
    # A rollout's day of change, caught by its own test, is left out of the days-together test, so it
    # does not send the whole window to hours (the test above: its other day stays whole).
    one_day = {
        "A": _hours("2026/11/01", {h: 900 - 2 * h for h in range(24)}),
        "B": _hours("2026/11/01", {h: 100 + 2 * h for h in range(24)}),
    }
    assert split_changed_days(one_day) == set()  # one day of the ramp alone is not enough evidence


def test_a_day_compared_by_hour_is_replaced_by_its_hours():
    days = [Stratum("2026/11/01", 10, 5, 5, 5), Stratum("2026/11/02", 10, 5, 5, 5)]
    hours = [
        Stratum("2026/11/01/13", 4, 2, 2, 2),
        Stratum("2026/11/01/14", 6, 3, 3, 3),
        Stratum("2026/11/02/00", 10, 5, 5, 5),
    ]
    chosen = choose_strata(days, hours, {"2026/11/01"})
    assert [s.period for s in chosen] == ["2026/11/01/13", "2026/11/01/14", "2026/11/02"]
    assert choose_strata(days, hours, set()) == tuple(days)


def _request(variant: str, hour: int, k: int, accurate: bool) -> Request:
    label = k % 2
    right = accurate or k % 10 < 6  # the afternoon is harder: 60 % right, for both models alike
    score = (0.75 if label == right else 0.25) + k * 1e-5
    when = START + timedelta(hours=hour, minutes=k % 60)
    return Request(variant, f"{variant}-{hour:02d}-{k:03d}", score, label, when, when + timedelta(hours=1))


def _split_changed_at_14_00(tmp_path):
    """Identical models; the candidate starts at 14:00 (0 -> 50 %); mornings easy, afternoons hard for both:
    the query's result on the local engine, and its window."""
    requests = [_request("Variant1", h, k, accurate=True) for h in range(14) for k in range(50)]
    requests += [
        _request(v, h, k, accurate=False) for v in ("Variant1", "Variant2") for h in range(14, 24) for k in range(30)
    ]
    write_capture(tmp_path / "capture", requests)
    write_labels(tmp_path / "gt", requests)
    window = QueryWindow(ENDPOINT, "2026/11/01/00", "2026/11/02/00", "2026/11/03/00")
    result = parse_rows(run_on_folders(tmp_path / "capture", tmp_path / "gt", window, threads=1))
    return result, window


def test_identical_models_with_a_split_changed_at_14_00_name_no_winner(tmp_path):
    # The candidate starts at 14:00 (0 -> 50 %); mornings are easy, afternoons hard, for both models.
    # Within the day the baseline had the easy morning: 88 % vs 60 % right. Within hours: equal.
    result, window = _split_changed_at_14_00(tmp_path)
    assert [s.period for s in result.days("Variant2")] == ["2026/11/01"]
    assert [s.period for s in result.hours("Variant2")] == [f"2026/11/01/{h}" for h in range(14, 24)]
    assert sum(s.captured for s in result.hours("Variant1")) == result.days("Variant1")[0].captured == 1000

    report = build_report(result, window, ["Variant1", "Variant2"])
    assert report["days_compared_by_hour"] == ["2026/11/01"]
    (comparison,) = report["comparisons"]
    assert comparison["status"] == "tested" and comparison["verdict"]["winner"] is None
    assert comparison["accuracy"]["difference"] == pytest.approx(0.0)
    assert (comparison["accuracy"]["days_used"], comparison["accuracy"]["hours_used"]) == (0, 10)
    assert "0 days and 10 hours of days whose split changed" in comparison["verdict"]["reason"]
    assert "Compared by capture hour, not as whole days: 2026/11/01." in to_markdown(report)


def test_the_same_data_within_whole_days_name_a_false_winner(tmp_path, monkeypatch):
    # What the hours prevent: with day strata only, the baseline had the easy morning (88 % vs 60 %).
    result, window = _split_changed_at_14_00(tmp_path)
    monkeypatch.setattr("live_quality.report.split_changed_days", lambda captured: set())
    (comparison,) = build_report(result, window, ["Variant1", "Variant2"])["comparisons"]
    assert comparison["verdict"]["winner"] == "Variant1"
    assert SPLIT_CHANGE_P == 0.001
