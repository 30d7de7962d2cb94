"""agenda's `AgendaStore` and `DueIndex` over the fake and the DynamoDB adapter: optimistic versions, lists in
time order with cursors, and the due entry that always moves with its item."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import pytest

from functions.agenda.fanout import DueIndex
from functions.agenda.models import Appointment, DueEntry, ItemKind, Prevention, Reminder, Repeat, shard_of
from functions.agenda.ports import AgendaStore
from tests.contract.conftest import new_ins
from tests.unit.fakes import FakeAgendaStore

SHARDS = 8
T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)
DAY = date(2026, 12, 1)


class Agenda(AgendaStore, DueIndex, Protocol):
    """The agenda table and its due index, which the adapters keep in step."""


@pytest.fixture
def agenda(side: str) -> Agenda:
    if side == "fake":
        return FakeAgendaStore(SHARDS)
    from functions.agenda.storage import DynamoAgendaStore, DynamoDueIndex

    class Both(DynamoAgendaStore, DynamoDueIndex):
        pass

    return Both(SHARDS)


def appointment(ins: str, n: int, version: int = 0, next_due: date | None = DAY) -> Appointment:
    return Appointment(owner_ins=ins, appointment_id=f"appt_{n:024d}", start=T0 + timedelta(days=30 - n),
                       professional="Dr Martin", place="Paris", reminder_lead_days=1, created_at=T0, updated_at=T0,
                       next_due=next_due, version=version)


def reminder(ins: str, n: int) -> Reminder:
    return Reminder(owner_ins=ins, reminder_id=f"rem_{n:024d}", label="pilule", first_date=DAY + timedelta(days=n),
                    repeat=Repeat.MONTHLY, created_at=T0, updated_at=T0, next_due=DAY + timedelta(days=n))


def due(ins: str, item_id: str, day: date = DAY, kind: ItemKind = ItemKind.APPOINTMENT) -> DueEntry:
    return DueEntry(day=day, owner_ins=ins, item_id=item_id, kind=kind, what="Dr Martin", when="2026-12-02")


def mine(agenda: Agenda, ins: str, day: date = DAY) -> list[DueEntry]:
    """This person's entries in their shard of a day (the moto tables are shared by the session)."""
    return [e for page in agenda.shard(day, shard_of(ins, SHARDS)) for e in page if e.owner_ins == ins]


def test_a_new_item_is_written_once_and_changes_only_at_the_version_it_was_read(agenda: Agenda) -> None:
    ins = new_ins()
    a = appointment(ins, 1)
    assert agenda.save_appointment(a, None, None, due(ins, a.appointment_id))
    assert not agenda.save_appointment(a, None, None, None)  # it exists
    assert agenda.get_appointment(ins, a.appointment_id) == a
    moved = a.model_copy(update={"place": "Lyon", "version": 1})
    assert not agenda.save_appointment(moved, 5, DAY, due(ins, a.appointment_id))
    assert agenda.save_appointment(moved, 0, DAY, due(ins, a.appointment_id))
    assert not agenda.save_appointment(moved.model_copy(update={"version": 2}), 0, DAY, None)  # stale read
    assert agenda.get_appointment(ins, a.appointment_id) == moved


def test_the_due_entry_moves_with_its_item_and_carries_its_version(agenda: Agenda) -> None:
    ins = new_ins()
    a = appointment(ins, 1)
    agenda.save_appointment(a, None, None, due(ins, a.appointment_id))
    assert [(e.item_id, e.version) for e in mine(agenda, ins)] == [(a.appointment_id, 0)]
    later = DAY + timedelta(days=3)
    agenda.save_appointment(a.model_copy(update={"version": 1, "next_due": later}), 0, DAY,
                            due(ins, a.appointment_id, later))
    assert mine(agenda, ins) == []
    assert [(e.day, e.version, e.what) for e in mine(agenda, ins, later)] == [(later, 1, "Dr Martin")]
    agenda.save_appointment(a.model_copy(update={"version": 2, "next_due": None}), 1, later, None)
    assert mine(agenda, ins, later) == []


