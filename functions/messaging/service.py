"""Messaging use cases: a professional writes to a patient; the holder lists, reads (marks read), drafts, replies
within the rules the server decides, and trashes. Each effect on the patient's side commits with its trace
through the journal, in one transaction; someone else's conversation answers exactly like a missing one.

Blocked professionals: a block governs the record (mes-rules.md: "a blocked professional sees nothing"); the
rules of messaging (mes-rules-next.md A.1, A.5) let every MSSanté operator write and say nothing of blocks, so a
blocked professional's messages still arrive (writing reveals nothing of the record)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from functions.accounts.ports import SpaceDirectory
from functions.identity.ins import parse_ins
from functions.identity.principal import (
    Citizen,
    Organisation,
    Professional,
    organisation_display,
    professional_display,
)
from functions.journal.models import Actor, Trace, TraceAction
from functions.journal.ports import Entry, PatientJournal, Refused
from functions.messaging.models import (
    ATTACHMENT_TYPES,
    Attachment,
    AttachmentDeclaration,
    AttachmentState,
    Contact,
    Conversation,
    Draft,
    DraftChange,
    IncomingMessage,
    Message,
    Reply,
    attachment_budget_left,
    ends_exchange,
    has_html,
    sanitised_html,
    text_as_html,
)
from functions.messaging.ports import (
    AttachmentBlobs,
    FiledDocument,
    MessageStore,
    QuarantineTickets,
    RecordFiling,
    UploadForm,
)
from functions.notifications.models import Notification, NotificationPreferences
from functions.notifications.ports import InAppNotifications
from functions.shared import cursor
from functions.shared.clock import Clock, paris_day
from functions.shared.errors import Conflict, NotFound, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from functions.shared.ids import new_id
from functions.shared.privacy import digest
from functions.shared.staging import Staged

CONVERSATION_ID = re.compile(r"conv_[0-9a-f]{24}")
MESSAGE_ID = re.compile(r"msg_[0-9a-f]{24}")
ATTACHMENT_ID = re.compile(r"att_[0-9a-f]{24}")
# API uploads of attachments land in quarantine under this prefix (inside `uploads/`, the prefix the quarantine
# bucket notifies the verifier of), keyed by conversation, message and attachment: no INS in the key.
ATTACHMENT_UPLOADS = "uploads/attachments/"
DEFAULT_BUDGET = 20 * 1024 * 1024
DEFAULT_RECORD_TYPE = "DOCPAT02"  # "Traitement ou document de soins déposé par le patient"
VERIFIER = Actor.system("upload-verifier")


@dataclass(frozen=True)
class MessagingDeps:
    store: MessageStore
    journal: PatientJournal
    notifications: InAppNotifications
    spaces: SpaceDirectory
    clock: Clock
    preferences: Callable[[str], NotificationPreferences] = field(default=lambda _ins: NotificationPreferences())
    attachments: AttachmentBlobs | None = None  # the attachments bucket
    tickets: QuarantineTickets | None = None  # records' presigned POST into quarantine
    record: RecordFiling | None = None  # "save into my record", records' side
    attachment_budget_bytes: int = DEFAULT_BUDGET
    upload_ttl: timedelta = timedelta(seconds=600)
    download_ttl_seconds: int = 300


@dataclass(frozen=True)
class Thread:
    """`addable`: the ids of the attachments the holder may save into their record (`can_add_to_record`)."""

    conversation: Conversation
    messages: list[Message]
    draft: Draft | None
    addable: frozenset[str] = frozenset()


@dataclass(frozen=True)
class UploadTicket:
    attachment_id: str
    form: UploadForm
    expires_at: datetime


@dataclass(frozen=True)
class Sent:
    """A professional's message as it was stored, with one presigned POST per declared attachment."""

    message: Message
    tickets: list[UploadTicket]
    remaining_attachment_bytes: int


def _sender(who: Professional | Organisation) -> Contact:
    if isinstance(who, Professional):
        return Contact(id=who.rpps, name=professional_display(who.rpps, who.name), type_bal="PER")
    return Contact(id=who.finess, name=organisation_display(who.finess, who.name), type_bal="ORG")


def _content(html: str | None, text: str | None) -> str:
    content = sanitised_html(html) if html else text_as_html(text) if text else ""
    if not content.strip():
        raise Unprocessable("Ajouter du contenu au message pour l'envoyer", code="empty_message")
    return content


