"""At most one reminder e-mail a day per person: tried as a new user would, one person with an appointment, a
monthly reminder and a prevention item due the same morning got three e-mails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from functions.agenda.fanout import DeliveryBatch, ShardTask, run_shard
from functions.agenda.models import DueEntry, ItemKind
from tests.unit.test_agenda_delivery import (
    DAY,
    PEOPLE,
    DeliveryDepsOf,
    FakeDeliveryStore,
    FakeMailer,
    deliver,
    prevention_entry,
)


def entries_of(ins: str) -> list[DueEntry]:
    return [DueEntry(day=DAY, owner_ins=ins, item_id="appt_1", kind=ItemKind.APPOINTMENT, what="Rendez-vous",
                     when="2032-03-16T09:30:00+01:00", professional="Dr Martin", version=1),
            DueEntry(day=DAY, owner_ins=ins, item_id="rem_1", kind=ItemKind.REMINDER, what="Ordonnance", version=1),
            prevention_entry(ins)]


def test_three_reminders_of_one_person_on_one_day_are_one_email() -> None:
    me, other = PEOPLE[0], PEOPLE[1]
    store, mailer = FakeDeliveryStore({me: "me@example.org", other: "other@example.org"}), FakeMailer()
    batch = DeliveryBatch(day=DAY, entries=[*entries_of(me), prevention_entry(other)])

    report = deliver(DeliveryDepsOf(store=store, mailer=mailer), batch)

    assert report.delivered == 4 and (report.emails, report.emailed_reminders) == (2, 4)
    mine = [e for e in mailer.sent if e.address == "me@example.org"]
    assert [e.data for e in mine] == [{"kind": "récapitulatif de 3 rappels", "day": "15/03/2032"}]
    theirs = [e.data for e in mailer.sent if e.address == "other@example.org"]
    assert theirs == [{"kind": "rappel de prévention", "day": "15/03/2032"}]


def test_a_redelivery_of_the_day_sends_no_second_digest() -> None:
    me = PEOPLE[0]
    store, mailer = FakeDeliveryStore({me: "me@example.org"}), FakeMailer()
    deps = DeliveryDepsOf(store=store, mailer=mailer)
    batch = DeliveryBatch(day=DAY, entries=entries_of(me))
    deliver(deps, batch)
    again = deliver(deps, batch)
    assert len(mailer.sent) == 1 and again.emails == 0


class Index:
    def __init__(self, entries: list[DueEntry]) -> None:
        self.entries = entries

    def shard(self, day: date, shard: int) -> Iterator[list[DueEntry]]:
        yield self.entries[:4]  # a page boundary inside a person's entries too
        yield self.entries[4:]


class Queue:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send_all(self, bodies: list[str]) -> None:
        self.bodies.extend(bodies)


def test_the_fan_out_never_splits_one_persons_reminders_across_two_deliveries() -> None:
    entries = [e for ins in PEOPLE for e in entries_of(ins)]  # adjacent per person, as the shard's sort key gives
    queue = Queue()

    queued = run_shard(Index(entries), queue, ShardTask(day=DAY, shard=0), batch_size=2)

    batches = [DeliveryBatch.model_validate_json(b) for b in queue.bodies]
    assert queued == 9 and sum(len(b.entries) for b in batches) == 9
    owners = [{e.owner_ins for e in b.entries} for b in batches]
    assert [len(o) for o in owners] == [1, 1, 1]  # batch_size 2 is passed to finish a person, once each
