"""Agenda tables.

`agenda`: partition = owner INS, sort = item id (`appt_...`, `rem_...`, `prevention`), so no query crosses people.
Each item holds its schedule and `next_due`, the day its one pending reminder sits in the due index. A local
secondary index (`when_key` = kind#time#id) lists appointments and reminders in time order.

`agenda-due`: the due index. Partition = `DUE#<day>#<shard>` with shard = stable hash(person) mod S, sort =
`<ins>#<item id>`. The fan-out of one shard of one day is a Query, never a Scan; entries expire by TTL a month
after their day. An item and its due entry always change in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as time_of_day
from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

from functions.accounts.models import Contact
from functions.accounts.ports import SpaceDirectory
from functions.agenda.calendar import PreventionRecord
from functions.agenda.delivery import Effect, EffectKey, Outcome
from functions.agenda.models import (
    PREVENTION_ID,
    Appointment,
    DueEntry,
    ItemKind,
    Prevention,
    Reminder,
    Repeat,
    shard_of,
)
from functions.notifications.ports import InAppNotifications, OnceOnly
from functions.shared.clock import iso
from functions.shared.dynamo import Transaction, TransactionCancelled, batch_get_many, error_code, transaction

DUE_RETENTION = timedelta(days=30)
HIGH = "\uffff"


class AgendaByTime(LocalSecondaryIndex["AgendaItem"]):
    class Meta:
        index_name = "agenda-by-time"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    when_key = UnicodeAttribute(range_key=True)


class AgendaItem(Model):
    class Meta:
        table_name = "agenda"

    owner = UnicodeAttribute(hash_key=True)
    item_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    when_key = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    next_due = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    # appointment
    start = UTCDateTimeAttribute(null=True)
    start_offset_minutes = NumberAttribute(null=True)
    professional = UnicodeAttribute(null=True)
    place = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    lead_days = NumberAttribute(null=True)
    # reminder
    label = UnicodeAttribute(null=True)
    first_date = UnicodeAttribute(null=True)
    time = UnicodeAttribute(null=True)
    time_zone = UnicodeAttribute(null=True)
    repeat = UnicodeAttribute(null=True)
    until = UnicodeAttribute(null=True)
    # prevention
    birth_date = UnicodeAttribute(null=True)
    sex = NumberAttribute(null=True)
    records = UnicodeAttribute(null=True)  # JSON {code: record}
    opened_on = UnicodeAttribute(null=True)

    by_time = AgendaByTime()


class DueItem(Model):
    class Meta:
        table_name = "agenda-due"

    bucket = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    version = NumberAttribute(default=0)
    what = UnicodeAttribute()
    when = UnicodeAttribute(null=True)
    professional = UnicodeAttribute(null=True)
    place = UnicodeAttribute(null=True)
    repeat = UnicodeAttribute(null=True)
    first_date = UnicodeAttribute(null=True)
    until = UnicodeAttribute(null=True)
    time = UnicodeAttribute(null=True)
    time_zone = UnicodeAttribute(null=True)
    expires_at_epoch = TTLAttribute(null=True)


def bucket_key(day: date, shard: int) -> str:
    return f"DUE#{day.isoformat()}#{shard:05d}"


def _opt_date(raw: str | None) -> date | None:
    return date.fromisoformat(raw) if raw else None


def due_item(entry: DueEntry, shards: int) -> DueItem:
    return DueItem(
        bucket_key(entry.day, shard_of(entry.owner_ins, shards)), f"{entry.owner_ins}#{entry.item_id}",
        kind=entry.kind.value, version=entry.version, what=entry.what, when=entry.when, professional=entry.professional,
        place=entry.place, repeat=entry.repeat.value if entry.repeat is not Repeat.NONE else None,
        first_date=entry.first_date.isoformat() if entry.first_date else None,
        until=entry.until.isoformat() if entry.until else None,
        time=entry.time.isoformat() if entry.time else None, time_zone=entry.time_zone,
        expires_at_epoch=datetime.combine(entry.day, datetime.min.time(), tzinfo=UTC) + DUE_RETENTION,
    )


def entry_of(item: DueItem, day: date) -> DueEntry:
    ins, item_id = item.entry.split("#", 1)
    return DueEntry(day=day, owner_ins=ins, item_id=item_id, kind=ItemKind(item.kind), what=item.what,
                     when=item.when, professional=item.professional, place=item.place,
                     repeat=Repeat(item.repeat) if item.repeat else Repeat.NONE,
                     first_date=_opt_date(item.first_date), until=_opt_date(item.until),
                     time=time_of_day.fromisoformat(item.time) if item.time else None, time_zone=item.time_zone,
                    version=int(item.version))


def _appointment_item(a: Appointment) -> AgendaItem:
    offset = a.start.utcoffset()
    return AgendaItem(
        a.owner_ins, a.appointment_id, kind=ItemKind.APPOINTMENT.value, version=a.version,
        when_key=f"{ItemKind.APPOINTMENT.value}#{iso(a.start)}#{a.appointment_id}",
        next_due=a.next_due.isoformat() if a.next_due else None, created_at=a.created_at, updated_at=a.updated_at,
        start=a.start, start_offset_minutes=int(offset.total_seconds() // 60) if offset is not None else 0,
        professional=a.professional, place=a.place, note=a.note, lead_days=a.reminder_lead_days)


def _reminder_item(r: Reminder) -> AgendaItem:
    return AgendaItem(
        r.owner_ins, r.reminder_id, kind=ItemKind.REMINDER.value, version=r.version,
        when_key=f"{ItemKind.REMINDER.value}#{r.first_date.isoformat()}#{r.reminder_id}",
        next_due=r.next_due.isoformat() if r.next_due else None, created_at=r.created_at, updated_at=r.updated_at,
        label=r.label, first_date=r.first_date.isoformat(), time=r.time.isoformat() if r.time else None,
        time_zone=r.time_zone, repeat=r.repeat.value, until=r.until.isoformat() if r.until else None)


def prevention_item(p: Prevention) -> AgendaItem:
    records = {code: rec.model_dump(mode="json") for code, rec in p.records.items()}
    return AgendaItem(p.owner_ins, PREVENTION_ID, kind=ItemKind.PREVENTION.value, version=p.version,
                      next_due=p.next_due.isoformat() if p.next_due else None, birth_date=p.birth_date.isoformat(),
                      sex=p.sex, records=json.dumps(records, sort_keys=True),
                      opened_on=p.opened_on.isoformat() if p.opened_on else None)


def to_appointment(item: AgendaItem) -> Appointment:
    assert item.start is not None
    start = item.start.astimezone(timezone(timedelta(minutes=int(item.start_offset_minutes or 0))))
    return Appointment(owner_ins=item.owner, appointment_id=item.item_id, start=start,
                       professional=item.professional or "", place=item.place, note=item.note,
                       reminder_lead_days=int(item.lead_days or 0), created_at=item.created_at,
                       updated_at=item.updated_at, next_due=_opt_date(item.next_due), version=int(item.version))


def to_reminder(item: AgendaItem) -> Reminder:
    assert item.first_date is not None
    return Reminder(owner_ins=item.owner, reminder_id=item.item_id, label=item.label or "",
                    first_date=date.fromisoformat(item.first_date),
                    time=time_of_day.fromisoformat(item.time) if item.time else None,
                    time_zone=item.time_zone or "Europe/Paris", repeat=Repeat(item.repeat or "none"),
                    until=_opt_date(item.until), created_at=item.created_at, updated_at=item.updated_at,
                    next_due=_opt_date(item.next_due), version=int(item.version))


def to_prevention(item: AgendaItem) -> Prevention:
    assert item.birth_date is not None
    records = {code: PreventionRecord.model_validate(rec) for code, rec in json.loads(item.records or "{}").items()}
    return Prevention(owner_ins=item.owner, birth_date=date.fromisoformat(item.birth_date), sex=int(item.sex or 0),
                      records=records, opened_on=_opt_date(item.opened_on), next_due=_opt_date(item.next_due),
                      version=int(item.version))


def _cancelled_on_condition(exc: TransactWriteError) -> bool:
    if error_code(exc) != "TransactionCanceledException":
        raise exc
    return any(r and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons)


class DynamoAgendaStore:
    """Every change is one TransactWriteItems: the item (optimistic version check), the old due entry removed,
    the new one written."""

    def __init__(self, shards: int) -> None:
        self.shards = shards

    def _get(self, ins: str, item_id: str, kind: ItemKind) -> AgendaItem | None:
        try:
            item = AgendaItem.get(ins, item_id, consistent_read=True)
        except AgendaItem.DoesNotExist:
            return None
        return item if item.kind == kind.value else None

    def get_appointment(self, ins: str, appointment_id: str) -> Appointment | None:
        item = self._get(ins, appointment_id, ItemKind.APPOINTMENT)
        return to_appointment(item) if item else None

    def get_reminder(self, ins: str, reminder_id: str) -> Reminder | None:
        item = self._get(ins, reminder_id, ItemKind.REMINDER)
        return to_reminder(item) if item else None

    def get_prevention(self, ins: str) -> Prevention | None:
        item = self._get(ins, PREVENTION_ID, ItemKind.PREVENTION)
        return to_prevention(item) if item else None

    def _list(self, ins: str, kind: ItemKind, after: str | None, limit: int) -> tuple[list[AgendaItem], str | None]:
        start = None
        if after is not None:
            start = {"owner": {"S": ins}, "item_id": {"S": after.rsplit("#", 1)[-1]}, "when_key": {"S": after}}
        result = AgendaItem.by_time.query(ins, AgendaItem.when_key.startswith(f"{kind.value}#"), limit=limit,
                                          last_evaluated_key=start, consistent_read=True)
        items = list(result)
        last = result.last_evaluated_key
        return items, (last["when_key"]["S"] if last else None)

    def list_appointments(self, ins: str, after: str | None, limit: int) -> tuple[list[Appointment], str | None]:
        items, last = self._list(ins, ItemKind.APPOINTMENT, after, limit)
        return [to_appointment(i) for i in items], last

    def list_reminders(self, ins: str, after: str | None, limit: int) -> tuple[list[Reminder], str | None]:
        items, last = self._list(ins, ItemKind.REMINDER, after, limit)
        return [to_reminder(i) for i in items], last

    def save_appointment(self, a: Appointment, expected_version: int | None, old_due: date | None,
                         due: DueEntry | None) -> bool:
        return self._save(_appointment_item(a), expected_version, old_due, due)

    def save_reminder(self, r: Reminder, expected_version: int | None, old_due: date | None,
                      due: DueEntry | None) -> bool:
        return self._save(_reminder_item(r), expected_version, old_due, due)

    def save_prevention(self, p: Prevention, expected_version: int | None, old_due: date | None,
                        due: DueEntry | None) -> bool:
        return self._save(prevention_item(p), expected_version, old_due, due)

    def delete_appointment(self, a: Appointment) -> bool:
        return self._delete(a.owner_ins, a.appointment_id, a.version, a.next_due)

    def delete_reminder(self, r: Reminder) -> bool:
        return self._delete(r.owner_ins, r.reminder_id, r.version, r.next_due)

    def _due_key(self, ins: str, item_id: str, day: date) -> DueItem:
        return DueItem(bucket_key(day, shard_of(ins, self.shards)), f"{ins}#{item_id}")

    def _save(self, item: AgendaItem, expected_version: int | None, old_due: date | None,
              due: DueEntry | None) -> bool:
        condition: Condition = (AgendaItem.item_id.does_not_exist() if expected_version is None
                                else AgendaItem.version == expected_version)
        try:
            with transaction() as tx:
                if old_due is not None and (due is None or due.day != old_due):
                    tx.delete(self._due_key(item.owner, item.item_id, old_due))
                tx.save(item, condition=condition)
                if due is not None:
                    tx.save(due_item(due.model_copy(update={"version": int(item.version)}), self.shards))
        except TransactWriteError as exc:
            if _cancelled_on_condition(exc):
                return False
            raise
        return True

    def _delete(self, ins: str, item_id: str, version: int, old_due: date | None) -> bool:
        try:
            with transaction() as tx:
                tx.delete(AgendaItem(ins, item_id), condition=AgendaItem.version == version)
                if old_due is not None:
                    tx.delete(self._due_key(ins, item_id, old_due))
        except TransactWriteError as exc:
            if _cancelled_on_condition(exc):
                return False
            raise
        return True


def shard_pages(day: date, shard: int, page_size: int = 1000) -> Iterator[list[DueEntry]]:
    """The due entries of one shard of one day, page by page (Query only)."""
    page: list[DueEntry] = []
    for item in DueItem.query(bucket_key(day, shard), page_size=page_size):
        page.append(entry_of(item, day))
        if len(page) >= page_size:
            yield page
            page = []
    if page:
        yield page


class DynamoDueIndex:
    def shard(self, day: date, shard: int) -> Iterator[list[DueEntry]]:
        return shard_pages(day, shard)


# ---- delivery ------------------------------------------------------------------------------------------------

TRANSACT_LIMIT = 100


@dataclass(frozen=True)
class _Preventions:
    ins: list[str]

    def requested(self) -> list[tuple[Any, Any, Any]]:
        return [(AgendaItem, i, PREVENTION_ID) for i in sorted(set(self.ins))]

    def parse(self, items: list[Any]) -> dict[str, Prevention]:
        return {item.owner: to_prevention(item) for item in items
                if isinstance(item, AgendaItem) and item.kind == ItemKind.PREVENTION.value}


class DynamoDeliveryStore:
    """Reads contacts (accounts: the holder's switches are on them) and prevention items (agenda) in one
    multi-table BatchGetItem (100 keys a call); commits up to 100 items per TransactWriteItems, the notifications
    staged by their owner. The notification's key (reminder + day) is the once-only marker."""

    def __init__(self, shards: int, spaces: SpaceDirectory, notifications: InAppNotifications) -> None:
        self.shards = shards
        self._spaces = spaces
        self._notifications = notifications

    def read(self, ins: list[str], prevention_of: list[str]) -> tuple[dict[str, Contact], dict[str, Prevention]]:
        contacts, preventions = batch_get_many([self._spaces.contacts(ins), _Preventions(prevention_of)])
        return contacts, preventions

    def commit(self, effects: list[Effect]) -> dict[EffectKey, Outcome]:
        """Chunks of whole effects (≤ 100 items); a cancelled chunk is retried without the effects whose
        conditions failed (the cancellation reasons say which); anything else falls back to one effect per call."""
        outcomes: dict[EffectKey, Outcome] = {}
        chunk: list[Effect] = []
        size = 0
        for effect in effects:
            n = 3 if effect.next_entry else 2
            if size + n > TRANSACT_LIMIT:
                outcomes.update(self._commit_chunk(chunk))
                chunk, size = [], 0
            chunk.append(effect)
            size += n
        if chunk:
            outcomes.update(self._commit_chunk(chunk))
        return outcomes

    def _commit_chunk(self, chunk: list[Effect]) -> dict[EffectKey, Outcome]:
        outcomes: dict[EffectKey, Outcome] = {}
        pending = list(chunk)
        for _ in range(3):
            if not pending:
                return outcomes
            failed = self._try(pending)
            if failed is None:
                outcomes.update({e.key: Outcome.DONE for e in pending})
                return outcomes
            if not failed:
                break
            outcomes.update(failed)
            pending = [e for e in pending if e.key not in failed]
        for effect in pending:  # fall back: one conditional transaction per effect
            result = self._try([effect])
            if result is None:
                outcomes[effect.key] = Outcome.DONE
            elif result:
                outcomes.update(result)
            else:
                raise RuntimeError("reminder delivery could not be committed")
        return outcomes

    def _try(self, effects: list[Effect]) -> dict[EffectKey, Outcome] | None:
        """None when committed; else the effects whose own conditions failed ({} when the cause is elsewhere).
        Effect n's writes are labelled `n:notification`, `n:next` and `n:item`."""
        tx = Transaction()
        notices: list[OnceOnly] = []
        for n, effect in enumerate(effects):
            scope = tx.scoped(f"{n}:")
            notices.append(self._notifications.staged_once(effect.notification, email_pending=effect.email))
            notices[n].stage(scope)
            if effect.next_entry is not None:
                scope.put("next", due_item(effect.next_entry, self.shards))
        for n, effect in enumerate(effects):
            e = effect.entry
            action = (AgendaItem.next_due.set(effect.next_entry.day.isoformat()) if effect.next_entry
                      else AgendaItem.next_due.remove())
            unchanged = (AgendaItem.next_due == e.day.isoformat()) & (AgendaItem.version == e.version)
            tx.update(f"{n}:item", AgendaItem(e.owner_ins, e.item_id), [action], unchanged)
        try:
            tx.commit()
        except TransactionCancelled as exc:
            failed: dict[EffectKey, Outcome] = {}
            for n, effect in enumerate(effects):
                if f"{n}:notification" in exc.failed:
                    old = exc.items.get(f"{n}:notification", {})
                    failed[effect.key] = (Outcome.ALREADY_EMAIL_PENDING if notices[n].email_was_pending(old)
                                          else Outcome.ALREADY)
                elif f"{n}:item" in exc.failed:
                    failed[effect.key] = Outcome.STALE
            return failed
        except TransactWriteError as exc:  # cancelled, but by no condition of ours (e.g. a conflict)
            if error_code(exc) != "TransactionCanceledException":
                raise
            return {}
        return None


class AgendaErasure:
    """`functions.accounts.ports.SpaceEraser` for the agenda: the person's items, and each item's pending entry in
    the due index, found by the day the item points to (`next_due`) and the person's shard: no Scan."""

    def __init__(self, shards: int) -> None:
        self.shards = shards

    def erase_space(self, ins: str) -> int:
        from functions.shared.erasing import delete_items, delete_partition

        items = list(AgendaItem.query(ins, consistent_read=True,
                                      attributes_to_get=["owner", "item_id", "next_due"]))
        due = [DueItem(bucket_key(date.fromisoformat(i.next_due), shard_of(ins, self.shards)), f"{ins}#{i.item_id}")
               for i in items if i.next_due]
        delete_items(DueItem, due)
        return delete_partition(AgendaItem, ins) + len(due)
