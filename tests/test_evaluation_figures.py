"""scripts/evaluation_figures.py: ROC curves and confusion matrices drawn from a report.json."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evaluate.report import to_markdown
from scripts import evaluation_figures as ef
from tests.conftest import ROOT

SAMPLE = ROOT / "docs" / "evaluation-sample" / "churn-ab" / "sample"


@pytest.fixture(scope="module")
def sample_report() -> dict:
    return json.loads((SAMPLE / "report.json").read_text())


def test_command_draws_every_variants_images_and_links_them(tmp_path: Path, sample_report: dict) -> None:
    shutil.copy(SAMPLE / "report.json", tmp_path / "report.json")
    assert ef.main([str(tmp_path / "report.json"), "--dpi", "30"]) == 0
    markdown = (tmp_path / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert sorted(links) == sorted(
        f"{kind}-{v}.png" for v in sample_report["variants"] for kind in ("roc", "confusion")
    )
    for link in links:
        assert Image.open(tmp_path / link).format == "PNG"
    assert markdown == to_markdown(sample_report, ef.draw_figures(sample_report, tmp_path, dpi=30))


def test_the_roc_figure_draws_the_reports_points_and_operating_point(sample_report: dict) -> None:
    figure = ef.roc_figure(sample_report, "Variant2")
    (axes,) = figure.axes
    lines = {line.get_label(): line for line in axes.get_lines()}
    section = sample_report["variants"]["Variant2"]
    curve = lines[f"Variant2 (AUC {section['metrics']['roc_auc']:.3f})"]
    np.testing.assert_array_equal(curve.get_xdata(), section["roc_curve"]["fpr"])
    np.testing.assert_array_equal(curve.get_ydata(), section["roc_curve"]["tpr"])
    c = section["confusion"]
    point = lines[f"threshold {sample_report['settings']['threshold']}"]
    assert (point.get_xdata()[0], point.get_ydata()[0]) == (
        c["fp"] / (c["fp"] + c["tn"]),
        c["tp"] / (c["tp"] + c["fn"]),
    )


def test_the_confusion_figure_shows_the_counts(sample_report: dict) -> None:
    c = sample_report["variants"]["Variant1"]["confusion"]
    (axes,) = ef.confusion_figure(sample_report, "Variant1").axes
    counts = sorted(int(t.get_text().split("\n")[0]) for t in axes.texts)
    assert counts == sorted([c["tn"], c["fp"], c["fn"], c["tp"]])


def test_variants_without_points_or_rows_get_fewer_images(tmp_path: Path, sample_report: dict) -> None:
    report = json.loads(json.dumps(sample_report))
    del report["variants"]["Variant1"]["roc_curve"]  # e.g. the labels held one class
    del report["variants"]["Variant2"]["confusion"]  # it scored no row
    del report["variants"]["Variant2"]["roc_curve"]
    assert ef.draw_figures(report, tmp_path, dpi=30) == {"Variant1": {"confusion": "confusion-Variant1.png"}}


def test_not_a_report_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.json").write_text("[1, 2]")
    assert ef.main([str(tmp_path / "x.json")]) == 2
    assert "not an evaluation report" in capsys.readouterr().err
    assert not (tmp_path / "report.md").exists()


def test_the_committed_sample_links_images_that_exist() -> None:
    markdown = (SAMPLE / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(links) == 4 and all((SAMPLE / link).is_file() for link in links)
