#!/usr/bin/env python3
"""The CDK app: reads the config, adds the security gate, builds one stack per endpoint.

This is the only place that reads CDK context or the environment. The config is chosen with
``-c config=<path>`` (default ``config/default.json``) and fully validated before any stack
exists, so a bad config writes no template.
"""

from __future__ import annotations

import os
import sys

from aws_cdk import App, Environment

from constructs_lib.config import AppConfig, ConfigError, load_config
from stacks.ab_test_stack import AbTestStack
from stacks.compliance import add_compliance_checks

DEFAULT_CONFIG = "config/default.json"


def build_app(config: AppConfig, app: App | None = None) -> App:
    """The app for ``config``: the gate plus one :class:`AbTestStack` per endpoint."""
    app = app or App()
    add_compliance_checks(app)
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    env = Environment(account=account, region=region) if account and region else None
    for endpoint in config.endpoints:
        AbTestStack(
            app,
            endpoint.stack_name,
            spec=endpoint,
            env=env,
            description=f"A/B test of {len(endpoint.variants)} model variants on SageMaker endpoint {endpoint.name}",
        )
    return app


def main() -> int:
    app = App()
    path = app.node.try_get_context("config") or DEFAULT_CONFIG
    try:
        config = load_config(path)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    build_app(config, app).synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
