"""Messaging use cases: a professional writes to a patient; the holder lists, reads (marks read), drafts, replies
within the rules the server decides, and trashes. Each effect on the patient's side commits with its trace
through the journal, in one transaction; someone else's conversation answers exactly like a missing one.

Blocked professionals: a block governs the record (mes-rules.md: "a blocked professional sees nothing"); the
rules of messaging (mes-rules-next.md A.1, A.5) let every MSSanté operator write and say nothing of blocks, so a
blocked professional's messages still arrive (writing reveals nothing of the record)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from functions.accounts.models import Contact as SpaceContact
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
    MAX_ATTACHMENT_NAME,
    Attachment,
    AttachmentDeclaration,
    AttachmentState,
    Contact,
    Conversation,
    Draft,
    DraftChange,
    IncomingMessage,
    Message,
    NewConversation,
    Pharmacy,
    Reply,
    ends_exchange,
    has_html,
    sanitised_html,
    text_as_html,
)
from functions.messaging.outmail import Held, Outgoing, OutgoingFile, patient_mail, read_receipt, with_files
from functions.messaging.outmail import message_id as rfc822_id
from functions.messaging.ports import (
    AttachmentBlobs,
    FiledDocument,
    MessageStore,
    OutboundMail,
    Outbox,
    PharmacyBook,
    QuarantineTickets,
    RecordFile,
    RecordFiling,
    UploadForm,
)
from functions.notifications.models import Notification, PreferenceCode
from functions.notifications.ports import EmailDelivery, InAppNotifications
from functions.shared import cursor
from functions.shared.clock import Clock, paris_day
from functions.shared.errors import (
    Conflict,
    DomainError,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from functions.shared.idempotency import KeyTaken
from functions.shared.ids import new_id
from functions.shared.observability import (
    ATTACHMENTS_REJECTED,
    ATTACHMENTS_VERIFIED,
    OUTBOUND_MAIL_ABANDONED,
    OUTBOUND_MAIL_FAILED,
    count,
    logger,
)
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
    attachments: AttachmentBlobs | None = None  # the attachments bucket
    tickets: QuarantineTickets | None = None  # records' presigned POST into quarantine
    record: RecordFiling | None = None  # "save into my record", records' side
    attachment_budget_bytes: int = DEFAULT_BUDGET
    upload_ttl: timedelta = timedelta(seconds=600)
    download_ttl_seconds: int = 300
    # Outbound (functions/deps.py wires them all; without them mail stays in the mailbox and no e-mail is sent)
    outbox: Outbox | None = None
    outbound: OutboundMail | None = None
    email: EmailDelivery | None = None
    pharmacies: PharmacyBook | None = None


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


def _sender(who: Professional | Organisation, address: str | None = None) -> Contact:
    """`address`: where the patient's answers to this writer go (its Reply-To, else its own address)."""
    if isinstance(who, Professional):
        return Contact(id=who.rpps, name=professional_display(who.rpps, who.name), type_bal="PER", address=address)
    return Contact(id=who.finess, name=organisation_display(who.finess, who.name), type_bal="ORG", address=address)


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
    sender = _sender(who, body.reply_to or body.sender_address)
    space = deps.spaces.contact(ins)
    if space is None or not space.is_open:
        raise NotFound("patient")
    previous: Conversation | None = None
    if body.conversation_id is not None:
        found = _valid_id(body.conversation_id) and deps.store.conversation(ins, body.conversation_id)
        if not found or sender.id not in {w.id for w in found.writers}:
            raise NotFound("conversation")
        previous = None if found.trashed else found
    arrival = arrive(deps, space, Actor.of(who), previous, Message(
        message_id=new_id("msg"), conversation_id="", direction="IN", sender=sender, at=deps.clock.now(),
        subject=body.subject.strip(), content=content,
        ends_exchange=ends_exchange(body.subject, "FIN" if body.end_exchange else None),
        reply_policy=body.reply_options, attachments=_declared(body.attachments, deps.attachment_budget_bytes),
        recipients=tuple(body.recipients), reply_to=body.reply_to, receipt_to=body.receipt_to))
    _commit(deps, arrival.entry)
    arrived(deps, arrival)
    return arrival.message


