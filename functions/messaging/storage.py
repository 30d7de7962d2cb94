"""The `messages` table, messaging's alone. Partition `holder` (the patient's INS); sort key `sk`:
`C#<conversation>` the conversation, `C#<conversation>#M#<at>#<message>` its messages, `C#<conversation>#D` its
draft, `R#<message>` the once-only marker of a received mail (its id derives from the mail's Message-ID), so a
conversation is ONE Query (`begins_with C#<id>`). The sparse LSI `holder-by-recent` (range `recent`
= `<last message at>#<conversation>`) holds only conversations not in the trash: the holder's list, newest first,
is ONE Query. Items keep their domain model as JSON (`body`); the conversation carries a `version` for
optimistic writes.

Outbound mail: `P#<FINESS>` the pharmacies the holder added (one Query of `P#`); `SENT#<once key>` the once-only
marks of SES sends (the holder's partition, so they go with the mailbox); the outbox, mail committed with its
message and not yet handed to OutboundMail, in the partitions `OUTBOX#<0..OUTBOX_SHARDS-1>` (sort key = the
once-only key), read by the retry pass with one Query per shard, never a Scan. An outbox item lives from the
commit to the send (milliseconds) unless the send failed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

from functions.messaging.blobs import attachment_prefix
from functions.messaging.models import Conversation, Draft, Message, Pharmacy
from functions.messaging.outmail import Held, Outgoing, OutgoingFile
from functions.shared.clock import iso
from functions.shared.dynamo import Transaction, TransactionCancelled, error_code
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
                                      kind="M", body=message_body(m)), MessageItem.sk.does_not_exist())


def message_body(m: Message) -> str:
    """A message as stored. A field added after messages were stored is left out while it holds its default, so an
    older message dumps again to exactly the body it was stored with (`_UpdateMessage` compares the two)."""
    return m.model_dump_json(exclude=set() if m.recipients else {"recipients"})


@dataclass(frozen=True)
class _UpdateMessage:
    """A message's new state (its attachments' verdicts) if its stored body is still exactly `previous`'s: two
    attachments of one message verified at once never overwrite each other's verdict."""

    message: Message
    previous: Message
    holder_ins: str

    def stage(self, tx: WriteSink) -> None:
        m = self.message
        tx.put("message", MessageItem(self.holder_ins, f"C#{m.conversation_id}#M#{iso(m.at)}#{m.message_id}",
                                      kind="M", body=message_body(m)),
               MessageItem.body == message_body(self.previous))
@dataclass(frozen=True)
class _Once:
    holder_ins: str
    message_id: str

    def stage(self, tx: WriteSink) -> None:
        tx.put("once", MessageItem(self.holder_ins, f"R#{self.message_id}", kind="R", body="{}"),
               MessageItem.sk.does_not_exist())


@dataclass(frozen=True)
class _DeleteDraft:
    holder_ins: str
    conversation_id: str

    def stage(self, tx: WriteSink) -> None:
        tx.delete("draft", MessageItem(self.holder_ins, f"C#{self.conversation_id}#D"))


OUTBOX_SHARDS = 8


def _outbox_partition(once_key: str) -> str:
    return f"OUTBOX#{int(hashlib.sha256(once_key.encode()).hexdigest(), 16) % OUTBOX_SHARDS}"


@dataclass(frozen=True)
class _PutOutgoing:
    holder_ins: str
    mail: Outgoing

    def stage(self, tx: WriteSink) -> None:
        m = self.mail
        tx.put("outbox", MessageItem(_outbox_partition(m.once_key), m.once_key, kind="O", body=json.dumps(
            {"holder": self.holder_ins, "sender": m.sender, "recipients": m.recipients, "raw": m.raw.decode("ascii"),
             "queued_at": iso(m.queued_at) if m.queued_at else None,
             "files": [dataclasses.asdict(f) for f in m.files],
             "held": {**dataclasses.asdict(m.held), "until": iso(m.held.until)} if m.held else None})),
            MessageItem.sk.does_not_exist())


@dataclass(frozen=True)
class _PutPharmacy:
    holder_ins: str
    pharmacy: Pharmacy

    def stage(self, tx: WriteSink) -> None:
        tx.put("pharmacy", MessageItem(self.holder_ins, f"P#{self.pharmacy.finess}", kind="P",
                                       body=self.pharmacy.model_dump_json()))


