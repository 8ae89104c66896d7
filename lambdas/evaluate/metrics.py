"""Binary-classification metrics and latency percentiles, in the standard library only.

The evaluation Lambda runs with boto3 alone (no numpy, scipy or scikit-learn), so the few formulas it
needs live here, written to give the same numbers as the reference libraries:

* :func:`binary_metrics` follows scikit-learn: a row is predicted positive when
  ``score >= threshold`` (the convention of ``sklearn.metrics.roc_curve`` and
  ``FixedThresholdClassifier``), and precision, recall and F1 are 0 when their denominator is 0
  (``zero_division=0``). ROC AUC is the Mann–Whitney rank formula with tied scores given their
  average rank, which equals ``sklearn.metrics.roc_auc_score``; it is ``None`` when the labels hold
  only one class, because AUC is undefined then (scikit-learn raises; a report shows "n/a").
* :func:`roc_curve` gives the points of ``sklearn.metrics.roc_curve`` (same thresholds, same
  collinear points dropped), thinned to at most :data:`MAX_ROC_POINTS` for the report.
* :func:`latency_percentiles` follows ``numpy.percentile`` with its default ``'linear'`` method.

Inputs are checked up front with :class:`ValueError` messages that name the first bad row, because a
silently skipped row would bias the comparison between variants.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Real

DEFAULT_THRESHOLD = 0.5
DEFAULT_PERCENTILES = (50, 90, 99)
MAX_ROC_POINTS = 200
"""ROC points kept in a report: enough to draw the curve, small enough for report.json."""


@dataclass(frozen=True)
class Confusion:
    """Counts of the 2×2 confusion matrix (positive class = 1)."""

    tp: int
    fp: int
    tn: int
    fn: int

    def as_dict(self) -> dict[str, int]:
        return {"tp": self.tp, "fp": self.fp, "tn": self.tn, "fn": self.fn}


@dataclass(frozen=True)
class BinaryMetrics:
    """Threshold metrics and ROC AUC of one variant on one labelled set.

    ``roc_auc`` is ``None`` when only one class is present (AUC is undefined, not 0.5).
    """

    rows: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float | None
    confusion: Confusion


def check_labels(labels: Sequence[int]) -> tuple[int, ...]:
    """The labels as 0/1 ints; rejects an empty sequence and anything but 0, 1 (or 0.0, 1.0, False, True)."""
    if len(labels) == 0:
        raise ValueError("labels are empty: need at least one labelled row")
    out: list[int] = []
    for row, label in enumerate(labels):
        if not isinstance(label, Real) or label not in (0, 1):
            raise ValueError(f"label at row {row} is {label!r}; labels must be 0 or 1")
        out.append(int(label))
    return tuple(out)


def check_scores(scores: Sequence[float], rows: int, *, name: str = "scores") -> tuple[float, ...]:
    """The scores as floats; rejects a length other than ``rows`` and non-finite or non-numeric values."""
    if len(scores) != rows:
        raise ValueError(f"{name} has {len(scores)} values but there are {rows} labels; they must pair up row by row")
    out: list[float] = []
    for row, score in enumerate(scores):
        if isinstance(score, bool) or not isinstance(score, Real) or not math.isfinite(score):
            raise ValueError(f"{name} at row {row} is {score!r}; scores must be finite numbers")
        out.append(float(score))
    return tuple(out)


def _check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or not math.isfinite(threshold):
        raise ValueError(f"threshold is {threshold!r}; it must be a finite number")
    return float(threshold)


def midranks(values: Sequence[float]) -> list[float]:
    """1-based ranks of ``values``, tied values sharing the average of their ranks (O(n log n)).

    Same as ``scipy.stats.rankdata(values, method='average')``. Ranks are integers or halves, so
    sums of them are exact in floating point for any realistic n.
    """
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and values[order[end]] == values[order[start]]:
            end += 1
        rank = (start + end + 1) / 2  # mean of the 1-based ranks start+1 .. end
        for position in range(start, end):
            ranks[order[position]] = rank
        start = end
    return ranks


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """ROC AUC by the Mann–Whitney rank formula, ties averaged; ``None`` with a single class.

    AUC = (sum of positive ranks − P(P+1)/2) / (P·N): the probability that a random positive scores
    above a random negative, counting ties as one half. O(n log n).
    """
    checked = check_labels(labels)
    values = check_scores(scores, len(checked))
    positives = sum(checked)
    negatives = len(checked) - positives
    if positives == 0 or negatives == 0:
        return None
    rank_sum = sum(rank for rank, label in zip(midranks(values), checked, strict=True) if label)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


@dataclass(frozen=True)
class RocCurve:
    """ROC points in order of falling threshold, from (0, 0) to (1, 1).

    ``thresholds[i]`` is the score at or above which a row is predicted positive to give
    ``(fpr[i], tpr[i])``; the first is ``None``: above every score, nothing is positive
    (scikit-learn writes ``inf``, which JSON cannot hold).
    """

    fpr: tuple[float, ...]
    tpr: tuple[float, ...]
    thresholds: tuple[float | None, ...]

    def as_dict(self) -> dict[str, list[float] | list[float | None]]:
        return {"fpr": list(self.fpr), "tpr": list(self.tpr), "thresholds": list(self.thresholds)}


def roc_curve(labels: Sequence[int], scores: Sequence[float], *, max_points: int = MAX_ROC_POINTS) -> RocCurve | None:
    """The ROC curve as ``sklearn.metrics.roc_curve(labels, scores)`` computes it, at most ``max_points`` long.

    One point per distinct score (``score >= threshold`` is positive), minus the points on a straight
    line between their neighbours (scikit-learn's ``drop_intermediate=True``: they change neither the
    drawing nor the area), plus (0, 0). When more than ``max_points`` remain, points are kept at even
    steps of ``fpr + tpr`` along the curve, always with both ends; every kept point is an exact
    point of the full curve. ``None`` with a single class (the curve is undefined). O(n log n).
    """
    checked = check_labels(labels)
    values = check_scores(scores, len(checked))
    if max_points < 3:
        raise ValueError(f"max_points is {max_points}; a curve needs at least 3")
    positives = sum(checked)
    negatives = len(checked) - positives
    if positives == 0 or negatives == 0:
        return None
    ordered = sorted(zip(values, checked, strict=True), key=lambda pair: -pair[0])
    cut_scores: list[float] = []
    tps: list[int] = []
    fps: list[int] = []
    tp = fp = 0
    for index, (score, label) in enumerate(ordered):
        tp += label
        fp += 1 - label
        if index + 1 == len(ordered) or ordered[index + 1][0] != score:  # last row of this score
            cut_scores.append(score)
            tps.append(tp)
            fps.append(fp)
    # scikit-learn's drop_intermediate: keep the ends and every point where the slope changes.
    kept = [
        i
        for i in range(len(cut_scores))
        if i in (0, len(cut_scores) - 1)
        or fps[i + 1] - 2 * fps[i] + fps[i - 1] != 0
        or tps[i + 1] - 2 * tps[i] + tps[i - 1] != 0
    ]
    fpr = [0.0, *(fps[i] / negatives for i in kept)]
    tpr = [0.0, *(tps[i] / positives for i in kept)]
    thresholds: list[float | None] = [None, *(cut_scores[i] for i in kept)]
    if len(fpr) > max_points:
        progress = [f + t for f, t in zip(fpr, tpr, strict=True)]  # 0 .. 2, never falling
        chosen: list[int] = []
        position = 0
        for step in range(max_points - 1):
            target = 2 * step / (max_points - 1)
            while progress[position] < target:
                position += 1
            if not chosen or chosen[-1] != position:
                chosen.append(position)
        if chosen[-1] != len(fpr) - 1:
            chosen.append(len(fpr) - 1)
        fpr, tpr, thresholds = [fpr[i] for i in chosen], [tpr[i] for i in chosen], [thresholds[i] for i in chosen]
    return RocCurve(tuple(fpr), tuple(tpr), tuple(thresholds))


def correct_predictions(
    labels: Sequence[int], scores: Sequence[float], threshold: float = DEFAULT_THRESHOLD
) -> tuple[bool, ...]:
    """Per row: whether ``score >= threshold`` matches the label (the input of McNemar's test)."""
    checked = check_labels(labels)
    values = check_scores(scores, len(checked))
    cut = _check_threshold(threshold)
    return tuple((score >= cut) == bool(label) for label, score in zip(checked, values, strict=True))


def binary_metrics(
    labels: Sequence[int], scores: Sequence[float], threshold: float = DEFAULT_THRESHOLD
) -> BinaryMetrics:
    """Accuracy, precision, recall, F1 at ``threshold`` (default 0.5) and ROC AUC, as scikit-learn computes them.

    Precision, recall and F1 are 0 when undefined (no predicted positives, no actual positives, or
    neither), matching scikit-learn's ``zero_division=0``.
    """
    checked = check_labels(labels)
    values = check_scores(scores, len(checked))
    cut = _check_threshold(threshold)
    tp = fp = tn = fn = 0
    for label, score in zip(checked, values, strict=True):
        if score >= cut:
            if label:
                tp += 1
            else:
                fp += 1
        elif label:
            fn += 1
        else:
            tn += 1
    rows = len(checked)
    return BinaryMetrics(
        rows=rows,
        accuracy=(tp + tn) / rows,
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, tp + fn),
        # scikit-learn computes F1 as 2·TP / (2·TP + FP + FN), not from rounded precision and recall.
        f1=_ratio(2 * tp, 2 * tp + fp + fn),
        roc_auc=roc_auc(checked, values),
        confusion=Confusion(tp=tp, fp=fp, tn=tn, fn=fn),
    )


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def linear_quantile(sorted_values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) of already sorted values, as ``numpy.quantile(method='linear')``.

    The interpolation is written the way numpy writes it (from the nearer end), so results agree to
    the last bit rather than only approximately.
    """
    if not sorted_values:
        raise ValueError("cannot take a quantile of no values")
    position = (len(sorted_values) - 1) * fraction
    below = math.floor(position)
    above = min(below + 1, len(sorted_values) - 1)
    weight = position - below
    low, high = sorted_values[below], sorted_values[above]
    step = high - low
    return high - step * (1 - weight) if weight >= 0.5 else low + step * weight


def latency_percentiles(
    samples_ms: Iterable[float], percentiles: Sequence[float] = DEFAULT_PERCENTILES
) -> dict[str, float]:
    """Percentiles of latency samples in milliseconds, keyed ``"p50"``, ``"p99.9"``, … .

    Default percentiles are 50, 90 and 99; interpolation is numpy's default (``'linear'``), so the
    numbers match ``numpy.percentile(samples_ms, percentiles)``.
    """
    values: list[float] = []
    for row, sample in enumerate(samples_ms):
        if isinstance(sample, bool) or not isinstance(sample, Real) or not math.isfinite(sample) or sample < 0:
            raise ValueError(f"latency sample {row} is {sample!r}; samples must be finite, non-negative milliseconds")
        values.append(float(sample))
    if not values:
        raise ValueError("no latency samples: need at least one")
    values.sort()
    result: dict[str, float] = {}
    for percentile in percentiles:
        if isinstance(percentile, bool) or not isinstance(percentile, Real) or not 0 <= percentile <= 100:
            raise ValueError(f"percentile {percentile!r} is not a number between 0 and 100")
        result[f"p{percentile:g}"] = linear_quantile(values, percentile / 100)
    return result
