"""Notifications table, owned by notifications alone. Partition = recipient; sort = time + id for a notification,
`PREFS` for the holder's preferences (kept out of the listing by its key condition: notification sort keys start
with a digit). The notification id is deterministic per effect (see `Notification.for_...`), so a redelivered
event cannot notify twice.

A notification the holder turned off in-app is still written, `hidden`: its key is the once-only marker for the
e-mail, and the list leaves it out. `email_pending` marks a notification whose e-mail is still to be claimed.

Preferences live here; their switches are also copied onto the space item (accounts', through its port) in the
transaction that writes `PREFS`, because reminder delivery reads only the contacts: one key a person."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from functions.notifications.models import Notification, NotificationKind, NotificationPreferences
from functions.notifications.ports import OnceOnly
from functions.shared.clock import iso
from functions.shared.dynamo import Transaction, TransactionCancelled, error_code, newest_first, transaction
from functions.shared.errors import NotFound
from functions.shared.staging import Staged, WriteSink

PREFS = "PREFS"
TRANSACT_LIMIT = 100
_TIMESTAMPED = ("0", "9\uffff")  # every notification sort key is an ISO time: PREFS sorts outside


class NotificationItem(Model):
    class Meta:
        table_name = "notifications"

    recipient = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    notification_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    document_id = UnicodeAttribute(null=True)
    what = UnicodeAttribute(null=True)
    when = UnicodeAttribute(null=True)
    professional = UnicodeAttribute(null=True)
    place = UnicodeAttribute(null=True)
    professional_rpps = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    hidden = BooleanAttribute(null=True)
    email_pending = BooleanAttribute(null=True)

    @staticmethod
    def sort_key(n: Notification) -> str:
        return f"{iso(n.created_at)}#{n.notification_id}"

    @classmethod
    def from_domain(cls, n: Notification, email_pending: bool = False) -> NotificationItem:
        return cls(n.recipient_ins, cls.sort_key(n), notification_id=n.notification_id,
                   kind=n.kind.value, created_at=n.created_at, document_id=n.document_id, what=n.what,
                   when=n.when, professional=n.professional, place=n.place,
                   professional_rpps=n.professional_rpps, reason=n.reason,
                   hidden=True if not n.in_app else None, email_pending=True if email_pending else None)

    def to_domain(self) -> Notification:
        return Notification(recipient_ins=self.recipient, notification_id=self.notification_id,
                            kind=NotificationKind(self.kind), created_at=self.created_at,
                            document_id=self.document_id, what=self.what, when=self.when,
                            professional=self.professional, place=self.place,
                            professional_rpps=self.professional_rpps, reason=self.reason, in_app=not self.hidden)


class PreferencesItem(Model):
    """The holder's preferences: same table, sort key `PREFS`."""

    class Meta:
        table_name = "notifications"

    recipient = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=PREFS)
    preferences = UnicodeAttribute(null=True)  # JSON of NotificationPreferences


def notifications_only() -> Condition:
    """The key condition that reads a partition's notifications and not its `PREFS` item."""
    return NotificationItem.sk.between(*_TIMESTAMPED)


def preferences_from(raw: str | None) -> NotificationPreferences:
    return NotificationPreferences.model_validate(json.loads(raw)) if raw else NotificationPreferences()


def preferences_item(ins: str, prefs: NotificationPreferences) -> PreferencesItem:
    return PreferencesItem(ins, PREFS, preferences=json.dumps(prefs.model_dump(mode="json"), sort_keys=True))


@dataclass(frozen=True)
class _Put:
    notification: Notification
    once: bool

    def stage(self, tx: WriteSink) -> None:
        tx.put("notification", NotificationItem.from_domain(self.notification),
               NotificationItem.sk.does_not_exist() if self.once else None)


