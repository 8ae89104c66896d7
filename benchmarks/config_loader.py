"""What loading a config costs synth: importing the loader and calling load_config, cold and warm.

    python benchmarks/config_loader.py [--runs 20] [--baseline-root DIR]

``--baseline-root`` names another checkout (e.g. ``git archive <commit> constructs_lib config | tar
-x -C DIR``) measured the same way, interleaved run by run. Prints a Markdown table. Cold figures come
from new processes (bytecode cached, as for every synth after the first): CPU time of ``import
constructs_lib.config`` and of the first ``load_config`` (which reads botocore's SageMaker model).
Warm figures: CPU time per ``load_config`` call in a process that has loaded before. CPU time and the
best of all runs, because on a machine shared with other work wall time mostly measures the others.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ("config/default.json", "config/examples/full.json")
COLD = """
import time
start = time.process_time()
import constructs_lib.config
imported = time.process_time()
constructs_lib.config.load_config("config/examples/full.json")
print(imported - start, time.process_time() - imported)
"""
WARM = """
import time, timeit
from constructs_lib.config import load_config
for path in {configs!r}:
    load_config(path)
    best = min(timeit.repeat(lambda: load_config(path), number=200, repeat=3, timer=time.process_time))
    print(best / 200)
"""


def _run(root: Path, code: str) -> list[float]:
    env = {"PATH": "/usr/bin:/bin"}  # no PYTHONDONTWRITEBYTECODE: bytecode cached as for repeated synths
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    return [float(x) for x in done.stdout.split()]


def measure(roots: dict[str, Path], runs: int) -> dict[str, dict[str, float]]:
    best: dict[str, list[float]] = {name: [float("inf")] * (2 + len(CONFIGS)) for name in roots}
    for root in roots.values():
        _run(root, COLD)  # writes the bytecode caches
    for run in range(runs):
        for name, root in roots.items():  # interleaved: every tree sees the same load
            found = _run(root, COLD) + (_run(root, WARM.format(configs=CONFIGS)) if run % 4 == 0 else [])
            best[name][: len(found)] = [min(a, b) for a, b in zip(best[name], found, strict=False)]
    labels = [
        "import constructs_lib.config (CPU ms)",
        "first load_config(full.json) in a new process (CPU ms)",
        *(f"load_config({path}) warm (CPU ms)" for path in CONFIGS),
    ]
    return {name: {label: value * 1000 for label, value in zip(labels, best[name], strict=True)} for name in roots}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--baseline-root", type=Path, help="another checkout to measure alongside")
    args = parser.parse_args()
    roots = {"this tree": ROOT}
    if args.baseline_root:
        roots["baseline"] = args.baseline_root.resolve()
    found = measure(roots, args.runs)
    names = list(roots)
    print("| measure | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for row in found[names[0]]:
        print(f"| {row} | " + " | ".join(f"{found[n][row]:.2f}" for n in names) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
