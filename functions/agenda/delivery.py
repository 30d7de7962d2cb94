"""What reminder delivery decides and commits, without I/O: the effect of one reminder of one day, and how its
commit ended. Who can be told is the space's contact (accounts' `Contact`: open or not, e-mail address, and the
holder's switches, read together as one item)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from functions.agenda.models import DueEntry
from functions.notifications.models import Notification

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