@dataclass(frozen=True)
class Arrival:
    """A received message and the journal entry that lands it (not committed yet); `email_to`: where the
    new-message e-mail goes once it is committed (None: the holder's NOTIF_MESSAGE e-mail is off, or no address)."""

    message: Message
    entry: Entry
    notice: Notification
    email_to: str | None = None


def arrive(deps: MessagingDeps, space: SpaceContact, actor: Actor, previous: Conversation | None, draft: Message,
           also: Sequence[Staged] = ()) -> Arrival:
    """The one end of both inbound paths (API and MIME): the message joins `previous` (else a new conversation),
    and message + conversation + the once-only NEW_MESSAGE notification + the `message.received` trace, on the
    condition that the space is open, form one entry; `also` adds the caller's own staged writes (the MIME path's
    once-only key). `draft.conversation_id` is replaced by the conversation's. `space` is the holder's contact as
    the caller read it (one GetItem): its status, its e-mail and the copy of the switches the preferences'
    transaction keeps on it, so no second read of the preferences or of the space."""
    ins = space.ins
    conversation_id = previous.conversation_id if previous else new_id("conv")
    message = draft.model_copy(update={"conversation_id": conversation_id})
    assert message.sender is not None
    start = previous or Conversation(holder_ins=ins, conversation_id=conversation_id, subject=message.subject,
                                     last_message_at=message.at)
    conversation = start.received(message)
    if message.attachments:
        conversation = conversation.model_copy(update={"has_attachment": True})
    prefs = space.preferences
    notice = Notification.for_message(ins, message.message_id, message.at, message.sender.name).honouring(prefs)
    email_to = _email_address(deps, space)
    trace = Trace.new(ins, message.at, actor, TraceAction.MESSAGE_RECEIVED, reason=f"message:{message.message_id}")
    staged: list[Staged] = [deps.spaces.open_condition(ins), deps.store.staged_conversation(conversation, previous),
                            deps.store.staged_message(message, ins),
                            *([deps.notifications.staged_once(notice, email_pending=True)] if email_to
                              else deps.notifications.staged([notice])), *also]
    return Arrival(message, Entry(ins, traces=[trace], staged=staged), notice, email_to)


def arrived(deps: MessagingDeps, arrival: Arrival) -> None:
    """After the commit: the new-message e-mail, when the holder wants one."""
    if arrival.email_to and deps.email is not None:
        _email(deps.email, arrival.notice, arrival.email_to)


# What the holder's own files may weigh: their mail leaves MIME-encoded (base64 adds a third) and MSSanté refuses a
# message over 25 MB (A.1), so the configured budget is capped below that once encoded, headers and text included.
MSSANTE_MAIL_MAX_BYTES = 25_000_000
OUTBOUND_ATTACHMENT_BYTES = (MSSANTE_MAIL_MAX_BYTES - 500_000) * 3 // 4


def holder_budget(deps: MessagingDeps) -> int:
    """The attachment budget of a message the holder sends (the app's `remainSizeFiles` starts there)."""
    return min(deps.attachment_budget_bytes, OUTBOUND_ATTACHMENT_BYTES)


def _budget(deps: MessagingDeps, message: Message) -> int:
    return holder_budget(deps) if message.direction == "OUT" else deps.attachment_budget_bytes


def _carriable(content_types: Iterable[str], total: int, budget: int, what: str) -> None:
    """What a message may carry (A.6): each file of a type the app offers (415 otherwise), together within the
    message's budget (413 `attachment_budget_exceeded` otherwise)."""
    if any(t not in ATTACHMENT_TYPES for t in content_types):
        allowed = ", ".join(sorted(ATTACHMENT_TYPES))
        raise UnsupportedMediaType(f"{what} must be one of: {allowed}", code="attachment_type_not_allowed")
    if total > budget:
        raise PayloadTooLarge("La taille du ou des documents dépasse la limite autorisée.",
                              code="attachment_budget_exceeded")


