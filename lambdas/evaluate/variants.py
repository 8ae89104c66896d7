"""The variants an evaluation may address, as DescribeEndpoint lists them (no AWS here).

Its own module so that the readers in ``aws_io`` (which the live-quality Lambda imports too) need not load the
runner and its paired tests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LiveVariants:
    """Production variants (in DescribeEndpoint's order) and, apart, shadow variants (``ShadowProductionVariants``;
    default none)."""

    production: tuple[str, ...]
    shadows: tuple[str, ...] = ()
