"""Request and response shapes of the messaging routes: the domain's commands as the bodies spell them (unknown
fields refused), responses built field by field from the domain."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from functions.messaging.models import (
    MAX_ATTACHMENT_NAME,
    Attachment,
    AttachmentDeclaration,
    Contact,
    Conversation,
    Draft,
    DraftChange,
    IncomingMessage,
    Message,
    NewConversation,
    Pharmacy,
    PharmacyFiness,
    PharmacyName,
    Reply,
    ReplyOption,
    SecureAddress,
    mailbox_address,
)

if TYPE_CHECKING:  # the routes import these models at cold start; the service loads on the first call
    from functions.messaging.ports import FiledDocument
    from functions.messaging.service import Sent

STRICT = ConfigDict(extra="forbid")


class AttachmentIn(AttachmentDeclaration):
    """An uploaded file only: a record document cannot be referenced (`document_id` is refused)."""

    model_config = STRICT


class MessageIn(IncomingMessage):
    """POST /v1/patients/{ins}/messages: `html` (sanitised) or `text`; `end_exchange` is `X-MSS-MES: FIN`;
    `attachments` declared like documents (name, content_type, size, sha256), uploaded to the presigned POSTs
    of the answer; `sender_address` the writer's MSSanté address (where the patient's answers go, unless
    `reply_to`); `request_receipt` asks for a read receipt at `receipt_to`, else at the sender's address."""

    model_config = STRICT

    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)  # type: ignore[assignment]
    request_receipt: StrictBool = False

    @model_validator(mode="after")
    def _receipt_address(self) -> MessageIn:
        if self.request_receipt and self.receipt_to is None:
            if self.sender_address is None:
                raise ValueError("request_receipt needs receipt_to or sender_address: where the receipt goes")
            self.receipt_to = self.sender_address
        return self


class NewConversationIn(NewConversation):
    """POST /v1/me/conversations: `to` is a contact's id (RPPS, FINESS) or secure address."""

    model_config = STRICT


class PharmacyIn(BaseModel):
    """POST /v1/me/contacts/pharmacies: its MSSanté address, its FINESS (9 characters) and its name."""

    model_config = STRICT

    finess: PharmacyFiness
    name: PharmacyName
    address: SecureAddress

    def to_domain(self) -> Pharmacy:
        return Pharmacy(finess=self.finess, name=self.name, address=self.address)


class PharmacyOut(BaseModel):
    finess: str
    name: str
    address: str
    added_at: datetime | None

    @classmethod
    def from_domain(cls, p: Pharmacy) -> PharmacyOut:
        return cls(finess=p.finess, name=p.name, address=p.address, added_at=p.added_at)


class PharmaciesOut(BaseModel):
    items: list[PharmacyOut]


class PharmacyRemovedOut(BaseModel):
    finess: str
    removed: bool = True


class ReplyIn(Reply):
    model_config = STRICT


class DraftIn(DraftChange):
    model_config = STRICT


class ContactOut(BaseModel):
    id: str
    name: str
    type_bal: str
    address: str | None = None  # where the patient's mail to them goes (None: in-app only)

    @classmethod
    def from_domain(cls, c: Contact) -> ContactOut:
        return cls(id=c.id, name=c.name, type_bal=c.type_bal, address=c.address)


class MailboxOut(BaseModel):
    address: str

    @classmethod
    def from_domain(cls, ins: str) -> MailboxOut:
        return cls(address=mailbox_address(ins))


class AttachmentOut(BaseModel):
    """`state`: PENDING (being verified), AVAILABLE or REJECTED (`rejection_reason`); `can_add_to_record`:
    the holder may save it into their record (verified, a type the record takes, 5 MB at most)."""

    attachment_id: str
    name: str
    content_type: str
    size: int
    state: str
    rejection_reason: str | None = None
    can_add_to_record: bool = False

    @classmethod
    def from_domain(cls, a: Attachment, addable: frozenset[str] = frozenset()) -> AttachmentOut:
        return cls(attachment_id=a.attachment_id, name=a.name, content_type=a.content_type, size=a.size,
                   state=a.state.value, rejection_reason=a.rejection_reason,
                   can_add_to_record=a.attachment_id in addable)


class MessageOut(BaseModel):
    message_id: str
    conversation_id: str
    direction: str
    sender: ContactOut | None
    to: list[ContactOut]
    recipients: list[str] = []  # To and Cc as the writer addressed them (display only)
    at: datetime
    subject: str
    content: str
    ends_exchange: bool
    attachments: list[AttachmentOut] = []
    receipt_requested: bool = False

    @classmethod
    def from_domain(cls, m: Message, addable: frozenset[str] = frozenset()) -> MessageOut:
        return cls(message_id=m.message_id, conversation_id=m.conversation_id, direction=m.direction,
                   sender=ContactOut.from_domain(m.sender) if m.sender else None,
                   to=[ContactOut.from_domain(c) for c in m.to],
                   recipients=list(m.recipients) or [c.name for c in m.to], at=m.at, subject=m.subject,
                   content=m.content,
                   ends_exchange=m.ends_exchange, receipt_requested=m.receipt_requested,
                   attachments=[AttachmentOut.from_domain(a, addable) for a in m.attachments])


