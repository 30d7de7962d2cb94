"""The e-mail half of notification delivery, below the capabilities that notify (agenda today; messaging, accounts
and the catalogue tomorrow): claim before send, then bulk send, one e-mail per person for the reminders claimed
together (the day's digest). A crash between the claim and SES accepting the e-mail loses that e-mail: SES has no
idempotency key, so a resend could not be told from a duplicate."""

from __future__ import annotations

from dataclasses import dataclass

from functions.notifications.models import Email, Notification
from functions.notifications.ports import EmailClaims, EmailReport, Mailer
from functions.shared.observability import EMAILS_FAILED, EMAILS_SENT, count


@dataclass(frozen=True)
class ClaimThenSend:
    """`functions.notifications.ports.EmailDelivery` over any claims store and mailer."""

    claims: EmailClaims
    mailer: Mailer

    def send_once(self, mail: list[tuple[Notification, str]]) -> EmailReport:
        if not mail:
            return EmailReport()
        address_of = {(n.recipient_ins, n.notification_id): address for n, address in mail}
        claimed = self.claims.claim_emails([n for n, _ in mail])
        by_person: dict[str, list[Notification]] = {}
        for n in claimed:
            by_person.setdefault(n.recipient_ins, []).append(n)
        emails = [Email.digest(address_of[(own[0].recipient_ins, own[0].notification_id)], own)
                  for own in by_person.values()]
        if not emails:
            return EmailReport()
        try:
            refused = self.mailer.send(emails)
        except Exception:
            count(EMAILS_FAILED, len(emails))  # claimed, so lost: the batch's retry will not send them again
            raise
        count(EMAILS_SENT, len(emails) - refused)
        count(EMAILS_FAILED, refused)
        return EmailReport(sent=len(emails) - refused, refused=refused, reminders=len(claimed))
