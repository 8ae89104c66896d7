#!/usr/bin/env python3
"""Deploy an environment's weights from the weights file as stack parameters: the pipeline's one command.

    python scripts/deploy_weights.py --environment prod [--file config/weights.json]
        [--endpoint churn-ab] [--set Variant1=25,Variant2=75] [--dry-run | --stack-names]
        [-- <more cdk deploy options>]

Reads the file (:mod:`scripts.weights_file`), validates the environment against the config it names,
lays ``--set`` over one endpoint's weights (for this run only; the file is not changed), prints the
weights and the exact ``npx cdk deploy …`` command, and runs it in the project root with the
caller's environment (credentials, region). ``--dry-run`` prints and stops. Anything after ``--``
is passed to ``cdk deploy`` unchanged (``--role-arn``, ``--output``, ``--toolkit-stack-name``…).
``--stack-names`` validates the same way and prints only the stacks the deploy would update, one a
line (the example pipeline waits for them to be stable before deploying).

Exit codes: 0 deployed (or dry run); 2 refused before deploying, with every problem on stderr and
nothing run; otherwise the CDK CLI's own exit code (a deploy CloudFormation refused and rolled back,
for instance); 127 when the CLI cannot be started.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from scripts.weights_file import (  # noqa: E402
    DEFAULT_WEIGHTS_FILE,
    EnvironmentWeights,
    WeightsFileError,
    deploy_command,
    format_weight,
    load_weights_file,
    parse_weight_assignments,
)

REFUSED = 2
CANNOT_RUN = 127  # as a shell reports a command it cannot find

Runner = Callable[..., Any]


def parse_arguments(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Our options, and the arguments after ``--`` for ``cdk deploy``."""
    ours, extra = list(argv), []
    if "--" in ours:
        split = ours.index("--")
        ours, extra = ours[:split], ours[split + 1 :]
    parser = argparse.ArgumentParser(
        prog="deploy_weights.py",
        description="Deploy the weights file's weights for one environment with `cdk deploy --parameters`.",
        epilog="Arguments after `--` go to `cdk deploy` unchanged. Exit code 2: refused, nothing deployed.",
    )
    parser.add_argument("--environment", required=True, help="environment in the weights file, e.g. prod")
    parser.add_argument(
        "--file",
        default=str(DEFAULT_WEIGHTS_FILE.relative_to(ROOT)),
        help="the weights file (default: %(default)s in the project root)",
    )
    parser.add_argument(
        "--endpoint", help="deploy only this endpoint's stack (default: every endpoint of the environment)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="VARIANT=WEIGHT[,...]",
        help="override the file's weight of a variant for this run (repeatable; needs --endpoint "
        "when the environment lists several endpoints)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the weights and the command, deploy nothing")
    mode.add_argument(
        "--stack-names",
        action="store_true",
        help="print only the names of the stacks the deploy would update, one a line; deploy nothing",
    )
    return parser.parse_args(ours), extra


def weights_file_path(text: str) -> Path:
    """A relative ``--file`` is looked up from the current folder, then from the project root."""
    path = Path(text)
    if path.is_absolute() or path.exists():
        return path
    return ROOT / path


def plan(arguments: argparse.Namespace) -> EnvironmentWeights:
    """The weights to deploy: the file's environment, narrowed and overridden as asked; refuses bad input."""
    weights = load_weights_file(weights_file_path(arguments.file), arguments.environment)
    if arguments.endpoint:
        weights = weights.only(arguments.endpoint)
    if arguments.overrides:
        assignments = parse_weight_assignments(arguments.overrides)
        weights = weights.with_overrides(arguments.endpoint, assignments, source="--set")
    return weights


def describe(weights: EnvironmentWeights, overridden: bool) -> list[str]:
    lines = [f"Weights for environment {weights.environment} from {weights.source} (config {weights.config_path}):"]
    for entry in weights.endpoints:
        shown = "  ".join(f"{name}={format_weight(w)}" for name, w in entry.weights.items())
        lines.append(f"  {entry.stack_name}: {shown}")
    if overridden:
        lines.append(
            f"  (--set overrides {weights.source} for this run only: commit these weights to the file, "
            "or the next deploy from it restores the file's)"
        )
    return lines


def main(argv: Sequence[str] | None = None, *, run: Runner = subprocess.run) -> int:
    arguments, extra = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        weights = plan(arguments)
    except WeightsFileError as err:
        print(f"error: {err}\nNothing was deployed.", file=sys.stderr)
        return REFUSED
    if arguments.stack_names:
        for entry in weights.endpoints:
            print(entry.stack_name)
        return 0
    command = deploy_command(weights, extra_args=extra)
    for line in describe(weights, overridden=bool(arguments.overrides)):
        print(line)
    print(f"$ {shlex.join(command)}", flush=True)
    if arguments.dry_run:
        print("Dry run: nothing deployed.")
        return 0
    # The config path in the command is relative to the project root, as cdk.json's is.
    try:
        completed = run(command, cwd=ROOT, check=False)
    except OSError as err:  # npx not on PATH, say
        print(f"error: cannot run {command[0]}: {err.strerror or err}", file=sys.stderr)
        return CANNOT_RUN
    return int(completed.returncode)


if __name__ == "__main__":
    sys.exit(main())
