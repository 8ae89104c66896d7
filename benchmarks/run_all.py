"""Measure synth time, Lambda handler import time and test-suite wall time; write docs/benchmarks.md.

    make bench                      # everything, including the test suite
    python benchmarks/run_all.py --quick --no-tests

Numbers are medians of repeated cold runs (a new Python process each time), measured in the
same run as their baselines so the ratios hold on any machine. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import evaluation_batching  # noqa: E402
import evaluation_false_winners  # noqa: E402
import judge_scenarios  # noqa: E402
import live_quality_false_winners  # noqa: E402

# benchmarks/live_quality.py shares its name with the lambdas/live_quality package it measures: load it
# under another module name so that `import live_quality.…` keeps meaning the package.
_spec = importlib.util.spec_from_file_location("live_quality_volume", ROOT / "benchmarks" / "live_quality.py")
assert _spec is not None and _spec.loader is not None
live_quality_volume = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(live_quality_volume)

PY = sys.executable
ENV = dict(
    os.environ,
    CDK_DISABLE_CLI_TELEMETRY="true",
    JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    PYTHONDONTWRITEBYTECODE="1",
)
HANDLERS = [
    "weights_provider.handler",
    "set_weights.handler",
    "srm_check.handler",
    "evaluate.handler",
    "rollout.handler",
    "live_quality.handler",
]
# Modules a handler imports on its first call rather than with itself, measured with boto3 as the
# call's cold start pays them: live_quality.handler.publish loads the report's statistics there, so
# that plan (the same asset's other entry point) starts without them.
DEFERRED_IMPORTS = {"live_quality.publish_step": "live_quality.handler.publish's first call"}


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def config_with(variants: int = 2, endpoints: int = 1) -> dict:
    base = json.loads((ROOT / "config" / "default.json").read_text())
    template_endpoint = base["endpoints"][0]
    result = []
    for e in range(endpoints):
        endpoint = copy.deepcopy(template_endpoint)
        endpoint["name"] = f"bench-{e}"
        first = endpoint["variants"][0]
        endpoint["variants"] = [dict(copy.deepcopy(first), name=f"Variant{v + 1}") for v in range(variants)]
        result.append(endpoint)
    return {"endpoints": result}


def synth_case(name: str, config: dict, repeats: int, workdir: Path) -> dict:
    config_path = workdir / f"{name}.json"
    config_path.write_text(json.dumps(config))
    outdir = workdir / f"{name}.out"
    app_env = dict(ENV, CDK_CONTEXT_JSON=json.dumps({"config": str(config_path)}), CDK_OUTDIR=str(outdir))
    timed([PY, "app.py"], app_env)  # warm the file cache and produce templates for the baseline
    templates = sorted(outdir.glob("*.template.json"))
    resources = sum(len(json.loads(t.read_text())["Resources"]) for t in templates)
    base_env = dict(
        ENV, BENCH_TEMPLATES=os.pathsep.join(str(t) for t in templates), CDK_OUTDIR=str(workdir / f"{name}.l1")
    )
    app_times, base_times = [], []
    for _ in range(repeats):  # interleaved, so drift on the machine hits both alike
        app_times.append(timed([PY, "app.py"], app_env))
        base_times.append(timed([PY, "benchmarks/l1_replay_app.py"], base_env))
    app_s, base_s = statistics.median(app_times), statistics.median(base_times)
    return {"case": name, "resources": resources, "app_s": app_s, "l1_s": base_s, "ratio": app_s / base_s}


def import_time_us(module: str) -> int:
    """Cumulative import time of ``module`` in a fresh interpreter, from ``-X importtime``."""
    env = dict(ENV, PYTHONPATH=str(ROOT / "lambdas"))
    result = subprocess.run(
        [PY, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in reversed(result.stderr.splitlines()):
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)$", line)
        if match and match.group(2) == module:
            return int(match.group(1))
    raise RuntimeError(f"no import time for {module}")


def import_cases(repeats: int) -> list[dict]:
    samples: dict[str, list[int]] = {m: [] for m in ["boto3", *HANDLERS, *DEFERRED_IMPORTS]}
    for _ in range(repeats):
        for module in samples:
            samples[module].append(import_time_us(module))
    boto3_ms = statistics.median(samples["boto3"]) / 1000
    return [
        {"module": m, "ms": statistics.median(s) / 1000, "ratio": statistics.median(s) / 1000 / boto3_ms}
        for m, s in samples.items()
    ]


def suite_time(marker: str) -> float:
    """Wall time of the pytest group ``marker`` selects, as the Makefile runs it."""
    return timed(
        [
            str(ROOT / ".venv" / "bin" / "pytest"),
            *("-n", "auto", "--dist", "loadscope", "-q", "-p", "no:cacheprovider"),
            *("-m", marker),
        ],
        ENV,
    )


def synth_section(repeats: int) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        default = json.loads((ROOT / "config" / "default.json").read_text())
        synth = [
            synth_case("default app (2 variants)", default, repeats, workdir),
            synth_case("10 variants, 1 endpoint", config_with(variants=10), repeats, workdir),
            synth_case("5 endpoints, 2 variants each", config_with(endpoints=5), repeats, workdir),
        ]
    ten_vs_two = synth[1]["app_s"] / synth[0]["app_s"]
    return [
        "## Cold synth (`python app.py`, cdk-nag gate included)",
        "",
        f"Medians of {repeats} cold runs (a new process each), app and baseline interleaved. Baseline: the "
        "same resources declared as bare L1 `CfnResource`s without validation plugins "
        "(`benchmarks/l1_replay_app.py`).",
        "",
        "| case | resources | app (s) | bare L1 (s) | app / L1 |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {s['case']} | {s['resources']} | {s['app_s']:.2f} | {s['l1_s']:.2f} | {s['ratio']:.2f}× |"
            for s in synth
        ),
        "",
        f"10 variants vs 2 variants (app): **{ten_vs_two:.2f}×** (target ≤ 1.2×). "
        f"Default app vs bare L1: **{synth[0]['ratio']:.2f}×** (target ≤ 1.3×).",
        "",
        "Measured with cdk.json's feature flags, as `cdk synth` runs the app (until 2026-12-02 a direct "
        "`python app.py` run omitted them, so earlier figures are not comparable).",
    ]


def _deferred_note(module: str) -> str:
    return f" ({DEFERRED_IMPORTS[module]})" if module in DEFERRED_IMPORTS else ""


def imports_section(repeats: int) -> list[str]:
    imports = import_cases(repeats * 3)
    return [
        "## Lambda handler import time (`python -X importtime`, cumulative)",
        "",
        "| module | ms | vs `import boto3` |",
        "|---|---:|---:|",
        *(f"| `{i['module']}`{_deferred_note(i['module'])} | {i['ms']:.1f} | {i['ratio']:.2f}× |" for i in imports),
        "",
        "Target: every handler ≤ 1.2× `import boto3`. A row with a call in brackets is what that call "
        "imports on its first run (with boto3), deferred so that the module itself stays light.",
    ]


def suite_section(_: int) -> list[str]:
    fast, e2e = suite_time("not e2e"), suite_time("e2e")
    return [
        "## Test suite",
        "",
        f"`make test` (`pytest -n auto --dist loadscope -m 'not e2e'`): **{fast:.1f} s** wall time "
        "(target: about two minutes on 2 cores). `make e2e` (the end-to-end group: the real CDK CLI "
        f"against moto's server, its own CI step): **{e2e:.1f} s**.",
    ]


# Section heading → how to measure it. Sections measured elsewhere (DeLong, the CLI lifecycle) are
# kept as they are in docs/benchmarks.md; so is any section not named with --only.
SECTIONS: dict[str, Callable[[int], list[str]]] = {
    "synth": synth_section,
    "imports": imports_section,
    "batching": lambda _: evaluation_batching.markdown(evaluation_batching.measure()),
    "false-winners": lambda _: evaluation_false_winners.markdown(evaluation_false_winners.measure(runs=4000)),
    "judge": lambda _: judge_scenarios.markdown(judge_scenarios.measure(runs=2000)),
    "suite": suite_section,
}
# Sections that take many minutes or gigabytes: measured only when named with --only, never by default.
ON_REQUEST: dict[str, Callable[[int], list[str]]] = {
    "live-quality": lambda _: live_quality_volume.markdown(
        live_quality_volume.measure(
            [1_000_000, 10_000_000], Path(tempfile.gettempdir()) / "live-quality-bench", 10_000_000
        )
    ),
    "live-false-winners": lambda _: live_quality_false_winners.markdown(
        live_quality_false_winners.measure(runs=1000, looks_runs=400)
    ),
}


def _existing_sections(text: str) -> list[tuple[str, str]]:
    """The report's ``## `` sections, in order: (heading line, whole section text)."""
    parts = re.split(r"(?m)^(?=## )", text)
    return [(part.splitlines()[0], part.rstrip("\n")) for part in parts[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to measure (default: all of {list(SECTIONS)}; "
        f"on request only: {list(ON_REQUEST)})",
    )
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    chosen = [name for name in args.only.split(",") if name]
    known = {**SECTIONS, **ON_REQUEST}
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; known: {list(known)}")

    report_path = ROOT / "docs" / "benchmarks.md"
    existing = _existing_sections(report_path.read_text()) if report_path.exists() else []
    measured = {name: "\n".join(known[name](repeats)) for name in chosen}
    fresh_headings = {text.splitlines()[0]: text for text in measured.values()}
    sections = [fresh_headings.pop(heading, text) for heading, text in existing]
    sections += list(fresh_headings.values())  # measured sections the report did not have yet
    header = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` (`python benchmarks/run_all.py`; `--only <section>` re-measures one) on "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}. Not asserted anywhere.",
    ]
    report = "\n".join(header) + "\n\n" + "\n\n".join(sections) + "\n"
    report_path.parent.mkdir(exist_ok=True)
    report_path.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
