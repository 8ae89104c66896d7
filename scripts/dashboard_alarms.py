"""Alarm states over a simulated run, computed from the alarms in the synthesized template.

Each ``AWS::CloudWatch::Alarm`` is evaluated the way CloudWatch evaluates it, on the simulated
metrics: its query (a metric, or ``Metrics`` with metric math, see :mod:`scripts.metric_math`) per
``Period``, compared with ``Threshold`` by ``ComparisonOperator``; the alarm is in ALARM while at
least ``DatapointsToAlarm`` of the last ``EvaluationPeriods`` datapoints breach, OK otherwise.
Missing datapoints breach only with ``TreatMissingData: breaching``
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data).
An ``AWS::CloudWatch::CompositeAlarm`` combines its children's states by its ``AlarmRule``
(``ALARM(...)``, ``OK(...)``, ``AND``, ``OR``, ``NOT``, ``TRUE``, ``FALSE``).

An alarm on a metric the simulation does not produce (e.g. an SQS queue's depth) has no data, so it
is OK unless missing data breaches; :attr:`AlarmTimeline.note` says so.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from scripts.dashboard_preview import Resolver, short_id
from scripts.dashboard_simulation import SimulatedRun, series_for
from scripts.metric_math import UnsupportedExpression, evaluate

OK, ALARM = "OK", "ALARM"
_COMPARISONS: Mapping[str, Callable[[Any, Any], Any]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
_ARN_PLACEHOLDER = re.compile(r"^<(.+)\.Arn>$")
_RULE_TOKEN = re.compile(r'\s*(ALARM|OK|INSUFFICIENT_DATA|AND|OR|NOT|TRUE|FALSE|\(|\)|"[^"]*")')


@dataclass(frozen=True)
class AlarmTimeline:
    """One alarm's state in each minute of the run (``OK`` or ``ALARM``)."""

    key: str
    name: str
    states: tuple[str, ...]
    threshold: float | None = None
    note: str = ""

    @property
    def episodes(self) -> int:
        """How many times the alarm went into ALARM."""
        return sum(1 for i, s in enumerate(self.states) if s == ALARM and (i == 0 or self.states[i - 1] != ALARM))


def _dimensions(resolver: Resolver, dimensions: Any) -> dict[str, str]:
    return {str(d["Name"]): resolver.text(d["Value"]) for d in dimensions or [] if isinstance(d, Mapping)}


def _metric_values(
    resolver: Resolver, run: SimulatedRun, stat_block: Mapping[str, Any]
) -> tuple[np.ndarray | None, str]:
    metric = stat_block["Metric"]
    namespace, name = str(metric["Namespace"]), str(metric["MetricName"])
    values = series_for(
        run,
        namespace,
        name,
        _dimensions(resolver, metric.get("Dimensions")),
        str(stat_block["Stat"]),
        int(stat_block["Period"]),
    )
    return values, f"{namespace} {name}"


def _alarm_values(
    resolver: Resolver, run: SimulatedRun, props: Mapping[str, Any]
) -> tuple[np.ndarray | None, int, str]:
    """(values per period, period in seconds, what is missing) of one metric alarm."""
    if "Metrics" not in props:
        stat = props.get("ExtendedStatistic") or props.get("Statistic") or "Average"
        block = {
            "Metric": {k: props.get(k) for k in ("Namespace", "MetricName", "Dimensions")},
            "Stat": stat,
            "Period": props.get("Period", 60),
        }
        values, what = _metric_values(resolver, run, block)
        return values, int(block["Period"]), what
    inputs: dict[str, np.ndarray] = {}
    period = 60
    missing = []
    for query in props["Metrics"]:
        if "MetricStat" in query:
            values, what = _metric_values(resolver, run, query["MetricStat"])
            period = int(query["MetricStat"]["Period"])
            if values is None:
                missing.append(what)
            else:
                inputs[str(query["Id"])] = values
    returned = [q for q in props["Metrics"] if q.get("ReturnData", True)]
    if missing or len(returned) != 1:
        return None, period, ", ".join(missing) or "one ReturnData query"
    (query,) = returned
    if "Expression" not in query:
        return inputs[str(query["Id"])], period, ""
    length = max((v.size for v in inputs.values()), default=0)
    return evaluate(str(query["Expression"]), inputs, length), int(query.get("Period", period)), ""


