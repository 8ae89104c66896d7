"""The evaluation's error, in a module of its own so that ``aws_io`` (shared with the live-quality
Lambda) can raise it without importing the runner and its statistics."""

from __future__ import annotations


class InvalidEvaluation(ValueError):
    """The request or the data cannot be evaluated; nothing was published or written."""
