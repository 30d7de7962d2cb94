"""The delivery worker over in-memory adapters: every prevention reminder of a day has the same notification id
(`rem-prevention-<day>`), so a batch that holds several people's must still tell them apart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from functions.accounts.models import Contact, SpaceStatus
from functions.agenda.delivery import Effect, EffectKey, Outcome, effect_key
from functions.agenda.fanout import DeliveryBatch
from functions.agenda.models import DueEntry, ItemKind, Prevention
from functions.agenda.storage import DynamoDeliveryStore
from functions.agenda.worker import DeliveryDeps, DeliveryReport
from functions.agenda.worker import deliver as deliver_with
from functions.identity.ins import with_key
from functions.notifications.delivery import ClaimThenSend
from functions.notifications.models import Email, Notification, NotificationPreferences
from functions.notifications.storage import DynamoNotificationStore

DAY = date(2032, 3, 15)
PEOPLE = [with_key(f"1{yy}0375000{yy:03d}") for yy in (70, 71, 72)]


class FakeDeliveryStore:
    """Notifications keyed like the table: (recipient, notification id); `stale` people's items moved on."""

    def __init__(self, emails: dict[str, str], stale: frozenset[str] = frozenset(),
                 switches: dict[str, NotificationPreferences] | None = None) -> None:
        self.emails = emails
        self.stale = stale
        self.switches = switches or {}
        self.notified: set[tuple[str, str]] = set()
        self.emailed: list[Notification] = []

    def read(self, ins: list[str], prevention_of: list[str]) -> tuple[dict[str, Contact], dict[str, Prevention]]:
        return {i: Contact(ins=i, status=SpaceStatus.OPEN, email=self.emails.get(i),
                           preferences=self.switches.get(i, NotificationPreferences())) for i in ins}, {}

    def commit(self, effects: list[Effect]) -> dict[EffectKey, Outcome]:
        outcomes: dict[EffectKey, Outcome] = {}
        for effect in effects:
            n = effect.notification
            if (n.recipient_ins, n.notification_id) in self.notified:
                outcomes[effect_key(n)] = Outcome.ALREADY
            elif n.recipient_ins in self.stale:
                outcomes[effect_key(n)] = Outcome.STALE
            else:
                self.notified.add((n.recipient_ins, n.notification_id))
                outcomes[effect_key(n)] = Outcome.DONE
        return outcomes

    def mark_emailed(self, notifications: list[Notification]) -> None:
        self.emailed.extend(notifications)

    def claim_emails(self, notifications: list[Notification]) -> list[Notification]:
        self.emailed.extend(notifications)
        return notifications


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    def send(self, emails: list[Email]) -> int:
        self.sent.extend(emails)
        return 0


@dataclass(frozen=True)
class DeliveryDepsOf:
    """The worker's deps as these tests hold them: the store (which also keeps the e-mail claims) and a mailer."""

    store: FakeDeliveryStore | DynamoDeliveryStore
    mailer: FakeMailer


def deliver(deps: DeliveryDepsOf, batch: DeliveryBatch) -> DeliveryReport:
    return deliver_with(real(deps), batch)


def real(deps: DeliveryDepsOf) -> DeliveryDeps:
    claims = deps.store if isinstance(deps.store, FakeDeliveryStore) else DynamoNotificationStore()
    return DeliveryDeps(store=deps.store, email=ClaimThenSend(claims, deps.mailer))


def prevention_entry(ins: str) -> DueEntry:
    return DueEntry(day=DAY, owner_ins=ins, item_id="prevention", kind=ItemKind.PREVENTION, what="VAC_DTP",
                    when=DAY.isoformat(), version=1)


def test_prevention_reminders_of_several_people_in_one_batch_each_reach_their_own_address() -> None:
    emails = {ins: f"p{n}@example.org" for n, ins in enumerate(PEOPLE)}
    store, mailer = FakeDeliveryStore(emails), FakeMailer()
    batch = DeliveryBatch(day=DAY, entries=[prevention_entry(ins) for ins in PEOPLE])

    report = deliver(DeliveryDepsOf(store=store, mailer=mailer), batch)

    assert report.delivered == 3 and report.emails == 3
    assert sorted(e.address for e in mailer.sent) == sorted(emails.values())  # once each, nobody else's
    assert sorted(n.recipient_ins for n in store.emailed) == sorted(PEOPLE)


def test_one_persons_stale_prevention_reminder_does_not_hold_back_the_others() -> None:
    store, mailer = FakeDeliveryStore({}, stale=frozenset({PEOPLE[0]})), FakeMailer()
    batch = DeliveryBatch(day=DAY, entries=[prevention_entry(ins) for ins in PEOPLE])

    report = deliver(DeliveryDepsOf(store=store, mailer=mailer), batch)

    assert (report.delivered, report.stale) == (2, 1)
    assert {ins for ins, _ in store.notified} == set(PEOPLE[1:])


