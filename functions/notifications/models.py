"""A notification names what happened and which object it is about, never the health content itself.
Recipients are patients (their INS) or professionals (`rpps:<RPPS>`, e.g. the GP told of an emergency access)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class NotificationKind(StrEnum):
    NEW_DOCUMENT = "document.new"
    SEE_YOUR_DOCTOR = "document.see_your_doctor"  # an INVISIBLE_PATIENT document awaits its announcement
    FIRST_ACCESS = "access.first"
    UNUSUAL_ACCESS = "access.unusual"
    EMERGENCY_ACCESS = "access.emergency"


def professional_recipient(rpps: str) -> str:
    return f"rpps:{rpps}"


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True)

    recipient_ins: str
    notification_id: str
    kind: NotificationKind
    created_at: datetime
    document_id: str | None = None
    professional_rpps: str | None = None
    reason: str | None = None
