"""The security gate: cdk-nag rule packs that run on every synth."""

from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks


def add_compliance_checks(app: App) -> None:
    """AwsSolutions, HIPAA Security and NIST 800-53 R5, as CDK validation plugins (cdk-nag 3).

    Synth fails on any finding that is not acknowledged with a reason next to the construct
    it concerns (``Validations.of(construct).acknowledge(id=..., reason=...)``).
    """
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app), NIST80053R5Checks(app))
