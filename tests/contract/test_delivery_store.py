"""agenda's `DeliveryStore` over the fakes and the DynamoDB adapter: who can be told (contacts with preferences,
prevention items) in one read, and each reminder's effect committed once, refused when stale or already done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from functions.accounts.models import Space, SpaceStatus
from functions.accounts.ports import SpaceDirectory
from functions.agenda.delivery import Effect, Outcome
from functions.agenda.models import Appointment, DueEntry, ItemKind, Prevention, notified_at, shard_of
from functions.agenda.ports import AgendaStore, DeliveryStore
from functions.notifications.models import (
    Channels,
    Notification,
    NotificationKind,
    NotificationPreferences,
    PreferenceCode,
)
from functions.notifications.ports import EmailClaims, InAppNotifications
from tests.contract.conftest import new_ins
from tests.unit.fakes import (
    FakeAgendaStore,
    FakeDeliveryStore,
    FakeNotificationStore,
    FakeSpaceDirectory,
)

SHARDS = 8
T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)
DAY = date(2026, 12, 1)


class Notes(InAppNotifications, EmailClaims):
    pass


@dataclass
class World:
    delivery: DeliveryStore
    agenda: AgendaStore
    spaces: SpaceDirectory
    notes: Notes

    def due_on(self, ins: str, day: date) -> list[DueEntry]:
        shard = self.agenda.shard(day, shard_of(ins, SHARDS))  # type: ignore[attr-defined]
        return [e for page in shard for e in page if e.owner_ins == ins]


@pytest.fixture
def world(side: str) -> World:
    if side == "fake":
        agenda, spaces, notes = FakeAgendaStore(SHARDS), FakeSpaceDirectory(), FakeNotificationStore()
        return World(FakeDeliveryStore(agenda, spaces, notes), agenda, spaces, notes)  # type: ignore[arg-type]
    from functions.accounts.storage import DynamoSpaceStore
    from functions.agenda.storage import DynamoAgendaStore, DynamoDeliveryStore, DynamoDueIndex
    from functions.notifications.storage import DynamoNotificationStore

    class Both(DynamoAgendaStore, DynamoDueIndex):
        pass

    spaces_, notes_ = DynamoSpaceStore(), DynamoNotificationStore()
    return World(DynamoDeliveryStore(SHARDS, spaces_, notes_), Both(SHARDS), spaces_,
                 notes_)  # type: ignore[arg-type]


def appointment_due(w: World, ins: str) -> DueEntry:
    a = Appointment(owner_ins=ins, appointment_id="appt_" + "1" * 24, start=T0 + timedelta(days=12),
                    professional="Dr Martin", created_at=T0, updated_at=T0, next_due=DAY, version=0)
    entry = DueEntry(day=DAY, owner_ins=ins, item_id=a.appointment_id, kind=ItemKind.APPOINTMENT, what="Dr Martin")
    assert w.agenda.save_appointment(a, None, None, entry)
    return entry


def effect(entry: DueEntry, email: bool = True, next_day: date | None = None) -> Effect:
    n = Notification.for_reminder(entry.owner_ins, entry.item_id, entry.day, NotificationKind.APPOINTMENT_REMINDER,
                                  notified_at(entry.day), what=entry.what)
    nxt = entry.model_copy(update={"day": next_day}) if next_day else None
    return Effect(entry=entry, notification=n, email=email, next_entry=nxt)


def test_recipients_are_open_or_closed_spaces_with_their_preferences_and_prevention_items(world: World) -> None:
    told, quiet, nobody = new_ins(), new_ins(), new_ins()
    world.spaces.open(Space(ins=told, status=SpaceStatus.OPEN, created_at=T0, email="a@example.org"))
    world.spaces.open(Space(ins=quiet, status=SpaceStatus.CLOSED, created_at=T0))
    prefs = NotificationPreferences(channels={PreferenceCode.NOTIF_APPOINTMENT: Channels(email=False)})
    world.notes.put_preferences(quiet, prefs, also=[world.spaces.notification_switches(quiet, prefs)])
    p = Prevention(owner_ins=told, birth_date=date(1971, 6, 1), sex=2, next_due=DAY)
    world.agenda.save_prevention(p, None, None, None)
    recipients, preventions = world.delivery.read([told, quiet, nobody], [told, quiet])
    assert set(recipients) == {told, quiet}
    assert recipients[told].email == "a@example.org"
    assert recipients[told].preferences == NotificationPreferences()
    assert (recipients[quiet].is_open, recipients[quiet].preferences) == (False, prefs)
    assert preventions == {told: p}


def test_an_effect_commits_once_and_moves_its_item_and_entry_on(world: World) -> None:
    ins = new_ins()
    entry = appointment_due(world, ins)
    later = DAY + timedelta(days=1)
    assert world.delivery.commit([effect(entry, next_day=later)]) == {effect(entry).key: Outcome.DONE}
    a = world.agenda.get_appointment(ins, entry.item_id)
    assert a is not None and a.next_due == later
    assert [e.day for e in world.due_on(ins, later)] == [later]
    listed = world.notes.list(ins, None, 20)[0]
    assert [n.notification_id for n in listed] == [effect(entry).notification.notification_id]


def test_a_replay_says_whether_the_email_is_still_pending_and_a_moved_item_is_stale(world: World) -> None:
    ins = new_ins()
    entry = appointment_due(world, ins)
    e = effect(entry)
    assert world.delivery.commit([e]) == {e.key: Outcome.DONE}
    assert world.delivery.commit([e]) == {e.key: Outcome.ALREADY_EMAIL_PENDING}
    world.notes.claim_emails([e.notification])
    assert world.delivery.commit([e]) == {e.key: Outcome.ALREADY}

    other = new_ins()
    stale = appointment_due(world, other)
    a = world.agenda.get_appointment(other, stale.item_id)
    assert a is not None
    world.agenda.save_appointment(a.model_copy(update={"version": 1}), 0, DAY, None)  # changed since the fan-out
    fresh = appointment_due(world, new_ins())
    outcomes = world.delivery.commit([effect(stale), effect(fresh, email=False)])
    assert outcomes == {effect(stale).key: Outcome.STALE, effect(fresh).key: Outcome.DONE}
    assert world.notes.list(other, None, 20) == ([], None)
