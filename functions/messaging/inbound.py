"""Real mail into the patients' mailboxes: one raw MIME message (functions/messaging/mime.py) becomes, for each
recipient mailbox, the same conversation model as the API path (`service.arrive`), in one journal transaction per
mailbox (message + conversation + once-only marker + NEW_MESSAGE notification + `message.received` trace), so
the DynamoDB calls of a mail do not grow with its attachments. Attachments are stored first (one object each, the
patient and message in the encryption context); a mail that does not land deletes them.

The once-only key is the mail's own Message-ID: the message id is derived from it and the mailbox, and the marker
`R#<message id>` must be new, so a redelivered S3 event fails the transaction and counts a duplicate.

Refusals are never stored as messages: each is counted (`InboundMailRefused`, dimension `reason`) and bounced to
the envelope sender with a DSN-like text/plain mail through the OutboundMail port, except where the sender is not
in the trust list (no backscatter to forged addresses: counted only)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from functions.identity.ins import parse_ins
from functions.journal.models import Actor
from functions.journal.ports import Refused
from functions.messaging.mime import (
    REFUSAL_TEXT,
    ContentCheck,
    Envelope,
    MailAttachment,
    MailLimits,
    MailRefused,
    ParsedMail,
    Refusal,
    TrustList,
    bounce_address,
    parse_mail,
)
from functions.messaging.models import MAILBOX_DOMAIN, Attachment, Contact, Conversation, Message, ends_exchange
from functions.messaging.ports import AttachmentObjects, OutboundMail
from functions.messaging.service import MessagingDeps, arrive, arrived
from functions.shared.errors import Conflict, InvalidRequest
from functions.shared.observability import INBOUND_MAIL, INBOUND_MAIL_REFUSED, count

MAILER_DAEMON = f"MAILER-DAEMON@{MAILBOX_DOMAIN}"


@dataclass(frozen=True)
class InboundDeps:
    messaging: MessagingDeps
    blobs: AttachmentObjects
    outbound: OutboundMail
    trust: TrustList
    limits: MailLimits
    content_matches: ContentCheck


@dataclass
class MailReport:
    """What became of one mail: messages landed, mailboxes where it had already landed, refusals (the whole
    mail's, or one per refused recipient)."""

    delivered: int = 0
    duplicates: int = 0
    refused: list[Refusal] = field(default_factory=list)
    bounced: bool = False


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def message_id_for(ins: str, sender: str, once_key: str) -> str:
    """The message's id in one mailbox, from the mail's Message-ID and its sender: the same mail always lands as
    the same message (and the same attachment keys), another mailbox gets another id, and a sender reusing
    another's Message-ID cannot make that other's mail a "duplicate"."""
    return f"msg_{_digest(ins, sender, once_key)}"


def receive_mail(deps: InboundDeps, raw: bytes, envelope: Envelope) -> MailReport:
    """One mail: message-wide checks, then each recipient's mailbox. A transient conflict (the conversation moved
    meanwhile) raises, so the queue redelivers; the mailboxes already served count as duplicates then."""
    report = MailReport()
    try:
        mail = parse_mail(raw, envelope, deps.trust, deps.limits, deps.content_matches)
    except MailRefused as refused:
        report.refused.append(refused.reason)
        _refuse(deps, raw, envelope, report, [(None, refused.reason)], once_key=hashlib.sha256(raw).hexdigest()[:24])
        return report
    refusals: list[tuple[str | None, Refusal]] = []
    for local in mail.recipients:
        reason = _deliver(deps, mail, local, report)
        if reason is not None:
            report.refused.append(reason)
            refusals.append((f"{local}@{MAILBOX_DOMAIN}", reason))
    if refusals:
        _refuse(deps, raw, envelope, report, refusals, once_key=_digest(mail.once_key))
    return report


def _deliver(deps: InboundDeps, mail: ParsedMail, local: str, report: MailReport) -> Refusal | None:
    m = deps.messaging
    try:
        ins = parse_ins(local).value
    except InvalidRequest:
        return Refusal.UNKNOWN_MAILBOX
    space = m.spaces.contact(ins)  # status, e-mail and the switches' copy: the mail's only read of the space
    if space is None:
        return Refusal.UNKNOWN_MAILBOX
    if not space.is_open:
        return Refusal.MAILBOX_CLOSED
    message_id = message_id_for(ins, mail.sender, mail.once_key)
    attachments = _store(deps.blobs, ins, message_id, mail.attachments)
    sender = Contact(id=mail.sender, name=mail.sender_name, type_bal="PER", address=mail.reply_to or mail.sender)
    draft = Message(message_id=message_id, conversation_id="", direction="IN", sender=sender, at=m.clock.now(),
                    subject=mail.subject, content=mail.content,
                    ends_exchange=ends_exchange(mail.subject, mail.ends_exchange_header), attachments=attachments,
                    recipients=mail.recipients_shown, rfc822_id=mail.once_key, reply_to=mail.reply_to,
                    receipt_to=mail.receipt_to)
    actor = Actor(kind="professional", id=mail.sender, name=mail.sender_name)
    arrival = arrive(m, space, actor, _continued(m, ins, mail), draft, also=[m.store.staged_once(ins, message_id)])
    try:
        m.journal.record(arrival.entry)
    except Refused as exc:
        if "once" in exc.failed:
            report.duplicates += 1
            count(INBOUND_MAIL, outcome="duplicate")
            return None  # the objects are the first delivery's (same keys, same bytes)
        _discard(deps.blobs, ins, message_id, attachments)
        if "space" in exc.failed:
            return Refusal.MAILBOX_CLOSED
        raise Conflict("the conversation changed meanwhile: try again", code="conversation_changed") from exc
    except Exception:
        _discard(deps.blobs, ins, message_id, attachments)
        raise
    arrived(m, arrival)
    report.delivered += 1
    count(INBOUND_MAIL, outcome="delivered")
    return None


def _continued(m: MessagingDeps, ins: str, mail: ParsedMail) -> Conversation | None:
    """A reply to one of the holder's messages (its conversation id travels in our outbound Message-ID, found in
    In-Reply-To/References) continues that conversation when the sender wrote in it and it is not in the trash;
    anything else starts a new one."""
    if mail.conversation_ref is None:
        return None
    found = m.store.conversation(ins, mail.conversation_ref)
    if found is None or found.trashed or mail.sender not in {w.id for w in found.writers}:
        return None
    return found


def _store(blobs: AttachmentObjects, ins: str, message_id: str,
           attachments: tuple[MailAttachment, ...]) -> tuple[Attachment, ...]:
    stored = []
    for index, attachment in enumerate(attachments):
        stored.append(Attachment(attachment_id=f"att_{_digest(message_id, str(index))}", name=attachment.name,
                                 content_type=attachment.content_type, size=attachment.size,
                                 sha256=attachment.sha256))
        try:
            blobs.put(ins, message_id, stored[-1].attachment_id, attachment.content_type, attachment.data)
        except Exception:
            _discard(blobs, ins, message_id, tuple(stored))
            raise
    return tuple(stored)


def _discard(blobs: AttachmentObjects, ins: str, message_id: str, attachments: tuple[Attachment, ...]) -> None:
    for attachment in attachments:
        blobs.delete(ins, message_id, attachment.attachment_id)


def _refuse(deps: InboundDeps, raw: bytes, envelope: Envelope, report: MailReport,
            refusals: list[tuple[str | None, Refusal]], once_key: str) -> None:
    for _, reason in refusals:
        count(INBOUND_MAIL_REFUSED, reason=reason.value)
    to = bounce_address(raw, envelope)
    if to is None or any(r is Refusal.UNTRUSTED_SENDER for _, r in refusals) or not deps.trust.trusts_address(to):
        return  # nobody, or nobody we trust, to tell: a bounce to a forged address would be backscatter
    deps.outbound.send(bounce(to, refusals, deps.messaging.clock.now()), MAILER_DAEMON, [to],
                       once_key=f"bounce:{once_key}")
    report.bounced = True


def bounce(to: str, refusals: list[tuple[str | None, Refusal]], now: datetime) -> bytes:
    """A DSN-like "Message non distribué" (A.1): which recipients, why. Never the subject or the body."""
    too_large = any(r is Refusal.TOO_LARGE for _, r in refusals)
    message = EmailMessage(policy=SMTP)
    message["From"] = f"Mon espace santé <{MAILER_DAEMON}>"
    message["To"] = to
    message["Subject"] = "Undelivered Mail Returned to Sender" if too_large else "Message non distribué"
    message["Auto-Submitted"] = "auto-replied"
    message["Message-ID"] = make_msgid(domain=MAILBOX_DOMAIN)
    message["Date"] = format_datetime(now)
    lines = ["Votre message n'a pas pu être distribué.", ""]
    for recipient, reason in refusals:
        lines.append(f"{recipient or 'message'} : {REFUSAL_TEXT[reason]} ({reason.value})")
    message.set_content("\n".join(lines) + "\n", cte="quoted-printable")  # 7-bit safe through any relay
    return bytes(message)
