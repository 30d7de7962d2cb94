"""What reminder delivery decides and commits, without I/O: who can be told (their space's contact and their
preferences), the effect of one reminder of one day, and how its commit ended."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from functions.accounts.models import Contact
from functions.agenda.models import DueEntry
from functions.notifications.models import Notification, NotificationPreferences


class Recipient(BaseModel):
    """A space's contact (accounts) with the holder's preferences (notifications), read together."""

    model_config = ConfigDict(frozen=True)

    contact: Contact
    preferences: NotificationPreferences = NotificationPreferences()


EffectKey = tuple[str, str]


def effect_key(n: Notification) -> EffectKey:
    """(recipient, notification id): the notification's own key. The id alone is not unique across people: every
    prevention reminder of a day is `rem-prevention-<day>`."""
    return (n.recipient_ins, n.notification_id)


class Effect(BaseModel):
    """One reminder of one day: its notification (once-only by key), its item moved on, its next entry."""

    model_config = ConfigDict(frozen=True)

    entry: DueEntry
    notification: Notification
    email: bool
    next_entry: DueEntry | None = None

    @property
    def key(self) -> EffectKey:
        return effect_key(self.notification)


class Outcome(StrEnum):
    DONE = "done"
    ALREADY = "already"  # the notification exists: an earlier run or delivery did it
    ALREADY_EMAIL_PENDING = "already_email_pending"  # ... but its e-mail was never confirmed sent (crash)
    STALE = "stale"  # the item changed or was deleted after the fan-out read the entry
