"""The `messages` table, messaging's alone. Partition `holder` (the patient's INS); sort key `sk`:
`C#<conversation>` the conversation, `C#<conversation>#M#<at>#<message>` its messages, `C#<conversation>#D` its
draft, so a conversation is ONE Query (`begins_with C#<id>`). The sparse LSI `holder-by-recent` (range `recent`
= `<last message at>#<conversation>`) holds only conversations not in the trash: the holder's list, newest first,
is ONE Query. Items keep their domain model as JSON (`body`); the conversation carries a `version` for
optimistic writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

from functions.messaging.models import Conversation, Draft, Message
from functions.shared.clock import iso
from functions.shared.dynamo import Transaction, TransactionCancelled
from functions.shared.errors import Conflict
from functions.shared.staging import WriteSink


class HolderByRecent(LocalSecondaryIndex["MessageItem"]):
    class Meta:
        index_name = "holder-by-recent"
        projection = AllProjection()

    holder = UnicodeAttribute(hash_key=True)
    recent = UnicodeAttribute(range_key=True)


class MessageItem(Model):
    class Meta:
        table_name = "messages"

    holder = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # C, M, D
    body = UnicodeAttribute()
    version = NumberAttribute(default=0)
    recent = UnicodeAttribute(null=True)

    by_recent = HolderByRecent()


def _conversation_key(conversation_id: str) -> str:
    return f"C#{conversation_id}"


def _conversation_item(conversation: Conversation) -> MessageItem:
    return MessageItem(conversation.holder_ins, _conversation_key(conversation.conversation_id), kind="C",
                       body=conversation.model_dump_json(exclude={"version"}), version=conversation.version + 1,
                       recent=None if conversation.trashed else
                       f"{iso(conversation.last_message_at)}#{conversation.conversation_id}")


def _to_conversation(item: MessageItem) -> Conversation:
    return Conversation.model_validate_json(item.body).model_copy(update={"version": item.version})


def _unchanged(previous: Conversation | None) -> Any:
    return MessageItem.sk.does_not_exist() if previous is None else MessageItem.version == previous.version


@dataclass(frozen=True)
class _PutConversation:
    conversation: Conversation
    previous: Conversation | None

    def stage(self, tx: WriteSink) -> None:
        tx.put("conversation", _conversation_item(self.conversation), _unchanged(self.previous))


@dataclass(frozen=True)
class _PutMessage:
    message: Message
    holder_ins: str

    def stage(self, tx: WriteSink) -> None:
        m = self.message
        tx.put("message", MessageItem(self.holder_ins, f"C#{m.conversation_id}#M#{iso(m.at)}#{m.message_id}",
                                      kind="M", body=m.model_dump_json()), MessageItem.sk.does_not_exist())


@dataclass(frozen=True)
class _DeleteDraft:
    holder_ins: str
    conversation_id: str

    def stage(self, tx: WriteSink) -> None:
        tx.delete("draft", MessageItem(self.holder_ins, f"C#{self.conversation_id}#D"))


class DynamoMessageStore:
    """Fits `functions.messaging.ports.MessageStore`."""

    def conversation(self, holder_ins: str, conversation_id: str) -> Conversation | None:
        try:
            item = MessageItem.get(holder_ins, _conversation_key(conversation_id), consistent_read=True)
        except MessageItem.DoesNotExist:
            return None
        return _to_conversation(item)

    def thread(self, holder_ins: str, conversation_id: str) -> tuple[Conversation | None, list[Message],
                                                                      Draft | None]:
        conversation, messages, draft = None, [], None
        for item in MessageItem.query(holder_ins, MessageItem.sk.startswith(_conversation_key(conversation_id)),
                                      consistent_read=True):
            if item.kind == "C":
                conversation = _to_conversation(item)
            elif item.kind == "M":
                messages.append(Message.model_validate_json(item.body))
            elif item.kind == "D":
                draft = Draft.model_validate_json(item.body)
        return conversation, messages, draft

    def staged_conversation(self, conversation: Conversation, previous: Conversation | None) -> _PutConversation:
        return _PutConversation(conversation, previous)

    def staged_message(self, message: Message, holder_ins: str) -> _PutMessage:
        return _PutMessage(message, holder_ins)

    def staged_draft_removal(self, holder_ins: str, conversation_id: str) -> _DeleteDraft:
        return _DeleteDraft(holder_ins, conversation_id)

    def _commit(self, tx: Transaction) -> None:
        try:
            tx.commit()
        except TransactionCancelled as exc:
            raise Conflict("the conversation changed meanwhile: try again", code="conversation_changed") from exc

    def save_draft(self, conversation: Conversation, previous: Conversation, draft: Draft) -> None:
        tx = Transaction()
        _PutConversation(conversation, previous).stage(tx)
        tx.put("draft", MessageItem(conversation.holder_ins, f"C#{draft.conversation_id}#D", kind="D",
                                    body=draft.model_dump_json()))
        self._commit(tx)

    def draft(self, holder_ins: str, conversation_id: str) -> Draft | None:
        try:
            item = MessageItem.get(holder_ins, f"C#{conversation_id}#D", consistent_read=True)
        except MessageItem.DoesNotExist:
            return None
        return Draft.model_validate_json(item.body)

    def delete_draft(self, conversation: Conversation, previous: Conversation) -> None:
        tx = Transaction()
        _PutConversation(conversation, previous).stage(tx)
        _DeleteDraft(conversation.holder_ins, conversation.conversation_id).stage(tx)
        self._commit(tx)

    def list(self, holder_ins: str, after: str | None, limit: int) -> tuple[list[Conversation], str | None]:
        start = None
        if after is not None:
            start = {"holder": {"S": holder_ins}, "sk": {"S": "C#" + after.rsplit("#", 1)[-1]},
                     "recent": {"S": after}}
        result = MessageItem.by_recent.query(holder_ins, scan_index_forward=False, limit=limit,
                                             last_evaluated_key=start, consistent_read=True)
        items = [_to_conversation(item) for item in result]
        last = result.last_evaluated_key
        return items, (last["recent"]["S"] if last else None)


class MessagingErasure:
    """`functions.accounts.ports.SpaceEraser` for messaging: the holder's mailbox partition (conversations,
    messages, drafts). Attachments (MSG-ATT) are not on this branch: their objects need their prefix erased too."""

    def erase_space(self, ins: str) -> int:
        from functions.shared.erasing import delete_partition

        return delete_partition(MessageItem, ins)
