"""CDK's own CloudFormation template rules (the built-in "CloudFormation Validate" plugin), as errors.

By default every App creates this plugin with CDK's default Rego rules, which are GameLift rules only
(``gamelift-fleet.rego`` in aws-cdk-lib 2.275: AWS::GameLift::Fleet, Alias and Build). This app never
declares a GameLift resource, yet compiling those rules into the validation engine costs about 0.8 s
of CPU on every synth (measured; see docs/benchmarks.md, "Cold synth"). So the app registers the plugin
itself without the default Rego rules: the engine's schema and template rules (property names and
types, enums, references, logical IDs used twice) run exactly as before.
tests/stacks/test_template_rules.py fails when a CDK upgrade ships a default rule this leaves out.

An explicitly registered plugin also runs under ``cdk synth --no-validation`` / ``CDK_VALIDATION=false``,
which only switch off the auto-registered one: like the cdk-nag gate, the rules run on every synth.
"""

from __future__ import annotations

import functools

from aws_cdk import App, CloudFormationValidatePlugin, Validations

# Makes the plugin's findings errors (CDK reports them as warnings otherwise), also when app.py runs
# without the CLI and so without cdk.json's context.
VALIDATE_TEMPLATES = "@aws-cdk/core:validateAgainstDefaultRules"


@functools.cache
def template_rules_plugin() -> CloudFormationValidatePlugin:
    """One plugin per process, shared by every App (as CDK shares its default one): building the
    engine is the expensive part, and tests synthesize many apps."""
    return CloudFormationValidatePlugin(include_default_rules=False)


def add_template_rules(app: App) -> None:
    """CDK's CloudFormation rules on every stack of ``app``, failing synth on a finding."""
    app.node.set_context(VALIDATE_TEMPLATES, True)
    Validations.of(app).add_plugins(template_rules_plugin())
