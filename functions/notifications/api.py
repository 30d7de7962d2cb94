"""Response shapes for notifications."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from functions.notifications.models import Notification


class NotificationOut(BaseModel):
    notification_id: str
    kind: str
    created_at: datetime
    document_id: str | None = None
    professional_rpps: str | None = None
    reason: str | None = None


class NotificationPageOut(BaseModel):
    items: list[NotificationOut]
    next: str | None

    @classmethod
    def from_domain(cls, items: list[Notification], nxt: str | None) -> NotificationPageOut:
        return cls(items=[NotificationOut(notification_id=n.notification_id, kind=n.kind.value,
                                          created_at=n.created_at, document_id=n.document_id,
                                          professional_rpps=n.professional_rpps, reason=n.reason)
                      for n in items],
                   next=nxt)
