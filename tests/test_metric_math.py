"""scripts/metric_math.py: the metric-math subset the dashboard and alarms use."""

from __future__ import annotations

import numpy as np
import pytest

from scripts.metric_math import UnsupportedExpression, evaluate, fill_repeat

nan = np.nan


def close(actual: np.ndarray, expected: list[float]) -> None:
    np.testing.assert_array_equal(actual, np.array(expected, dtype=float))


def test_the_dashboards_expressions() -> None:
    inv0, inv1 = np.array([10.0, 0.0, nan, 30.0]), np.array([30.0, 0.0, 5.0, 10.0])
    share = evaluate("100 * FILL(inv0, 0) / (FILL(inv0, 0) + FILL(inv1, 0))", {"inv0": inv0, "inv1": inv1}, 4)
    close(share, [25.0, nan, 0.0, 75.0])  # 0/0 gives no value, as CloudWatch drops it
    err = np.array([1.0, 0.0, 1.0, 3.0])
    close(evaluate("IF(inv0 > 0, 100 * err0 / inv0, 0)", {"inv0": inv0, "err0": err}, 4), [10.0, 0.0, nan, 10.0])
    close(evaluate("us0p50 / 1000", {"us0p50": np.array([1500.0, nan])}, 2), [1.5, nan])
    close(
        evaluate(
            "IF(invocations >= 20, latency / 1000, 0)",
            {"invocations": np.array([19.0, 20.0]), "latency": np.array([5e6, 5e6])},
            2,
        ),
        [0.0, 5000.0],
    )


def test_if_without_an_else_branch_drops_the_points_where_the_condition_is_false() -> None:
    """ "Using IF expressions" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
    #using-IF-expressions): IF(metric1, scalar2, metric3) "is dropped, if the corresponding data point of metric1 is
    FALSE and [...] metric3 is omitted from the expression"; the page's example, metric1 = [1, 1, 0, 0, -] and
    scalar2 = 5, without metric3. The shadow's alarms rely on it (constructs_lib/alarms.py): a period below the
    traffic guard has no value, so an alarm that judged nothing is INSUFFICIENT_DATA, not OK."""
    metric1 = np.array([1.0, 1.0, 0.0, 0.0, nan])
    close(evaluate("IF(metric1, 5)", {"metric1": metric1}, 5), [5.0, 5.0, nan, nan, nan])
    metric3 = np.array([0.0, 0.0, 20.0, nan, 20.0])
    close(evaluate("IF(metric1, 5, metric3)", {"metric1": metric1, "metric3": metric3}, 5), [5.0, 5.0, 20.0, nan, nan])
    invocations, errors = np.array([19.0, 20.0, nan]), np.array([1.0, 2.0, nan])
    close(
        evaluate(
            "IF(invocations >= 20, 100 * errors / invocations)", {"invocations": invocations, "errors": errors}, 3
        ),
        [nan, 10.0, nan],
    )


def test_fill_repeat_carries_the_last_value_forward_but_not_backward() -> None:
    close(fill_repeat(np.array([nan, 1.0, nan, nan, 3.0, nan])), [nan, 1.0, 1.0, 1.0, 3.0, 3.0])
    w = {"w0": np.array([nan, 25.0, nan]), "w1": np.array([nan, 75.0, nan])}
    close(evaluate("100 * FILL(w0, REPEAT) / (FILL(w0, REPEAT) + FILL(w1, REPEAT))", w, 3), [nan, 25.0, 25.0])


def test_operators_precedence_and_logic() -> None:
    a = np.array([1.0, 2.0, 3.0])
    close(evaluate("-a + 2 * a - 1", {"a": a}, 3), [0.0, 1.0, 2.0])
    close(evaluate("a > 1 AND a < 3 || a == 3", {"a": a}, 3), [0.0, 1.0, 1.0])
    close(evaluate("ABS(1 - a) + .5", {"a": a}, 3), [0.5, 1.5, 2.5])
    close(evaluate("IF(a >= 2, a)", {"a": a}, 3), [nan, 2.0, 3.0])


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("ANOMALY_DETECTION_BAND(m1, 2)", "ANOMALY_DETECTION_BAND\\(\\) with 2 argument"),
        ("m2 * 2", "unknown id 'm2'"),
        ("m1 ^ 2", "cannot read"),
        ("(m1 + 1", "expected \\)"),
        ("m1 m1", "unexpected 'm1'"),
    ],
)
def test_what_is_not_simulated_is_named(expression: str, message: str) -> None:
    with pytest.raises(UnsupportedExpression, match=message):
        evaluate(expression, {"m1": np.ones(2)}, 2)