def _declared(declared: list[AttachmentDeclaration], budget: int, already: int = 0) -> tuple[Attachment, ...]:
    """Attachments declared like documents, checked before anything is written (`_carriable`, with the `already`
    bytes the message carries), each PENDING until the verifier holds its upload to the declaration."""
    _carriable([a.content_type for a in declared], already + sum(a.size for a in declared), budget,
               "an attachment's content_type")
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
    return _with_tickets(deps, parse_ins(raw_ins).value, message)


def _with_tickets(deps: MessagingDeps, ins: str, message: Message) -> Sent:
    """The stored message with one presigned POST into quarantine per attachment still waiting for its bytes."""
    tickets: list[UploadTicket] = []
    pending = [a for a in message.attachments if a.state is AttachmentState.PENDING]
    if pending:
        assert deps.tickets is not None, "attachments need the quarantine tickets (functions/deps.py)"
        expires_at = _upload_deadline(deps, message)
        uploader = _uploader(ins, message)
        for a in pending:
            form = deps.tickets.presign_upload(quarantine_key(message, a.attachment_id), ins, uploader,
                                               a.content_type, a.size, message.at, expires_at)
            tickets.append(UploadTicket(a.attachment_id, form, expires_at))
    left = _budget(deps, message) - sum(a.size for a in message.attachments)
    return Sent(message, tickets, left)


def _upload_deadline(deps: MessagingDeps, message: Message) -> datetime:
    return (message.at + deps.upload_ttl).replace(microsecond=0)
def _email_address(deps: MessagingDeps, space: SpaceContact) -> str | None:
    """The holder's personal address when NOTIF_MESSAGE's e-mail switch is on (A.1, A.7: the patient is told by
    e-mail that a message arrived), else None."""
    if deps.email is None or not space.preferences.for_code(PreferenceCode.NOTIF_MESSAGE).email:
        return None
    return space.email


def _email(delivery: EmailDelivery, notice: Notification, address: str) -> None:
    """After the commit, through notifications' claim-then-send (once per message: the claim is the marker the
    transaction wrote). A failure loses this e-mail only (the in-app notification is there): never a 5xx for a
    message that was delivered."""
    try:
        delivery.send_once([(notice, address)])
    except Exception as exc:  # the message is committed; the e-mail is best effort
        logger.warning("new-message e-mail failed", extra={"error_type": type(exc).__name__})


def _handed_over(deps: MessagingDeps, mails: list[Outgoing]) -> int:
    """Each committed mail to OutboundMail, then out of the outbox; a failure leaves it there for the retry pass
    (`deliver_outbox`) and is counted, never answered as an error (the message is in the mailbox)."""
    if deps.outbound is None or deps.outbox is None:
        return 0
    sent = 0
    for mail in mails:
        if mail.held is not None:  # it waits for the verdicts on the holder's uploads (`_released`)
            continue
        try:
            deps.outbound.send(with_files(mail, lambda f: _file_bytes(deps, f)), mail.sender, mail.recipients,
                               mail.once_key)
        except Exception as exc:  # kept in the outbox: the retry pass sends it
            count(OUTBOUND_MAIL_FAILED)
            logger.warning("outbound mail kept for retry", extra={"error_type": type(exc).__name__})
            continue
        sent += 1
        _out_of_outbox(deps.outbox, mail)
    return sent


def _file_bytes(deps: MessagingDeps, file: OutgoingFile) -> bytes:
    if deps.attachments is None:
        raise RuntimeError("a mail with attachments needs the attachments bucket (functions/deps.py)")
    return deps.attachments.read(file.holder_ins, file.message_id, file.attachment_id)


def _out_of_outbox(outbox: Outbox, mail: Outgoing) -> None:
    try:
        outbox.delivered(mail.once_key)
    except Exception as exc:  # it left: a later pass hands it over again, its once-only key sends nothing twice
        logger.warning("outbox item kept after its send", extra={"error_type": type(exc).__name__})


GIVE_UP_AFTER = timedelta(days=1)
# A held mail's uploads are given up this long after their deadline: an upload that reached quarantine just in
# time is still being verified (S3 event, queue, verifier), and its verdict must win over the pass's.
VERDICT_GRACE = timedelta(minutes=5)