@dataclass(frozen=True)
class _OnceOnly:
    notification: Notification
    email_pending: bool

    def stage(self, tx: WriteSink) -> None:
        tx.put("notification", NotificationItem.from_domain(self.notification, email_pending=self.email_pending),
               NotificationItem.sk.does_not_exist(), return_old=True)

    def email_was_pending(self, old: Mapping[str, Any]) -> bool:
        return bool(old) and bool(NotificationItem.from_raw_data(dict(old)).email_pending)


def _whole_people(notifications: list[Notification], limit: int) -> list[list[Notification]]:
    """Chunks of at most `limit` that never split one person's notifications (unless they alone pass the limit):
    one person's reminders are claimed in one transaction, so two deliveries cannot each win part of a digest."""
    by_person: dict[str, list[Notification]] = {}
    for n in notifications:
        by_person.setdefault(n.recipient_ins, []).append(n)
    chunks: list[list[Notification]] = []
    current: list[Notification] = []
    for own in by_person.values():
        if current and len(current) + len(own) > limit:
            chunks.append(current)
            current = []
        for start in range(0, len(own), limit):
            part = own[start:start + limit]
            if len(current) + len(part) > limit:
                chunks.append(current)
                current = []
            current.extend(part)
    if current:
        chunks.append(current)
    return chunks


class DynamoNotificationStore:
    """`InAppNotifications` and `EmailClaims` on DynamoDB."""

    def staged(self, notifications: list[Notification], once: bool = True) -> list[Staged]:
        return [_Put(n, once) for n in notifications]

    def staged_once(self, notification: Notification, email_pending: bool) -> OnceOnly:
        return _OnceOnly(notification, email_pending)

    def preferences(self, ins: str) -> NotificationPreferences:
        try:
            item = PreferencesItem.get(ins, PREFS, consistent_read=True)
        except PreferencesItem.DoesNotExist:
            return NotificationPreferences()
        return preferences_from(item.preferences)

    def put_preferences(self, ins: str, prefs: NotificationPreferences, also: Sequence[Staged] = ()) -> None:
        tx = Transaction()
        tx.put("preferences", preferences_item(ins, prefs))
        for staged in also:
            staged.stage(tx)
        try:
            tx.commit()
        except TransactionCancelled as exc:
            if "space" in exc.failed:
                raise NotFound("space") from exc
            raise

    def claim_emails(self, notifications: list[Notification]) -> list[Notification]:
        """Clears `email_pending` only where it is still set, and returns those notifications: their e-mail is
        this delivery's to send. A concurrent delivery of the same entry finds it cleared and sends nothing."""
        claimed: list[Notification] = []
        for chunk in _whole_people(notifications, TRANSACT_LIMIT):
            pending = chunk
            while pending:
                try:
                    with transaction() as tx:
                        for n in pending:
                            tx.update(NotificationItem(n.recipient_ins, NotificationItem.sort_key(n)),
                                      actions=[NotificationItem.email_pending.remove()],
                                      condition=NotificationItem.email_pending.exists())
                except TransactWriteError as exc:
                    if error_code(exc) != "TransactionCanceledException":
                        raise
                    lost = [n for n, r in zip(pending, exc.cancellation_reasons, strict=False)
                            if r is not None and r.code == "ConditionalCheckFailed"]
                    if not lost:
                        raise
                    pending = [n for n in pending if n not in lost]
                    continue
                claimed.extend(pending)
                break
        return claimed

    # last: the method named `list` would shadow the builtin in the annotations below it
    def list(self, recipient_ins: str, after: str | None, limit: int) -> tuple[list[Notification], str | None]:
        items, last = newest_first(NotificationItem, recipient_ins, after, limit,
                                   range_key_condition=notifications_only(),
                                   filter_condition=NotificationItem.hidden.does_not_exist())
        return [item.to_domain() for item in items], last


class NotificationErasure:
    """`functions.accounts.ports.SpaceEraser` for notifications: the holder's partition (notifications, pending
    e-mails' markers, `PREFS`)."""

    def erase_space(self, ins: str) -> int:
        from functions.shared.erasing import delete_partition

        return delete_partition(NotificationItem, ins)
