"""A person's space. It exists, unactivated, as soon as it is opened by default: documents flow into it anyway."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from functions.notifications.models import NotificationPreferences


class SpaceStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Space(BaseModel):
    model_config = ConfigDict(frozen=True)

    ins: str
    status: SpaceStatus
    created_at: datetime
    activated_at: datetime | None = None
    birth_date: date | None = None
    email: str | None = None  # contact address for e-mail notifications

    @property
    def is_open(self) -> bool:
        return self.status is SpaceStatus.OPEN

    @property
    def sex(self) -> int:
        """First digit of the INS: 1 male, 2 female."""
        return int(self.ins[0])


class Contact(BaseModel):
    """What delivering a notification needs of a space: is it open, where to e-mail (if anywhere), and the
    holder's in-app/e-mail switches. The switches are a copy the preferences route keeps on the space item, in the
    transaction that writes the preferences themselves (notifications' `PREFS` item), so that delivery reads one
    item per person; a space whose item has none has the defaults (every channel on)."""

    model_config = ConfigDict(frozen=True)

    ins: str
    status: SpaceStatus
    email: str | None = None
    preferences: NotificationPreferences = NotificationPreferences()

    @property
    def is_open(self) -> bool:
        return self.status is SpaceStatus.OPEN
