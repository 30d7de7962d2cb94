"""Reminder delivery. A delivery message holds about 100 reminders of one day; for them the worker makes one multi-
table BatchGetItem request of contacts (accounts; the holder's notification switches are on them) and prevention
items (agenda), which DynamoDB serves 100 keys a call; one or two TransactWriteItems (notification put only if
absent + item moved on + next occurrence queued); then the notifications' e-mail delivery claims the e-mails (one
TransactWriteItems) and sends them by SES bulk sends of 50, one e-mail per person for all their reminders of the
day (a digest). Partial batch responses: a failing message is retried alone and ends in the dead-letter queue.

Exactly once: the notification key (reminder + day) is written in the same transaction that moves the item on, so
re-running the day or redelivering a message finds it and does nothing. E-mail is sent after that commit by the
delivery that claims it (`functions.notifications.delivery`): two concurrent deliveries of the same entry send it
once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel

from functions.agenda import calendar
from functions.agenda.delivery import Effect, EffectKey, Outcome
from functions.agenda.fanout import DeliveryBatch, DueIndex, Queue, ShardTask, run_shard
from functions.agenda.models import DueEntry, ItemKind, Prevention, Reminder, Repeat, notified_at
from functions.agenda.ports import DeliveryStore
from functions.agenda.service import prevention_due, reminder_due
from functions.notifications.models import PREFERENCE_OF_KIND, Notification, NotificationKind
from functions.notifications.ports import EmailDelivery
from functions.shared.batch import failure_logged
from functions.shared.observability import REMINDERS_SENT, correlate, count, logger

KIND = {ItemKind.APPOINTMENT: NotificationKind.APPOINTMENT_REMINDER,
        ItemKind.REMINDER: NotificationKind.PERSONAL_REMINDER,
        ItemKind.PREVENTION: NotificationKind.PREVENTION_DUE}


@dataclass(frozen=True)
class DeliveryDeps:
    store: DeliveryStore
    email: EmailDelivery


class DeliveryReport(BaseModel):
    delivered: int = 0
    already: int = 0
    stale: int = 0
    skipped: int = 0
    emails: int = 0  # one per person: the day's digest
    emails_refused: int = 0
    emailed_reminders: int = 0


def _labels(codes: str) -> str:
    cal = calendar.calendar()
    return " ; ".join((r.label if (r := cal.rule(c)) else c) for c in codes.split(","))


def _next(entry: DueEntry, prevention: Prevention | None) -> DueEntry | None:
    """The occurrence after this one, for repeating reminders and the prevention chain."""
    after = entry.day + timedelta(days=1)
    if entry.kind is ItemKind.REMINDER and entry.repeat is not Repeat.NONE and entry.first_date is not None:
        rule = Reminder(owner_ins=entry.owner_ins, reminder_id=entry.item_id, label=entry.what,
                        first_date=entry.first_date, time=entry.time, time_zone=entry.time_zone or "Europe/Paris",
                        repeat=entry.repeat, until=entry.until, created_at=notified_at(entry.day),
                        updated_at=notified_at(entry.day))
        nxt = reminder_due(rule, after)
    elif entry.kind is ItemKind.PREVENTION and prevention is not None:
        nxt = prevention_due(prevention, entry.day)
    else:
        return None
    return nxt.model_copy(update={"version": entry.version}) if nxt else None


def deliver(deps: DeliveryDeps, batch: DeliveryBatch) -> DeliveryReport:
    report = DeliveryReport()
    entries = batch.entries
    contacts, preventions = deps.store.read([e.owner_ins for e in entries],
                                              [e.owner_ins for e in entries if e.kind is ItemKind.PREVENTION])
    effects: list[Effect] = []
    mail_to: dict[EffectKey, str] = {}
    for entry in entries:
        contact = contacts.get(entry.owner_ins)
        if contact is None or not contact.is_open:
            report.skipped += 1
            continue
        kind = KIND[entry.kind]
        channels = contact.preferences.for_code(PREFERENCE_OF_KIND[kind])
        what = _labels(entry.what) if entry.kind is ItemKind.PREVENTION else entry.what
        notification = Notification.for_reminder(entry.owner_ins, entry.item_id, entry.day, kind,
                                                 notified_at(entry.day), what=what, when=entry.when,
                                                 professional=entry.professional, place=entry.place,
                                                 in_app=channels.in_app)
        address = contact.email
        email = bool(channels.email and address)
        effect = Effect(entry=entry, notification=notification, email=email,
                        next_entry=_next(entry, preventions.get(entry.owner_ins)))
        effects.append(effect)
        if email and address:
            mail_to[effect.key] = address
    outcomes = deps.store.commit(effects)
    to_claim: list[tuple[Notification, str]] = []
    for effect in effects:
        key = effect.key
        outcome = outcomes.get(key, Outcome.STALE)
        if outcome is Outcome.DONE:
            report.delivered += 1
        elif outcome is Outcome.STALE:
            report.stale += 1
        else:
            report.already += 1
        if key in mail_to and (outcome is Outcome.ALREADY_EMAIL_PENDING or (outcome is Outcome.DONE and effect.email)):
            to_claim.append((effect.notification, mail_to[key]))
    # claim before sending: of two deliveries of the same entry only the one that clears email_pending sends, and
    # what one delivery claims for a person goes out as one e-mail (the fan-out keeps a person in one message)
    count(REMINDERS_SENT, report.delivered)
    if to_claim:
        sent = deps.email.send_once(to_claim)
        report.emails, report.emails_refused, report.emailed_reminders = sent.sent, sent.refused, sent.reminders
    return report


def handle_deliveries(deps: DeliveryDeps, event: dict[str, Any], context: Any) -> dict[str, Any]:
    def record_handler(record: SQSRecord) -> None:
        correlate(record.message_id)
        with failure_logged("reminder delivery failed", record.message_id):
            report = deliver(deps, DeliveryBatch.model_validate_json(record.body))
        logger.info("reminders delivered", extra={"message_id": record.message_id, **report.model_dump()})

    response = process_partial_response(event=event, record_handler=record_handler,
                                        processor=BatchProcessor(event_type=EventType.SQS), context=context)
    return dict(response)


def handle_shard_tasks(index: DueIndex, queue: Queue, batch_size: int, event: dict[str, Any],
                       context: Any) -> dict[str, Any]:
    def record_handler(record: SQSRecord) -> None:
        correlate(record.message_id)
        with failure_logged("shard fan-out failed", record.message_id):
            task = ShardTask.model_validate_json(record.body)
            queued = run_shard(index, queue, task, batch_size)
        logger.info("shard fanned out", extra={"day": task.day.isoformat(), "shard": task.shard, "queued": queued})

    response = process_partial_response(event=event, record_handler=record_handler,
                                        processor=BatchProcessor(event_type=EventType.SQS), context=context)
    return dict(response)
