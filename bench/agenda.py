"""Agenda fan-out bench: seed a synthetic population with a realistic mix of reminders due on one day, run the
day's fan-out and delivery against the moto server, count every AWS call (fan-out and workers apart), then force
a redelivery of every delivery message and re-run the whole day, and count duplicates and losses after each.

Seeding writes the items the services would write (space, preferences, agenda item, due entry) with
BatchWriteItem, 25 items a call, straight to the tables (not through the HTTP API); counting starts after it. Each
population gets its own tables, so one run's chained reminders (next month, next prevention item) never land in
another's day.

SQS ReceiveMessage/DeleteMessage are made by Lambda's event source mapping, not by our code: the bench's pump makes
them and counts them apart, as `event_source_mapping`, outside the per-reminder figures (they are billed as SQS
requests: the README cost section adds them)."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.__main__ import EMAILED, ITEMS, counted

SERVICES = ("dynamodb", "sqs", "ses")

# Public on-demand list prices used for the cost estimate, eu-west-3 (Paris), USD, as known on 2025-01 (DynamoDB
# after its 2024-11 on-demand price cut); free tiers ignored (national scale). Check the AWS pricing pages before
# quoting: these are not fetched.
PRICES_AS_OF = "2025-01 (list prices as known, not fetched by the bench)"
PRICES: dict[str, float] = {
    "dynamodb_write_request_unit_per_million": 0.7423,
    "dynamodb_read_request_unit_per_million": 0.1485,
    "sqs_request_per_million": 0.40,
    "ses_email_per_thousand": 0.10,
    "lambda_request_per_million": 0.20,
    "lambda_gb_second": 0.0000166667,
    "eventbridge_scheduler_invocation_per_million": 1.00,
}
# Lambda duration is not measured against moto: estimated as 25 ms per AWS call the function makes plus 1 ms of
# CPU per reminder, at 512 MB.
LAMBDA_SECONDS_PER_CALL = 0.025
LAMBDA_SECONDS_PER_REMINDER = 0.001
LAMBDA_GB = 0.5


@dataclass
class Population:
    people: int
    shards: int
    due: list[tuple[str, str]] = field(default_factory=list)  # (ins, notification id)
    shard_sizes: Counter[int] = field(default_factory=Counter)
    expected_emails: int = 0
    mix: Counter[str] = field(default_factory=Counter)


def _seed(population: int, shards: int, rng: random.Random, day: date, first_ins: int) -> Population:
    """The mix: 70 % of spaces have an e-mail address, 10 % of those turned appointment e-mails off; 7 % have an
    appointment tomorrow (reminder the day before), 4 % a monthly personal reminder falling today (1 % have both),
    1 % a prevention item entering its window today (a 50th birthday); the rest have nothing due today."""
    from functions.accounts.storage import SpaceItem, space_key, switches_json
    from functions.agenda.calendar import PreventionRecord, PreventionStatus
    from functions.agenda.models import Appointment, DueEntry, Prevention, Reminder, Repeat, shard_of
    from functions.agenda.service import appointment_due, prevention_due, reminder_due
    from functions.agenda.storage import (
        AgendaItem,
        DueItem,
        _appointment_item,
        _reminder_item,
        due_item,
        prevention_item,
    )
    from functions.agenda.worker import KIND
    from functions.identity.ins import with_key
    from functions.notifications.models import PREFERENCE_OF_KIND, Channels, NotificationPreferences, PreferenceCode
    from functions.notifications.storage import PreferencesItem, preferences_item
    from functions.shared.ids import new_id

    now = datetime(2032, 1, 1, tzinfo=UTC)
    tomorrow = day + timedelta(days=1)
    appointment_mail_off = NotificationPreferences(channels={PreferenceCode.NOTIF_APPOINTMENT: Channels(email=False)})
    out = Population(people=population, shards=shards)
    with (SpaceItem.batch_write() as spaces, PreferencesItem.batch_write() as choices,
          AgendaItem.batch_write() as items, DueItem.batch_write() as entries):
        for n in range(first_ins, first_ins + population):
            sex = rng.choice("12")
            ins = with_key(f"{sex}{rng.randint(30, 99):02d}{rng.randint(1, 12):02d}75{n:06d}")
            email = f"p{n}@example.org" if rng.random() < 0.7 else None
            prefs = appointment_mail_off if email and rng.random() < 0.1 else NotificationPreferences()
            chose = prefs is appointment_mail_off
            # as the preferences route writes them: PREFS, and the switches copied onto the space item
            spaces.save(SpaceItem(space_key(ins), ins=ins, status="open", created_at=now, email=email,
                                  switches=switches_json(prefs) if chose else None))
            if chose:
                choices.save(preferences_item(ins, prefs))
            roll = rng.random()
            due: list[DueEntry] = []
            if roll < 0.07:  # an appointment tomorrow, reminder the day before
                appt = Appointment(owner_ins=ins, appointment_id=new_id("appt"),
                                   start=datetime.combine(tomorrow, datetime.min.time(), tzinfo=UTC).replace(
                                       hour=7 + n % 8, minute=30),
                                   professional="Dr Martin", place="Cabinet", reminder_lead_days=1,
                                   created_at=now, updated_at=now, version=1)
                entry = appointment_due(appt, date(2032, 1, 1))
                assert entry is not None and entry.day == day
                items.save(_appointment_item(appt.model_copy(update={"next_due": entry.day})))
                due.append(entry)
                out.mix["appointment"] += 1
            if 0.06 <= roll < 0.10:  # a monthly personal reminder (with the appointment for 0.06-0.07)
                rem = Reminder(owner_ins=ins, reminder_id=new_id("rem"), label="Renouveler l'ordonnance",
                               first_date=date(day.year, 1, day.day), repeat=Repeat.MONTHLY, created_at=now,
                               updated_at=now, version=1)
                entry = reminder_due(rem, day)
                assert entry is not None and entry.day == day
                items.save(_reminder_item(rem.model_copy(update={"next_due": entry.day})))
                due.append(entry)
                out.mix["monthly_reminder"] += 1
            elif 0.10 <= roll < 0.11:  # a prevention item entering its window (a 50th birthday today)
                prev = Prevention(owner_ins=ins, birth_date=date(day.year - 50, day.month, day.day), sex=int(sex),
                                  version=1,
                                  records={"VAC_DTP": PreventionRecord(status=PreventionStatus.DONE,
                                                                       date=date(2027, 5, 1), done_count=1)})
                entry = prevention_due(prev, day - timedelta(days=1))
                assert entry is not None and entry.day == day
                items.save(prevention_item(prev.model_copy(update={"next_due": entry.day})))
                due.append(entry)
                out.mix["prevention"] += 1
            mailed = False
            for entry in due:
                entries.save(due_item(entry.model_copy(update={"version": 1}), shards))
                out.due.append((ins, entry.notification_id))
                out.shard_sizes[shard_of(ins, shards)] += 1
                mailed = mailed or bool(email and prefs.for_code(PREFERENCE_OF_KIND[KIND[entry.kind]]).email)
            out.expected_emails += mailed  # one e-mail a person and day, however many reminders it covers
    return out


@dataclass
class Phase:
    calls: Counter[str] = field(default_factory=Counter)
    event_source_mapping: Counter[str] = field(default_factory=Counter)
    failed_records: int = 0
    invocations: int = 0


def _drain(sqs: Any, url: str, handler: Any, phase: Phase, bodies: list[str] | None = None,
           after_each: Callable[[], None] | None = None) -> None:
    """Lambda's event source mapping, played by the bench: receive 10, invoke, delete. Failed records are
    counted and dropped (not retried): the bench reports them. `after_each` runs when nothing is in flight (a
    checkpoint, bench/checkpoint.py)."""
    from local.pump import LambdaContext, sqs_event

    while True:
        with counted() as esm:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        phase.event_source_mapping.update(esm)
        if not messages:
            return
        if bodies is not None:
            bodies.extend(m["Body"] for m in messages)
        with counted() as delta:
            result = handler(sqs_event(messages, "arn:aws:sqs:eu-west-3:123456789012:bench"), LambdaContext())
        phase.calls.update(delta)
        phase.invocations += 1
        phase.failed_records += len(result.get("batchItemFailures", []))
        with counted() as esm:
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
        phase.event_source_mapping.update(esm)
        if after_each is not None:
            after_each()


def _delivered(pop: Population, day: date) -> set[tuple[str, str]]:
    """Which of the day's reminders have their notification, by BatchGetItem of the notification keys (the key is
    deterministic: recipient + dispatch time of the day + id), 100 keys a call."""
    from functions.agenda.models import notified_at
    from functions.notifications.storage import NotificationItem
    from functions.shared.clock import iso

    stamp = iso(notified_at(day))
    found: set[tuple[str, str]] = set()
    keys = [(ins, f"{stamp}#{nid}") for ins, nid in pop.due]
    for item in NotificationItem.batch_get(keys):
        found.add((item.recipient, item.notification_id))
    return found


DUPLICATE_SAMPLE = 500


def _reminder_notifications(pop: Population, rng: random.Random) -> tuple[Counter[tuple[str, str]], int]:
    """Every reminder notification of a sample of the due people, whatever its key (a Query per person): a
    duplicate would be one (recipient, id) seen twice. A sample, because moto answers each Query by walking the
    whole table; the key check of `_delivered` covers everyone."""
    from functions.notifications.storage import NotificationItem, notifications_only

    people = sorted({ins for ins, _ in pop.due})
    sample = rng.sample(people, min(DUPLICATE_SAMPLE, len(people)))
    seen: Counter[tuple[str, str]] = Counter()
    for ins in sample:
        for item in NotificationItem.query(ins, notifications_only()):
            if item.notification_id.startswith("rem-"):
                seen[(ins, item.notification_id)] += 1
    return seen, len(sample)


def _by_service(counter: Counter[str]) -> dict[str, int]:
    out: Counter[str] = Counter()
    for k, v in counter.items():
        out[k.split(":")[0]] += v
    return {s: out.get(s, 0) for s in SERVICES}


def run_population(population: int, shards: int, seed: int, day: date, first_ins: int) -> dict[str, Any]:
    import app as api
    from functions import deps
    from functions.agenda.fanout import dispatch
    from functions.shared.aws import client
    from local import config

    started = time.perf_counter()
    pop = _seed(population, shards, random.Random(seed), day, first_ins)
    seed_seconds = time.perf_counter() - started
    due = len(pop.due)
    sqs = client("sqs", config.REGION)
    ses = client("ses", config.REGION)
    shard_url = deps.agenda_shard_queue()._url
    delivery_url = deps.agenda_delivery_queue()._url
    emails_before = int(ses.get_send_quota()["SentLast24Hours"])
    emailed_before = Counter(EMAILED)

    def emails() -> int:
        return int(ses.get_send_quota()["SentLast24Hours"]) - emails_before

    # the day, once
    run_started = time.perf_counter()
    items_before = Counter(ITEMS)
    fanout, workers = Phase(), Phase()
    with counted() as delta:
        dispatch(deps.agenda_shard_queue(), day, shards)
    fanout.calls.update(delta)
    _drain(sqs, shard_url, api.on_agenda_shard, fanout)
    delivery_bodies: list[str] = []
    _drain(sqs, delivery_url, api.on_agenda_delivery, workers, delivery_bodies)
    run_seconds = time.perf_counter() - run_started
    items = Counter({k: v - items_before.get(k, 0) for k, v in ITEMS.items() if v - items_before.get(k, 0)})
    items["sqs:largest_message_bytes"] = ITEMS["sqs:largest_message_bytes"]
    first = _delivered(pop, day)
    emails_first = emails()
    per_address = Counter({a: v - emailed_before.get(a, 0) for a, v in EMAILED.items() if v - emailed_before.get(a, 0)})

    # forced redelivery: every delivery message of the day sent again (as SQS does after a lost delete)
    for start in range(0, len(delivery_bodies), 10):
        sqs.send_message_batch(QueueUrl=delivery_url, Entries=[
            {"Id": str(i), "MessageBody": b} for i, b in enumerate(delivery_bodies[start:start + 10])])
    redelivery = Phase()
    _drain(sqs, delivery_url, api.on_agenda_delivery, redelivery)
    after_redelivery = _delivered(pop, day)
    emails_redelivery = emails()

    # the whole day again (a second schedule tick, an operator re-run)
    rerun = Phase()
    with counted() as delta:
        dispatch(deps.agenda_shard_queue(), day, shards)
    rerun.calls.update(delta)
    _drain(sqs, shard_url, api.on_agenda_shard, rerun)
    _drain(sqs, delivery_url, api.on_agenda_delivery, rerun)
    after_rerun = _delivered(pop, day)
    emails_rerun = emails()
    seen, sampled = _reminder_notifications(pop, random.Random(seed + 1))

    delivered = len(first)
    expected = set(pop.due)
    total = fanout.calls + workers.calls
    esm = fanout.event_source_mapping + workers.event_source_mapping

    def per(counter: Counter[str]) -> float:
        return round(sum(counter.values()) / max(delivered, 1), 4)

    def per_service(counter: Counter[str]) -> dict[str, float]:
        return {s: round(v / max(delivered, 1), 4) for s, v in _by_service(counter).items()}

    def check(found: set[tuple[str, str]], sent: int, notifications: Counter[tuple[str, str]] | None
              ) -> dict[str, int]:
        return {"losses": len(expected - found), "email_losses": max(pop.expected_emails - sent, 0),
                "duplicate_notifications": sum(v - 1 for v in (notifications or Counter()).values() if v > 1),
                "duplicate_emails": max(sent - pop.expected_emails, 0)}

    mean_shard = due / shards
    return {
        "population": population, "shards": shards, "mix": dict(pop.mix), "due_reminders": due,
        "delivered_reminders": delivered, "expected_emails": pop.expected_emails, "emails_sent": emails_first,
        "emails": {
            "per_delivered_reminder": round(emails_first / max(delivered, 1), 4),
            "per_person_told": round(emails_first / max(len({ins for ins, _ in first}), 1), 4),
            "per_person_emailed": round(emails_first / max(len(per_address), 1), 4),
            "most_to_one_person": max(per_address.values(), default=0),
            "note": "first run; a person told of several reminders on the day gets one e-mail (the digest)"},
        "calls_per_delivered_reminder": {
            "fan_out": per(fanout.calls), "workers": per(workers.calls), "total": per(total),
            "by_service": {"fan_out": per_service(fanout.calls), "workers": per_service(workers.calls),
                           "total": per_service(total)}},
        "calls": {"fan_out": _by_service(fanout.calls), "workers": _by_service(workers.calls),
                  "total": _by_service(total), "total_calls": sum(total.values())},
        "calls_by_operation": {"fan_out": dict(sorted(fanout.calls.items())),
                               "workers": dict(sorted(workers.calls.items()))},
        "event_source_mapping": {
            "note": "SQS ReceiveMessage/DeleteMessageBatch made by the bench's pump in place of Lambda's event "
                    "source mapping; not in the per-reminder figures (billed as SQS requests, see README)",
            "calls": dict(sorted(esm.items())), "per_delivered_reminder": per(esm)},
        "scan_calls": sum(v for p in (fanout, workers, redelivery, rerun) for k, v in p.calls.items()
                          if k.endswith(":Scan")),
        "largest_shard_over_mean": round(max(pop.shard_sizes.values()) / mean_shard, 3),
        "shard_sizes": {"min": min(pop.shard_sizes.values()), "max": max(pop.shard_sizes.values()),
                        "mean": round(mean_shard, 1)},
        "failed_sqs_records": fanout.failed_records + workers.failed_records + redelivery.failed_records
        + rerun.failed_records,
        "after_first_run": check(first, emails_first, None),
        "after_forced_redelivery": {"messages_redelivered": len(delivery_bodies),
                                    "calls": sum(redelivery.calls.values()),
                                    **check(after_redelivery, emails_redelivery, None)},
        "after_rerun_of_the_day": {"calls": sum(rerun.calls.values()),
                                   **check(after_rerun, emails_rerun, seen),
                                   "duplicate_notifications_checked_on_people": sampled},
        "billed_units_first_run": dict(sorted(items.items())),
        "cost_estimate": _cost(delivered, items, fanout, workers, shards),
        "seconds": {"seed": round(seed_seconds, 1), "day_run": round(run_seconds, 1),
                    "note": "wall clock against moto on the bench machine; not a latency figure"},
    }


def _cost(delivered: int, items: Counter[str], fanout: Phase, workers: Phase, shards: int) -> dict[str, Any]:
    """USD per million delivered reminders, from the first run's counts and PRICES: this design, and one
    EventBridge Scheduler schedule per reminder invoking a Lambda that does one reminder (GetItem of the contact,
    conditional put of the notification, update of the item: non-transactional, 1 WRU each, in its favour; the
    same e-mails, sent one SendEmail each). An estimate: item sizes assumed ≤ 1 KB written and ≤ 4 KB read."""
    n = max(delivered, 1)
    p = PRICES
    wru = 2 * items["dynamodb:transactional_item_writes"] / n  # transactional writes cost 2 WRU per item
    rru = 0.5 * (items["dynamodb:batch_get_item_reads"] + items["dynamodb:query_4kb_reads"]) / n
    deletes = (fanout.event_source_mapping + workers.event_source_mapping)["sqs:DeleteMessageBatch"]
    sqs = (items["sqs:billed_send_requests"] + items["sqs:billed_receive_requests"] + deletes) / n
    emails = items["ses:emails"] / n
    invocations = (fanout.invocations + workers.invocations) / n
    function_calls = sum((fanout.calls + workers.calls).values())
    gb_s = LAMBDA_GB * (function_calls * LAMBDA_SECONDS_PER_CALL + delivered * LAMBDA_SECONDS_PER_REMINDER) / n

    def usd(parts: dict[str, float]) -> dict[str, float]:
        out = {k: round(v, 3) for k, v in parts.items()}
        out["total"] = round(sum(parts.values()), 2)
        return out

    ours = usd({
        "dynamodb": (wru * p["dynamodb_write_request_unit_per_million"]
                     + rru * p["dynamodb_read_request_unit_per_million"]),
        "sqs": sqs * p["sqs_request_per_million"],
        "ses": emails * p["ses_email_per_thousand"] * 1000,
        "lambda": invocations * p["lambda_request_per_million"] + gb_s * 1e6 * p["lambda_gb_second"],
    })
    alt_gb_s = LAMBDA_GB * ((3 + emails) * LAMBDA_SECONDS_PER_CALL + LAMBDA_SECONDS_PER_REMINDER)
    alternative = usd({
        "eventbridge_scheduler": 1.0 * p["eventbridge_scheduler_invocation_per_million"],
        "dynamodb": (2 * p["dynamodb_write_request_unit_per_million"]
                     + 0.5 * p["dynamodb_read_request_unit_per_million"]),
        "ses": emails * p["ses_email_per_thousand"] * 1000,
        "lambda": 1.0 * p["lambda_request_per_million"] + alt_gb_s * 1e6 * p["lambda_gb_second"],
    })
    return {
        "usd_per_million_delivered_reminders": {"this_design": ours,
                                                "one_scheduler_schedule_per_reminder": alternative},
        "units_per_delivered_reminder": {
            "dynamodb_write_request_units": round(wru, 3), "dynamodb_read_request_units": round(rru, 3),
            "sqs_billed_requests_including_event_source_mapping": round(sqs, 4), "emails": round(emails, 3),
            "lambda_invocations": round(invocations, 4), "lambda_gb_seconds_estimated": round(gb_s, 5)},
        "prices": {"as_of": PRICES_AS_OF, **p}, "shards": shards,
        "note": "estimate: counts measured against moto; prices and Lambda duration assumed (see PRICES)",
    }


def run(port: int, api_port: int, sizes: tuple[int, int] = (20_000, 80_000)) -> dict[str, Any]:
    """A population then 4 times it, each in its own tables; S sized for ~500 due reminders a shard (at national
    scale, S ≈ 2 000-10 000)."""
    from local import config, resources

    results: dict[str, Any] = {}
    days = (date(2032, 3, 15), date(2032, 4, 15))
    first_ins = 0
    for population, day in zip(sizes, days, strict=True):
        shards = max(1, population // 5_000)
        env = config.local_env(aws_port=port, api_port=api_port, prefix=f"mes-bench-{population}")
        config.apply({**env, "MES_AGENDA_SHARDS": str(shards)})
        resources.create_all()
        results[str(population)] = run_population(population, shards, seed=population, day=day,
                                                  first_ins=first_ins)
        first_ins += population
    small, large = (results[str(s)] for s in sizes)
    per_small = small["calls_per_delivered_reminder"]["total"]
    per_large = large["calls_per_delivered_reminder"]["total"]
    results["summary"] = {
        "calls_per_delivered_reminder": {str(sizes[0]): per_small, str(sizes[1]): per_large},
        "growth_from_1x_to_4x": round(per_large / per_small, 3) if per_small else None,
        "targets": {"calls_per_delivered_reminder": 0.1, "scan_calls": 0, "largest_shard_over_mean": 1.2,
                    "duplicates": 0, "losses": 0, "growth_from_1x_to_4x": "<= 1", "emails_to_one_person": 1},
        "met": {
            "calls_per_delivered_reminder": max(per_small, per_large) <= 0.1,
            "scan_calls": small["scan_calls"] == 0 and large["scan_calls"] == 0,
            "largest_shard_over_mean": max(small["largest_shard_over_mean"],
                                           large["largest_shard_over_mean"]) <= 1.2,
            "duplicates_and_losses": all(r[phase][k] == 0 for r in (small, large)
                                         for phase in ("after_first_run", "after_forced_redelivery",
                                                       "after_rerun_of_the_day")
                                         for k in ("losses", "email_losses", "duplicate_notifications",
                                                   "duplicate_emails")),
            "no_growth": per_large <= per_small * 1.02,
            "one_email_a_day_per_person": max(small["emails"]["most_to_one_person"],
                                              large["emails"]["most_to_one_person"]) <= 1,
        },
        "excluded": "event_source_mapping (SQS receive/delete by Lambda's poller), reported per size",
    }
    return results
