"""Agenda over HTTP against moto: appointments and reminders CRUD, bad input, someone else's item, preferences,
and the daily run end to end: tick -> one notification per reminder and one e-mail per person and day, re-running
the day or redelivering a message sends nothing twice, a poison message ends in the dead-letter queue."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from functions.shared.aws import client
from local import agenda, config
from local.seed import ensure_citizen
from tests.events import load
from tests.integration.conftest import Stack, new_ins

DAY = date(2031, 6, 9)  # far from the other tests' days: the tick of DAY only sees this module's reminders


def appointment(**over: Any) -> dict[str, Any]:
    body = {"start": "2031-06-10T09:30:00+02:00", "professional": "Dr Claire Martin", "place": "12 rue de la Paix",
            "note": "apporter les résultats", "reminder_lead_days": 1}
    body.update(over)
    return body


def emails_sent() -> int:
    return int(client("ses", config.REGION).get_send_quota()["SentLast24Hours"])


def queue_depth(name: str) -> int:
    sqs = client("sqs", config.REGION)
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def reminders_of(stack: Stack, headers: dict[str, str]) -> list[dict[str, Any]]:
    items = stack.call("GET", "/v1/me/notifications?limit=100", headers).json()["items"]
    return [n for n in items if n["kind"].startswith(("agenda.", "prevention."))]


def test_appointments_crud_and_someone_elses_is_a_404(stack: Stack) -> None:
    _, me = stack.citizen()
    _, other = stack.citizen()
    created = stack.call("POST", "/v1/me/appointments", me, json=appointment())
    assert created.status_code == 201
    appt = created.json()
    assert appt["reminder_on"] == "2031-06-09" and appt["professional"] == "Dr Claire Martin"
    path = f"/v1/me/appointments/{appt['appointment_id']}"
    assert stack.call("GET", path, me).json() == appt
    patched = stack.call("PATCH", path, me, json={"reminder_lead_days": 3, "place": "Hôpital Nord"}).json()
    assert (patched["reminder_on"], patched["place"]) == ("2031-06-07", "Hôpital Nord")
    assert [a["appointment_id"] for a in stack.call("GET", "/v1/me/appointments", me).json()["items"]] == \
        [appt["appointment_id"]]

    missing = stack.call("GET", "/v1/me/appointments/appt_000000000000000000000000", other)
    for method in ("GET", "PATCH", "DELETE"):
        foreign = stack.call(method, path, other, json={"place": "x"} if method == "PATCH" else None)
        assert (foreign.status_code, foreign.json()) == (404, missing.json())
    assert stack.call("GET", "/v1/me/appointments", other).json()["items"] == []

    assert stack.call("DELETE", path, me).status_code == 200
    assert stack.call("GET", path, me).status_code == 404


@pytest.mark.parametrize(("body", "code"), [
    (appointment(reminder_lead_days=31), "invalid_lead_time"),
    (appointment(reminder_lead_days=-1), "invalid_lead_time"),
    (appointment(start="2031-06-10T09:30:00"), "validation_failed"),  # no offset
    (appointment(start="2031-02-30T09:30:00+01:00"), "validation_failed"),
    (appointment(owner="someone"), "validation_failed"),
])
def test_bad_appointments_are_refused_and_nothing_is_written(stack: Stack, body: dict[str, Any], code: str) -> None:
    _, me = stack.citizen()
    response = stack.call("POST", "/v1/me/appointments", me, json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    assert stack.call("GET", "/v1/me/appointments", me).json()["items"] == []


@pytest.mark.parametrize(("body", "code"), [
    ({"label": "Vaccin", "date": "2031-06-09", "time_zone": "Mars/Olympus"}, "unknown_time_zone"),
    ({"label": "Vaccin", "date": "2020-06-09"}, "reminder_never_fires"),
    ({"label": "Vaccin", "date": "2031-06-09", "repeat": "monthly", "until": "2031-01-01"}, "reminder_never_fires"),
    ({"label": "Vaccin", "date": "2031-06-09", "repeat": "weekly"}, "validation_failed"),
])
def test_bad_reminders_are_refused(stack: Stack, body: dict[str, Any], code: str) -> None:
    _, me = stack.citizen()
    response = stack.call("POST", "/v1/me/reminders", me, json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    assert stack.call("GET", "/v1/me/reminders", me).json()["items"] == []


def test_prevention_without_birth_date_is_an_empty_list_with_a_reason(stack: Stack) -> None:
    _, me = stack.citizen()
    body = stack.call("GET", "/v1/me/prevention", me).json()
    assert (body["items"], body["reason"]) == ([], "birth_date_unknown")


def test_prevention_status_moves_the_next_occurrence(stack: Stack) -> None:
    ins = new_ins()
    ensure_citizen(ins, date(1960, 1, 10))
    _, me = stack.citizen(ins)
    items = {i["code"]: i for i in stack.call("GET", "/v1/me/prevention", me).json()["items"]}
    assert "SCREEN_COLORECTAL" in items
    done = stack.call("PATCH", "/v1/me/prevention/SCREEN_COLORECTAL", me,
                      json={"status": "DONE", "date": "2025-03-05"}).json()["item"]
    assert (done["status"], done["due_from"]) in {("DONE", "2027-03-05"), ("TO_PLAN", "2027-03-05")}
    assert stack.call("PATCH", "/v1/me/prevention/NOPE", me, json={"status": "DONE"}).status_code == 404
    future = stack.call("PATCH", "/v1/me/prevention/VAC_DTP", me, json={"status": "DONE", "date": "2999-01-01"})
    assert (future.status_code, future.json()["error"]["code"]) == (422, "invalid_date")


def test_notification_preferences_default_on_and_can_be_replaced(stack: Stack) -> None:
    _, me = stack.citizen()
    prefs = stack.call("GET", "/v1/me/notification-preferences", me).json()["preferences"]
    assert prefs["NOTIF_APPOINTMENT"] == {"in_app": True, "email": True} and len(prefs) == 5
    put = stack.call("PUT", "/v1/me/notification-preferences", me,
                     json={"preferences": {"NOTIF_DEPISTAGE": {"in_app": True, "email": False}}})
    assert put.json()["preferences"]["NOTIF_DEPISTAGE"] == {"in_app": True, "email": False}
    bad = stack.call("PUT", "/v1/me/notification-preferences", me, json={"preferences": {"NOTIF_SPAM": {}}})
    assert bad.status_code == 422


def test_the_daily_run_notifies_once_in_app_and_by_email_and_rerunning_changes_nothing(stack: Stack) -> None:
    ins = new_ins()
    ensure_citizen(ins, email="rappel@example.org")
    _, me = stack.citizen(ins)
    _, quiet = stack.citizen()  # no e-mail address: in-app only
    stack.call("POST", "/v1/me/appointments", me, json=appointment())
    stack.call("POST", "/v1/me/appointments", quiet, json=appointment())
    stack.call("POST", "/v1/me/reminders", me, json={"label": "Renouveler l'ordonnance", "date": "2031-06-09",
                                                     "time": "08:00", "repeat": "monthly"})
    before = emails_sent()

    agenda.tick(DAY)

    mine = reminders_of(stack, me)
    assert len(mine) == 2
    appt = next(n for n in mine if n["kind"] == "agenda.appointment")
    assert (appt["what"], appt["when"], appt["professional"], appt["place"]) == (
        "Rendez-vous", "2031-06-10T09:30:00+02:00", "Dr Claire Martin", "12 rue de la Paix")
    monthly = next(n for n in mine if n["kind"] == "agenda.reminder")
    assert monthly["when"] == "2031-06-09T08:00:00+02:00"
    assert len(reminders_of(stack, quiet)) == 1
    assert emails_sent() - before == 1  # two reminders the same day: one e-mail (the day's digest)
    assert stack.call("GET", "/v1/me/reminders", me).json()["items"][0]["next_on"] == "2031-07-09"

    agenda.tick(DAY)  # the same day again
    assert len(reminders_of(stack, me)) == 2 and len(reminders_of(stack, quiet)) == 1
    assert emails_sent() - before == 1


def test_a_reminder_reads_in_french_with_a_deep_link_and_the_json_is_utf8_without_escapes(stack: Stack) -> None:
    _, me = stack.citizen()
    created = stack.call("POST", "/v1/me/appointments", me, json=appointment(start="2031-08-20T09:30:00+02:00",
                                                                             place="Hôpital Nord"))
    agenda.tick(date(2031, 8, 19))

    response = stack.call("GET", "/v1/me/notifications", me)
    (told,) = reminders_of(stack, me)
    assert told["title"] == "Rappel : rendez-vous avec Dr Claire Martin"
    assert told["text"] == "Rendez-vous avec Dr Claire Martin le 20 août 2031 à 9 h 30 (Hôpital Nord)."
    assert told["link"] == f"urn:appointment:{created.json()['appointment_id']}"
    assert "août 2031 à 9 h 30 (Hôpital Nord)" in response.content.decode("utf-8")
    assert "\\u" not in response.text  # the edge served UTF-8, not \u00e9 escapes (failed before)


def test_a_redelivered_batch_sends_nothing_twice_and_a_poison_one_lands_in_the_dlq(stack: Stack) -> None:
    ins = new_ins()
    ensure_citizen(ins, email="redelivery@example.org")
    _, me = stack.citizen(ins)
    stack.call("POST", "/v1/me/appointments", me, json=appointment(start="2031-06-16T10:00:00+02:00"))
    sqs = client("sqs", config.REGION)
    deliveries = sqs.get_queue_url(QueueName=config.AGENDA_DELIVERY_QUEUE)["QueueUrl"]
    agenda.tick(date(2031, 6, 15), drain=False)
    shard_pump, delivery_pump = agenda.pumps()
    shard_pump.drain()
    received = sqs.receive_message(QueueUrl=deliveries, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    bodies = [m["Body"] for m in received]
    for m in received:
        sqs.change_message_visibility(QueueUrl=deliveries, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    before = emails_sent()
    delivery_pump.drain()
    assert len(reminders_of(stack, me)) == 1 and emails_sent() - before == 1

    for body in bodies:  # the same batches delivered again, plus one that can never be processed
        sqs.send_message(QueueUrl=deliveries, MessageBody=body)
    poison = load("sqs/agenda_delivery_with_poison.json")["Records"][1]["body"]
    sqs.send_message(QueueUrl=deliveries, MessageBody=poison)
    for _ in range(config.MAX_RECEIVES + 1):
        delivery_pump.drain()
    assert len(reminders_of(stack, me)) == 1 and emails_sent() - before == 1
    assert queue_depth(config.AGENDA_DELIVERY_QUEUE) == 0
    dlq = sqs.get_queue_url(QueueName=config.AGENDA_DELIVERY_DLQ)["QueueUrl"]
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dead] == [poison]


def test_the_sample_delivery_event_gets_a_partial_batch_response(stack: Stack) -> None:
    import app as api
    from local.pump import LambdaContext

    event = load("sqs/agenda_delivery_with_poison.json")
    result = api.on_agenda_delivery(event, LambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}


def test_the_schedule_sample_dispatches_only_at_07_00_paris(stack: Stack) -> None:
    import app as api
    from local.pump import LambdaContext

    event = load("schedule/daily.json")  # 06:00 UTC in November = 07:00 Paris
    assert api.agenda_daily_dispatch(event, LambdaContext()) == {"dispatched": "2026-11-24"}
    assert api.agenda_daily_dispatch({**event, "time": "2026-11-24T05:00:00Z"}, LambdaContext()) == \
        {"dispatched": None}
    shard_pump, delivery_pump = agenda.pumps()
    shard_pump.drain()
    delivery_pump.drain()
    assert json.loads(json.dumps(event))["time"] == "2026-11-24T06:00:00Z"


def test_prevention_reminders_of_several_people_in_one_batch_are_told_apart(stack: Stack) -> None:
    """Every prevention reminder of a day is `rem-prevention-<day>`: one person's item changing after the fan-out
    (a stale entry) must not cancel the others' in the same transaction, and each e-mail goes to its own person."""
    from functions import deps
    from functions.agenda.calendar import PreventionRecord, PreventionStatus
    from functions.agenda.fanout import DeliveryBatch
    from functions.agenda.models import Prevention
    from functions.agenda.service import prevention_due
    from functions.agenda.storage import AgendaItem
    from functions.agenda.worker import deliver

    day = date(2031, 7, 14)
    people = [new_ins() for _ in range(3)]
    store = deps.agenda().agenda
    entries = []
    for n, ins in enumerate(people):
        ensure_citizen(ins, email=f"prevention{n}@example.org")
        prevention = Prevention(owner_ins=ins, birth_date=date(1981, 7, 14), sex=1, version=1, records={
            "VAC_DTP": PreventionRecord(status=PreventionStatus.DONE, date=date(2027, 5, 1), done_count=1)})
        entry = prevention_due(prevention, date(2031, 7, 13))
        assert entry is not None and entry.day == day
        entry = entry.model_copy(update={"version": 1})
        assert store.save_prevention(prevention.model_copy(update={"next_due": day}), None, None, entry)
        entries.append(entry)
    AgendaItem(people[0], "prevention").update(actions=[AgendaItem.version.set(2)])  # changed after the fan-out
    before = emails_sent()

    report = deliver(deps.agenda_delivery(), DeliveryBatch(day=day, entries=entries))

    assert (report.delivered, report.stale, report.emails) == (2, 1, 2)
    assert emails_sent() - before == 2
    for ins in people[1:]:
        assert [n["kind"] for n in reminders_of(stack, stack.citizen(ins)[1])] == ["prevention.due"]
    assert reminders_of(stack, stack.citizen(people[0])[1]) == []


