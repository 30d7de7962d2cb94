"""The messaging part of a holder's export: every conversation (trashed ones too), each message as an RFC 5322
`.eml` file any mail client opens, with its verified attachments (a pending or rejected one has no bytes to give).
One paginated Query of the holder's partition reads them all, then one GetObject per attachment."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

from functions.messaging.models import AttachmentState, Conversation, Message, mailbox_address
from functions.messaging.ports import AttachmentReader


class MailboxContents(Protocol):
    def everything(self, holder_ins: str) -> Iterable[tuple[Conversation, list[Message]]]:
        """Every conversation of the holder with its messages, oldest first."""
        ...


def as_eml(holder_ins: str, conversation: Conversation, message: Message,
           attachments: AttachmentReader | None = None) -> bytes:
    mail = EmailMessage()
    own = mailbox_address(holder_ins)
    if message.direction == "IN" and message.sender is not None:
        mail["From"] = f"{message.sender.name} <{message.sender.address or message.sender.id}>"
        mail["To"] = own
    else:
        mail["From"] = own
        mail["To"] = ", ".join(c.name for c in message.to) or "destinataire"
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.at)
    mail["Message-ID"] = message.rfc822_id or f"<{message.message_id}@{own.split('@')[1]}>"
    mail["X-MES-Conversation"] = conversation.conversation_id
    mail.set_content("Message au format HTML.")
    mail.add_alternative(message.content, subtype="html")
    for attachment in message.attachments:
        if attachments is None or attachment.state is not AttachmentState.AVAILABLE:
            continue
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(attachments.read(holder_ins, message.message_id, attachment.attachment_id),
                            maintype=maintype, subtype=subtype or "octet-stream", filename=attachment.name)
    return bytes(mail)


class MessagingExport:
    def __init__(self, store: MailboxContents, attachments: AttachmentReader) -> None:
        self._store = store
        self._attachments = attachments

    def files(self, ins: str, at: datetime) -> Iterator[tuple[str, bytes]]:
        for conversation, messages in self._store.everything(ins):
            folder = "corbeille" if conversation.trashed else "conversations"
            for message in messages:
                day = message.at.strftime("%Y-%m-%d_%H%M%S")
                yield f"{folder}/{conversation.conversation_id}/{day}_{message.message_id}.eml", \
                    as_eml(ins, conversation, message, self._attachments)