class AttachmentUploadOut(BaseModel):
    """Where the sender's software posts one attachment's bytes (a plain multipart form of `fields`)."""

    attachment_id: str
    url: str
    fields: dict[str, str]
    expires_at: datetime


class SentMessageOut(MessageOut):
    """The stored message, one upload per attachment, and what is left of the message's attachment budget."""

    uploads: list[AttachmentUploadOut]
    remaining_attachment_bytes: int

    @classmethod
    def from_sent(cls, sent: Sent) -> SentMessageOut:
        base = MessageOut.from_domain(sent.message)
        uploads = [AttachmentUploadOut(attachment_id=t.attachment_id, url=t.form.url, fields=dict(t.form.fields),
                                       expires_at=t.expires_at) for t in sent.tickets]
        return cls(**base.model_dump(), uploads=uploads, remaining_attachment_bytes=sent.remaining_attachment_bytes)


class AttachmentDownloadOut(BaseModel):
    attachment_id: str
    name: str
    content_type: str
    size: int
    download_url: str
    expires_in: int

    @classmethod
    def from_domain(cls, a: Attachment, url: str, ttl_seconds: int) -> AttachmentDownloadOut:
        return cls(attachment_id=a.attachment_id, name=a.name, content_type=a.content_type, size=a.size,
                   download_url=url, expires_in=ttl_seconds)


class SaveToRecordIn(BaseModel):
    """What the holder chooses as the document form opens (A.6): the category (a document type) and the title;
    by default `DOCPAT02` and the file's name, dated the message's day."""

    model_config = STRICT

    type_code: str | None = Field(default=None, min_length=1, max_length=20)
    title: str | None = Field(default=None, min_length=1, max_length=MAX_ATTACHMENT_NAME)


class FiledDocumentOut(BaseModel):
    document_id: str
    type_code: str

    @classmethod
    def from_domain(cls, doc: FiledDocument) -> FiledDocumentOut:
        return cls(document_id=doc.document_id, type_code=doc.type_code)


class ConversationOut(BaseModel):
    conversation_id: str
    subject: str
    health_professional_names: list[str]
    date: datetime
    unread_count: int
    read: bool
    has_draft: bool
    has_attachment: bool
    reply_options: list[ReplyOption]
    conversation_finalized_by: str | None
    is_new_message: bool = False  # the patient started it

    @classmethod
    def from_domain(cls, c: Conversation) -> ConversationOut:
        return cls(conversation_id=c.conversation_id, subject=c.subject,
                   health_professional_names=[w.name for w in c.writers], date=c.last_message_at,
                   unread_count=c.unread_count, read=c.unread_count == 0, has_draft=c.has_draft,
                   has_attachment=c.has_attachment, reply_options=c.reply_options(),
                   conversation_finalized_by=c.finalized_by, is_new_message=c.started_by_patient)


class DraftOut(BaseModel):
    """`documents`: the record documents chosen for the reply; `remaining_attachment_bytes`: what is left of the
    message's budget with them (the app's `remainSizeFiles`)."""

    conversation_id: str
    content: str
    reply_type: ReplyOption
    saved_at: datetime
    documents: list[str]
    remaining_attachment_bytes: int

    @classmethod
    def from_domain(cls, d: Draft, budget_bytes: int) -> DraftOut:
        return cls(conversation_id=d.conversation_id, content=d.content, reply_type=d.reply_type,
                   saved_at=d.saved_at, documents=list(d.documents),
                   remaining_attachment_bytes=max(0, budget_bytes - d.attachment_bytes))


class ThreadOut(BaseModel):
    """A conversation as the patient opens it: its messages, its draft, and who may be answered."""

    conversation: ConversationOut
    messages: list[MessageOut]
    draft: DraftOut | None
    recipients: list[ContactOut]

    @classmethod
    def from_domain(cls, conversation: Conversation, messages: list[Message], draft: Draft | None,
                    addable: frozenset[str], budget_bytes: int) -> ThreadOut:
        options = conversation.reply_options()
        recipients = conversation.recipients(ReplyOption.REPLY_TO_ALL) if options else []
        return cls(conversation=ConversationOut.from_domain(conversation),
                   messages=[MessageOut.from_domain(m, addable) for m in messages],
                   draft=DraftOut.from_domain(draft, budget_bytes) if draft else None,
                   recipients=[ContactOut.from_domain(c) for c in recipients])


class DraftDeletedOut(BaseModel):
    conversation_id: str
    deleted: bool = True


class TrashedOut(BaseModel):
    conversation_id: str
    trashed: bool = True
