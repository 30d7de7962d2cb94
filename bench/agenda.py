"""Agenda fan-out bench: seed a synthetic population with a realistic mix of reminders due on one day, run the
day's fan-out and delivery against the moto server, count every AWS call (fan-out and workers apart), then force
a redelivery of every delivery message and re-run the whole day, and count duplicates and losses.

SQS ReceiveMessage/DeleteMessage are made by Lambda's event source mapping, not by our code, and are not counted
(they are billed as SQS requests: see the README cost paragraph)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from bench.__main__ import counted


def _seed(population: int, shards: int, rng: random.Random, day: date) -> tuple[list[str], list[str]]:
    from functions.accounts.storage import SpaceItem, space_key
    from functions.agenda.calendar import PreventionRecord, PreventionStatus
    from functions.agenda.models import Appointment, DueEntry, ItemKind, Prevention, Reminder, Repeat, new_id
    from functions.agenda.service import appointment_due, prevention_due, reminder_due
    from functions.agenda.storage import (
        AgendaItem,
        _appointment_item,
        _reminder_item,
        due_item,
        prevention_item,
    )
    from functions.identity.ins import with_key

    now = datetime(2032, 1, 1, tzinfo=UTC)
    people: list[str] = []
    due: list[str] = []
    with SpaceItem.batch_write() as spaces, AgendaItem.batch_write() as items:
        from functions.agenda.storage import DueItem

        with DueItem.batch_write() as entries:
            for n in range(population):
                sex = rng.choice("12")
                ins = with_key(f"{sex}{rng.randint(30, 99):02d}{rng.randint(1, 12):02d}75{n:06d}")
                people.append(ins)
                spaces.save(SpaceItem(space_key(ins), ins=ins, status="open", created_at=now,
                                      email=f"p{n}@example.org" if rng.random() < 0.7 else None))
                roll = rng.random()
                entry: DueEntry | None = None
                if roll < 0.06:  # an appointment tomorrow, reminder the day before
                    appt = Appointment(owner_ins=ins, appointment_id=new_id("appt"),
                                       start=datetime(day.year, day.month, day.day + 1, 7 + n % 8, 30, tzinfo=UTC),
                                       professional="Dr Martin", place="Cabinet", reminder_lead_days=1,
                                       created_at=now, updated_at=now, version=1)
                    entry = appointment_due(appt, date(2032, 1, 1))
                    assert entry is not None
                    items.save(_appointment_item(appt.model_copy(update={"next_due": entry.day})))
                elif roll < 0.09:  # a monthly personal reminder
                    rem = Reminder(owner_ins=ins, reminder_id=new_id("rem"), label="Renouveler l'ordonnance",
                                   first_date=date(day.year, 1, day.day), repeat=Repeat.MONTHLY, created_at=now,
                                   updated_at=now, version=1)
                    entry = reminder_due(rem, day)
                    assert entry is not None
                    items.save(_reminder_item(rem.model_copy(update={"next_due": entry.day})))
                elif roll < 0.10:  # a prevention item entering its window (a 50th birthday today)
                    prev = Prevention(owner_ins=ins, birth_date=date(day.year - 50, day.month, day.day), sex=int(sex),
                                      version=1,
                                      records={"VAC_DTP": PreventionRecord(status=PreventionStatus.DONE,
                                                                           date=date(2027, 5, 1), done_count=1)})
                    entry = prevention_due(prev, date(day.year, day.month, day.day - 1))
                    assert entry is not None and entry.day == day
                    items.save(prevention_item(prev.model_copy(update={"next_due": entry.day})))
                if entry is not None:
                    entries.save(due_item(entry.model_copy(update={"version": 1}), shards))
                    due.append(ins)
                    assert entry.kind in ItemKind
    return people, due


FAILED_RECORDS: list[str] = []


def _drain(sqs: Any, url: str, handler: Any, calls: Counter[str], bodies: list[str] | None = None) -> None:
    from local.pump import LambdaContext, sqs_event

    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return
        if bodies is not None:
            bodies.extend(m["Body"] for m in messages)
        with counted() as delta:
            result = handler(sqs_event(messages, "arn:aws:sqs:eu-west-3:123456789012:bench"), LambdaContext())
        calls.update(delta)
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        FAILED_RECORDS.extend(failed)
        for m in messages:  # failed records are dropped, not retried: the bench reports them as failures
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def _notifications(people: list[str]) -> Counter[tuple[str, str]]:
    """Reminder notifications by (recipient, notification id): a prevention reminder's id is the same for everyone
    due that day (`rem-prevention-<day>`), so the id alone does not name one reminder."""
    from functions.notifications.storage import NotificationItem

    seen: Counter[tuple[str, str]] = Counter()
    for ins in sorted(set(people)):
        for item in NotificationItem.query(ins):
            if item.notification_id.startswith("rem-"):
                seen[(ins, item.notification_id)] += 1
    return seen


def run_population(population: int, shards: int, seed: int, day: date) -> dict[str, Any]:
    import app as api
    from functions import deps
    from functions.agenda.fanout import dispatch
    from functions.agenda.models import shard_of
    from functions.shared.aws import client
    from local import config

    rng = random.Random(seed)
    _people, due_people = _seed(population, shards, rng, day)
    due = len(due_people)
    sqs = client("sqs", config.REGION)
    ses = client("ses", config.REGION)
    shard_url = deps.agenda_shard_queue()._url
    delivery_url = deps.agenda_delivery_queue()._url
    emails_before = int(ses.get_send_quota()["SentLast24Hours"])

    fanout: Counter[str] = Counter()
    workers: Counter[str] = Counter()
    with counted() as delta:
        dispatch(deps.agenda_shard_queue(), day, shards)
    fanout.update(delta)
    _drain(sqs, shard_url, api.on_agenda_shard, fanout)
    delivery_bodies: list[str] = []
    _drain(sqs, delivery_url, api.on_agenda_delivery, workers, delivery_bodies)
    emails_first = int(ses.get_send_quota()["SentLast24Hours"]) - emails_before

    # forced redelivery of every delivery message, then the whole day again
    for body in delivery_bodies:
        sqs.send_message(QueueUrl=delivery_url, MessageBody=body)
    redelivery: Counter[str] = Counter()
    _drain(sqs, delivery_url, api.on_agenda_delivery, redelivery)
    rerun: Counter[str] = Counter()
    dispatch(deps.agenda_shard_queue(), day, shards)
    _drain(sqs, shard_url, api.on_agenda_shard, rerun)
    _drain(sqs, delivery_url, api.on_agenda_delivery, rerun)
    emails_total = int(ses.get_send_quota()["SentLast24Hours"]) - emails_before

    seen = _notifications(due_people)
    delivered = len(seen)
    sizes = Counter(shard_of(p, shards) for p in due_people)
    total = fanout + workers

    def per(counter: Counter[str]) -> float:
        return round(sum(counter.values()) / max(delivered, 1), 4)

    def by_service(counter: Counter[str]) -> dict[str, int]:
        out: Counter[str] = Counter()
        for k, v in counter.items():
            out[k.split(":")[0]] += v
        return dict(out)

    return {
        "population": population, "shards": shards, "due_reminders": due, "delivered_reminders": delivered,
        "emails_sent": emails_first,
        "calls_per_delivered_reminder": {"fan_out": per(fanout), "workers": per(workers), "total": per(total)},
        "calls_by_service": {"fan_out": by_service(fanout), "workers": by_service(workers),
                             "total": by_service(total)},
        "calls_by_operation": dict(sorted(total.items())),
        "scan_calls": sum(v for k, v in total.items() if k.endswith(":Scan")),
        "largest_shard_over_mean": round(max(sizes.values()) / (due / shards), 3),
        "duplicates": sum(v - 1 for v in seen.values() if v > 1) + max(emails_total - emails_first, 0),
        "losses": due - delivered,
        "failed_sqs_records": len(FAILED_RECORDS),
        "redelivery_calls": sum(redelivery.values()), "rerun_calls": sum(rerun.values()),
        "emails_after_redelivery_and_rerun": emails_total,
    }


def run(port: int, api_port: int) -> dict[str, Any]:
    """20 000 spaces then 80 000; S sized for ~500 due reminders a shard (national scale: S ≈ 2 000-10 000)."""
    from local import config

    results = {}
    for population, day in ((20_000, date(2032, 3, 15)), (80_000, date(2032, 4, 15))):
        shards = max(1, population // 5_000)
        env = config.local_env(aws_port=port, api_port=api_port, prefix="mes-bench")
        config.apply({**env, "MES_AGENDA_SHARDS": str(shards)})
        results[str(population)] = run_population(population, shards, seed=population, day=day)
    small, large = results["20000"], results["80000"]
    results["summary"] = {
        "calls_per_delivered_reminder": {k: v["calls_per_delivered_reminder"]["total"] for k, v in
                                         (("20000", small), ("80000", large))},
        "targets": {"calls_per_delivered_reminder": 0.1, "scan_calls": 0, "largest_shard_over_mean": 1.2,
                    "duplicates": 0, "losses": 0},
    }
    return results
