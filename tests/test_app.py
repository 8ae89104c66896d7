"""app.py end to end, as the CDK CLI runs it: context in, templates (or a clear error) out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, read_config


def run_app(config: Path, outdir: Path) -> subprocess.CompletedProcess[str]:
    """Run app.py the way `cdk synth -c config=...` does (context and outdir via environment)."""
    env = dict(
        os.environ,
        CDK_CONTEXT_JSON=json.dumps({"config": str(config)}),
        CDK_OUTDIR=str(outdir),
        CDK_DISABLE_CLI_TELEMETRY="true",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_bad_config_fails_with_a_located_message_and_writes_no_template(tmp_path: Path):
    data = read_config()
    data["endpoints"][0]["variants"][1]["initial_weight"] = -3
    config = tmp_path / "bad.json"
    config.write_text(json.dumps(data))
    outdir = tmp_path / "cdk.out"

    result = run_app(config, outdir)

    assert result.returncode == 1
    assert (
        f'{config}: endpoint "churn-ab" > variant "Variant2" > initial_weight: must be >= 0 (got -3)' in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not list(outdir.glob("*.template.json")) if outdir.exists() else True


def test_one_template_per_configured_endpoint(tmp_path: Path):
    outdir = tmp_path / "cdk.out"
    result = run_app(ROOT / "config" / "examples" / "two-endpoints.json", outdir)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in outdir.glob("*.template.json")) == [
        "AbTest-churn-ab.template.json",
        "AbTest-upsell-ab.template.json",
    ]


@pytest.mark.skipif(shutil.which("npx") is None or not (ROOT / "node_modules").exists(), reason="CDK CLI not installed")
def test_cdk_cli_synthesizes_the_default_app_offline(tmp_path: Path):
    """The README's main job: the pinned CLI synthesizes the default app with no AWS account."""
    env = dict(
        os.environ,
        CDK_DISABLE_CLI_TELEMETRY="true",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        AWS_ACCESS_KEY_ID="",
        AWS_SECRET_ACCESS_KEY="",
    )
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--no-notices", "--quiet", "-o", str(tmp_path / "out")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "out" / "AbTest-churn-ab.template.json").exists()
