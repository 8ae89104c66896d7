#!/usr/bin/env python3
"""Turn a CSV of ``inference_id,label`` into SageMaker's ground-truth JSON Lines, laid out by hour.

    python scripts/labels_to_ground_truth.py labels.csv --out ground-truth/
    python scripts/labels_to_ground_truth.py labels.csv --out ground-truth/ --collected-at 2026-12-02T14:00:00Z
    python scripts/labels_to_ground_truth.py labels.csv --out ground-truth/ --captured capture-copy/
    aws s3 cp --recursive ground-truth/ s3://<bucket>/<ground-truth prefix>/

Writes ``<out>/yyyy/mm/dd/hh/labels-<yyyymmddThhmmssZ>.jsonl``, one record per line as Model Monitor
merges them (``{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "<id>"},
"eventVersion": "0"}``), where the hour is when the labels were collected (``--collected-at``, default
now, UTC): that hour is the label time the live-quality query measures delays with. Upload the folder
under the stack's ground-truth prefix keeping the relative paths.

The CSV may start with a header ``inference_id,label``; ids are the ``InferenceId`` values the callers
passed to InvokeEndpoint (1-64 printable ASCII characters), labels 0 or 1. Bad rows are listed with
their line numbers and nothing is written (exit status 2), unless ``--skip-bad-rows`` writes the good
rows anyway. An id given twice keeps its last label; how many were replaced is reported.

``--captured <folder>`` keeps only the labels of requests that data capture recorded: the
``inferenceId`` of every capture line in the ``*.jsonl`` files below the folder (a local copy of the
capture prefix's hours those requests came from, e.g. ``aws s3 sync``). With capture sampling below
100 % most labels name requests that were not captured; Athena scans them all the same (README, what
it costs), and at 20 % they outweigh the captures. Lines that are not capture records are counted and
skipped (the query reports them; this only needs their ids).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambdas"))

from live_quality.formats import (
    InvalidRecord,
    check_inference_id,
    check_label,
    ground_truth_key,
    ground_truth_record,
    hour_of,
    json_line,
)

HEADER = ["inference_id", "label"]


def read_labels(path: Path) -> tuple[dict[str, str], list[str], int]:
    """(labels by id in first-seen order, one message per bad row, ids whose label a later row replaced)."""
    labels: dict[str, str] = {}
    bad: list[str] = []
    replaced = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for line_number, row in enumerate(csv.reader(handle), start=1):
            if line_number == 1 and [c.strip().lower() for c in row] == HEADER:
                continue
            if not row or all(not cell.strip() for cell in row):
                bad.append(f"{path}:{line_number}: empty row")
                continue
            if len(row) != 2:
                bad.append(f"{path}:{line_number}: {len(row)} columns; expected inference_id,label")
                continue
            try:
                inference_id = check_inference_id(row[0])
                label = check_label(row[1])
            except InvalidRecord as err:
                bad.append(f"{path}:{line_number}: {err}")
                continue
            if inference_id in labels:
                replaced += 1
            labels[inference_id] = label
    return labels, bad, replaced


def captured_ids(folder: Path) -> tuple[set[str], int]:
    """(the inferenceId of every capture line in ``*.jsonl`` below ``folder``, lines without one)."""
    ids: set[str] = set()
    unreadable = 0
    for path in sorted(folder.rglob("*.jsonl")):
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    inference_id = json.loads(line)["eventMetadata"]["inferenceId"]
                except (ValueError, KeyError, TypeError):
                    unreadable += 1
                    continue
                if isinstance(inference_id, str):
                    ids.add(inference_id)
                else:
                    unreadable += 1
    return ids, unreadable


def write_ground_truth(labels: dict[str, str], out: Path, collected: datetime) -> Path:
    """Write ``labels`` (inference id -> "0"/"1") as ``<out>/yyyy/mm/dd/hh/labels-<yyyymmddThhmmssZ>.jsonl``
    for labels collected at ``collected``; the file's path. Refuses (FileExistsError) to replace a file."""
    name = f"labels-{collected.astimezone(UTC):%Y%m%dT%H%M%SZ}.jsonl"
    target = out / ground_truth_key("", hour_of(collected), name)
    if target.exists():
        raise FileExistsError(f"{target} exists; labels collected at the same second would replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as handle:
        for inference_id, label in labels.items():
            handle.write(json_line(ground_truth_record(inference_id, label)))
    return target


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; give it in UTC, e.g. 2026-12-02T14:00:00Z")
    return moment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", type=Path, help="CSV of inference_id,label")
    parser.add_argument("--out", type=Path, required=True, help="folder to write yyyy/mm/dd/hh/<file>.jsonl under")
    parser.add_argument(
        "--collected-at", type=parse_time, default=None, help="when the labels were collected (default: now, UTC)"
    )
    parser.add_argument("--skip-bad-rows", action="store_true", help="write the good rows even if some are bad")
    parser.add_argument(
        "--captured",
        type=Path,
        default=None,
        help="a local copy of the capture files: keep only labels whose id was captured (sampling below 100 %%)",
    )
    args = parser.parse_args(argv)

    if not args.csv.is_file():
        print(f"error: {args.csv} is not a file", file=sys.stderr)
        return 2
    labels, bad, replaced = read_labels(args.csv)
    for message in bad:
        print(f"bad row: {message}", file=sys.stderr)
    if bad and not args.skip_bad_rows:
        print(f"error: {len(bad)} bad row(s); nothing written (--skip-bad-rows writes the others)", file=sys.stderr)
        return 2
    not_captured = 0
    if args.captured is not None:
        if not args.captured.is_dir():
            print(f"error: {args.captured} is not a folder", file=sys.stderr)
            return 2
        ids, unreadable = captured_ids(args.captured)
        if unreadable:
            print(f"note: {unreadable} line(s) under {args.captured} are not capture records; skipped", file=sys.stderr)
        kept = {i: label for i, label in labels.items() if i in ids}
        not_captured = len(labels) - len(kept)
        labels = kept
    if not labels:
        print(f"error: {args.csv} has no labels to write", file=sys.stderr)
        return 2
    try:
        target = write_ground_truth(labels, args.out, args.collected_at or datetime.now(UTC))
    except FileExistsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"wrote {len(labels)} label(s) to {target}"
        + (f"; {replaced} repeated id(s) kept their last label" if replaced else "")
        + (f"; skipped {len(bad)} bad row(s)" if bad else "")
        + (f"; left out {not_captured} label(s) for requests not captured" if not_captured else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