def test_only_one_of_two_claims_on_an_unsent_email_wins_and_a_sent_one_cannot_be_claimed(stack: Stack) -> None:
    from datetime import UTC, datetime

    from functions.notifications.models import Notification, NotificationKind
    from functions.notifications.storage import DynamoNotificationStore, NotificationItem

    at = datetime(2031, 6, 20, 5, tzinfo=UTC)
    pending, sent = (Notification(recipient_ins=new_ins(), notification_id=f"rem-appt_{i}-2031-06-20",
                                  kind=NotificationKind.APPOINTMENT_REMINDER, created_at=at) for i in (1, 2))
    NotificationItem.from_domain(pending, email_pending=True).save()
    NotificationItem.from_domain(sent, email_pending=False).save()
    store = DynamoNotificationStore()
    assert store.claim_emails([pending, sent]) == [pending]
    assert store.claim_emails([pending, sent]) == []  # the other delivery: nothing left to send


def test_preferences_live_beside_the_notifications_and_delivery_reads_their_switches_with_the_contact(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Preferences are a `PREFS` item of the holder's notifications partition (the listing's key condition leaves
    it out); the preferences route copies the switches onto the space item in the same transaction, so a delivery
    reads one key a person, the contact, in one BatchGetItem (it read the PREFS item too, doubling the read units
    billed per delivered reminder). A space that never chose reads the defaults."""
    import botocore.client

    from functions import deps
    from functions.notifications.models import Channels, NotificationPreferences, PreferenceCode
    from functions.shared.dynamo import Transaction, TransactionCancelled, batch_get_many

    ins, me = stack.citizen()
    stranger = new_ins()
    never_chose, _ = stack.citizen()
    put = stack.call("PUT", "/v1/me/notification-preferences", me,
                     json={"preferences": {"NOTIF_DOCUMENT": {"in_app": False, "email": True}}})
    assert put.status_code == 200
    quiet = NotificationPreferences(channels={PreferenceCode.NOTIF_DOCUMENT: Channels(in_app=False)})
    assert deps.notifications().preferences(ins) == quiet
    assert stack.call("GET", "/v1/me/notifications", me).json() == {"items": [], "next": None}

    calls: list[tuple[str, int]] = []
    original = botocore.client.BaseClient._make_api_call

    def counting(client: Any, operation: str, params: dict[str, Any]) -> Any:
        keys = sum(len(r["Keys"]) for r in params.get("RequestItems", {}).values())
        calls.append((operation, keys))
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    contacts, _ = deps.agenda_delivery().store.read([ins, stranger, never_chose], [])
    monkeypatch.undo()
    assert calls == [("BatchGetItem", 3)]  # one key a person: their space
    assert set(contacts) == {ins, never_chose} and contacts[ins].is_open
    assert contacts[ins].preferences == quiet
    assert contacts[never_chose].preferences == NotificationPreferences()

    tx = Transaction()
    deps.spaces().open_condition(stranger).stage(tx)
    with pytest.raises(TransactionCancelled) as cancelled:
        tx.commit()
    assert cancelled.value.failed == {"space"}
    # the switches of a space that does not exist are refused with the preferences, which are not written
    from functions.shared.errors import NotFound

    with pytest.raises(NotFound):
        deps.notifications().put_preferences(stranger, quiet, also=[deps.spaces().notification_switches(stranger,
                                                                                                        quiet)])
    assert deps.notifications().preferences(stranger) == NotificationPreferences()
    assert batch_get_many([deps.spaces().contacts([stranger])]) == [{}]
