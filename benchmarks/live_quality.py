"""The live-quality join and metrics at volume: DuckDB (the query itself) against a plain-Python/pandas join.

Writes synthetic data capture for two variants in SageMaker's exact format (``live_quality.formats``:
``<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``, one JSON record per request with inferenceId) and
their ground truth (70 % labelled, delays up to two weeks, ``yyyy/mm/dd/hh/*.jsonl``), then times, in
a fresh process each, with the peak resident memory of that process:

- **duckdb**: ``live_quality.local_engine.run_on_folders`` (the query Athena also runs), 2 threads;
- **pandas**: the same join and confusion counts and ROC AUC the plain way: every line ``json.loads``-ed
  in Python, two DataFrames, ``merge`` on the id, counts and a rank-based AUC per variant (no issue
  reporting, so it does less than the query).

    python benchmarks/live_quality.py --sizes 1000000,10000000 [--pandas-max 10000000] [--workdir /tmp/lq]
    python benchmarks/live_quality.py --sizes 1000000 --capture-sampling 20

Sizes are captured requests (both variants). ``--capture-sampling P`` is the other shape of a real
endpoint: data capture samples P % of the requests (``InitialSamplingPercentage``) while the labels
come for every request, so about (100 - P) % of the labels have no capture record (the query's
``label_for_unknown_id``, one issue with that many lines); sizes are then requests served.
Data is generated once per size under ``--workdir`` and deleted afterwards unless ``--keep``;
``--reuse`` measures data an earlier ``--keep`` run left there (the generator is seeded, so it is
the same data; generating 10 M takes minutes on one core).
Not part of the default ``make bench`` (minutes and gigabytes):
``python benchmarks/run_all.py --only live-quality``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

ENDPOINT = "churn-ab"
VARIANTS = ("Variant1", "Variant2")
START = datetime(2026, 11, 1, tzinfo=UTC)
HOURS = 7 * 24  # a week of capture
LINE = (
    '{{"captureData":{{"endpointInput":{{"observedContentType":"text/csv","mode":"INPUT",'
    '"data":"{features}","encoding":"CSV"}},"endpointOutput":{{"observedContentType":"text/csv; charset=utf-8",'
    '"mode":"OUTPUT","data":"{score}","encoding":"CSV"}}}},"eventMetadata":{{"eventId":"{event}",'
    '"inferenceId":"{iid}","inferenceTime":"{time}"}},"eventVersion":"0"}}\n'
)
LABEL = (
    '{{"groundTruthData":{{"data":"{label}","encoding":"CSV"}},"eventMetadata":{{"eventId":"{iid}"}},'
    '"eventVersion":"0"}}\n'
)


def generate(root: Path, requests: int, seed: int = 1, capture_sampling: int = 100) -> dict[str, int]:
    """Capture and label folders for ``requests`` requests; the format is checked against formats.py once.

    ``capture_sampling`` 100 (the default): every request captured, 70 % labelled. Below 100: that
    percentage of the requests captured, every request labelled (the random draws of the default
    are unchanged, so its seeded data stays the same)."""
    from live_quality.formats import CapturedRequest, capture_record

    rng = random.Random(seed)
    per_hour = requests // (HOURS * len(VARIANTS))
    labels = 0
    written = 0
    for hour in range(HOURS):
        moment = START + timedelta(hours=hour)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        for v, variant in enumerate(VARIANTS):
            folder = root / "capture" / ENDPOINT / variant / moment.strftime("%Y/%m/%d/%H")
            folder.mkdir(parents=True, exist_ok=True)
            lines = []
            labels_by_hour: dict[int, list[str]] = {}
            for i in range(per_hour):
                iid = f"{variant[-1]}{hour:03d}{i:07d}"
                label = int(rng.random() < 0.3)
                score = min(0.999, max(0.001, rng.gauss(0.35 + 0.3 * label + 0.02 * v, 0.2)))
                features = f"{rng.randint(18, 90)},{rng.random() * 300:.1f},{rng.randint(0, 200)},0,1,0"
                line = LINE.format(features=features, score=f"{score:.6f}", event=f"e{iid}", iid=iid, time=stamp)
                if capture_sampling < 100:
                    if rng.random() * 100 < capture_sampling:
                        lines.append(line)
                    labelled = True
                else:
                    lines.append(line)
                    labelled = rng.random() < 0.7
                if labelled:
                    labels_by_hour.setdefault(hour + rng.randint(1, 14 * 24), []).append(
                        LABEL.format(label=label, iid=iid)
                    )
            (folder / "capture-0.jsonl").write_text("".join(lines))
            written += len(lines)
            # Labels go to their collection hour's file as they are drawn, in the same order as
            # holding them all would give (50 M requests' labels would not fit in memory).
            for label_hour, rows in labels_by_hour.items():
                label_folder = root / "gt" / (START + timedelta(hours=label_hour)).strftime("%Y/%m/%d/%H")
                label_folder.mkdir(parents=True, exist_ok=True)
                with (label_folder / "labels.jsonl").open("a") as out:
                    out.write("".join(rows))
                labels += len(rows)
            if hour == 0 and v == 0 and lines:  # the fast template writes formats.py's record
                fast = json.loads(lines[0])
                meta = fast["eventMetadata"]
                probe = capture_record(
                    CapturedRequest(
                        meta["eventId"],
                        moment,
                        fast["captureData"]["endpointInput"]["data"],
                        float(fast["captureData"]["endpointOutput"]["data"]),
                        inference_id=meta["inferenceId"],
                    )
                )
                probe["captureData"]["endpointOutput"]["data"] = fast["captureData"]["endpointOutput"]["data"]
                assert fast == probe, (fast, probe)
    return {"captured": written, "labels": labels}


def _window():
    from live_quality.query import QueryWindow

    end = START + timedelta(hours=HOURS)
    return QueryWindow(
        ENDPOINT,
        START.strftime("%Y/%m/%d/%H"),
        end.strftime("%Y/%m/%d/%H"),
        (end + timedelta(days=15)).strftime("%Y/%m/%d/%H"),
    )


ISSUES_KEY = "_issues"  # in the DuckDB worker's answer, beside the variants
DUCKDB_MEMORY_LIMIT = "3GB"  # the issue's budget is 4 GiB for the whole process


def worker_duckdb(root: Path) -> dict:
    from live_quality.local_engine import run_on_folders

    rows = run_on_folders(
        root / "capture",
        root / "gt",
        _window(),
        threads=2,
        memory_limit=DUCKDB_MEMORY_LIMIT,
        temp_directory=root / "duckdb-spill",
    )
    answer: dict[str, Any] = {
        r["variant"]: {"labelled": r["labelled"], "tp": r["tp"], "roc_auc": r["roc_auc"]}
        for r in rows
        if r["row_kind"] == "metrics" and r["period"] == "all"
    }
    # Lines per issue (over variants) and how many sample rows the query returned for it.
    issues: dict[str, dict[str, int]] = {}
    for r in rows:
        if r["row_kind"] in ("issue_count", "issue_sample"):
            counts = issues.setdefault(r["issue"], {"lines": 0, "samples": 0})
            counts["lines" if r["row_kind"] == "issue_count" else "samples"] += r["n"] or 1
    answer[ISSUES_KEY] = issues
    return answer


def worker_pandas(root: Path) -> dict:
    import pandas as pd

    captures: dict[str, list] = {"variant": [], "iid": [], "score": []}
    for path in sorted((root / "capture").glob("*/*/*/*/*/*/*.jsonl")):
        variant = path.parts[-6]
        with path.open() as handle:
            for line in handle:
                record = json.loads(line)
                output = record["captureData"]["endpointOutput"]
                data = output["data"]
                if output["encoding"] == "BASE64":
                    data = base64.b64decode(data).decode()
                captures["variant"].append(variant)
                captures["iid"].append(record["eventMetadata"].get("inferenceId"))
                captures["score"].append(float(data))
    labels: dict[str, list] = {"iid": [], "label": [], "hour": []}
    for path in sorted((root / "gt").glob("*/*/*/*/*.jsonl")):
        hour = "/".join(path.parts[-5:-1])
        with path.open() as handle:
            for line in handle:
                record = json.loads(line)
                labels["iid"].append(record["eventMetadata"]["eventId"])
                labels["label"].append(int(record["groundTruthData"]["data"]))
                labels["hour"].append(hour)
    capture_df = pd.DataFrame(captures)
    label_df = pd.DataFrame(labels).sort_values("hour").drop_duplicates("iid", keep="last")
    del captures, labels
    joined = capture_df.merge(label_df, on="iid", how="inner")
    out = {}
    for variant, part in joined.groupby("variant"):
        y = part["label"].to_numpy()
        s = part["score"].to_numpy()
        ranks = pd.Series(s).rank(method="average").to_numpy()
        positives = int(y.sum())
        negatives = y.size - positives
        auc = (ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
        out[str(variant)] = {"labelled": int(y.size), "tp": int(((s >= 0.5) & (y == 1)).sum()), "roc_auc": float(auc)}
    return out


def timed_worker(engine: str, root: Path) -> dict:
    """Run one engine in a fresh process: wall seconds, peak RSS (MiB) and its answer."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--worker", engine, "--workdir", str(root)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        return {"engine": engine, "error": f"exit {proc.returncode}", "seconds": seconds}
    return {
        "engine": engine,
        "seconds": seconds,
        "cpu_s": usage.ru_utime + usage.ru_stime,  # what load from other processes leaves comparable
        "peak_mib": usage.ru_maxrss / 1024,
        "answer": json.loads(output),
    }