def test_a_refused_change_leaves_the_due_entry_where_it_was(agenda: Agenda) -> None:
    ins = new_ins()
    a = appointment(ins, 1)
    agenda.save_appointment(a, None, None, due(ins, a.appointment_id))
    later = DAY + timedelta(days=3)
    assert not agenda.save_appointment(a.model_copy(update={"version": 1}), 7, DAY, due(ins, a.appointment_id,
                                                                                       later))
    assert [e.day for e in mine(agenda, ins)] == [DAY] and mine(agenda, ins, later) == []


def test_deleting_needs_the_version_read_and_takes_the_due_entry(agenda: Agenda) -> None:
    ins = new_ins()
    a = appointment(ins, 1)
    agenda.save_appointment(a, None, None, due(ins, a.appointment_id))
    assert not agenda.delete_appointment(a.model_copy(update={"version": 3}))
    assert agenda.delete_appointment(a)
    assert agenda.get_appointment(ins, a.appointment_id) is None and mine(agenda, ins) == []
    assert not agenda.delete_appointment(a)


def test_appointments_list_in_time_order_and_page_with_a_cursor(agenda: Agenda) -> None:
    ins = new_ins()
    for n in range(5):
        agenda.save_appointment(appointment(ins, n), None, None, None)
    agenda.save_reminder(reminder(ins, 1), None, None, None)  # another kind, another list
    seen: list[str] = []
    after = None
    for _ in range(10):
        page, after = agenda.list_appointments(ins, after, 2)
        assert len(page) <= 2
        seen += [a.appointment_id for a in page]
        if after is None:
            break
    assert seen == [appointment(ins, n).appointment_id for n in reversed(range(5))]  # soonest first
    assert agenda.list_appointments(new_ins(), None, 20) == ([], None)


def test_reminders_list_by_first_date_apart_from_appointments(agenda: Agenda) -> None:
    ins = new_ins()
    for n in (3, 1, 2):
        agenda.save_reminder(reminder(ins, n), None, None, None)
    agenda.save_appointment(appointment(ins, 1), None, None, None)
    page, after = agenda.list_reminders(ins, None, 2)
    assert [r.reminder_id for r in page] == [reminder(ins, 1).reminder_id, reminder(ins, 2).reminder_id]
    rest, after = agenda.list_reminders(ins, after, 2)
    assert [r.reminder_id for r in rest] == [reminder(ins, 3).reminder_id] and after is None
    assert agenda.get_reminder(ins, reminder(ins, 1).reminder_id) == reminder(ins, 1)


def test_an_item_is_read_only_as_its_own_kind(agenda: Agenda) -> None:
    ins = new_ins()
    agenda.save_reminder(reminder(ins, 1), None, None, None)
    assert agenda.get_appointment(ins, reminder(ins, 1).reminder_id) is None
    assert agenda.get_prevention(ins) is None
    p = Prevention(owner_ins=ins, birth_date=date(1971, 6, 1), sex=2, opened_on=DAY, next_due=DAY)
    assert agenda.save_prevention(p, None, None, due(ins, "prevention", kind=ItemKind.PREVENTION))
    assert agenda.get_prevention(ins) == p
    assert [e.kind for e in mine(agenda, ins)] == [ItemKind.PREVENTION]


def test_a_shard_lists_every_entry_of_its_day_and_no_other_days(agenda: Agenda) -> None:
    ins = new_ins()
    for n in range(3):
        a = appointment(ins, n)
        agenda.save_appointment(a, None, None, due(ins, a.appointment_id))
    agenda.save_reminder(reminder(ins, 1), None, None, due(ins, reminder(ins, 1).reminder_id,
                                                           DAY + timedelta(days=1), ItemKind.REMINDER))
    assert sorted(e.item_id for e in mine(agenda, ins)) == [appointment(ins, n).appointment_id for n in range(3)]
    other = (shard_of(ins, SHARDS) + 1) % SHARDS
    assert [e for page in agenda.shard(DAY, other) for e in page if e.owner_ins == ins] == []
