"""A notification names what happened and which object it is about, never the health content itself.
Reminders also say what, when (Europe/Paris time) and where, as the person entered them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class NotificationKind(StrEnum):
    NEW_DOCUMENT = "document.new"
    APPOINTMENT_REMINDER = "agenda.appointment"
    PERSONAL_REMINDER = "agenda.reminder"
    PREVENTION_DUE = "prevention.due"


class PreferenceCode(StrEnum):
    NOTIF_MESSAGE = "NOTIF_MESSAGE"
    NOTIF_DOCUMENT = "NOTIF_DOCUMENT"
    NOTIF_APPOINTMENT = "NOTIF_APPOINTMENT"
    NOTIF_SYNCHRONIZED_SERVICE = "NOTIF_SYNCHRONIZED_SERVICE"
    NOTIF_DEPISTAGE = "NOTIF_DEPISTAGE"


PREFERENCE_OF_KIND = {
    NotificationKind.NEW_DOCUMENT: PreferenceCode.NOTIF_DOCUMENT,
    NotificationKind.APPOINTMENT_REMINDER: PreferenceCode.NOTIF_APPOINTMENT,
    NotificationKind.PERSONAL_REMINDER: PreferenceCode.NOTIF_APPOINTMENT,
    NotificationKind.PREVENTION_DUE: PreferenceCode.NOTIF_DEPISTAGE,
}


class Channels(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    in_app: bool = True
    email: bool = True


class NotificationPreferences(BaseModel):
    """Every code has both channels on unless the holder turned them off."""

    model_config = ConfigDict(frozen=True)

    channels: dict[PreferenceCode, Channels] = {}

    def for_code(self, code: PreferenceCode) -> Channels:
        return self.channels.get(code, Channels())

    def complete(self) -> dict[PreferenceCode, Channels]:
        return {code: self.for_code(code) for code in PreferenceCode}


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True)

    recipient_ins: str
    notification_id: str
    kind: NotificationKind
    created_at: datetime
    document_id: str | None = None
    what: str | None = None
    when: str | None = None
    professional: str | None = None
    place: str | None = None
    in_app: bool = True
