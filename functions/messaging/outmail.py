"""Mail leaving the patient's mailbox, built as RFC 5322 / MIME with the standard library (pure: no I/O): the
patient's replies and new messages (threaded with In-Reply-To / References), and read receipts (RFC 8098 MDN:
multipart/report, report-type=disposition-notification). Every part is quoted-printable, so the bytes are 7-bit
whatever the language, and the serialisation is deterministic for a given message: a retried send sends the
same bytes under the same once-only key. A message's attachments travel as references (`OutgoingFile`) until the
mail is handed over: `with_files` then adds their bytes, base64, under a boundary derived from the once-only key."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime

from functions.messaging.models import MAILBOX_DOMAIN, AttachmentState, Message, mailbox_address

_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>|</p>|</div>|</li>", re.IGNORECASE)
MDN_DISPOSITION = "manual-action/MDN-sent-manually; displayed"
REPORTING_UA = f"{MAILBOX_DOMAIN}; Mon espace sante"  # a header field: 7-bit ASCII


@dataclass(frozen=True)
class OutgoingFile:
    """An attachment of a mail, by reference: its bytes stay in the attachments bucket (an outbox item holds at
    most 400 KB) and are read when the mail is handed over."""

    holder_ins: str
    message_id: str
    attachment_id: str
    name: str
    content_type: str


@dataclass(frozen=True)
class Outgoing:
    """One mail to hand to OutboundMail: its bytes (without its attachments' bytes), envelope and once-only key;
    `queued_at`, when it was committed (the retry pass gives up on a mail refused for a day); `files`, the
    attachments `with_files` adds."""

    raw: bytes
    sender: str
    recipients: list[str]
    once_key: str
    queued_at: datetime | None = None
    files: tuple[OutgoingFile, ...] = ()
    held: Held | None = None


@dataclass(frozen=True)
class Held:
    """A patient's mail waiting for the verdicts on the files they uploaded: released with the verified ones when
    the last verdict lands, or by the outbox pass once `until` (the uploads' deadline) has passed."""

    holder_ins: str
    conversation_id: str
    message_id: str
    until: datetime


def with_files(mail: Outgoing, read: Callable[[OutgoingFile], bytes]) -> bytes:
    """The bytes OutboundMail sends: the mail itself, or with its attachments as base64 parts of a
    multipart/mixed whose boundary is derived from the once-only key (the same bytes on every retry)."""
    if not mail.files:
        return mail.raw
    composed = message_from_bytes(mail.raw, _class=EmailMessage, policy=policy.SMTP)
    assert isinstance(composed, EmailMessage)
    for file in mail.files:
        maintype, subtype = file.content_type.split("/", 1)
        composed.add_attachment(read(file), maintype=maintype, subtype=subtype, filename=file.name)
    composed.set_boundary("=_mes_" + hashlib.sha256(mail.once_key.encode()).hexdigest()[:32])
    return composed.as_bytes()


def message_id(message_id: str) -> str:
    """The RFC 5322 Message-ID of a message written from a patient's mailbox (our id is unique)."""
    return f"<{message_id}@{MAILBOX_DOMAIN}>"


def plain_text(content: str) -> str:
    """The text alternative of a sanitised HTML body: line breaks kept, tags dropped, entities decoded."""
    text = html.unescape(_TAG.sub("", _BREAK.sub("\n", content)))
    return "\n".join(line.rstrip() for line in text.splitlines()).strip() + "\n"


def patient_mail(holder_ins: str, message: Message, held_until: datetime | None = None) -> Outgoing:
    """A patient's message to professionals or a pharmacy: From the patient's mailbox, To the recipients'
    addresses (their Reply-To when they had one), text and HTML alternatives; `message.in_reply_to` and
    `message.references` thread it under the mail it answers."""
    recipients = [c.address for c in message.to if c.address]
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = mailbox_address(holder_ins)
    mail["To"] = ", ".join(recipients)
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.at)
    mail["Message-ID"] = message.rfc822_id or message_id(message.message_id)
    if message.in_reply_to:
        mail["In-Reply-To"] = message.in_reply_to
    if message.references:
        mail["References"] = " ".join(message.references)
    mail.set_content(plain_text(message.content), cte="quoted-printable")
    mail.add_alternative(f"<!DOCTYPE html><html><body>{message.content}</body></html>\n", subtype="html",
                         cte="quoted-printable")
    files = tuple(OutgoingFile(holder_ins, message.message_id, a.attachment_id, a.name, a.content_type)
                  for a in message.attachments if a.state is AttachmentState.AVAILABLE)
    held = Held(holder_ins, message.conversation_id, message.message_id, held_until) if held_until else None
    return Outgoing(mail.as_bytes(), mailbox_address(holder_ins), recipients, message.message_id, message.at,
                    files, held)


def read_receipt(holder_ins: str, original: Message, at: datetime) -> Outgoing:
    """The one MDN of a message that asked for it (`receipt_to`): "displayed", sent manually (the patient opened
    the conversation). Once-only key `mdn-<message id>`."""
    assert original.receipt_to is not None
    mailbox = mailbox_address(holder_ins)
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = mailbox
    mail["To"] = original.receipt_to
    mail["Subject"] = f"Accusé de lecture : {original.subject}"
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = message_id(f"mdn-{original.message_id}")
    if original.rfc822_id:
        mail["In-Reply-To"] = original.rfc822_id
        mail["References"] = original.rfc822_id
    mail.set_content("Le message que vous avez envoyé à ce patient a été affiché dans Mon espace santé.\n"
                     "Ce n'est pas une garantie qu'il a été lu ou compris.\n", cte="quoted-printable")
    mail.make_mixed()
    mail.set_type("multipart/report")
    mail.set_param("report-type", "disposition-notification")
    report = EmailMessage(policy=policy.SMTP)
    report["Content-Type"] = "message/disposition-notification"
    fields = [f"Reporting-UA: {REPORTING_UA}", f"Final-Recipient: rfc822; {mailbox}"]
    if original.rfc822_id:
        fields.append(f"Original-Message-ID: {original.rfc822_id}")
    fields.append(f"Disposition: {MDN_DISPOSITION}")
    report.set_payload("\r\n".join(fields) + "\r\n")
    mail.attach(report)
    return Outgoing(mail.as_bytes(), mailbox, [original.receipt_to], f"mdn-{original.message_id}", at)
