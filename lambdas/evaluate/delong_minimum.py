"""The fewest rows of a class for which DeLong's AUC test is trusted: one constant, importable alone.

Both the paired test (``evaluate.paired_tests``) and the live comparison's "not enough labels yet"
gate (``live_quality.comparison``) use it. It lives apart so that the live-quality publish step,
which needs the number and none of the paired tests, does not import them (their module and
``statistics``) on a cold start (docs/benchmarks.md, handler import time).
"""

# DeLong's p-value is a normal approximation whose variance is estimated from the rows of each class;
# with few rows of one class it is anti-conservative, and most at the small levels Holm tests at.
# Under the null (two models of equal quality, 200 negatives; benchmarks/delong_small_classes.py,
# 20 000 runs per cell) its false-rejection rate, as a multiple of the level, was:
#     rows of the smaller class      2     4     8    10    15    20    30    40    50
#     at 0.025 (Holm, 2 tests)     7.6   3.2   2.0   1.7   1.3   1.3   1.2   1.1   1.2
#     at 0.00625 (Holm, 8 tests)  24     6.5   3.2   2.3   1.6   1.7   1.5   1.2   1.3
# From 30 rows the excess is within about half the level and shrinks slowly after; the exact
# McNemar test in the same family is conservative. Below it the AUC is not tested for a verdict (the
# McNemar test still is): 30 rows of a class is also about the least for a ROC AUC worth reporting.
DELONG_MIN_PER_CLASS = 30
