#!/usr/bin/env python3
"""Write the Athena texts of the live-quality and shadow-agreement queries, translated from their sources by sqlglot.

    python scripts/generate_live_athena_sql.py           # rewrite lambdas/live_quality/sql/*.athena.sql
    python scripts/generate_live_athena_sql.py --check   # exit 1 if a committed file is not the translation

The agreement query (``shadow_agreement.sql``, which includes the same ``capture_parsing.sql``) is translated the
same way, with its own bindings (``live_quality.agreement_text.ATHENA_BINDINGS``: the shadow capture table).

The source (``live_quality.sql``, with the files it includes: ``live_quality.query.with_includes``) is
DuckDB's dialect and reads two relations, ``capture_lines`` and
``label_lines``; the Athena text binds them to the Glue tables first (``live_quality.query.ATHENA_BINDINGS``)
and is then the same query in Athena's dialect (Trino). Run after every change to the source; the
result is committed so that neither ``cdk synth`` nor the Lambda needs sqlglot.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lambdas"))

from live_quality import agreement_text, query  # noqa: E402
from live_quality.threshold import THRESHOLD_PLACEHOLDER  # noqa: E402

HEADER = (
    "-- GENERATED from live_quality.sql (with capture_parsing.sql, which it includes) by\n"
    "-- scripts/generate_live_athena_sql.py (sqlglot {version}); do not edit.\n"
    "-- Athena (engine version 3, Trino) text of the live-quality query; its parameters, result columns and\n"
    "-- threshold token are the source's (see live_quality.sql, live_quality/query.py and threshold.py).\n"
    "-- Each Glue table is read once and each WITH query used once: Trino inlines a WITH query at every use.\n"
)
AGREEMENT_HEADER = (
    "-- GENERATED from shadow_agreement.sql (with capture_parsing.sql, which it includes) by\n"
    "-- scripts/generate_live_athena_sql.py (sqlglot {version}); do not edit.\n"
    "-- Athena (engine version 3, Trino) text of the shadow-agreement query; its parameters, result columns and\n"
    "-- threshold token are the source's (see shadow_agreement.sql and live_quality/agreement_text.py).\n"
)


@dataclass(frozen=True)
class Output:
    """One generated file: what it is translated from, how its inputs are bound, what it must take."""

    target: Path
    source: Callable[[], str]
    bindings: str
    parameters: tuple[str, ...]
    header: str


OUTPUTS = (
    Output(query.ATHENA_SQL, query.source_sql, query.ATHENA_BINDINGS, query.QUERY_PARAMETERS, HEADER),
    Output(
        agreement_text.ATHENA_SQL,
        agreement_text.source_sql,
        agreement_text.ATHENA_BINDINGS,
        agreement_text.QUERY_PARAMETERS,
        AGREEMENT_HEADER,
    ),
)


def _one_path_per_extract(node: exp.Expression) -> exp.Expression:
    """``json_extract_string(x, [p1, p2, …])[k]`` (DuckDB: several paths in one parse) becomes Trino's
    ``JSON_EXTRACT_SCALAR(x, pk)``, also inside TRY; Trino has no list form."""
    if not isinstance(node, exp.Bracket) or len(node.expressions) != 1:
        return node
    inner, wrap_try = node.this, False
    if isinstance(inner, exp.Try):
        inner, wrap_try = inner.this, True
    if not (isinstance(inner, exp.JSONExtractScalar) and isinstance(inner.expression, exp.Array)):
        return node
    index = node.expressions[0]
    if not (isinstance(index, exp.Literal) and not index.is_string):
        raise ValueError(f"a list-of-paths extraction must be indexed by a number: {node.sql('duckdb')}")
    paths = inner.expression.expressions
    # sqlglot keeps bracket indexes 0-based internally, whatever the dialect's own base.
    single = exp.JSONExtractScalar(this=inner.this.copy(), expression=paths[int(index.this)].copy())
    return exp.Try(this=single) if wrap_try else single


def translate(source: str, output: Output = OUTPUTS[0]) -> str:
    """The Athena text: the Glue-table bindings, then the source query in Trino's dialect (by default
    live quality's; ``output`` says which)."""
    query = sqlglot.parse_one(source, read="duckdb")
    bindings = sqlglot.parse_one(output.bindings, read="athena")
    with_ = query.args.get("with_") or query.args.get("with")
    if not isinstance(with_, exp.With):
        raise ValueError("the source query must start with a WITH clause")
    binding_with = bindings.args.get("with_") or bindings.args.get("with")
    assert isinstance(binding_with, exp.With)
    with_.set("expressions", [*binding_with.expressions, *with_.expressions])
    # Comments belong to the source; the generated file points at it instead. MATERIALIZED is a DuckDB
    # planning hint (compute a CTE once); Trino has no such keyword and plans WITH queries itself.
    for node in query.walk():
        node.comments = None
        if isinstance(node, exp.CTE):
            node.set("materialized", None)
    query = query.transform(_one_path_per_extract)
    body = query.sql(dialect="athena", pretty=True)
    # Athena binds ExecutionParameters by position; the threshold is written in at synth instead.
    positional = [p for p in query.find_all(exp.Placeholder) if not p.this]
    thresholds = body.count(THRESHOLD_PLACEHOLDER)
    if len(positional) != len(output.parameters) or thresholds != 1:
        raise ValueError(
            f"the translation has {len(positional)} '?' (expected {len(output.parameters)}: "
            f"{', '.join(output.parameters)}) and {thresholds} {THRESHOLD_PLACEHOLDER} (expected 1)"
        )
    return output.header.format(version=sqlglot.__version__) + body + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing it")
    args = parser.parse_args()
    stale = []
    for output in OUTPUTS:
        text = translate(output.source(), output)
        if args.check:
            if not output.target.exists() or output.target.read_text() != text:
                stale.append(output.target)
            continue
        output.target.write_text(text)
        print(f"wrote {output.target}")
    if args.check:
        for path in stale:
            print(f"{path} is not the translation of its source; run {Path(__file__).name}", file=sys.stderr)
        if stale:
            return 1
        print(", ".join(o.target.name for o in OUTPUTS) + " are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
