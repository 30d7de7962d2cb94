"""cdk-nag wiring: the AwsSolutions and HIPAA Security packs, and the one helper that records an acknowledged
(suppressed) finding. Every acknowledgment carries its reason; README lists them."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks
from constructs import IConstruct

from infra import constants as c


def apply_packs(app: cdk.App) -> None:
    """Findings fail synth (CDK policy validation); acknowledged ones are listed in the validation report."""
    # The acknowledgments are also written into each resource's Metadata (cdk_nag.rules_to_suppress): an audit
    # trail in the template itself, and how tests/infra carries them over to the SAM-transformed template.
    options = {"verbose": True, "write_suppressions_to_cloud_formation": True}
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, **options), HIPAASecurityChecks(app, **options))


def acknowledge(scope: IConstruct, reason: str, *rules: str) -> None:
    """Suppresses `rules` (e.g. "AwsSolutions-IAM5[Resource::*]") on `scope` and everything under it."""
    if not reason.strip():
        raise ValueError("a cdk-nag acknowledgment needs a written reason")
    cdk.Validations.of(scope).acknowledge(*(cdk.Acknowledgment(id=rule, reason=reason) for rule in rules))


# Findings on resources that only exist after the SAM transform (Chalice's functions and REST API stage): cdk-nag
# does not see AWS::Serverless::* resources, so tests/infra runs it again over the transformed template, with these
# acknowledgments (logical ids as SAM generates them).
_RUNTIME_AND_NETWORK = [
    ("AwsSolutions-L1", "The runtime is pinned to Python 3.11, the version the app, its pinned wheels (layer) and "
     "its type checks target; moving to a newer runtime is a separate, tested change."),
    ("HIPAA.Security-LambdaInsideVPC", "The functions reach only AWS APIs (IAM-authorized, TLS) and the identity "
     "providers' public JWKS endpoints; no VPC-only resource exists. A VPC would add NAT and interface endpoints "
     "without reducing exposure. Revisit if a private backend is added."),
]
# Synchronously invoked functions; the scheduled one (asynchronous) has a real dead-letter queue instead.
_FUNCTION_REASONS = [*_RUNTIME_AND_NETWORK, (
    "HIPAA.Security-LambdaDLQ", "No asynchronous invocation: API Gateway and the authorizer call synchronously and "
    "return errors to the caller; the SQS consumers' failures go to their queue's dead-letter queue.")]
_STAGE_REASONS = [
    ("HIPAA.Security-APIGWCacheEnabledAndEncrypted", "Caching is off on purpose: responses are per-patient health "
     "data and must never be served from a shared cache."),
    ("HIPAA.Security-APIGWSSLEnabled", "The backend is Lambda (AWS_PROXY integration), not an HTTP endpoint that "
     "could authenticate API Gateway with a client certificate."),
    ("AwsSolutions-APIG3", "No WAF yet: throttling (stage limits), the custom authorizer on every route but health, "
     "and reserved concurrency bound abuse. A WAFv2 web ACL (AWS managed rules + rate rule) is a follow-up."),
]
TRANSFORMED_ACKNOWLEDGMENTS: dict[str, list[tuple[str, str]]] = {
    **{function: _RUNTIME_AND_NETWORK if function in c.SCHEDULED_FUNCTIONS else _FUNCTION_REASONS
       for function in c.FUNCTION_TIMEOUTS},
    "RestAPIapiStage": _STAGE_REASONS,
    "RestAPI": [("AwsSolutions-APIG2", "Requests are validated in the app (pydantic models, a 400/422 JSON error "
                 "per field); an API Gateway model would duplicate them and drift.")],
}
