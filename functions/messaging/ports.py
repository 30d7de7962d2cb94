"""What messaging needs of its table (storage-free: no pynamodb, botocore or boto3 here; `storage.py` fits it).
Writes that land with the patient's traces are `Staged` for the journal's transaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from functions.identity.principal import Citizen
from functions.messaging.mime import Envelope
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


class AttachmentObjects(Protocol):
    """What the MIME path needs of the attachments bucket: put a verified attachment, take it back when its
    mail did not land (no object left behind)."""

    def put(self, holder_ins: str, message_id: str, attachment_id: str, content_type: str, data: bytes) -> None: ...

    def delete(self, holder_ins: str, message_id: str, attachment_id: str) -> None: ...


class AttachmentReader(Protocol):
    """An attachment's bytes as the patient received them (opened when sealed): the export's `.eml` files."""

    def read(self, holder_ins: str, message_id: str, attachment_id: str) -> bytes: ...


class AttachmentBlobs(AttachmentObjects, AttachmentReader, Protocol):
    """The attachments bucket: one object per attachment, SSE-KMS with an encryption context bound to the
    patient and the message."""

    def promote(self, quarantine_key: str, etag: str, holder_ins: str, message_id: str, attachment_id: str,
                content_type: str) -> None:
        """Copy exactly the verified version of an API upload (If-Match `etag`) from quarantine."""
        ...

    def presign_download(self, holder_ins: str, message_id: str, attachment_id: str, content_type: str,
                         ttl_seconds: int) -> str: ...

    def location(self, holder_ins: str, message_id: str, attachment_id: str) -> tuple[str, str]:
        """(bucket, key) of a stored attachment, for a server-side copy into the record."""
        ...


class UploadForm(Protocol):
    """A presigned POST: where and with which fields the sender's software uploads the bytes."""

    @property
    def url(self) -> str: ...
    @property
    def fields(self) -> dict[str, str]: ...


class QuarantineTickets(Protocol):
    """The records' presigned POST into quarantine (records' blob store fits it): attachments are uploaded and
    verified like documents, under their own key prefix."""

    def presign_upload(self, key: str, patient_ins: str, uploader: str, content_type: str, size: int,
                       now: datetime, expires_at: datetime) -> UploadForm: ...


class FiledDocument(Protocol):
    @property
    def document_id(self) -> str: ...
    @property
    def type_code(self) -> str: ...


class RecordFile(Protocol):
    """A document of the holder's record, as a file to attach: its title, type and size, its bytes on demand."""

    @property
    def document_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    def read(self) -> bytes: ...


class RecordFiling(Protocol):
    """What messaging asks of the record (records' `HolderFiling` fits it): whether the holder may add such a
    file, and adding it as their own document from the stored attachment (a server-side copy, traced); the
    other way, a document of the record the holder may see, to attach to a message they send."""

    def accepts(self, content_type: str, size: int) -> bool: ...

    def holder_file(self, space: str, document_id: str) -> RecordFile | None:
        """An available document of `space` its holder sees (None for anything else, a malformed id included)."""
        ...

    def file(self, who: Citizen, space: str, bucket: str, key: str, content_type: str, size: int, sha256: str,
             title: str, type_code: str, service_date: date, idempotency_key: str | None,
             reason: str) -> FiledDocument: ...


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

    def staged_message_update(self, message: Message, previous: Message, holder_ins: str) -> Staged:
        """A message's new state (its attachments' verdicts), if it is still exactly `previous`; label
        `message`."""
        ...

    def save_draft(self, conversation: Conversation, previous: Conversation, draft: Draft) -> None:
        """Draft and `has_draft` in one transaction; Conflict when the conversation moved."""
        ...

    def draft(self, holder_ins: str, conversation_id: str) -> Draft | None: ...

    def delete_draft(self, conversation: Conversation, previous: Conversation) -> None: ...

    # last: a method named `list` shadows the builtin in the annotations after it
    def list(self, holder_ins: str, after: str | None, limit: int) -> tuple[list[Conversation], str | None]:
        """The holder's conversations not in the trash, newest first, in ONE Query (sparse index)."""
        ...
