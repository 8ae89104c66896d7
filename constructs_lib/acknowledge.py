"""Acknowledge a cdk-nag finding on the construct it concerns, always with a reason.

A finding id names the resource the way cdk-nag sees it in the *resolved* template: ``arn:<AWS::Partition>:…``
while the stack is environment-agnostic, ``arn:aws:states:us-east-1:111122223333:…`` once the CDK CLI pins
the account and region (it does whenever credentials exist). An id spelled by hand matches only one of
those, so ids that name a resource are always derived here, from the same value the policy uses.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, reason: str, *rule_ids: str) -> None:
    """Suppress ``rule_ids`` on ``construct`` (and its children) because of ``reason``."""
    if not reason.strip():
        raise ValueError("every acknowledged finding needs a reason")
    Validations.of(construct).acknowledge(*(Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids))


def nag_spelling(resolved: Any) -> str:
    """A resolved CloudFormation value flattened the way cdk-nag 3 flattens it in finding ids.

    Mirrors ``flattenCfnReference`` (cdk-nag ``src/utils/flatten-cfn-reference.ts``): ``Fn::Join`` is
    concatenated, ``Ref`` becomes ``<Name>``, ``Fn::GetAtt`` ``<Name.Attr>``, ``${…}`` in strings ``<…>``;
    anything else is its JSON text.
    """
    if isinstance(resolved, str):
        return resolved.replace("${", "<").replace("}", ">")
    if isinstance(resolved, dict) and len(resolved) == 1:
        ((function, argument),) = resolved.items()
        if function == "Fn::Join":
            delimiter, items = argument
            return str(delimiter).join(nag_spelling(item) for item in items)
        if function in ("Fn::Sub", "Fn::ImportValue"):
            return nag_spelling(argument)
        if function == "Fn::GetAtt":
            resource, attribute = argument
            return f"<{nag_spelling(resource)}.{nag_spelling(attribute)}>"
        if function == "Ref":
            return f"<{nag_spelling(argument)}>"
    return json.dumps(resolved, separators=(",", ":"))


def wildcard_resource_finding(scope: IConstruct, resource_arn: str) -> str:
    """The ``AwsSolutions-IAM5`` finding id for an Allow on ``resource_arn`` (a string that may hold tokens).

    Resolved in ``scope``'s stack, so the id is right whether or not the stack's environment is pinned,
    in every partition.
    """
    return f"AwsSolutions-IAM5[Resource::{nag_spelling(Stack.of(scope).resolve(resource_arn))}]"
