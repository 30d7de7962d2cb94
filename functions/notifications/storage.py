"""Notifications table: partition = recipient, sort = time + id. The notification id is deterministic per effect
(e.g. the document it announces), so a redelivered event cannot notify twice."""

from __future__ import annotations

from typing import Protocol

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from functions.notifications.models import Notification, NotificationKind
from functions.shared.clock import iso


class NotificationItem(Model):
    class Meta:
        table_name = "notifications"

    recipient = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    notification_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    document_id = UnicodeAttribute(null=True)
    professional_rpps = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)

    @classmethod
    def from_domain(cls, n: Notification) -> NotificationItem:
        return cls(n.recipient_ins, f"{iso(n.created_at)}#{n.notification_id}", notification_id=n.notification_id,
                   kind=n.kind.value, created_at=n.created_at, document_id=n.document_id,
                   professional_rpps=n.professional_rpps, reason=n.reason)

    def to_domain(self) -> Notification:
        return Notification(recipient_ins=self.recipient, notification_id=self.notification_id,
                            kind=NotificationKind(self.kind), created_at=self.created_at,
                            document_id=self.document_id, professional_rpps=self.professional_rpps,
                            reason=self.reason)


class NotificationStore(Protocol):
    def list(self, recipient_ins: str, after: str | None, limit: int) -> tuple[list[Notification], str | None]: ...


class DynamoNotificationStore:
    def list(self, recipient_ins: str, after: str | None, limit: int) -> tuple[list[Notification], str | None]:
        start = {"recipient": {"S": recipient_ins}, "sk": {"S": after}} if after else None
        result = NotificationItem.query(recipient_ins, scan_index_forward=False, limit=limit,
                                        last_evaluated_key=start)
        items = [item.to_domain() for item in result]
        last = result.last_evaluated_key
        return items, (last["sk"]["S"] if last else None)