def _commit(deps: MessagingDeps, entry: Entry) -> None:
    try:
        deps.journal.record(entry)
    except Refused as exc:
        if "space" in exc.failed:
            raise NotFound("patient") from exc
        raise Conflict("the conversation changed meanwhile: try again", code="conversation_changed") from exc


def receive(deps: MessagingDeps, who: Professional | Organisation, raw_ins: str, body: IncomingMessage) -> Message:
    """A professional's or organisation's message: stored, its conversation updated, the holder notified once
    and the reception traced, in one transaction that also checks the space is open (closed or missing: 404,
    nothing written). A `conversation_id` the sender never wrote in is a 404; one the holder trashed starts a
    new conversation (the message still arrives, the sender learns nothing of the trash)."""
    ins = parse_ins(raw_ins).value
    if has_html(body.subject):
        raise Unprocessable("La saisie de balises HTML n'est pas autorisée.", code="html_in_subject")
    content = _content(body.html, body.text)
    sender = _sender(who)
    now = deps.clock.now()
    previous: Conversation | None = None
    if body.conversation_id is not None:
        found = _valid_id(body.conversation_id) and deps.store.conversation(ins, body.conversation_id)
        if not found or sender.id not in {w.id for w in found.writers}:
            raise NotFound("conversation")
        previous = None if found.trashed else found
    conversation_id = previous.conversation_id if previous else new_id("conv")
    message = Message(message_id=new_id("msg"), conversation_id=conversation_id, direction="IN", sender=sender,
                      at=now, subject=body.subject.strip(), content=content,
                      ends_exchange=ends_exchange(body.subject, "FIN" if body.end_exchange else None),
                      reply_policy=body.reply_options, attachments=_declared(deps, body.attachments))
    start = previous or Conversation(holder_ins=ins, conversation_id=conversation_id, subject=message.subject,
                                     last_message_at=now)
    conversation = start.received(message)
    if message.attachments:
        conversation = conversation.model_copy(update={"has_attachment": True})
    notice = Notification.for_message(ins, message.message_id, now, sender.name).honouring(deps.preferences(ins))
    trace = Trace.new(ins, now, Actor.of(who), TraceAction.MESSAGE_RECEIVED, reason=f"message:{message.message_id}")
    staged: list[Staged] = [deps.spaces.open_condition(ins), deps.store.staged_conversation(conversation, previous),
                            deps.store.staged_message(message, ins), *deps.notifications.staged([notice])]
    _commit(deps, Entry(ins, traces=[trace], staged=staged))
    return message


def _declared(deps: MessagingDeps, declared: list[AttachmentDeclaration]) -> tuple[Attachment, ...]:
    """Attachments declared like documents, checked before anything is written: each of a type A.6 allows
    (415 otherwise), together within the message's budget (413 `attachment_budget_exceeded` otherwise)."""
    for a in declared:
        if a.content_type not in ATTACHMENT_TYPES:
            allowed = ", ".join(sorted(ATTACHMENT_TYPES))
            raise UnsupportedMediaType(f"an attachment's content_type must be one of: {allowed}",
                                       code="attachment_type_not_allowed")
    if attachment_budget_left(deps.attachment_budget_bytes, declared) < 0:
        raise PayloadTooLarge("La taille du ou des documents dépasse la limite autorisée.",
                              code="attachment_budget_exceeded")
    return tuple(Attachment(attachment_id=new_id("att"), name=a.name.strip() or "piece-jointe",
                            content_type=a.content_type, size=a.size, sha256=a.sha256.lower(),
                            state=AttachmentState.PENDING) for a in declared)


def _uploader(holder_ins: str, message: Message) -> str:
    """Who may upload a message's attachments, as the presigned POST pins it (`x-amz-meta-uploader`): a keyed
    pseudonym of the sender, the holder and the message, checked again by the verifier."""
    sender = message.sender
    who = f"{sender.type_bal}:{sender.id}" if sender else "patient"
    return digest("attachment-uploader", f"{who}|{holder_ins}|{message.message_id}")


def quarantine_key(message: Message, attachment_id: str) -> str:
    return f"{ATTACHMENT_UPLOADS}{message.conversation_id}/{message.message_id}/{attachment_id}"


