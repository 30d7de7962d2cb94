"""The space directory: how every other capability reaches spaces (status, contact, birth date, sex) without
knowing how accounts stores them. Storage-free: no pynamodb, botocore or boto3 here."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from functions.accounts.models import Contact, Space
from functions.notifications.models import NotificationPreferences
from functions.shared.lookup import BatchLookup
from functions.shared.staging import Staged


class SpaceDirectory(Protocol):
    def open(self, space: Space) -> Space:
        """Create the space unless it exists (idempotent); returns what is stored."""
        ...

    def get(self, ins: str) -> Space | None:
        """Status, contact e-mail, birth date and sex (`Space.sex`) of one space (a consistent read)."""
        ...

    def link_login(self, issuer: str, subject: str, ins: str, at: datetime) -> None: ...
    def resolve_login(self, issuer: str, subject: str) -> str | None: ...

    def contacts(self, ins: list[str]) -> BatchLookup[dict[str, Contact]]:
        """The contacts of many spaces (switches included), as keys for a batch read shared with other owners
        (reminder delivery reads contacts and prevention items in one BatchGetItem). Spaces that do not exist
        are left out."""
        ...

    def notification_switches(self, ins: str, prefs: NotificationPreferences) -> Staged:
        """The holder's switches written onto their space item, for the preferences' transaction (label
        `space`: it fails when the space does not exist). Fits `functions.notifications.ports.ContactSwitches`."""
        ...

    def open_condition(self, ins: str) -> Staged:
        """A condition for another owner's transaction: the space exists and is open (label `space`)."""
        ...
