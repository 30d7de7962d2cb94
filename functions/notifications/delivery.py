"""The e-mail half of notification delivery, below the capabilities that notify (agenda today; messaging, accounts
and the catalogue tomorrow): claim before send, then bulk send. A crash between the claim and SES accepting the
e-mail loses that e-mail: SES has no idempotency key, so a resend could not be told from a duplicate."""

from __future__ import annotations

from dataclasses import dataclass

from functions.notifications.models import Email, Notification
from functions.notifications.ports import EmailClaims, EmailReport, Mailer


@dataclass(frozen=True)
class ClaimThenSend:
    """`functions.notifications.ports.EmailDelivery` over any claims store and mailer."""

    claims: EmailClaims
    mailer: Mailer

    def send_once(self, mail: list[tuple[Notification, Email]]) -> EmailReport:
        if not mail:
            return EmailReport()
        by_key = {(n.recipient_ins, n.notification_id): email for n, email in mail}
        claimed = self.claims.claim_emails([n for n, _ in mail])
        emails = [by_key[(n.recipient_ins, n.notification_id)] for n in claimed]
        if not emails:
            return EmailReport()
        refused = self.mailer.send(emails)
        return EmailReport(sent=len(emails) - refused, refused=refused)