def write_to_patient(deps: MessagingDeps, who: Professional | Organisation, raw_ins: str,
                     body: IncomingMessage) -> Sent:
    """The API's way in: the message (visible at once, its attachments PENDING until the verifier has held
    each upload to its declaration), then one presigned POST per attachment into quarantine."""
    message = receive(deps, who, raw_ins, body)
    tickets: list[UploadTicket] = []
    if message.attachments:
        assert deps.tickets is not None, "attachments need the quarantine tickets (functions/deps.py)"
        ins = parse_ins(raw_ins).value
        expires_at = (message.at + deps.upload_ttl).replace(microsecond=0)
        uploader = _uploader(ins, message)
        for a in message.attachments:
            form = deps.tickets.presign_upload(quarantine_key(message, a.attachment_id), ins, uploader,
                                               a.content_type, a.size, message.at, expires_at)
            tickets.append(UploadTicket(a.attachment_id, form, expires_at))
    left = deps.attachment_budget_bytes - sum(a.size for a in message.attachments)
    return Sent(message, tickets, left)


def _valid_id(conversation_id: str) -> bool:
    return CONVERSATION_ID.fullmatch(conversation_id) is not None


def _conversation(deps: MessagingDeps, space: str, conversation_id: str) -> Conversation:
    found = deps.store.conversation(space, conversation_id) if _valid_id(conversation_id) else None
    if found is None or found.trashed:
        raise NotFound("conversation")
    return found


def list_conversations(deps: MessagingDeps, space: str, raw_cursor: str | None,
                       limit: int) -> tuple[list[Conversation], str | None]:
    items, last = deps.store.list(space, cursor.decode(raw_cursor), limit)
    return items, cursor.encode(last)


def read_conversation(deps: MessagingDeps, who: Citizen, space: str, conversation_id: str) -> Thread:
    """One Query (conversation, messages, draft), then the read trace with the conversation marked read."""
    conversation, messages, draft = (deps.store.thread(space, conversation_id) if _valid_id(conversation_id)
                                     else (None, [], None))
    if conversation is None or conversation.trashed:
        raise NotFound("conversation")
    read = conversation.model_copy(update={"unread_count": 0})
    trace = Trace.new(space, deps.clock.now(), Actor.acting_on(who, space), TraceAction.MESSAGE_READ,
                      reason=f"conversation:{conversation_id}")
    staged = [deps.store.staged_conversation(read, conversation)] if conversation.unread_count else []
    _commit(deps, Entry(space, traces=[trace], staged=staged))
    addable = frozenset(a.attachment_id for m in messages for a in m.attachments if _addable(deps, a))
    return Thread(read.model_copy(update={"version": read.version + (1 if staged else 0)}), messages, draft,
                  addable)


def _addable(deps: MessagingDeps, attachment: Attachment) -> bool:
    """`can_add_to_record`: verified, and of a type and size the record takes from its holder (5 MB)."""
    return (attachment.state is AttachmentState.AVAILABLE and deps.record is not None
            and deps.record.accepts(attachment.content_type, attachment.size))


def reply(deps: MessagingDeps, who: Citizen, space: str, conversation_id: str, body: Reply) -> Message:
    """The holder's answer, only to professionals who wrote and did not end the exchange (409 otherwise): the
    message, the conversation and the draft's removal commit with the trace in one transaction."""
    conversation = _conversation(deps, space, conversation_id)
    if conversation.finalized_by is not None:
        raise Conflict(f"{conversation.finalized_by} a mis fin à vos échanges.", code="conversation_ended")
    if body.reply_type not in conversation.reply_options():
        raise Conflict("Ce message n'autorise pas la réponse.", code="reply_not_allowed")
    now = deps.clock.now()
    message = Message(message_id=new_id("msg"), conversation_id=conversation_id, direction="OUT", sender=None,
                      to=tuple(conversation.recipients(body.reply_type)), at=now,
                      subject=f"RE: {conversation.subject}"[:200], content=_content(body.content, None))
    trace = Trace.new(space, now, Actor.acting_on(who, space), TraceAction.MESSAGE_SENT,
                      reason=f"message:{message.message_id}")
    staged: list[Staged] = [deps.spaces.open_condition(space),
                            deps.store.staged_conversation(conversation.sent(message), conversation),
                            deps.store.staged_message(message, space)]
    if conversation.has_draft:
        staged.append(deps.store.staged_draft_removal(space, conversation_id))
    _commit(deps, Entry(space, traces=[trace], staged=staged))
    return message