def deliver_outbox(deps: MessagingDeps, limit: int = 100) -> int:
    """The retry pass: hand over again what is still in the outbox (at least once; the once-only key of each
    mail keeps a mail that did leave from leaving twice). A mail still refused a day after its commit (an address
    SES rejects for good) leaves the outbox, counted `OutboundMailAbandoned`: the message stays in the mailbox.
    Returns how many left."""
    if deps.outbox is None:
        return 0
    now = deps.clock.now()
    pending = deps.outbox.pending(limit)
    released = 0
    for held in [m.held for m in pending if m.held is not None and now >= m.held.until + VERDICT_GRACE]:
        try:  # one held mail that fails waits for the next pass; the others go on
            released += _past_its_uploads(deps, held)
        except Exception as exc:
            count(OUTBOUND_MAIL_FAILED)
            logger.warning("held mail kept for the next pass", extra={"error_type": type(exc).__name__})
    waiting = [m for m in pending if m.held is None]
    stale = [m for m in waiting if m.queued_at is not None and now - m.queued_at > GIVE_UP_AFTER]
    for mail in stale:
        count(OUTBOUND_MAIL_ABANDONED)
        _out_of_outbox(deps.outbox, mail)
    return released + _handed_over(deps, [m for m in waiting if m not in stale])


def _past_its_uploads(deps: MessagingDeps, held: Held) -> int:
    """A held mail whose uploads' deadline passed: each upload that never came is rejected (`upload_expired`, as
    a late one is), and the last verdict releases the mail with the verified files. Returns 1 once released."""
    try:
        message = next(m for m in deps.store.thread(held.holder_ins, held.conversation_id)[1]
                       if m.message_id == held.message_id)
    except StopIteration:  # the message is gone (its space erased): nothing to send
        if deps.outbox is not None:
            deps.outbox.delivered(held.message_id)
        return 0
    uploads = AttachmentUploads(deps)
    for attachment in [a for a in message.attachments if a.state is AttachmentState.PENDING]:
        uploads.reject(PendingAttachment(held.holder_ins, message, attachment, held.until), "upload_expired")
    if not any(a.state is AttachmentState.PENDING for a in message.attachments):
        return _released(deps, held.holder_ins, message)  # every verdict was in already (a release that failed)
    return 1


def _released(deps: MessagingDeps, holder_ins: str, message: Message) -> int:
    """The holder's mail, now that no upload waits: it leaves with the files that were verified."""
    return _handed_over(deps, [patient_mail(holder_ins, message)])


def _outgoing(deps: MessagingDeps, space: str, message: Message) -> tuple[list[Staged], list[Outgoing]]:
    """The mail of a patient's message, staged in its transaction (only towards recipients with an address)."""
    if deps.outbox is None or not any(c.address for c in message.to):
        return [], []
    waiting = any(a.state is AttachmentState.PENDING for a in message.attachments)
    mail = patient_mail(space, message, _upload_deadline(deps, message) if waiting else None)
    return [deps.outbox.staged_mail(space, mail)], [mail]


# ---- documents of the record attached to what the holder sends (A.6, `ensDocuments`) ---------------------------


@dataclass(frozen=True)
class Attached:
    """What a holder's message carries: the record documents with their bytes (stored before the commit) and a
    trace each, then the files they upload, PENDING until verified."""

    files: tuple[tuple[Attachment, bytes], ...]
    traces: tuple[Trace, ...]
    uploads: tuple[Attachment, ...]

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        return tuple(a for a, _ in self.files) + self.uploads


def _record_files(deps: MessagingDeps, space: str, document_ids: Sequence[str]) -> list[RecordFile]:
    """Every document checked before anything is written (a reply, a new message, a draft): one the holder does
    not see, or not available, is the same 404 as a missing one; a type A.6 does not allow is a 415; together
    over the message's budget, a 413. A repeated id counts once."""
    wanted = list(dict.fromkeys(document_ids))
    if not wanted:
        return []
    assert deps.record is not None and deps.attachments is not None, "attachments need their wiring (deps.py)"
    found: list[RecordFile] = []
    for document_id in wanted:
        file = deps.record.holder_file(space, document_id)
        if file is None:
            raise NotFound("document")
        found.append(file)
    _carriable([f.content_type for f in found], sum(f.size for f in found), holder_budget(deps),
               "a document attached to a message")
    return found