def test_the_switches_on_the_contact_decide_the_channels_and_a_contact_without_them_has_both() -> None:
    """Given one holder who turned prevention e-mails and in-app notices off (their contact carries the switches)
    and one who never chose, then the first is notified hidden and not e-mailed, the second in-app and e-mailed."""
    from functions.notifications.models import Channels, PreferenceCode

    quiet, default = PEOPLE[0], PEOPLE[1]
    off = NotificationPreferences(channels={PreferenceCode.NOTIF_DEPISTAGE: Channels(in_app=False, email=False)})
    emails = {quiet: "quiet@example.org", default: "default@example.org"}
    store, mailer = FakeDeliveryStore(emails, switches={quiet: off}), FakeMailer()
    batch = DeliveryBatch(day=DAY, entries=[prevention_entry(quiet), prevention_entry(default)])

    report = deliver(DeliveryDepsOf(store=store, mailer=mailer), batch)

    assert report.delivered == 2
    assert [e.address for e in mailer.sent] == ["default@example.org"]
    assert [n.recipient_ins for n in store.emailed] == [default]


class TimedOutTransaction:
    """A TransactWriteItems that got no answer: botocore's read timeout, wrapped by pynamodb."""

    def __enter__(self) -> TimedOutTransaction:
        return self

    def __exit__(self, *exc: object) -> None:
        from botocore.exceptions import ReadTimeoutError
        from pynamodb.exceptions import TransactWriteError

        raise TransactWriteError("Failed to write transaction items", cause=ReadTimeoutError(endpoint_url="x"))

    def save(self, *args: object, **kwargs: object) -> None: ...
    def update(self, *args: object, **kwargs: object) -> None: ...


class OfflineDeliveryStore(DynamoDeliveryStore):
    def __init__(self, shards: int) -> None:
        super().__init__(shards, spaces=None, notifications=DynamoNotificationStore())  # type: ignore[arg-type]

    def read(self, ins: list[str], prevention_of: list[str]) -> tuple[dict[str, Contact], dict[str, Prevention]]:
        return FakeDeliveryStore({}).read(ins, prevention_of)


def test_a_timed_out_transaction_fails_the_record_as_itself_and_is_logged_by_type(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A TransactWriteItems with no answer surfaced as AttributeError (pynamodb's cause_response_code reads
    `.response` of a ReadTimeoutError, which is None) and powertools logged nothing. It must fail the record as
    the TransactWriteError it is, and the log must say so, without identifiers."""
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
    from pynamodb.exceptions import TransactWriteError

    from functions.agenda.worker import handle_deliveries
    from functions.shared import dynamo
    from local.pump import LambdaContext

    monkeypatch.setattr(dynamo, "transaction", TimedOutTransaction)
    store = OfflineDeliveryStore(shards=4)
    batch = DeliveryBatch(day=DAY, entries=[prevention_entry(ins) for ins in PEOPLE])
    with pytest.raises(TransactWriteError):
        deliver(DeliveryDepsOf(store=store, mailer=FakeMailer()), batch)

    event = {"Records": [{"messageId": "m-1", "receiptHandle": "r", "body": batch.model_dump_json(),
                          "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                          "eventSourceARN": "arn:aws:sqs:eu-west-3:123456789012:q", "awsRegion": "eu-west-3"}]}
    caplog.clear()
    with pytest.raises(BatchProcessingError):  # powertools fails the whole invocation when every record failed
        handle_deliveries(real(DeliveryDepsOf(store=store, mailer=FakeMailer())), event, LambdaContext())

    failure = next(r for r in caplog.records if r.getMessage() == "reminder delivery failed")
    assert (failure.__dict__["error_type"], failure.__dict__["cause_type"]) == ("TransactWriteError",
                                                                               "ReadTimeoutError")
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert not any(ins in logged for ins in PEOPLE)


class CrashedBeforeEmailStore(FakeDeliveryStore):
    """A first delivery committed the notification and died before its e-mail: every later delivery of the entry
    finds it with `email_pending` set, here two at once (both commits see the same item)."""

    def __init__(self, emails: dict[str, str]) -> None:
        super().__init__(emails)
        self.pending = True

    def commit(self, effects: list[Effect]) -> dict[EffectKey, Outcome]:
        return {e.key: Outcome.ALREADY_EMAIL_PENDING for e in effects}

    def mark_emailed(self, notifications: list[Notification]) -> None:
        self.pending = False

    def claim_emails(self, notifications: list[Notification]) -> list[Notification]:
        claimed, self.pending = (notifications if self.pending else []), False
        return claimed


def test_two_concurrent_redeliveries_of_an_unsent_email_send_it_once() -> None:
    store, mailer = CrashedBeforeEmailStore({PEOPLE[0]: "a@example.org"}), FakeMailer()
    batch = DeliveryBatch(day=DAY, entries=[prevention_entry(PEOPLE[0])])
    deps = DeliveryDepsOf(store=store, mailer=mailer)
    first, second = deliver(deps, batch), deliver(deps, batch)
    assert [e.address for e in mailer.sent] == ["a@example.org"]
    assert (first.emails, second.emails) == (1, 0)
