"""Parse a labelled CSV test set into labels and the feature rows an endpoint expects.

SageMaker's built-in algorithms (XGBoost and others) take CSV with the label in the first column and
no header for training, and the same rows *without* the label for inference. So each row here is
split into its 0/1 label and the remaining cells, re-joined as one CSV line ready to send as a
``text/csv`` request body. Feature cells are kept as text, never converted to numbers and back, so
the endpoint receives exactly what the file holds.

Every error is a :class:`ValueError` naming the line, because a test file with one bad row should be
fixed, not silently shortened (which would change what the variants are compared on).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Dataset:
    """Labels and feature rows, in file order.

    ``rows[i]`` is line i's cells without the label, as CSV. ``header`` holds the feature column names
    (aligned with ``rows``) and ``label_name`` the label's, both ``None`` when the file has no header.
    """

    labels: tuple[int, ...]
    rows: tuple[str, ...]
    header: tuple[str, ...] | None
    label_name: str | None = None

    def __len__(self) -> int:
        return len(self.labels)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _label(cell: str, line: int) -> int:
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(f"line {line}: label {cell!r} is not a number; labels must be 0 or 1") from None
    if math.isnan(value) or value not in (0, 1):
        raise ValueError(f"line {line}: label {cell!r} is not binary; labels must be 0 or 1 (or 0.0, 1.0)")
    return int(value)


def _label_index(label_column: int | str, first: list[str], has_header: bool, line: int) -> int:
    if isinstance(label_column, str):
        if not has_header:
            raise ValueError(f"label column {label_column!r} is a name, but the file is read without a header")
        names = [cell.strip() for cell in first]
        if label_column.strip() not in names:
            raise ValueError(f"line {line}: unknown label column {label_column!r}; the header has {', '.join(names)}")
        return names.index(label_column.strip())
    if isinstance(label_column, bool) or not isinstance(label_column, int):
        raise ValueError(f"label_column is {label_column!r}; give a column index or a header name")
    if not -len(first) <= label_column < len(first):
        raise ValueError(f"line {line}: label column {label_column} is out of range for {len(first)} columns")
    return label_column % len(first)


def _records(text: str) -> list[tuple[int, list[str]]]:
    """Non-blank CSV records with the line each starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text))
    records = []
    start = 1
    try:
        for row in reader:
            if row:
                records.append((start, row))
            start = reader.line_num + 1
    except csv.Error as err:
        raise ValueError(f"line {start}: not readable as CSV: {err}") from err
    return records


def parse_csv(text: str, *, label_column: int | str = 0, has_header: bool | None = None) -> Dataset:
    """Split CSV ``text`` into 0/1 labels and label-free feature rows.

    ``label_column`` is an index (default 0, the SageMaker convention; negative counts from the end)
    or a header name. ``has_header`` defaults to ``None``: detect one when the first row's label cell
    is not a number (a name as ``label_column`` implies a header). Blank lines are skipped; every other
    row must have as many columns as the first. Labels may be written 0/1 or 0.0/1.0.
    """
    records = _records(text)
    if not records:
        raise ValueError("line 1: the file is empty; expected CSV rows with a 0/1 label column")
    first_line, first = records[0]
    if has_header is None:
        if isinstance(label_column, str):
            has_header = True
        else:
            index = _label_index(label_column, first, False, first_line)
            has_header = not _is_number(first[index])
    index = _label_index(label_column, first, has_header, first_line)
    width = len(first)

    header = label_name = None
    if has_header:
        header = tuple(cell for i, cell in enumerate(first) if i != index)
        label_name = first[index]
        records = records[1:]
        if not records:
            raise ValueError(f"line {first_line}: the file has a header but no data rows")

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="")
    labels = []
    rows = []
    for line, cells in records:
        if len(cells) != width:
            raise ValueError(f"line {line}: expected {width} columns like line {first_line}, found {len(cells)}")
        labels.append(_label(cells[index].strip(), line))
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells[:index] + cells[index + 1 :])
        rows.append(buffer.getvalue())
    return Dataset(labels=tuple(labels), rows=tuple(rows), header=header, label_name=label_name)
