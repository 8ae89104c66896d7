"""Shared by the end-to-end modules: a local AWS (`scripts/local_aws.py serve` on 127.0.0.1) with
the CDK CLI lifecycle of `scripts/local_cli_demo.py` run against it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scripts.local_cli_demo import STACK, CliLifecycle, local_server


@contextmanager
def local_lifecycle(
    prefix: str, steps: Sequence[str] | None = None, *, without: Sequence[str] = (), stack: str = STACK
) -> Iterator[tuple[CliLifecycle, dict[str, dict[str, Any]]]]:
    """A fresh server (leaving out the adaptations named in ``without``) in a temporary folder,
    the lifecycle ``steps`` (default: all) run on it with the real `npx cdk`; yields the lifecycle
    (its ``url``, ``env``, ``client()``; deploying and observing ``stack``) and what each step
    observed. Stops the server on exit."""
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as tmp,
        local_server(Path(tmp) / "server.log", without=without) as url,
    ):
        lifecycle = CliLifecycle(url, Path(tmp), say=lambda _: None, stack=stack)
        yield lifecycle, lifecycle.run(steps)
