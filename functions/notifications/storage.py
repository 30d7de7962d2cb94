"""Notifications table: partition = recipient, sort = time + id. The notification id is deterministic per effect
(e.g. the document it announces, or a reminder and its day), so a redelivered event cannot notify twice.

A notification the holder turned off in-app is still written, `hidden`: its key is the once-only marker for the
e-mail, and the list leaves it out. Preferences live on the space item (one read gives contact and choices)."""

from __future__ import annotations

import json
from typing import Protocol

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.models import Model

from functions.accounts.storage import SpaceItem, space_key
from functions.notifications.models import Notification, NotificationKind, NotificationPreferences
from functions.shared.clock import iso
from functions.shared.dynamo import error_code, newest_first
from functions.shared.staging import Staged, WriteSink


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


def preferences_from(raw: str | None) -> NotificationPreferences:
    return NotificationPreferences.model_validate(json.loads(raw)) if raw else NotificationPreferences()


class NotificationStore(Protocol):
    def list(self, recipient_ins: str, after: str | None, limit: int) -> tuple[list[Notification], str | None]: ...
    def get_preferences(self, ins: str) -> NotificationPreferences | None: ...
    def put_preferences(self, ins: str, prefs: NotificationPreferences) -> bool: ...


class DynamoNotificationStore:
    def list(self, recipient_ins: str, after: str | None, limit: int) -> tuple[list[Notification], str | None]:
        items, last = newest_first(NotificationItem, recipient_ins, after, limit,
                                   filter_condition=NotificationItem.hidden.does_not_exist())
        return [item.to_domain() for item in items], last

    def get_preferences(self, ins: str) -> NotificationPreferences | None:
        try:
            item = SpaceItem.get(space_key(ins), consistent_read=True)
        except SpaceItem.DoesNotExist:
            return None
        return preferences_from(item.notification_preferences)

    def put_preferences(self, ins: str, prefs: NotificationPreferences) -> bool:
        raw = json.dumps(prefs.model_dump(mode="json"), sort_keys=True)
        try:
            SpaceItem(space_key(ins)).update(actions=[SpaceItem.notification_preferences.set(raw)],
                                             condition=SpaceItem.key.exists())
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True


class _StagedNotification:
    def __init__(self, notification: Notification) -> None:
        self._item = NotificationItem.from_domain(notification)

    def stage(self, tx: WriteSink) -> None:
        tx.put("notification", self._item, NotificationItem.sk.does_not_exist())


def staged_notifications(ns: list[Notification]) -> list[Staged]:
    """Notification items prepared for another owner's transaction (label `notification`, once only)."""
    return [_StagedNotification(n) for n in ns]


class DynamoInAppNotifications:
    """`InAppNotifications` on the notifications table."""

    def staged(self, notifications: list[Notification]) -> list[Staged]:
        return staged_notifications(notifications)
