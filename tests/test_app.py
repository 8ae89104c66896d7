"""app.py end to end, as the CDK CLI runs it: context in, templates (or a clear error) out."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import Stack
from aws_cdk import aws_s3 as s3
from moto.server import ThreadedMotoServer

import app as app_module
from tests.conftest import ROOT, read_config
from tests.synth import synth_templates


def run_app(config: Path, outdir: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run app.py the way `cdk synth -c config=...` does (context and outdir via environment)."""
    env = dict(
        os.environ,
        **extra_env,
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


def test_a_pinned_synth_refuses_references_to_another_partition_and_writes_no_template(tmp_path: Path):
    """As the CLI runs it in China with credentials: full.json names eu-west-1 (aws) resources."""
    outdir = tmp_path / "cdk.out"
    result = run_app(
        ROOT / "config" / "examples" / "full.json",
        outdir,
        CDK_DEFAULT_ACCOUNT="210987654321",
        CDK_DEFAULT_REGION="cn-north-1",
    )
    assert result.returncode == 1, result.stderr
    assert "kms_key_arn: is in partition aws, but the stacks deploy to cn-north-1 in partition aws-cn" in result.stderr
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


def run_cdk_synth(outdir: Path, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    """The pinned CDK CLI's `cdk synth` into ``outdir``, offline and quiet, with ``env``."""
    return subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--no-notices", "--quiet", *flags, "-o", str(outdir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


NEEDS_CLI = pytest.mark.skipif(
    shutil.which("npx") is None or not (ROOT / "node_modules").exists(), reason="CDK CLI not installed"
)


@NEEDS_CLI
def test_cdk_cli_synthesizes_the_default_app_offline(tmp_path: Path):
    """The README's main job: the pinned CLI synthesizes the default app with no AWS account."""
    env = dict(
        os.environ,
        CDK_DISABLE_CLI_TELEMETRY="true",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        AWS_ACCESS_KEY_ID="",
        AWS_SECRET_ACCESS_KEY="",
        AWS_EC2_METADATA_DISABLED="true",  # no credential lookup beyond the machine
    )
    result = run_cdk_synth(tmp_path / "out", env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "out" / "AbTest-churn-ab.template.json").exists()


def test_a_synth_the_gate_refuses_leaves_no_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """CDK writes the assembly before the validation plugins run; app.py must take the templates back."""
    original_build_app = app_module.build_app

    def build_with_a_careless_stack(config, cdk_app=None, *, env=None):
        built = original_build_app(config, cdk_app, env=env)
        s3.Bucket(Stack(built, "Careless"), "Bucket")  # unencrypted, unlogged: the gate must refuse it
        return built

    outdir = tmp_path / "cdk.out"
    outdir.mkdir()
    stale = outdir / "AbTest-upsell-ab.template.json"  # left by an earlier synth of another config
    stale.write_text("{}")
    monkeypatch.setattr(app_module, "build_app", build_with_a_careless_stack)

    assert app_module.main(app_module.App(outdir=str(outdir))) == 1

    assert (outdir / "validation-report.json").exists(), "the report the error points to stays"
    assert not list(outdir.glob("*.template.json"))
    assert not (outdir / "manifest.json").exists()


def synth_with_fake_credentials(out: Path, *cli_args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`cdk synth` as a user with credentials runs it: STS is moto's server on 127.0.0.1 (fake credentials;
    moto answers with its account 123456789012), so nothing leaves the machine. ``extra_env`` is set too."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        _, port = server.get_host_and_port()
        env = dict(
            os.environ,
            **extra_env,
            AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
            AWS_SECRET_ACCESS_KEY="fake-secret",  # a placeholder: the emulator checks no signature
            AWS_REGION="eu-west-1",
            AWS_DEFAULT_REGION="eu-west-1",
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
            AWS_EC2_METADATA_DISABLED="true",
            CDK_DISABLE_CLI_TELEMETRY="true",
            JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        )
        return run_cdk_synth(out, env, *cli_args)
    finally:
        server.stop()


@NEEDS_CLI
def test_cdk_cli_with_credentials_pins_the_stacks_and_synthesizes(tmp_path: Path):
    """As a user with credentials runs it: the CLI asks STS for the account, sets CDK_DEFAULT_ACCOUNT and
    CDK_DEFAULT_REGION, and app.py pins the stacks, so every cdk-nag acknowledgement must match concrete ARNs.
    """
    out = tmp_path / "out"
    result = synth_with_fake_credentials(out, "-v")
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    # The CLI logs to stderr, but to stdout when CI=true (its documented `--ci` behaviour), so read both.
    assert 'Setting "CDK_DEFAULT_ACCOUNT" environment variable to 123456789012' in result.stdout + result.stderr
    template = (out / "AbTest-churn-ab.template.json").read_text()
    assert "arn:aws:states:eu-west-1:123456789012:" in template, "the stack was not pinned to the CLI's account"


@NEEDS_CLI
def test_the_readmes_export_line_with_credentials_yields_to_the_account_the_cli_finds(tmp_path: Path):
    """README "Deploying to a real account" as written: ``export CDK_DEFAULT_ACCOUNT=111122223333
    CDK_DEFAULT_REGION=us-east-1``, then a CLI command with credentials (moto's STS on 127.0.0.1, account
    123456789012). The CLI replaces the exported variables with the account and region it resolves, so
    the stacks are pinned where the credentials point, never to the README's placeholder account (a
    deploy there would fail with "credentials are for another account"). The README says so."""
    out = tmp_path / "out"
    result = synth_with_fake_credentials(out, CDK_DEFAULT_ACCOUNT="111122223333", CDK_DEFAULT_REGION="us-east-1")
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    template = (out / "AbTest-churn-ab.template.json").read_text()
    assert "111122223333" not in template
    assert "arn:aws:states:eu-west-1:123456789012:" in template, "pinned where the credentials point"


def test_app_py_without_the_cli_applies_cdk_json_s_feature_flags(tmp_path: Path):
    """`python app.py` (benchmarks, debugging) gets cdk.json's context as defaults, so its template is
    the one `cdk synth` writes (the CLI adds only path and asset metadata and CDKMetadata)."""
    outdir = tmp_path / "cdk.out"
    result = run_app(ROOT / "config" / "default.json", outdir)
    assert result.returncode == 0, result.stderr
    direct = json.loads((outdir / "AbTest-churn-ab.template.json").read_text())
    with_flags = synth_templates(read_config())["AbTest-churn-ab"].to_json()

    def comparable(template: dict) -> str:
        resources = {k: {f: v for f, v in r.items() if f != "Metadata"} for k, r in template["Resources"].items()}
        return re.sub(r"[0-9a-f]{64}", "<hash>", json.dumps({**template, "Resources": resources}, sort_keys=True))

    assert comparable(direct) == comparable(with_flags)