def _count_lines(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with path.open("rb") as handle:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b""))
    return total


def measure(
    sizes: list[int],
    workdir: Path,
    pandas_max: int,
    keep: bool = False,
    reuse: bool = False,
    capture_sampling: int = 100,
) -> list[dict]:
    results = []
    for size in sizes:
        root = workdir / (f"n{size}" if capture_sampling == 100 else f"n{size}-capture{capture_sampling}")
        started = time.perf_counter()
        if reuse and root.exists():
            counts = {
                "captured": _count_lines(sorted((root / "capture").rglob("*.jsonl"))),
                "labels": _count_lines(sorted((root / "gt").rglob("*.jsonl"))),
            }
        else:
            if root.exists():
                shutil.rmtree(root)
            counts = generate(root, size, capture_sampling=capture_sampling)
        generate_s = time.perf_counter() - started
        disk = sum(p.stat().st_size for p in root.rglob("*.jsonl"))
        row: dict[str, Any] = {
            "size": counts["captured"],
            "labels": counts["labels"],
            "bytes": disk,
            "generate_s": generate_s,
        }
        row["duckdb"] = timed_worker("duckdb", root)
        row["pandas"] = timed_worker("pandas", root) if size <= pandas_max else None
        if row["pandas"] and "answer" in row["pandas"] and "answer" in row["duckdb"]:
            for variant, mine in row["duckdb"]["answer"].items():
                if variant == ISSUES_KEY:
                    continue
                theirs = row["pandas"]["answer"][variant]
                row.setdefault("agree", True)
                row["agree"] &= mine["labelled"] == theirs["labelled"] and mine["tp"] == theirs["tp"]
                row["agree"] &= abs(mine["roc_auc"] - theirs["roc_auc"]) < 1e-9
        results.append(row)
        print(json.dumps({k: v for k, v in row.items()}, default=str), file=sys.stderr)
        if not keep:
            shutil.rmtree(root)
    return results


