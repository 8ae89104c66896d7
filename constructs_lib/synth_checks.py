"""Checks that can only run once the constructs exist, failing synth (no template) with a clear message.

``node.add_validation`` runs during synthesis, before anything is written, and a failure stops it
with every message: the same path a bad config takes, for facts the config loader cannot see (the
pinned region). Template-level rules (a logical ID used twice, say) are CDK's own CloudFormation
validation, made errors by ``@aws-cdk/core:validateAgainstDefaultRules`` in cdk.json.
"""

from __future__ import annotations

import jsii
from aws_cdk import Token
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


def is_concrete(value: str) -> bool:
    """A value synth knows (a pinned region), not a token resolved at deploy time."""
    return not Token.is_unresolved(value)
