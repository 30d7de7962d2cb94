"""Messaging use cases: a professional writes to a patient; the holder lists, reads (marks read), drafts, replies
within the rules the server decides, and trashes. Each effect on the patient's side commits with its trace
through the journal, in one transaction; someone else's conversation answers exactly like a missing one.

Blocked professionals: a block governs the record (mes-rules.md: "a blocked professional sees nothing"); the
rules of messaging (mes-rules-next.md A.1, A.5) let every MSSanté operator write and say nothing of blocks, so a
blocked professional's messages still arrive (writing reveals nothing of the record)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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
    Contact,
    Conversation,
    Draft,
    DraftChange,
    IncomingMessage,
    Message,
    Reply,
    ends_exchange,
    has_html,
    sanitised_html,
    text_as_html,
)
from functions.messaging.ports import MessageStore
from functions.notifications.models import Notification, NotificationPreferences
from functions.notifications.ports import InAppNotifications
from functions.shared import cursor
from functions.shared.clock import Clock
from functions.shared.errors import Conflict, NotFound, Unprocessable
from functions.shared.ids import new_id
from functions.shared.staging import Staged

CONVERSATION_ID = re.compile(r"conv_[0-9a-f]{24}")


@dataclass(frozen=True)
class MessagingDeps:
    store: MessageStore
    journal: PatientJournal
    notifications: InAppNotifications
    spaces: SpaceDirectory
    clock: Clock
    preferences: Callable[[str], NotificationPreferences] = field(default=lambda _ins: NotificationPreferences())


@dataclass(frozen=True)
class Thread:
    conversation: Conversation
    messages: list[Message]
    draft: Draft | None


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
    previous: Conversation | None = None
    if body.conversation_id is not None:
        found = _valid_id(body.conversation_id) and deps.store.conversation(ins, body.conversation_id)
        if not found or sender.id not in {w.id for w in found.writers}:
            raise NotFound("conversation")
        previous = None if found.trashed else found
    arrival = arrive(deps, ins, Actor.of(who), previous, Message(
        message_id=new_id("msg"), conversation_id="", direction="IN", sender=sender, at=deps.clock.now(),
        subject=body.subject.strip(), content=content,
        ends_exchange=ends_exchange(body.subject, "FIN" if body.end_exchange else None),
        reply_policy=body.reply_options))
    _commit(deps, arrival.entry)
    return arrival.message


@dataclass(frozen=True)
class Arrival:
    """A received message and the journal entry that lands it (not committed yet)."""

    message: Message
    entry: Entry


def arrive(deps: MessagingDeps, ins: str, actor: Actor, previous: Conversation | None, draft: Message,
           also: Sequence[Staged] = ()) -> Arrival:
    """The one end of both inbound paths (API and MIME): the message joins `previous` (else a new conversation),
    and message + conversation + the once-only NEW_MESSAGE notification + the `message.received` trace, on the
    condition that the space is open, form one entry; `also` adds the caller's own staged writes (the MIME path's
    once-only key). `draft.conversation_id` is replaced by the conversation's."""
    conversation_id = previous.conversation_id if previous else new_id("conv")
    message = draft.model_copy(update={"conversation_id": conversation_id})
    assert message.sender is not None
    start = previous or Conversation(holder_ins=ins, conversation_id=conversation_id, subject=message.subject,
                                     last_message_at=message.at)
    conversation = start.received(message)
    if message.attachments:
        conversation = conversation.model_copy(update={"has_attachment": True})
    notice = Notification.for_message(ins, message.message_id, message.at,
                                      message.sender.name).honouring(deps.preferences(ins))
    trace = Trace.new(ins, message.at, actor, TraceAction.MESSAGE_RECEIVED, reason=f"message:{message.message_id}")
    staged: list[Staged] = [deps.spaces.open_condition(ins), deps.store.staged_conversation(conversation, previous),
                            deps.store.staged_message(message, ins), *deps.notifications.staged([notice]), *also]
    return Arrival(message, Entry(ins, traces=[trace], staged=staged))


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
    return Thread(read.model_copy(update={"version": read.version + (1 if staged else 0)}), messages, draft)


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
