"""Acknowledge a cdk-nag finding on the construct it concerns, always with a reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, reason: str, *rule_ids: str) -> None:
    """Suppress ``rule_ids`` on ``construct`` (and its children) because of ``reason``."""
    if not reason.strip():
        raise ValueError("every acknowledged finding needs a reason")
    Validations.of(construct).acknowledge(*(Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids))
