"""Messaging's use cases on fakes: drafts (one per conversation, saved, resumed, sent, deleted), replies within
the rules, and 404 for what is not the holder's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.accounts.models import Contact as SpaceContact
from functions.accounts.models import SpaceStatus
from functions.identity.principal import Citizen, Professional
from functions.journal.ports import Entry
from functions.messaging import service
from functions.messaging.models import Conversation, Draft, DraftChange, IncomingMessage, Message, Reply
from functions.messaging.service import MessagingDeps
from functions.shared.errors import Conflict, NotFound, Unprocessable

INS = "190017512345655"
AT = datetime(2032, 3, 15, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Apply:
    """A staged write that applies itself when the fake journal commits the entry."""

    do: Any

    def stage(self, tx: Any) -> None:
        self.do()


@dataclass
class FakeStore:
    conversations: dict[tuple[str, str], Conversation] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    drafts: dict[tuple[str, str], Draft] = field(default_factory=dict)

    def conversation(self, holder_ins: str, conversation_id: str) -> Conversation | None:
        return self.conversations.get((holder_ins, conversation_id))

    def thread(self, holder_ins: str, conversation_id: str) -> Any:
        return (self.conversation(holder_ins, conversation_id),
                [m for m in self.messages if m.conversation_id == conversation_id],
                self.drafts.get((holder_ins, conversation_id)))

    def _put(self, c: Conversation) -> None:
        self.conversations[(c.holder_ins, c.conversation_id)] = c.model_copy(update={"version": c.version + 1})

    def staged_conversation(self, conversation: Conversation, previous: Conversation | None) -> Apply:
        return Apply(lambda: self._put(conversation))

    def staged_message(self, message: Message, holder_ins: str) -> Apply:
        return Apply(lambda: self.messages.append(message))

    def staged_draft_removal(self, holder_ins: str, conversation_id: str) -> Apply:
        return Apply(lambda: self.drafts.pop((holder_ins, conversation_id), None))

    def save_draft(self, conversation: Conversation, previous: Conversation, draft: Draft) -> None:
        self._put(conversation)
        self.drafts[(conversation.holder_ins, draft.conversation_id)] = draft

    def draft(self, holder_ins: str, conversation_id: str) -> Draft | None:
        return self.drafts.get((holder_ins, conversation_id))

    def delete_draft(self, conversation: Conversation, previous: Conversation) -> None:
        self._put(conversation)
        self.drafts.pop((conversation.holder_ins, conversation.conversation_id), None)

    def list(self, holder_ins: str, after: str | None, limit: int) -> tuple[list[Conversation], str | None]:
        return [c for (h, _), c in self.conversations.items() if h == holder_ins and not c.trashed], None


@dataclass
class FakeJournal:
    entries: list[Entry] = field(default_factory=list)

    def record(self, entry: Entry, head: Any = None, retry: bool = True) -> None:
        for staged in entry.staged:
            staged.stage(None)  # type: ignore[arg-type]  # Apply ignores the sink
        self.entries.append(entry)


class Nothing:
    def staged(self, notifications: list[Any], once: bool = True) -> list[Any]:
        return [Apply(lambda: None) for _ in notifications]

    def open_condition(self, ins: str) -> Apply:
        return Apply(lambda: None)

    def contact(self, ins: str) -> SpaceContact:
        """Every space is open and has no address (no e-mail in these tests)."""
        return SpaceContact(ins=ins, status=SpaceStatus.OPEN)


class Clock:
    def now(self) -> datetime:
        return AT


@pytest.fixture
def deps() -> MessagingDeps:
    return MessagingDeps(store=FakeStore(), journal=FakeJournal(), notifications=Nothing(),  # type: ignore[arg-type]
                         spaces=Nothing(), clock=Clock())  # type: ignore[arg-type]


DR = Professional(rpps="10000000001", profession="10", finess="750000001", name="Dr Martin")
HOLDER = Citizen(ins=INS)


def conversation_of(deps: MessagingDeps, **body: Any) -> str:
    return service.receive(deps, DR, INS, IncomingMessage(subject="Résultats", text="Bonjour", **body)).conversation_id


def test_one_draft_per_conversation_is_saved_replaced_resumed_and_sent(deps: MessagingDeps) -> None:
    cid = conversation_of(deps)
    service.save_draft(deps, INS, cid, DraftChange(content="Merci"))
    service.save_draft(deps, INS, cid, DraftChange(content="Merci beaucoup"))
    assert service.read_draft(deps, INS, cid).content == "Merci beaucoup"
    assert deps.store.conversation(INS, cid).has_draft  # type: ignore[union-attr]
    service.reply(deps, HOLDER, INS, cid, Reply(content="Merci beaucoup"))
    with pytest.raises(NotFound):
        service.read_draft(deps, INS, cid)
    assert not deps.store.conversation(INS, cid).has_draft  # type: ignore[union-attr]


def test_a_deleted_draft_is_gone_and_deleting_it_again_is_a_404(deps: MessagingDeps) -> None:
    cid = conversation_of(deps)
    service.save_draft(deps, INS, cid, DraftChange(content="Merci"))
    service.delete_draft(deps, INS, cid)
    with pytest.raises(NotFound):
        service.delete_draft(deps, INS, cid)


def test_no_draft_nor_reply_where_the_sender_blocked_replies(deps: MessagingDeps) -> None:
    cid = conversation_of(deps, reply_options="NONE")
    with pytest.raises(Conflict) as refused:
        service.save_draft(deps, INS, cid, DraftChange(content="Merci"))
    assert refused.value.code == "reply_not_allowed"
    with pytest.raises(Conflict):
        service.reply(deps, HOLDER, INS, cid, Reply(content="Merci"))


def test_an_ended_conversation_refuses_the_reply_saying_who_ended_it(deps: MessagingDeps) -> None:
    cid = conversation_of(deps)
    service.receive(deps, DR, INS, IncomingMessage(subject="[FIN]", text="Au revoir", conversation_id=cid))
    with pytest.raises(Conflict) as refused:
        service.reply(deps, HOLDER, INS, cid, Reply(content="Une question"))
    assert refused.value.code == "conversation_ended" and "Dr Martin" in refused.value.message


def test_an_empty_reply_is_refused(deps: MessagingDeps) -> None:
    cid = conversation_of(deps)
    with pytest.raises(Unprocessable):
        service.reply(deps, HOLDER, INS, cid, Reply(content="   "))


def test_another_holders_or_a_malformed_conversation_id_is_a_404(deps: MessagingDeps) -> None:
    cid = conversation_of(deps)
    for space, ident in (("290017512345645", cid), (INS, "../etc")):
        with pytest.raises(NotFound):
            service.save_draft(deps, space, ident, DraftChange(content="x"))


def test_a_professional_may_not_write_into_a_conversation_they_are_not_part_of(deps: MessagingDeps) -> None:
    cid = conversation_of(deps)
    other = Professional(rpps="10000000002", profession="10", finess="750000001")
    with pytest.raises(NotFound):
        service.receive(deps, other, INS, IncomingMessage(subject="Bonjour", text="x", conversation_id=cid))


def test_a_message_into_a_trashed_conversation_still_arrives_in_a_new_one(deps: MessagingDeps) -> None:
    cid = conversation_of(deps)
    service.trash(deps, HOLDER, INS, cid)
    again = service.receive(deps, DR, INS, IncomingMessage(subject="Suite", text="Bonjour", conversation_id=cid))
    assert again.conversation_id != cid
    listed, _ = service.list_conversations(deps, INS, None, 10)
    assert [c.conversation_id for c in listed] == [again.conversation_id]
    with pytest.raises(NotFound):
        service.read_conversation(deps, HOLDER, INS, cid)


def test_every_patient_side_effect_is_traced(deps: MessagingDeps) -> None:
    cid = conversation_of(deps)
    service.read_conversation(deps, HOLDER, INS, cid)
    service.reply(deps, HOLDER, INS, cid, Reply(content="Merci"))
    service.trash(deps, HOLDER, INS, cid)
    journal: Any = deps.journal
    assert [t.action.value for e in journal.entries for t in e.traces] == [
        "message.received", "message.read", "message.sent", "conversation.trashed"]
