"""The per-minute history's JSON form: what is accepted, what is refused and how it is named."""

from __future__ import annotations

import pytest

from rollout.history import InvalidHistory, Minute, VariantMinute, current_step, parse_minutes

GOOD = {"weights": {"V1": 90, "V2": 10}, "variants": {"V2": {"invocations": 100, "errors_5xx": 1, "p99_ms": 120.0}}}


def test_a_good_minute_is_parsed_with_defaults_for_missing_latency():
    (m,) = parse_minutes([GOOD])
    assert m.weights == {"V1": 90.0, "V2": 10.0}
    assert m.get("V2") == VariantMinute(100, 1, None, 120.0)
    assert m.get("V1") == VariantMinute(0, 0), "a variant without a record served nothing"


@pytest.mark.parametrize(
    ("minutes", "message"),
    [
        ("nope", "minutes: must be a list"),
        ([{"weights": {}}], r"minutes\[0\].weights: must map"),
        ([{**GOOD, "extra": 1}], r"minutes\[0\]: must be an object with keys"),
        ([{**GOOD, "weights": {"V1": -1}}], r"minutes\[0\].weights.V1: must be a number >= 0"),
        (
            [GOOD, {**GOOD, "variants": {"V2": {"invocations": 5, "errors_5xx": 6}}}],
            r"minutes\[1\].variants.V2.errors_5xx: 6 errors",
        ),
        (
            [{**GOOD, "variants": {"V2": {"invocations": 2.5}}}],
            r"minutes\[0\].variants.V2.invocations: must be a whole",
        ),
        (
            [{**GOOD, "variants": {"V2": {"invocations": 5, "p99_ms": 0}}}],
            r"minutes\[0\].variants.V2.p99_ms: must be a latency",
        ),
        (
            [{**GOOD, "variants": {"V2": {"invocations": 5, "errs": 0}}}],
            r"minutes\[0\].variants.V2: unknown key\(s\) errs",
        ),
    ],
)
def test_bad_minutes_are_refused_naming_the_minute_variant_and_field(minutes, message):
    with pytest.raises(InvalidHistory, match=message):
        parse_minutes(minutes)


def test_the_current_step_is_the_trailing_run_of_the_last_weights():
    at = lambda share: Minute({"C": share, "B": 100 - share}, {})  # noqa: E731
    minutes = [at(10), at(10), at(25), at(25), at(25)]
    assert current_step(minutes) == minutes[2:]
    assert current_step([]) == ()
