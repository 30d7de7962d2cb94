"""Request and response shapes of the messaging routes: the domain's commands as the bodies spell them (unknown
fields refused), responses built field by field from the domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from functions.messaging.models import (
    Contact,
    Conversation,
    Draft,
    DraftChange,
    IncomingMessage,
    Message,
    Reply,
    ReplyOption,
    mailbox_address,
)

STRICT = ConfigDict(extra="forbid")


class MessageIn(IncomingMessage):
    """POST /v1/patients/{ins}/messages: `html` (sanitised) or `text`; `end_exchange` is `X-MSS-MES: FIN`."""

    model_config = STRICT


class ReplyIn(Reply):
    model_config = STRICT


class DraftIn(DraftChange):
    model_config = STRICT


class ContactOut(BaseModel):
    id: str
    name: str
    type_bal: str

    @classmethod
    def from_domain(cls, c: Contact) -> ContactOut:
        return cls(id=c.id, name=c.name, type_bal=c.type_bal)


class MailboxOut(BaseModel):
    address: str

    @classmethod
    def from_domain(cls, ins: str) -> MailboxOut:
        return cls(address=mailbox_address(ins))


class MessageOut(BaseModel):
    message_id: str
    conversation_id: str
    direction: str
    sender: ContactOut | None
    to: list[ContactOut]
    at: datetime
    subject: str
    content: str
    ends_exchange: bool

    @classmethod
    def from_domain(cls, m: Message) -> MessageOut:
        return cls(message_id=m.message_id, conversation_id=m.conversation_id, direction=m.direction,
                   sender=ContactOut.from_domain(m.sender) if m.sender else None,
                   to=[ContactOut.from_domain(c) for c in m.to], at=m.at, subject=m.subject, content=m.content,
                   ends_exchange=m.ends_exchange)


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

    @classmethod
    def from_domain(cls, c: Conversation) -> ConversationOut:
        return cls(conversation_id=c.conversation_id, subject=c.subject,
                   health_professional_names=[w.name for w in c.writers], date=c.last_message_at,
                   unread_count=c.unread_count, read=c.unread_count == 0, has_draft=c.has_draft,
                   has_attachment=c.has_attachment, reply_options=c.reply_options(),
                   conversation_finalized_by=c.finalized_by)


class DraftOut(BaseModel):
    conversation_id: str
    content: str
    reply_type: ReplyOption
    saved_at: datetime

    @classmethod
    def from_domain(cls, d: Draft) -> DraftOut:
        return cls(conversation_id=d.conversation_id, content=d.content, reply_type=d.reply_type,
                   saved_at=d.saved_at)


class ThreadOut(BaseModel):
    """A conversation as the patient opens it: its messages, its draft, and who may be answered."""

    conversation: ConversationOut
    messages: list[MessageOut]
    draft: DraftOut | None
    recipients: list[ContactOut]

    @classmethod
    def from_domain(cls, conversation: Conversation, messages: list[Message], draft: Draft | None) -> ThreadOut:
        options = conversation.reply_options()
        recipients = conversation.recipients(ReplyOption.REPLY_TO_ALL) if options else []
        return cls(conversation=ConversationOut.from_domain(conversation),
                   messages=[MessageOut.from_domain(m) for m in messages],
                   draft=DraftOut.from_domain(draft) if draft else None,
                   recipients=[ContactOut.from_domain(c) for c in recipients])


class DraftDeletedOut(BaseModel):
    conversation_id: str
    deleted: bool = True


class TrashedOut(BaseModel):
    conversation_id: str
    trashed: bool = True
