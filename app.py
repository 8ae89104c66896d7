#!/usr/bin/env python3
"""The CDK app: reads the config, adds the security gate, builds one stack per endpoint.

This is the only place that reads CDK context or the environment. The config is chosen with
``-c config=<path>`` (default ``config/default.json``) and fully validated before any stack
exists, so a bad config writes no template.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from aws_cdk import Annotations, App, Environment

from constructs_lib.config import AppConfig, ConfigError, load_config
from constructs_lib.config.partitions import check_pinned_references
from stacks.ab_test_stack import AbTestStack
from stacks.compliance import add_compliance_checks

DEFAULT_CONFIG = "config/default.json"
VALIDATE_TEMPLATES = "@aws-cdk/core:validateAgainstDefaultRules"


def build_app(config: AppConfig, app: App | None = None, *, env: Environment | None = None) -> App:
    """The app for ``config``: the gate plus one :class:`AbTestStack` per endpoint.

    ``env`` pins every stack's account and region (default: environment-agnostic stacks).
    """
    app = app or App()
    # CDK's own CloudFormation rules (a logical ID used twice, say) fail synth instead of warning, also
    # when app.py runs without the CLI and so without cdk.json's context.
    app.node.set_context(VALIDATE_TEMPLATES, True)
    add_compliance_checks(app)
    for endpoint in config.endpoints:
        stack = AbTestStack(
            app,
            endpoint.stack_name,
            spec=endpoint,
            env=env,
            description=f"A/B test of {len(endpoint.variants)} model variants on SageMaker endpoint {endpoint.name}",
        )
        # The loader's warnings name the file, which only the app knows; they go on the endpoint's stack.
        for warning in config.warnings:
            if warning.endpoint == endpoint.name:
                Annotations.of(stack).add_warning_v2(warning.warning_id, warning.message)
    return app


def environment_from_cli() -> Environment | None:
    """The account and region the CDK CLI resolved, as it passes them to the app.

    The CLI sets ``CDK_DEFAULT_ACCOUNT`` whenever it finds credentials (and ``CDK_DEFAULT_REGION``
    always): real deploys synthesize pinned stacks with concrete ARNs, so the app must work both ways.
    """
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    return Environment(account=account, region=region) if account and region else None


# What a synth writes per stack; removed again when the security gate fails it.
STACK_ARTIFACT_SUFFIXES = (".template.json", ".assets.json", ".metadata.json")


def remove_stack_artifacts(app: App) -> None:
    """Delete every template (and asset manifest) in the output folder after validation failed.

    CDK writes the cloud assembly first and runs the validation plugins on it, so a rejected synth
    would otherwise leave deployable-looking templates (and a manifest listing them) in the output
    folder, beside any left there by an earlier synth of another config. Asset folders stay (they
    are inert without a template that names them), and so does the validation report: the error
    message points to it.
    """
    outdir = Path(app.outdir)
    for suffix in STACK_ARTIFACT_SUFFIXES:
        for artifact in outdir.glob(f"*{suffix}"):
            artifact.unlink()
    for leftover in ("manifest.json", "tree.json"):
        (outdir / leftover).unlink(missing_ok=True)


def cdk_json_context() -> dict[str, object]:
    """cdk.json's context (feature flags, the default config), which the CDK CLI passes to the app.

    Given to ``App`` as defaults, so ``python app.py`` without the CLI synthesizes the same template
    as ``cdk synth``; what the CLI passes (cdk.json, ``-c``) takes precedence over these.
    """
    return json.loads((Path(__file__).resolve().parent / "cdk.json").read_text()).get("context", {})


def main(app: App | None = None) -> int:
    """Load the config named in the context, build and synthesize; 1 with a message on stderr on any refusal."""
    app = app or App(context=cdk_json_context())
    path = app.node.try_get_context("config") or DEFAULT_CONFIG
    env = environment_from_cli()
    try:
        config = load_config(path)
        if env is not None and env.region is not None:
            check_pinned_references(config, env.region)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    build_app(config, app, env=env)
    try:
        app.synth()
    except RuntimeError as err:  # jsii surfaces a failed validation (the gate, CDK's template rules) as a RuntimeError
        if "ValidationFailed" not in str(err):
            raise
        remove_stack_artifacts(app)
        print(f"error: synth refused, no template written: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