def _attached(deps: MessagingDeps, who: Citizen, space: str, message_id: str, document_ids: Sequence[str],
              declared: list[AttachmentDeclaration], now: datetime) -> Attached:
    """The record documents checked (`_record_files`) and the declared uploads within what is left of the
    holder's budget, then the documents' bytes read (opened from the sealed record): each becomes an attachment
    of the message, with its trace."""
    found = _record_files(deps, space, document_ids)
    uploads = _declared(declared, holder_budget(deps), sum(f.size for f in found))  # before reading any bytes
    files: list[tuple[Attachment, bytes]] = []
    for file in found:
        data = file.read()
        name = f"{file.title.strip() or 'document'}.{ATTACHMENT_TYPES[file.content_type]}"
        files.append((Attachment(attachment_id=new_id("att"), name=name[:MAX_ATTACHMENT_NAME],
                                 content_type=file.content_type, size=len(data),
                                 sha256=hashlib.sha256(data).hexdigest()), data))
    actor = Actor.acting_on(who, space)
    traces = tuple(Trace.new(space, now, actor, TraceAction.DOCUMENT_ATTACHED, f.document_id,
                             reason=f"message:{message_id}") for f in found)
    return Attached(tuple(files), traces, uploads)


def _sent_with(deps: MessagingDeps, space: str, message: Message, attached: Attached, entry: Entry) -> None:
    """The attachments' objects first, then the commit; a commit that fails takes them back (no object without
    its message). The mail, committed with the message, carries only their references: its bytes are read
    from these objects when it is handed over."""
    stored: list[Attachment] = []
    try:
        for attachment, data in attached.files:
            assert deps.attachments is not None
            deps.attachments.put(space, message.message_id, attachment.attachment_id, attachment.content_type, data)
            stored.append(attachment)
        _commit(deps, entry)
    except (DomainError, KeyTaken):
        # Known not committed (refused, busy, or the replay of an Idempotency-Key that committed first). Any
        # other failure (a timeout) may hide a commit that landed: its objects stay, under the holder's prefix
        # (erased with the space), rather than a committed message losing its attachments.
        for attachment in stored:
            assert deps.attachments is not None
            deps.attachments.delete(space, message.message_id, attachment.attachment_id)
        raise


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
    addable = frozenset(a.attachment_id for m in messages for a in m.attachments if _addable(deps, a))
    now = deps.clock.now()
    actor = Actor.acting_on(who, space)
    receipts = [read_receipt(space, m, now) for m in messages
                if m.message_id in conversation.receipts_due and m.receipt_to] if deps.outbox is not None else []
    read = conversation.model_copy(update={"unread_count": 0,
                                           "receipts_due": () if deps.outbox is not None else
                                           conversation.receipts_due})
    traces = [Trace.new(space, now, actor, TraceAction.MESSAGE_READ, reason=f"conversation:{conversation_id}"),
              *(Trace.new(space, now, actor, TraceAction.MESSAGE_RECEIPT_SENT,
                          reason=f"message:{mail.once_key.removeprefix('mdn-')}") for mail in receipts)]
    changed = read != conversation
    staged = [deps.store.staged_conversation(read, conversation)] if changed else []
    staged += [deps.outbox.staged_mail(space, mail) for mail in receipts] if deps.outbox is not None else []
    _commit(deps, Entry(space, traces=traces, staged=staged))
    _handed_over(deps, receipts)
    return Thread(read.model_copy(update={"version": read.version + (1 if changed else 0)}), messages, draft,
                  addable)


def _addable(deps: MessagingDeps, attachment: Attachment) -> bool:
    """`can_add_to_record`: verified, and of a type and size the record takes from its holder (5 MB)."""
    return (attachment.state is AttachmentState.AVAILABLE and deps.record is not None
            and deps.record.accepts(attachment.content_type, attachment.size))


