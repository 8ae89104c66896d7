"""CSV test sets: parsing, errors with line numbers, and the synthetic churn generator end to end."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from evaluate.dataset import Dataset, parse_csv
from evaluate.metrics import correct_predictions
from evaluate.paired_tests import delong_test, mcnemar_exact
from evaluate.verdicts import verdict
from scripts.generate_churn_data import FEATURES, LABEL, MODELS, generate, main, to_csv

ROOT = Path(__file__).resolve().parents[2]


def test_sagemaker_style_csv_label_first_without_header():
    data = parse_csv("1,0.5,7\n0,1.25,3\n")
    assert data == Dataset(labels=(1, 0), rows=("0.5,7", "1.25,3"), header=None, label_name=None)
    assert len(data) == 2


def test_header_is_detected_from_a_non_numeric_label_cell():
    data = parse_csv("churn,day_mins,calls\n1.0,180.5,3\n0.0,90,1\n")
    assert data.labels == (1, 0)
    assert data.rows == ("180.5,3", "90,1")
    assert (data.header, data.label_name) == (("day_mins", "calls"), "churn")


def test_label_column_by_name_or_index_from_the_end():
    by_name = parse_csv("a,churn,b\n1,0,2\n3,1,4\n", label_column="churn")
    assert (by_name.labels, by_name.rows, by_name.header) == ((0, 1), ("1,2", "3,4"), ("a", "b"))
    last = parse_csv("5,6,1\n7,8,0\n", label_column=-1)
    assert (last.labels, last.rows) == ((1, 0), ("5,6", "7,8"))


def test_header_can_be_forced_either_way():
    assert parse_csv("1,2\n0,3\n", has_header=True).labels == (0,)
    assert parse_csv("1,2\n0,3\n", has_header=False).labels == (1, 0)


def test_features_are_kept_as_text_and_quoted_when_needed():
    data = parse_csv('0,"a,b",007,1e3\r\n\n1,"say ""hi""",  8,x\r\n')
    assert data.labels == (0, 1)
    assert data.rows == ('"a,b",007,1e3', '"say ""hi""",  8,x')


def test_label_may_be_padded_with_spaces():
    assert parse_csv(" 1 ,2\n0 ,3\n").labels == (1, 0)


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("", {}, "line 1: the file is empty"),
        ("\n\n", {}, "line 1: the file is empty"),
        ("churn,a\n", {}, "line 1: the file has a header but no data rows"),
        ("a,churn\n1,0\n", {"label_column": "label"}, "line 1: unknown label column 'label'; the header has a, churn"),
        ("1,2\n", {"label_column": 2}, "line 1: label column 2 is out of range for 2 columns"),
        ("1,2\n", {"label_column": -3}, "line 1: label column -3 is out of range for 2 columns"),
        ("1,2\n0,3\nyes,4\n", {}, "line 3: label 'yes' is not a number"),
        ("1,2\n\n0,3\n2,4\n", {}, "line 4: label '2' is not binary"),
        ("1,2\n0.5,3\n", {}, "line 2: label '0.5' is not binary"),
        ("1,2\nnan,3\n", {}, "line 2: label 'nan' is not binary"),
        ("1,2\n0,3\n1,4,5\n", {}, "line 3: expected 2 columns like line 1, found 3"),
        ('0,"two\nlines"\n1\n', {}, "line 3: expected 2 columns like line 1, found 1"),
        ("x,1\n0,2\n", {"has_header": False}, "line 1: label 'x' is not a number"),
    ],
)
def test_errors_name_the_line(text, options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_csv(text, **options)


def test_label_name_needs_a_header_and_index_must_be_an_int():
    with pytest.raises(ValueError, match="read without a header"):
        parse_csv("1,2\n", label_column="churn", has_header=False)
    with pytest.raises(ValueError, match=r"label_column is 1\.5"):
        parse_csv("1,2\n", label_column=1.5)  # type: ignore[arg-type]


# --- synthetic churn data --------------------------------------------------------------------------


def test_generator_is_deterministic_and_sized():
    first = generate(300, seed=7)
    assert first == generate(300, seed=7)
    assert first != generate(300, seed=8)
    assert len(first) == 300
    assert all(len(features) == len(FEATURES) == 11 for _, features in first)
    churn = sum(label for label, _ in first) / len(first)
    assert 0.05 < churn < 0.3


def test_generator_cli_writes_label_first_csv_without_header(tmp_path):
    out = tmp_path / "data" / "churn-test.csv"
    assert main(["--rows", "120", "--seed", "7", "--out", str(out)]) == 0
    text = out.read_text()
    data = parse_csv(text)
    assert (len(data), data.header) == (120, None)
    assert len(data.rows[0].split(",")) == len(FEATURES)
    assert text == to_csv(generate(120, seed=7))
    with_header = tmp_path / "with-header.csv"
    main(["--rows", "5", "--out", str(with_header), "--header"])
    parsed = parse_csv(with_header.read_text())
    assert (parsed.label_name, parsed.header, len(parsed)) == (LABEL, FEATURES, 5)


def test_generator_runs_as_a_script(tmp_path):
    done = subprocess.run(
        [sys.executable, "scripts/generate_churn_data.py", "--rows", "4", "--seed", "7"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout == to_csv(generate(4, seed=7))
    rejected = subprocess.run(
        [sys.executable, "scripts/generate_churn_data.py", "--rows", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rejected.returncode == 2 and "--rows must be at least 1" in rejected.stderr


def test_generated_data_separates_the_two_example_models():
    data = parse_csv(to_csv(generate(1000, seed=7)))
    features = [[float(cell) for cell in row.split(",")] for row in data.rows]
    scores = {name: [model(f) for f in features] for name, model in MODELS.items()}
    result = verdict(
        "baseline",
        "challenger",
        mcnemar_exact(
            correct_predictions(data.labels, scores["baseline"]),
            correct_predictions(data.labels, scores["challenger"]),
        ),
        delong_test(data.labels, scores["baseline"], scores["challenger"]),
    )
    assert (result.winner, result.significant) == ("challenger", True), result.reason
