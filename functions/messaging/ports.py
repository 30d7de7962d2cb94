"""What messaging needs of its table (storage-free: no pynamodb, botocore or boto3 here; `storage.py` fits it).
Writes that land with the patient's traces are `Staged` for the journal's transaction."""

from __future__ import annotations

from typing import Protocol

from functions.messaging.models import Conversation, Draft, Message, Pharmacy
from functions.messaging.outmail import Outgoing
from functions.shared.staging import Staged


class OutboundMail(Protocol):
    """Mail leaving the patient's mailbox towards MSSanté (replies, read receipts, bounces): SES raw send in a
    stage, a bucket the local `outbox` command lists. `once_key` makes a redelivered send a no-op."""

    def send(self, raw: bytes, sender: str, recipients: list[str], once_key: str) -> None: ...


class Outbox(Protocol):
    """Mail committed with its message (staged in the same transaction) until OutboundMail took it: the send
    happens after the commit, and what failed to leave stays here for the retry pass (at least once; the
    once-only key makes a repeated hand-over send nothing twice)."""

    def staged_mail(self, holder_ins: str, mail: Outgoing) -> Staged:
        """The mail, for the journal's transaction (label `outbox`)."""
        ...

    def delivered(self, once_key: str) -> None:
        """OutboundMail took it: out of the outbox."""
        ...

    def pending(self, limit: int) -> list[Outgoing]:
        """What is still waiting, at most `limit` (one Query per outbox shard)."""
        ...


class SentMarks(Protocol):
    """The once-only marks of sends that have no idempotency of their own (SES): claimed before the send."""

    def claim(self, holder_ins: str, once_key: str) -> bool:
        """True when this caller is the first to send `once_key` (a conditional put)."""
        ...

    def release(self, holder_ins: str, once_key: str) -> None:
        """The send was refused (nothing left): the next attempt may send."""
        ...


class PharmacyBook(Protocol):
    """The pharmacies a holder added to write to them (messaging's table)."""

    def pharmacies(self, holder_ins: str) -> list[Pharmacy]: ...

    def staged_pharmacy(self, holder_ins: str, pharmacy: Pharmacy) -> Staged:
        """Added or replaced (label `pharmacy`)."""
        ...

    def staged_pharmacy_removal(self, holder_ins: str, finess: str) -> Staged:
        """Removed; the condition fails (label `pharmacy`) when it is not there."""
        ...


class AttachmentBlobs(Protocol):
    """The attachments bucket: one object per attachment, SSE-KMS with an encryption context bound to the
    patient and the message."""

    def put(self, holder_ins: str, message_id: str, attachment_id: str, content_type: str, data: bytes) -> None: ...


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
