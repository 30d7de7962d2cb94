"""Request and response shapes for notifications and notification preferences."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from functions.notifications.models import Channels, Notification, NotificationPreferences, PreferenceCode


class NotificationOut(BaseModel):
    notification_id: str
    kind: str
    created_at: datetime
    document_id: str | None = None
    what: str | None = None
    when: str | None = None
    professional: str | None = None
    place: str | None = None
    professional_rpps: str | None = None
    reason: str | None = None
    title: str
    text: str
    link: str  # a deep link into the app: urn:document:<id>, urn:appointment:<id>, urn:professional:<rpps>...

    @classmethod
    def from_domain(cls, n: Notification) -> NotificationOut:
        said = n.wording()
        return cls(notification_id=n.notification_id, kind=n.kind.value, created_at=n.created_at,
                   document_id=n.document_id, what=n.what, when=n.when, professional=n.professional,
                   place=n.place, professional_rpps=n.professional_rpps, reason=n.reason, title=said.title,
                   text=said.text, link=said.link)


class PreferencesIn(BaseModel):
    """The whole set (PUT): codes left out go back to their default (both channels on)."""

    model_config = ConfigDict(extra="forbid")

    preferences: dict[PreferenceCode, Channels]

    def to_domain(self) -> NotificationPreferences:
        return NotificationPreferences(channels=dict(self.preferences))


class PreferencesOut(BaseModel):
    preferences: dict[PreferenceCode, Channels]

    @classmethod
    def from_domain(cls, prefs: NotificationPreferences) -> PreferencesOut:
        return cls(preferences=prefs.complete())
