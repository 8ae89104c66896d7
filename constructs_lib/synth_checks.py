"""Checks that can only run once the constructs exist, failing synth (no template) with a clear message.

``node.add_validation`` runs during synthesis, before anything is written, and a failure stops it
with every message: the same path a bad config takes, for facts the config loader cannot see
(the pinned region, the logical IDs CDK derives).
"""

from __future__ import annotations

from collections import defaultdict

import jsii
from aws_cdk import CfnElement, Stack, Token
from constructs import IConstruct, IValidation


@jsii.implements(IValidation)
class _Refusal:
    def __init__(self, message: str) -> None:
        self._message = message

    def validate(self) -> list[str]:
        return [self._message]


def refuse_synth(scope: IConstruct, message: str) -> None:
    """Fail the synth with ``message``, reported at ``scope``'s path."""
    scope.node.add_validation(_Refusal(message))


@jsii.implements(IValidation)
class _UniqueLogicalIds:
    """CloudFormation requires logical IDs unique across Parameters, Resources, Outputs, Conditions and
    Mappings ("Template anatomy"); CDK checks uniqueness only for IDs it derives itself, not for
    ``override_logical_id`` (the weight parameters use it to keep their documented names)."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack

    def validate(self) -> list[str]:
        owners: dict[str, list[str]] = defaultdict(list)
        for construct in self._stack.node.find_all():
            if isinstance(construct, CfnElement) and Stack.of(construct) is self._stack:
                owners[str(self._stack.resolve(construct.logical_id))].append(construct.node.path)
        return [
            f"logical ID {logical_id} is used by {' and '.join(paths)}: rename the variant"
            for logical_id, paths in sorted(owners.items())
            if len(paths) > 1
        ]


def require_unique_logical_ids(stack: Stack) -> None:
    stack.node.add_validation(_UniqueLogicalIds(stack))


def is_concrete(value: str) -> bool:
    """A value synth knows (a pinned region), not a token resolved at deploy time."""
    return not Token.is_unresolved(value)