def save_draft(deps: MessagingDeps, space: str, conversation_id: str, change: DraftChange) -> Draft:
    """One draft per conversation, replaced on each save (not traced: nothing has left the mailbox)."""
    conversation = _conversation(deps, space, conversation_id)
    if not conversation.reply_options():
        raise Conflict("Ce message n'autorise pas la réponse.", code="reply_not_allowed")
    draft = Draft(conversation_id=conversation_id, content=sanitised_html(change.content),
                  reply_type=change.reply_type, saved_at=deps.clock.now())
    deps.store.save_draft(conversation.model_copy(update={"has_draft": True}), conversation, draft)
    return draft


def read_draft(deps: MessagingDeps, space: str, conversation_id: str) -> Draft:
    _conversation(deps, space, conversation_id)
    draft = deps.store.draft(space, conversation_id)
    if draft is None:
        raise NotFound("draft")
    return draft


def delete_draft(deps: MessagingDeps, space: str, conversation_id: str) -> None:
    conversation = _conversation(deps, space, conversation_id)
    if not conversation.has_draft:
        raise NotFound("draft")
    deps.store.delete_draft(conversation.model_copy(update={"has_draft": False}), conversation)


def trash(deps: MessagingDeps, who: Citizen, space: str, conversation_id: str) -> Conversation:
    """Out of the list and unreadable from then on (the app has no restore), traced."""
    conversation = _conversation(deps, space, conversation_id)
    trashed = conversation.model_copy(update={"trashed": True})
    trace = Trace.new(space, deps.clock.now(), Actor.acting_on(who, space), TraceAction.CONVERSATION_TRASHED,
                      reason=f"conversation:{conversation_id}")
    _commit(deps, Entry(space, traces=[trace], staged=[deps.store.staged_conversation(trashed, conversation)]))
    return trashed


# ---- attachments: download, save into the record, the verifier's verdicts --------------------------------------


def _attachment(deps: MessagingDeps, space: str, conversation_id: str, message_id: str,
                attachment_id: str) -> tuple[Message, Attachment]:
    """One Query of the conversation; anything not the holder's (or malformed, or trashed) is the same 404."""
    found = (_valid_id(conversation_id) and MESSAGE_ID.fullmatch(message_id) is not None
             and ATTACHMENT_ID.fullmatch(attachment_id) is not None)
    conversation, messages, _ = deps.store.thread(space, conversation_id) if found else (None, [], None)
    if conversation is None or conversation.trashed:
        raise NotFound("attachment")
    for m in messages:
        for a in m.attachments if m.message_id == message_id else ():
            if a.attachment_id == attachment_id:
                return m, a
    raise NotFound("attachment")


def _available(attachment: Attachment) -> None:
    if attachment.state is AttachmentState.PENDING:
        raise Conflict("this attachment is still being checked", code="attachment_not_available")
    if attachment.state is AttachmentState.REJECTED:
        raise Conflict("this attachment was refused by the verifier", code="attachment_not_available")


def download_attachment(deps: MessagingDeps, who: Citizen, space: str, conversation_id: str, message_id: str,
                        attachment_id: str) -> tuple[Attachment, str]:
    """A short-lived presigned download of a verified attachment, traced (`attachment.read`)."""
    message, attachment = _attachment(deps, space, conversation_id, message_id, attachment_id)
    _available(attachment)
    assert deps.attachments is not None, "the attachments bucket is wired in functions/deps.py"
    trace = Trace.new(space, deps.clock.now(), Actor.acting_on(who, space), TraceAction.ATTACHMENT_READ,
                      reason=f"attachment:{attachment_id}")
    _commit(deps, Entry(space, traces=[trace]))
    url = deps.attachments.presign_download(space, message.message_id, attachment_id, attachment.content_type,
                                            deps.download_ttl_seconds)
    return attachment, url


