"""What messaging needs of its table (storage-free: no pynamodb, botocore or boto3 here; `storage.py` fits it).
Writes that land with the patient's traces are `Staged` for the journal's transaction."""

from __future__ import annotations

from typing import Protocol

from functions.messaging.mime import Envelope
from functions.messaging.models import Conversation, Draft, Message
from functions.shared.staging import Staged


class OutboundMail(Protocol):
    """Mail leaving the patient's mailbox towards MSSanté (replies, read receipts, bounces): SES raw send in a
    stage, a bucket the local `outbox` command lists. `once_key` makes a redelivered send a no-op."""

    def send(self, raw: bytes, sender: str, recipients: list[str], once_key: str) -> None: ...


class AttachmentBlobs(Protocol):
    """The attachments bucket: one object per attachment, SSE-KMS with an encryption context bound to the
    patient and the message."""

    def put(self, holder_ins: str, message_id: str, attachment_id: str, content_type: str, data: bytes) -> None: ...

    def delete(self, holder_ins: str, message_id: str, attachment_id: str) -> None:
        """One attachment's object (a message that did not land leaves no object behind)."""
        ...


class InboundMailObjects(Protocol):
    """The inbound-mail bucket: raw mails under `incoming/` with their SMTP envelope as object metadata."""

    def fetch(self, key: str, max_bytes: int) -> tuple[bytes, Envelope] | None:
        """At most `max_bytes` of the mail and its envelope; None when the object is gone (already handled)."""
        ...

    def processed(self, key: str) -> None:
        """The mail landed: its object is deleted (the messages and attachments hold what it carried)."""
        ...

    def rejected(self, key: str, reason: str) -> None:
        """The mail was refused: moved under `rejected/<reason>/`, kept 30 days by the bucket's lifecycle."""
        ...


class MessageStore(Protocol):
    def conversation(self, holder_ins: str, conversation_id: str) -> Conversation | None:
        """The conversation item alone (one GetItem)."""
        ...

    def thread(self, holder_ins: str, conversation_id: str) -> tuple[Conversation | None, list[Message],
                                                                      Draft | None]:
        """The conversation, its messages (oldest first) and its draft in ONE Query of its partition."""
        ...

    def staged_conversation(self, conversation: Conversation, previous: Conversation | None) -> Staged:
        """The conversation's new state (version + 1), if it is still `previous` (None: it must be new);
        label `conversation`."""
        ...

    def staged_message(self, message: Message, holder_ins: str) -> Staged:
        """A new message (label `message`, its id must be new)."""
        ...

    def staged_once(self, holder_ins: str, message_id: str) -> Staged:
        """The once-only marker of a received mail (label `once`): the transaction fails when that mail already
        landed in this mailbox."""
        ...

    def staged_draft_removal(self, holder_ins: str, conversation_id: str) -> Staged: ...

    def save_draft(self, conversation: Conversation, previous: Conversation, draft: Draft) -> None:
        """Draft and `has_draft` in one transaction; Conflict when the conversation moved."""
        ...

    def draft(self, holder_ins: str, conversation_id: str) -> Draft | None: ...

    def delete_draft(self, conversation: Conversation, previous: Conversation) -> None: ...

    # last: a method named `list` shadows the builtin in the annotations after it
    def list(self, holder_ins: str, after: str | None, limit: int) -> tuple[list[Conversation], str | None]:
        """The holder's conversations not in the trash, newest first, in ONE Query (sparse index)."""
        ...