@dataclass(frozen=True)
class _DeletePharmacy:
    holder_ins: str
    finess: str

    def stage(self, tx: WriteSink) -> None:
        tx.delete("pharmacy", MessageItem(self.holder_ins, f"P#{self.finess}"), MessageItem.sk.exists())


class DynamoOutbox:
    """Fits `functions.messaging.ports.Outbox` and `SentMarks`."""

    def staged_mail(self, holder_ins: str, mail: Outgoing) -> _PutOutgoing:
        return _PutOutgoing(holder_ins, mail)

    def delivered(self, once_key: str) -> None:
        MessageItem(_outbox_partition(once_key), once_key).delete()

    def pending(self, limit: int) -> list[Outgoing]:
        found: list[Outgoing] = []
        for shard in range(OUTBOX_SHARDS):
            for item in MessageItem.query(f"OUTBOX#{shard}", limit=limit - len(found)):
                body = json.loads(item.body)
                queued = body.get("queued_at")
                held = body.get("held")
                found.append(Outgoing(body["raw"].encode("ascii"), body["sender"], body["recipients"], item.sk,
                                      datetime.fromisoformat(queued) if queued else None,
                                      tuple(OutgoingFile(**f) for f in body.get("files", ())),
                                      Held(**{**held, "until": datetime.fromisoformat(held["until"])})
                                      if held else None))
            if len(found) >= limit:
                break
        return found

    def claim(self, holder_ins: str, once_key: str) -> bool:
        try:
            MessageItem(holder_ins, f"SENT#{once_key}", kind="S", body="{}").save(
                condition=MessageItem.sk.does_not_exist())
        except PutError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, holder_ins: str, once_key: str) -> None:
        MessageItem(holder_ins, f"SENT#{once_key}").delete()


class DynamoMessageStore:
    """Fits `functions.messaging.ports.MessageStore` and `PharmacyBook`."""

    def pharmacies(self, holder_ins: str) -> list[Pharmacy]:
        return [Pharmacy.model_validate_json(item.body)
                for item in MessageItem.query(holder_ins, MessageItem.sk.startswith("P#"), consistent_read=True)]

    def staged_pharmacy(self, holder_ins: str, pharmacy: Pharmacy) -> _PutPharmacy:
        return _PutPharmacy(holder_ins, pharmacy)

    def staged_pharmacy_removal(self, holder_ins: str, finess: str) -> _DeletePharmacy:
        return _DeletePharmacy(holder_ins, finess)

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

    def staged_once(self, holder_ins: str, message_id: str) -> _Once:
        return _Once(holder_ins, message_id)

    def staged_draft_removal(self, holder_ins: str, conversation_id: str) -> _DeleteDraft:
        return _DeleteDraft(holder_ins, conversation_id)

    def staged_message_update(self, message: Message, previous: Message, holder_ins: str) -> _UpdateMessage:
        return _UpdateMessage(message, previous, holder_ins)

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

    def everything(self, holder_ins: str) -> Iterator[tuple[Conversation, list[Message]]]:
        """The holder's whole partition in one paginated Query (the export): conversations with their messages."""
        current: Conversation | None = None
        messages: list[Message] = []
        for item in MessageItem.query(holder_ins):
            if item.kind == "C":
                if current is not None:
                    yield current, messages
                current, messages = _to_conversation(item), []
            elif item.kind == "M":
                messages.append(Message.model_validate_json(item.body))
        if current is not None:
            yield current, messages

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
    messages, drafts, outbox marks), the mail of theirs still in the outbox (a send that failed, a mail held for
    uploads: its body names them), and every attachment object and version under `<ins>/` of the attachments
    bucket (functions/messaging/blobs.py's key scheme)."""

    def __init__(self, s3: Any, attachments_bucket: str) -> None:
        self._s3 = s3
        self._bucket = attachments_bucket

    def erase_space(self, ins: str) -> int:
        from functions.shared.erasing import delete_items, delete_versions, partition_keys

        found = partition_keys(MessageItem, ins)
        # A mail's outbox key is its once-only key: a message's id, or `mdn-<id>` for its read receipt. Deleting
        # a key that is not there is free in the same batch; no Scan of the outbox's shards.
        message_ids = [item.sk.rsplit("#", 1)[-1] for item in found if "#M#" in item.sk]
        queued = [MessageItem(_outbox_partition(key), key) for mid in message_ids for key in (mid, f"mdn-{mid}")]
        delete_items(MessageItem, [*found, *queued])
        return len(found) + delete_versions(self._s3, self._bucket, attachment_prefix(ins))