def reply(deps: MessagingDeps, who: Citizen, space: str, conversation_id: str, body: Reply) -> Sent:
    """The holder's answer, only to professionals who wrote and did not end the exchange (409 otherwise): the
    message, the conversation and the draft's removal commit with the trace in one transaction."""
    conversation = _conversation(deps, space, conversation_id)
    if conversation.finalized_by is not None:
        raise Conflict(f"{conversation.finalized_by} a mis fin à vos échanges.", code="conversation_ended")
    if body.reply_type not in conversation.reply_options():
        raise Conflict("Ce message n'autorise pas la réponse.", code="reply_not_allowed")
    now = deps.clock.now()
    mid = new_id("msg")
    attached = _attached(deps, who, space, mid, body.documents, body.attachments, now)
    message = Message(message_id=mid, conversation_id=conversation_id, direction="OUT", sender=None,
                      to=tuple(conversation.recipients(body.reply_type)), at=now,
                      subject=f"RE: {conversation.subject}"[:200], content=_content(body.content, None),
                      rfc822_id=rfc822_id(mid), in_reply_to=(conversation.references or (None,))[-1],
                      references=conversation.references, attachments=attached.attachments)
    trace = Trace.new(space, now, Actor.acting_on(who, space), TraceAction.MESSAGE_SENT,
                      reason=f"message:{message.message_id}")
    mail_staged, mails = _outgoing(deps, space, message)
    staged: list[Staged] = [deps.spaces.open_condition(space),
                            deps.store.staged_conversation(conversation.sent(message), conversation),
                            deps.store.staged_message(message, space), *mail_staged]
    if conversation.has_draft:
        staged.append(deps.store.staged_draft_removal(space, conversation_id))
    _sent_with(deps, space, message, attached, Entry(space, traces=[trace, *attached.traces], staged=staged))
    _handed_over(deps, mails)
    return _with_tickets(deps, space, message)


def save_draft(deps: MessagingDeps, space: str, conversation_id: str, change: DraftChange) -> Draft:
    """One draft per conversation, replaced on each save (not traced: nothing has left the mailbox). Its record
    documents are checked as a reply's are, and kept by id: the reply that sends it names them again."""
    conversation = _conversation(deps, space, conversation_id)
    if not conversation.reply_options():
        raise Conflict("Ce message n'autorise pas la réponse.", code="reply_not_allowed")
    chosen = _record_files(deps, space, change.documents)
    draft = Draft(conversation_id=conversation_id, content=sanitised_html(change.content),
                  reply_type=change.reply_type, saved_at=deps.clock.now(),
                  documents=tuple(f.document_id for f in chosen), attachment_bytes=sum(f.size for f in chosen))
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
                if reason is None:
                    count(ATTACHMENTS_VERIFIED)
                else:
                    count(ATTACHMENTS_REJECTED, reason=reason)
                if updated.direction == "OUT" and not any(a.state is AttachmentState.PENDING
                                                          for a in updated.attachments):
                    _released(deps, ins, updated)  # the holder's mail waited for this last verdict
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
                if reason is None and current.state is AttachmentState.REJECTED and deps.attachments is not None:
                    # given up meanwhile (its mail's deadline passed): the bytes just promoted must not stay
                    deps.attachments.delete(ins, message.message_id, attachment_id)
                return
        raise Conflict("the message changed too often while its attachments were verified", code="busy")