def markdown(results: list[dict], note: str = "", capture_sampling: int = 100) -> list[str]:
    def cell(run: dict | None) -> str:
        if run is None:
            return "not run"
        if "error" in run:
            return run["error"]
        return f"{run['seconds']:.1f} s, CPU {run['cpu_s']:.1f} s, {run['peak_mib']:,.0f} MiB"

    shape = (
        "70 % of requests labelled up to two weeks later"
        if capture_sampling == 100
        else f"{capture_sampling} % of requests captured and every request labelled up to two weeks later "
        f"(about {100 - capture_sampling} % of the labels are `label_for_unknown_id`)"
    )
    lines = [
        "## Live quality: the capture ⋈ labels query at volume",
        "",
        "`benchmarks/live_quality.py`: synthetic data capture for 2 variants over a week in SageMaker's exact "
        f"format, {shape}. Wall time and peak resident memory of a fresh "
        "process: DuckDB running the live-quality query (the one Athena runs; 2 threads, memory_limit "
        f"{DUCKDB_MEMORY_LIMIT}, spilling to disk beyond it) vs a plain-Python/pandas "
        "join (json.loads per line, DataFrame merge, counts and rank AUC; it reports no issues).",
        "",
        "| captured requests | labels | JSON Lines on disk | DuckDB query | pandas join | same numbers |",
        "|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in results:
        agree = "—" if "agree" not in r else ("yes" if r["agree"] else "NO")
        lines.append(
            f"| {r['size']:,} | {r['labels']:,} | {r['bytes'] / 2**30:.2f} GiB | {cell(r['duckdb'])} | "
            f"{cell(r['pandas'])} | {agree} |"
        )
    if len(results) > 1 and all("seconds" in r["duckdb"] and "error" not in r["duckdb"] for r in results):
        first, last = results[0], results[-1]
        growth = (last["duckdb"]["seconds"] / first["duckdb"]["seconds"]) / (last["size"] / first["size"])
        lines += [
            "",
            f"DuckDB time per request at {last['size']:,} vs {first['size']:,}: {growth:.2f}× (1.00× = linear).",
        ]
    for r in results:
        issues = r["duckdb"].get("answer", {}).get(ISSUES_KEY, {})
        if issues:
            listed = ", ".join(
                f"{name} {c['lines']:,} lines, {c['samples']} samples" for name, c in sorted(issues.items())
            )
            lines += ["", f"Issues at {r['size']:,}: {listed}."]
    if note:
        lines += ["", note]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--pandas-max", type=int, default=10_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/live-quality-bench"))
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="measure data a --keep run left in --workdir")
    parser.add_argument(
        "--capture-sampling",
        type=int,
        default=100,
        choices=range(1, 101),
        metavar="PERCENT",
        help="capture this percentage of the requests and label every request "
        "(default 100: all captured, 70 %% labelled)",
    )
    parser.add_argument("--worker", choices=["duckdb", "pandas"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        answer = worker_duckdb(args.workdir) if args.worker == "duckdb" else worker_pandas(args.workdir)
        print(json.dumps(answer))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results = measure(sizes, args.workdir, args.pandas_max, args.keep, args.reuse, args.capture_sampling)
    print("\n".join(markdown(results, capture_sampling=args.capture_sampling)))


if __name__ == "__main__":
    main()
