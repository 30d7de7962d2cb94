"""cdk-nag wiring: the AwsSolutions and HIPAA Security packs, and the one helper that records an acknowledged
(suppressed) finding. Every acknowledgment carries its reason; README lists them."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks
from constructs import IConstruct


def apply_packs(app: cdk.App) -> None:
    """Findings fail synth (CDK policy validation); acknowledged ones are listed in the validation report."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True),
                                        HIPAASecurityChecks(app, verbose=True))


def acknowledge(scope: IConstruct, reason: str, *rules: str) -> None:
    """Suppresses `rules` (e.g. "AwsSolutions-IAM5[Resource::*]") on `scope` and everything under it."""
    if not reason.strip():
        raise ValueError("a cdk-nag acknowledgment needs a written reason")
    cdk.Validations.of(scope).acknowledge(*(cdk.Acknowledgment(id=rule, reason=reason) for rule in rules))
