"""A notification names what happened and which object it is about, never the health content itself."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class NotificationKind(StrEnum):
    NEW_DOCUMENT = "document.new"


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True)

    recipient_ins: str
    notification_id: str
    kind: NotificationKind
    created_at: datetime
    document_id: str | None = None