def save_attachment_to_record(deps: MessagingDeps, who: Citizen, space: str, conversation_id: str,
                              message_id: str, attachment_id: str, type_code: str | None, title: str | None,
                              idempotency_key: str | None) -> FiledDocument:
    """A new document of the holder made from the stored attachment by the record itself (a server-side copy
    under the records' encryption context, traced `attachment.saved_to_record`): title = the file's name and
    date = the message's day unless the holder says otherwise (A.6). 422 `not_addable_to_record` when
    `can_add_to_record` is false."""
    message, attachment = _attachment(deps, space, conversation_id, message_id, attachment_id)
    if not _addable(deps, attachment):
        raise Unprocessable("Ajout aux documents impossible : la pièce-jointe est trop lourde ou de type non "
                            "supporté", code="not_addable_to_record")
    assert deps.attachments is not None and deps.record is not None
    bucket, key = deps.attachments.location(space, message.message_id, attachment_id)
    return deps.record.file(who, space, bucket, key, attachment.content_type, attachment.size, attachment.sha256,
                            title or attachment.name, type_code or DEFAULT_RECORD_TYPE, paris_day(message.at),
                            idempotency_key, reason=f"attachment:{attachment_id}")


@dataclass(frozen=True)
class PendingAttachment:
    """An API attachment waiting for its bytes, as the verifier holds them to it (records' `ExpectedUpload`)."""

    holder_ins: str
    message: Message
    attachment: Attachment
    expires_at: datetime

    @property
    def content_type(self) -> str:
        return self.attachment.content_type

    @property
    def size(self) -> int:
        return self.attachment.size

    @property
    def sha256(self) -> str:
        return self.attachment.sha256


@dataclass(frozen=True)
class AttachmentUploads:
    """Messaging's side of the verifier (fits records' `HeldUploads`): which pending attachment a quarantined
    object is, and its verdict: the bytes promoted into the attachments bucket and the attachment AVAILABLE,
    or REJECTED with the reason, each traced in the holder's chain."""

    deps: MessagingDeps
    prefix: str = ATTACHMENT_UPLOADS

    def expected(self, key: str, patient_ins: str | None, uploader: str | None) -> PendingAttachment | None:
        parts = key.removeprefix(self.prefix).split("/")
        if not key.startswith(self.prefix) or len(parts) != 3 or not patient_ins or not uploader:
            return None
        conversation_id, message_id, attachment_id = parts
        try:
            message, attachment = _attachment(self.deps, patient_ins, conversation_id, message_id, attachment_id)
        except NotFound:
            return None
        if attachment.state is not AttachmentState.PENDING or uploader != _uploader(patient_ins, message):
            return None
        return PendingAttachment(patient_ins, message, attachment,
                                 (message.at + self.deps.upload_ttl).replace(microsecond=0))

    def accept(self, expected: PendingAttachment, quarantine_key: str, etag: str) -> None:
        assert self.deps.attachments is not None
        m, a = expected.message, expected.attachment
        self.deps.attachments.promote(quarantine_key, etag, expected.holder_ins, m.message_id, a.attachment_id,
                                      a.content_type)
        self._settle(expected, None)

    def reject(self, expected: PendingAttachment, reason: str) -> None:
        self._settle(expected, reason)

    def _settle(self, expected: PendingAttachment, reason: str | None) -> None:
        """The message rewritten with this attachment's verdict, with its trace, if the message is as read; a
        sibling attachment settled meanwhile: read it again and apply this verdict on top."""
        deps, ins, attachment_id = self.deps, expected.holder_ins, expected.attachment.attachment_id
        message = expected.message
        action = TraceAction.ATTACHMENT_VERIFIED if reason is None else TraceAction.ATTACHMENT_REJECTED
        why = f"attachment:{attachment_id}" + (f":{reason}" if reason else "")
        for _ in range(5):
            settled = tuple(a.settled(reason) if a.attachment_id == attachment_id else a
                            for a in message.attachments)
            updated = message.model_copy(update={"attachments": settled})
            trace = Trace.new(ins, deps.clock.now(), VERIFIER, action, reason=why)
            try:
                deps.journal.record(Entry(ins, traces=[trace],
                                          staged=[deps.store.staged_message_update(updated, message, ins)]))
                return
            except Refused as exc:
                if "message" not in exc.failed:
                    raise
            try:
                message, current = _attachment(deps, ins, message.conversation_id, message.message_id,
                                               attachment_id)
            except NotFound:
                return  # the conversation went to the trash meanwhile: nothing left to mark
            if current.state is not AttachmentState.PENDING:
                return
        raise Conflict("the message changed too often while its attachments were verified", code="busy")
