"""Baseline for the synth benchmark: the same resources, written as bare L1 (CfnResource).

Reads the templates our app synthesized (BENCH_TEMPLATES) and declares each of its parameters,
mappings, resources and outputs with the lowest-level CDK constructs: no L2 logic, no
validation plugins. Like a hand-written L1 stack, it imports the aws_cdk module of every
service it declares resources of (``AWS::SageMaker::Model`` → ``aws_cdk.aws_sagemaker``, where
``CfnModel`` lives); the resources themselves are declared as ``CfnResource`` with the exact
properties, so both sides emit the same template. What is left is the cost of the CDK itself
for those resources, so app / baseline measures what our constructs and the cdk-nag gate add.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os

from aws_cdk import App, CfnMapping, CfnOutput, CfnParameter, CfnResource, Stack, Token


def import_service_modules(template: dict) -> None:
    """Import what a hand-written L1 stack would: the module holding each resource's Cfn class."""
    for spec in template["Resources"].values():
        vendor, service, _ = [*spec["Type"].split("::"), "", ""][:3]
        if vendor == "AWS":
            module = f"aws_cdk.aws_{service.lower()}"
            if importlib.util.find_spec(module):
                importlib.import_module(module)


def replay(app: App, stack_name: str, template: dict) -> None:
    import_service_modules(template)
    stack = Stack(app, stack_name)
    for name, spec in template.get("Parameters", {}).items():
        if name != "BootstrapVersion":
            CfnParameter(stack, name, type=spec["Type"], default=spec.get("Default"), min_value=spec.get("MinValue"))
    for name, mapping in template.get("Mappings", {}).items():
        CfnMapping(stack, name, mapping=mapping)
    resources = {}
    for logical_id, spec in template["Resources"].items():
        if spec["Type"] == "AWS::CDK::Metadata":
            continue
        resource = CfnResource(stack, logical_id, type=spec["Type"], properties=spec.get("Properties"))
        resource.override_logical_id(logical_id)
        resources[logical_id] = (resource, spec.get("DependsOn", []))
    for resource, depends_on in resources.values():
        for dependency in [depends_on] if isinstance(depends_on, str) else depends_on:
            if dependency in resources:
                resource.add_resource_dependency(resources[dependency][0])
    for name, output in template.get("Outputs", {}).items():
        CfnOutput(stack, name, value=Token.as_string(output["Value"]))


def main() -> None:
    """BENCH_TEMPLATES: template paths separated by os.pathsep; one stack each."""
    app = App()
    for index, path in enumerate(os.environ["BENCH_TEMPLATES"].split(os.pathsep)):
        with open(path) as file:
            replay(app, f"L1Replay{index}", json.load(file))
    app.synth()


if __name__ == "__main__":
    main()