def start_conversation(deps: MessagingDeps, who: Citizen, space: str, body: NewConversation) -> Sent:
    """The patient writes first (A.5), only to a professional who wrote to them and did not end the exchange, or
    to a pharmacy they added: never to another patient, never to a professional who never wrote (422
    `recipient_not_allowed`). Conversation, message, trace and the mail commit together; the mail then leaves."""
    if has_html(body.subject):
        raise Unprocessable("La saisie de balises HTML n'est pas autorisée.", code="html_in_subject")
    recipient = _writable(deps, space, body.to.strip())
    now = deps.clock.now()
    mid = new_id("msg")
    conversation_id = new_id("conv")
    attached = _attached(deps, who, space, mid, body.documents, body.attachments, now)
    message = Message(message_id=mid, conversation_id=conversation_id, direction="OUT", sender=None,
                      to=(recipient,), at=now, subject=body.subject.strip(), content=_content(body.content, None),
                      rfc822_id=rfc822_id(mid), attachments=attached.attachments)
    conversation = Conversation(holder_ins=space, conversation_id=conversation_id, subject=message.subject,
                                writers=(recipient,), started_by_patient=True, last_message_at=now).sent(message)
    trace = Trace.new(space, now, Actor.acting_on(who, space), TraceAction.MESSAGE_SENT, reason=f"message:{mid}")
    mail_staged, mails = _outgoing(deps, space, message)
    staged: list[Staged] = [deps.spaces.open_condition(space), deps.store.staged_conversation(conversation, None),
                            deps.store.staged_message(message, space), *mail_staged]
    _sent_with(deps, space, message, attached, Entry(space, traces=[trace, *attached.traces], staged=staged))
    _handed_over(deps, mails)
    return _with_tickets(deps, space, message)


NOT_ALLOWED = ("Je peux uniquement contacter les professionnels qui m'ont déjà écrit et qui n'ont pas mis fin aux "
               "échanges, et les pharmacies que j'ai ajoutées.")
MAX_CONVERSATIONS_READ = 1000


def _writable(deps: MessagingDeps, space: str, to: str) -> Contact:
    """The contact `to` names (its id, or its address): a pharmacy of the holder's book, else a writer still in
    the exchange in one of the holder's conversations (the list's Query, newest first: the latest address wins)."""
    wanted = to.lower()
    if wanted.endswith("@patient.mssante.fr") or re.fullmatch(r"[0-9]{13}|[0-9]{15}", wanted):
        raise Unprocessable("Je ne peux pas écrire à un autre patient. " + NOT_ALLOWED, code="recipient_not_allowed")
    for pharmacy in deps.pharmacies.pharmacies(space) if deps.pharmacies is not None else []:
        if wanted in {pharmacy.finess.lower(), pharmacy.address}:
            return pharmacy.as_contact()
    after: str | None = None
    read = 0
    while read < MAX_CONVERSATIONS_READ:
        page, after = deps.store.list(space, after, 100)
        read += len(page)
        for conversation in page:
            if conversation.finalized_by is not None:
                continue
            for writer in reversed(conversation.reachable):
                if wanted in {writer.id.lower(), (writer.address or "").lower()}:
                    return writer
        if after is None:
            break
    raise Unprocessable(NOT_ALLOWED, code="recipient_not_allowed")


def pharmacies(deps: MessagingDeps, space: str) -> list[Pharmacy]:
    return deps.pharmacies.pharmacies(space) if deps.pharmacies is not None else []


def add_pharmacy(deps: MessagingDeps, who: Citizen, space: str, pharmacy: Pharmacy) -> Pharmacy:
    """A pharmacy with a secure address becomes a contact the patient may write to (traced)."""
    book = _book(deps)
    added = pharmacy.model_copy(update={"added_at": deps.clock.now()})
    trace = Trace.new(space, deps.clock.now(), Actor.acting_on(who, space), TraceAction.CONTACT_ADDED,
                      reason=f"pharmacy:{pharmacy.finess}")
    _commit(deps, Entry(space, traces=[trace], staged=[deps.spaces.open_condition(space),
                                                       book.staged_pharmacy(space, added)]))
    return added


def remove_pharmacy(deps: MessagingDeps, who: Citizen, space: str, finess: str) -> None:
    """Out of the contacts (traced); one that is not there is a 404. Conversations with it stay."""
    book = _book(deps)
    trace = Trace.new(space, deps.clock.now(), Actor.acting_on(who, space), TraceAction.CONTACT_REMOVED,
                      reason=f"pharmacy:{finess}")
    try:
        deps.journal.record(Entry(space, traces=[trace], staged=[book.staged_pharmacy_removal(space, finess)]))
    except Refused as exc:
        raise NotFound("pharmacy") from exc


def _book(deps: MessagingDeps) -> PharmacyBook:
    if deps.pharmacies is None:
        raise RuntimeError("messaging: no pharmacy book wired (functions/deps.py)")
    return deps.pharmacies
