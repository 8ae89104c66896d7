"""The live-quality query's threshold: written into the query text as a number literal, never bound.

Athena takes execution parameters (``?``) in the WHERE clause only ("Currently, ? parameters can be
placed only in the WHERE clause. Syntax like SELECT ? FROM table is not supported.": "Use
parameterized queries", Considerations and limitations,
https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html), and the
threshold is compared in a SELECT list (``score >= threshold``). It is a setting of the deployment
(``live_quality.threshold``, checked when the config is loaded), so both query texts carry the token
:data:`THRESHOLD_PLACEHOLDER` and :func:`with_threshold` replaces it: the construct at synth (the state
machine's QueryString), the embedded engine before each run, the publish step to check which text
the query ran with. Checking the value here, a number in :data:`THRESHOLD_RANGE`, is what makes
putting it into SQL text safe.

No imports beyond the standard library, so that ``cdk synth`` can load this file by path
(``constructs_lib/live_quality.py``), as it loads ``tables.py``.
"""

from __future__ import annotations

import math

# In the source (DuckDB) and the generated Athena text alike: sqlglot reads and writes it as a named
# placeholder, which neither engine is ever given (a text still holding it fails to run).
THRESHOLD_PLACEHOLDER = ":threshold"
# A score at or above the threshold is a predicted positive; 0 and 1 included, as the evaluation
# takes them (the config accepts values strictly between).
THRESHOLD_RANGE = (0.0, 1.0)


def threshold_literal(value: float) -> str:
    """``value`` as a SQL DOUBLE literal both engines read to the same double, e.g. ``0.5E0``.

    The exponent makes it a DOUBLE literal in Trino and DuckDB ("0.5" alone is a DECIMAL, converted on
    comparison); ``repr`` gives the shortest text that reads back to the same double.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"threshold is {value!r}, not a number")
    number = float(value)
    low, high = THRESHOLD_RANGE
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"threshold is {value!r}; it must be a number from {low:g} to {high:g}")
    text = repr(number).upper()
    return text if "E" in text else text + "E0"


def with_threshold(query: str, value: float) -> str:
    """``query`` with its one :data:`THRESHOLD_PLACEHOLDER` replaced by :func:`threshold_literal` of ``value``."""
    count = query.count(THRESHOLD_PLACEHOLDER)
    if count != 1:
        raise ValueError(f"the query text holds {THRESHOLD_PLACEHOLDER} {count} times; expected exactly once")
    return query.replace(THRESHOLD_PLACEHOLDER, threshold_literal(value))
