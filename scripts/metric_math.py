"""The subset of CloudWatch metric math that this project's dashboard and alarms use, over numpy arrays.

Supported: numbers, metric ids, ``+ - * /``, comparisons (``> < >= <= == !=``, 1 or 0),
``AND``/``OR``/``&&``/``||``, parentheses, unary minus, and the functions ``IF(condition, a, b)``
(``b`` defaults to "no value"), ``FILL(x, value | REPEAT)`` and ``ABS(x)``. Missing values are NaN
and propagate, as CloudWatch drops a datapoint whose inputs are missing; a division by zero gives
no value too. Anything else raises :class:`UnsupportedExpression` naming what it met, so a
dashboard that starts using a new function is not drawn wrongly in silence.

Semantics from "Using math expressions with CloudWatch metrics"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):
``FILL(m, REPEAT)`` fills a missing value with the most recent real value before it (leading gaps
stay empty); ``IF`` takes the second argument where the condition is non-zero, and without a third
argument gives no value where it is zero ("is dropped, if the corresponding data point of metric1 is
FALSE and [...] metric3 is omitted from the expression", section "Using IF expressions").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

_TOKEN = re.compile(
    r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|&&|\|\||[-+*/(),<>]))"
)


class UnsupportedExpression(ValueError):
    """The expression uses something this evaluator does not implement (named in the message)."""


def _tokens(expression: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = expression.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise UnsupportedExpression(f"cannot read {text[position:]!r} in {expression!r}")
        tokens.append(next(group for group in match.groups() if group is not None))
        position = match.end()
    return tokens


def fill_repeat(values: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last real value before it; leading NaNs stay."""
    out = values.copy()
    last = np.nan
    for index, value in enumerate(out):
        if np.isnan(value):
            out[index] = last
        else:
            last = value
    return out


def _nan_where_missing(result: np.ndarray, *inputs: np.ndarray) -> np.ndarray:
    missing = np.zeros(result.shape, dtype=bool)
    for value in inputs:
        missing |= np.isnan(value)
    return np.where(missing, np.nan, result)


class _Parser:
    """Recursive descent: or → and → comparison → sum → product → unary → atom."""

    def __init__(self, expression: str, inputs: Mapping[str, np.ndarray], length: int) -> None:
        self.expression = expression
        self.tokens = _tokens(expression)
        self.position = 0
        self.inputs = inputs
        self.length = length

    def parse(self) -> np.ndarray:
        value = self._or()
        if self.position != len(self.tokens):
            raise UnsupportedExpression(f"unexpected {self.tokens[self.position]!r} in {self.expression!r}")
        return np.broadcast_to(value, (self.length,)).astype(float)

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> str:
        symbol = self._peek()
        if symbol is None or (expected is not None and symbol != expected):
            raise UnsupportedExpression(f"expected {expected or 'more'} in {self.expression!r}")
        self.position += 1
        return symbol

    def _binary(self, operand: Callable[[], np.ndarray], operators: Mapping[str, Callable[..., Any]]) -> np.ndarray:
        left = operand()
        while (symbol := self._peek()) is not None and (symbol.upper() in operators):
            self._take()
            right = operand()
            with np.errstate(divide="ignore", invalid="ignore"):
                left = _nan_where_missing(np.asarray(operators[symbol.upper()](left, right), dtype=float), left, right)
        return left

    def _or(self) -> np.ndarray:
        return self._binary(self._and, {"OR": np.logical_or, "||": np.logical_or})

    def _and(self) -> np.ndarray:
        return self._binary(self._comparison, {"AND": np.logical_and, "&&": np.logical_and})

    def _comparison(self) -> np.ndarray:
        operators = {">": np.greater, "<": np.less, ">=": np.greater_equal, "<=": np.less_equal}
        operators |= {"==": np.equal, "!=": np.not_equal}
        return self._binary(self._sum, operators)

    def _sum(self) -> np.ndarray:
        return self._binary(self._product, {"+": np.add, "-": np.subtract})

    def _product(self) -> np.ndarray:
        def divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            b = np.asarray(b, dtype=float)
            return np.where(b == 0, np.nan, np.asarray(a, dtype=float) / np.where(b == 0, 1, b))

        return self._binary(self._unary, {"*": np.multiply, "/": divide})

    def _unary(self) -> np.ndarray:
        if self._peek() == "-":
            self._take()
            return -self._unary()
        return self._atom()

    def _atom(self) -> np.ndarray:
        symbol = self._take()
        if symbol == "(":
            value = self._or()
            self._take(")")
            return value
        if symbol[0].isdigit() or symbol[0] == ".":
            return np.full(self.length, float(symbol))
        if self._peek() == "(":
            return self._call(symbol)
        if symbol in self.inputs:
            return np.asarray(self.inputs[symbol], dtype=float)
        raise UnsupportedExpression(f"unknown id {symbol!r} in {self.expression!r}")

    def _arguments(self) -> list[str | np.ndarray]:
        self._take("(")
        arguments: list[str | np.ndarray] = []
        while True:
            if self._peek() == "REPEAT":
                arguments.append(self._take())
            else:
                arguments.append(self._or())
            if self._take() == ")":
                return arguments

    def _call(self, name: str) -> np.ndarray:
        function = name.upper()
        arguments = self._arguments()
        arrays = [a for a in arguments if not isinstance(a, str)]
        if function == "IF" and len(arguments) in (2, 3) and len(arrays) == len(arguments):
            condition, then = arrays[0], arrays[1]
            otherwise = arrays[2] if len(arrays) == 3 else np.full(self.length, np.nan)
            return np.where(np.isnan(condition), np.nan, np.where(condition != 0, then, otherwise))
        if function == "FILL" and len(arguments) == 2 and not isinstance(series := arguments[0], str):
            fill = arguments[1]
            if isinstance(fill, str):
                return fill_repeat(series)
            return np.where(np.isnan(series), fill, series)
        if function == "ABS" and len(arrays) == 1 == len(arguments):
            return np.abs(arrays[0])
        raise UnsupportedExpression(
            f"{name}() with {len(arguments)} argument(s) is not simulated in {self.expression!r}"
        )


def evaluate(expression: str, inputs: Mapping[str, np.ndarray], length: int) -> np.ndarray:
    """The value of ``expression`` at each of ``length`` datapoints, NaN where there is none.

    :param inputs: metric id → its values (arrays of ``length``).
    :raises UnsupportedExpression: a function, operator or id this evaluator does not know.
    """
    return _Parser(expression, inputs, length).parse()
