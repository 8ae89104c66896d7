"""CDK's own CloudFormation template rules (the "CloudFormation Validate" plugin), as errors, on every synth.

CDK registers this plugin by itself, but builds its validation engine (a WebAssembly module with the
resource schemas and CDK's default Rego rules) only when synth starts, after every construct exists.
Built then, it cost the default app about 2 s more CPU than built before the constructs (1.9–2.5 s,
measured interleaved at load 11–14; docs/benchmarks.md, "Cold synth"). Why it is slower late is
UNVERIFIED (V8 collecting a larger heap while the module is instantiated is the likely reason).
So the app builds the same plugin itself, with the same rules, before it declares any construct.

Registered explicitly, the plugin also runs under ``cdk synth --no-validation`` / ``CDK_VALIDATION=false``
(which only switch off the auto-registered one): like the cdk-nag gate, the rules run on every synth.
"""

from __future__ import annotations

import functools

from aws_cdk import App, CloudFormationValidatePlugin, Validations

# Makes the plugin's findings errors (CDK reports them as warnings otherwise), also when app.py runs
# without the CLI and so without cdk.json's context.
VALIDATE_TEMPLATES = "@aws-cdk/core:validateAgainstDefaultRules"


@functools.cache
def template_rules_plugin() -> CloudFormationValidatePlugin:
    """One plugin per process, shared by every App as CDK shares its own (tests synthesize many apps),
    with CDK's default rules (the default ``include_default_rules=True``)."""
    return CloudFormationValidatePlugin()


def add_template_rules(app: App) -> None:
    """CDK's CloudFormation rules on every stack of ``app``, failing synth on a finding."""
    app.node.set_context(VALIDATE_TEMPLATES, True)
    Validations.of(app).add_plugins(template_rules_plugin())
