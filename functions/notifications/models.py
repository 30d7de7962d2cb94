"""A notification names what happened and which object it is about, never the health content itself.
Recipients are patients (their INS) or professionals (`rpps:<RPPS>`, e.g. the GP told of an emergency access).
Reminders also say what, when (Europe/Paris time) and where, as the person entered them."""

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
    APPOINTMENT_REMINDER = "agenda.appointment"
    PERSONAL_REMINDER = "agenda.reminder"
    PREVENTION_DUE = "prevention.due"


def professional_recipient(rpps: str) -> str:
    return f"rpps:{rpps}"


class PreferenceCode(StrEnum):
    NOTIF_MESSAGE = "NOTIF_MESSAGE"
    NOTIF_DOCUMENT = "NOTIF_DOCUMENT"
    NOTIF_APPOINTMENT = "NOTIF_APPOINTMENT"
    NOTIF_SYNCHRONIZED_SERVICE = "NOTIF_SYNCHRONIZED_SERVICE"
    NOTIF_DEPISTAGE = "NOTIF_DEPISTAGE"


# Which preference governs each kind. Security alerts (emergency and unusual access) are not listed: the holder
# cannot switch them off, as they are how a misuse of their record comes to light.
PREFERENCE_OF_KIND = {
    NotificationKind.NEW_DOCUMENT: PreferenceCode.NOTIF_DOCUMENT,
    NotificationKind.SEE_YOUR_DOCTOR: PreferenceCode.NOTIF_DOCUMENT,
    NotificationKind.FIRST_ACCESS: PreferenceCode.NOTIF_DOCUMENT,
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

    def shows_in_app(self, kind: NotificationKind) -> bool:
        code = PREFERENCE_OF_KIND.get(kind)
        return True if code is None else self.for_code(code).in_app


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True)

    recipient_ins: str
    notification_id: str
    kind: NotificationKind
    created_at: datetime
    document_id: str | None = None
    professional_rpps: str | None = None
    reason: str | None = None
    what: str | None = None
    when: str | None = None
    professional: str | None = None
    place: str | None = None
    in_app: bool = True

    def honouring(self, prefs: NotificationPreferences) -> Notification:
        """The same notification, hidden from the list when the holder turned this kind off in-app."""
        return self if prefs.shows_in_app(self.kind) else self.model_copy(update={"in_app": False})
