"""Notification ids are built in one place (`Notification.for_...`): with the recipient and time they are the
once-only key, so their format is pinned here: a change would notify twice what was already notified."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

from functions.agenda.models import DueEntry, ItemKind
from functions.notifications.delivery import ClaimThenSend
from functions.notifications.models import Email, Notification, NotificationKind, professional_recipient

AT = datetime(2032, 3, 15, 6, tzinfo=UTC)
INS = "184067512345622"


def test_every_notification_id_keeps_its_format() -> None:
    assert Notification.for_document(INS, "doc1", AT).notification_id == "new-doc1"
    assert Notification.for_announcement(INS, "doc1", AT).notification_id == "see-doctor-" + hashlib.sha256(
        b"see-doctor:doc1").hexdigest()[:26]  # the id the patient sees names no document
    assert Notification.for_first_access(INS, "10000000001", AT).notification_id == "first-10000000001"
    assert (Notification.for_unusual_reads(INS, "10000000001", date(2032, 3, 15), AT).notification_id
            == "unusual-10000000001-2032-03-15")
    told = Notification.for_emergency_access(INS, "10000000001", "BTG", AT)
    assert told.notification_id == f"emergency-10000000001-{AT.timestamp():.0f}" and told.reason == "BTG"
    assert told.to(professional_recipient("10000000002")).recipient_ins == "rpps:10000000002"
    assert Notification.for_night_emergency(INS, "10000000001", AT).notification_id == "unusual-night-10000000001"
    reminder = Notification.for_reminder(INS, "appt_1", date(2032, 3, 15), NotificationKind.APPOINTMENT_REMINDER,
                                         AT, what="Rendez-vous", in_app=False)
    assert (reminder.notification_id, reminder.what, reminder.in_app) == ("rem-appt_1-2032-03-15", "Rendez-vous",
                                                                          False)
    entry = DueEntry(day=date(2032, 3, 15), owner_ins=INS, item_id="appt_1", kind=ItemKind.APPOINTMENT, what="x")
    assert entry.notification_id == reminder.notification_id


class Claims:
    def __init__(self, unclaimed: set[str]) -> None:
        self.unclaimed = unclaimed

    def claim_emails(self, notifications: list[Notification]) -> list[Notification]:
        won = [n for n in notifications if n.notification_id in self.unclaimed]
        self.unclaimed -= {n.notification_id for n in won}
        return won


class Mailer:
    def __init__(self, refuse: int = 0) -> None:
        self.sent: list[Email] = []
        self.refuse = refuse

    def send(self, emails: list[Email]) -> int:
        self.sent.extend(emails)
        return self.refuse


def test_only_claimed_emails_are_sent_and_refusals_are_counted() -> None:
    a, b = (Notification.for_document(INS, d, AT) for d in ("a", "b"))
    mail = [(a, "a@example.org"), (b, "b@example.org")]
    mailer = Mailer(refuse=1)
    delivery = ClaimThenSend(Claims({"new-a"}), mailer)

    first, second = delivery.send_once(mail), delivery.send_once(mail)

    assert [e.address for e in mailer.sent] == ["a@example.org"]
    assert (first.sent, first.refused, second.sent, second.refused) == (0, 1, 0, 0)