def _metric_alarm(key: str, resolver: Resolver, run: SimulatedRun, props: Mapping[str, Any]) -> AlarmTimeline:
    name = resolver.text(props["AlarmName"]) if "AlarmName" in props else key
    threshold = float(props["Threshold"])
    compare = _COMPARISONS.get(str(props["ComparisonOperator"]))
    if compare is None:
        raise UnsupportedExpression(f"alarm {key}: comparison {props['ComparisonOperator']} is not simulated")
    values, period, missing = _alarm_values(resolver, run, props)
    missing_breaches = props.get("TreatMissingData") == "breaching"
    step = period // 60
    buckets = -(-run.minutes // step)
    note = ""
    if values is None:
        values = np.full(buckets, np.nan)
        note = f"no simulated data for {missing}; missing data {'breaches' if missing_breaches else 'does not breach'}"
    with np.errstate(invalid="ignore"):
        breaching = np.where(np.isnan(values), missing_breaches, compare(values, threshold))
    n = int(props.get("EvaluationPeriods", 1))
    m = int(props.get("DatapointsToAlarm", n))
    per_bucket = [
        ALARM if int(np.sum(breaching[max(0, i - n + 1) : i + 1])) >= m else OK for i in range(breaching.size)
    ]
    states = tuple(per_bucket[min(minute // step, len(per_bucket) - 1)] for minute in range(run.minutes))
    return AlarmTimeline(key, name, states, threshold, note)


class _Rule:
    """An ``AlarmRule`` as a function of the children's per-minute states."""

    def __init__(self, text: str, children: Mapping[str, AlarmTimeline], minutes: int) -> None:
        self.text = text
        self.tokens = _RULE_TOKEN.findall(text)
        if "".join(self.tokens).replace(" ", "") != text.replace(" ", ""):
            raise UnsupportedExpression(f"alarm rule {text!r} is not simulated")
        self.position = 0
        self.children = children
        self.minutes = minutes

    def evaluate(self) -> np.ndarray:
        value = self._or()
        if self.position != len(self.tokens):
            raise UnsupportedExpression(f"alarm rule {self.text!r}: unexpected {self.tokens[self.position]}")
        return value

    def _take(self) -> str:
        if self.position >= len(self.tokens):
            raise UnsupportedExpression(f"alarm rule {self.text!r} ends too early")
        self.position += 1
        return self.tokens[self.position - 1]

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _or(self) -> np.ndarray:
        value = self._and()
        while self._peek() == "OR":
            self._take()
            value = value | self._and()
        return value

    def _and(self) -> np.ndarray:
        value = self._not()
        while self._peek() == "AND":
            self._take()
            value = value & self._not()
        return value

    def _not(self) -> np.ndarray:
        if self._peek() == "NOT":
            self._take()
            return ~self._not()
        return self._atom()

    def _atom(self) -> np.ndarray:
        symbol = self._take()
        if symbol in ("TRUE", "FALSE"):
            return np.full(self.minutes, symbol == "TRUE")
        if symbol == "(":
            value = self._or()
            self._take()
            return value
        if symbol in (ALARM, OK, "INSUFFICIENT_DATA"):
            self._take()
            reference = self._take().strip('"')
            self._take()
            child = self.children.get(alarm_key(reference))
            if child is None:
                raise UnsupportedExpression(f"alarm rule {self.text!r} names {reference}, not in the template")
            return np.array([state == symbol for state in child.states])
        raise UnsupportedExpression(f"alarm rule {self.text!r}: unexpected {symbol}")


def alarm_key(reference: str) -> str:
    """The key of an alarm as the dashboard and rules name it: ``<Id.Arn>`` → ``Id``; an ARN → its name."""
    match = _ARN_PLACEHOLDER.match(reference)
    if match:
        return match.group(1)
    return reference.rsplit(":alarm:", 1)[-1]


def alarm_timelines(
    template: Mapping[str, Any], run: SimulatedRun, *, stack_name: str = "<StackName>"
) -> dict[str, AlarmTimeline]:
    """Every alarm of ``template`` over ``run``, keyed by short logical id and by ``AlarmName``.

    :raises UnsupportedExpression: an alarm whose math, comparison or rule is not simulated.
    """
    resolver = Resolver(template, stack_name)
    resources = template.get("Resources") or {}
    found: dict[str, AlarmTimeline] = {}
    composites = []
    for logical_id, resource in resources.items():
        kind = resource.get("Type") if isinstance(resource, Mapping) else None
        props = resource.get("Properties") or {} if isinstance(resource, Mapping) else {}
        if kind == "AWS::CloudWatch::Alarm":
            timeline = _metric_alarm(short_id(logical_id), resolver, run, props)
            found[timeline.key] = found[timeline.name] = timeline
        elif kind == "AWS::CloudWatch::CompositeAlarm":
            composites.append((short_id(logical_id), props))
    for key, props in composites:  # composites of composites: in template order
        name = resolver.text(props["AlarmName"]) if "AlarmName" in props else key
        states = _Rule(resolver.text(props["AlarmRule"]), found, run.minutes).evaluate()
        timeline = AlarmTimeline(key, name, tuple(ALARM if s else OK for s in states))
        found[key] = found[name] = timeline
    return found
