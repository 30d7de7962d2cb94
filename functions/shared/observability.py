"""The one Logger of the service. Capabilities log through it and never log identifiers or health data."""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

SERVICE = "mon-espace-sante"


class _OnFirstUse:
    """The Logger, built when first used: powertools imports botocore, and importing a service or a domain module
    must load no storage library (the layering rule; it also keeps cold imports light)."""

    _real: Any = None

    def __getattr__(self, name: str) -> Any:
        if _OnFirstUse._real is None:
            from aws_lambda_powertools import Logger

            _OnFirstUse._real = Logger(service=SERVICE)
        return getattr(_OnFirstUse._real, name)


logger = cast("Logger", _OnFirstUse())
METRICS_NAMESPACE = "MonEspaceSante"
# The business events counted with `count`, named once (infra/components/monitoring.py alarms on some of them).
# Dimensions: DocumentsRejected(reason: the RejectionReason), DocumentReads(reader: citizen|professional),
# AccessRefused(reason: not_found|consent_required|emergency_refused), EmergencyAccessGranted(purpose: ETREAT|BTG),
# DocumentsDeclared(author: patient|professional).
DOCUMENTS_DECLARED = "DocumentsDeclared"
DOCUMENTS_VERIFIED = "DocumentsVerified"
DOCUMENTS_REJECTED = "DocumentsRejected"
DOCUMENT_READS = "DocumentReads"
ACCESS_REFUSED = "AccessRefused"
EMERGENCY_GRANTS = "EmergencyAccessGranted"
REMINDERS_SENT = "RemindersSent"
EMAILS_SENT = "EmailsSent"
EMAILS_FAILED = "EmailsFailed"
QUARANTINE_DISCARDED = "QuarantineObjectsDiscarded"
ATTACHMENTS_VERIFIED = "AttachmentsVerified"  # a message attachment's upload held to its declaration
ATTACHMENTS_REJECTED = "AttachmentsRejected"  # dimension `reason`, the verifier's
OUTBOUND_MAIL_FAILED = "OutboundMailFailed"  # a patient's mail or receipt kept in the outbox for the retry pass
OUTBOUND_MAIL_ABANDONED = "OutboundMailAbandoned"  # still refused a day after its commit: out of the outbox
# Inbound mail (functions/messaging/inbound.py): InboundMail(outcome: delivered|duplicate), one per mailbox;
# InboundMailRefused(reason: a functions.messaging.mime.Refusal), one per refused mail or recipient.
INBOUND_MAIL = "InboundMail"
INBOUND_MAIL_REFUSED = "InboundMailRefused"
BUSINESS_EVENTS: tuple[str, ...]  # grows below as capabilities add theirs
BUSINESS_EVENTS = (DOCUMENTS_DECLARED, DOCUMENTS_VERIFIED, DOCUMENTS_REJECTED, DOCUMENT_READS, ACCESS_REFUSED,
                   EMERGENCY_GRANTS, REMINDERS_SENT, EMAILS_SENT, EMAILS_FAILED, QUARANTINE_DISCARDED,
                   OUTBOUND_MAIL_FAILED, OUTBOUND_MAIL_ABANDONED, INBOUND_MAIL, INBOUND_MAIL_REFUSED)
# opening by default (functions/accounts/opening.py)
SPACES_INFORMED = "SpacesInformed"
SPACES_CREATED = "SpacesCreated"
BUSINESS_EVENTS = (*BUSINESS_EVENTS, SPACES_INFORMED, SPACES_CREATED)


def correlate(correlation_id: str | None) -> str:
    """Tag every following log line of this invocation with one id (a fresh one when the caller gave none).

    Kept per thread/context, not on the shared Logger: the local gateway serves requests on threads, and a global
    key made parallel requests log each other's id."""
    value = correlation_id or str(uuid.uuid4())
    logger.thread_safe_append_keys(correlation_id=value)
    return value


def count(metric: str, value: int = 1, **dimensions: str) -> None:
    """Add to a CloudWatch counter (embedded metric format on stdout: no API call). Emitted at once rather than at the
    end of the invocation, so a security signal is not lost with a batch that fails later. One namespace for every
    business event (BUSINESS_EVENTS); a dimension is a small closed set of values (a reason, a kind of reader),
    never an identifier: each distinct value is a separate, billed metric and would be searchable by anyone who
    reads the dashboards."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    if value <= 0:
        return
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE)
    with single_metric(name=metric, unit=MetricUnit.Count, value=value, namespace=namespace,
                       default_dimensions={"service": logger.service}) as emitted:
        for name, dimension in dimensions.items():
            emitted.add_dimension(name=name, value=dimension)
