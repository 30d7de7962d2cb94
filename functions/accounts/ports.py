"""The space directory: how every other capability reaches spaces (status, contact, birth date, sex) without
knowing how accounts stores them. Storage-free: no pynamodb, botocore or boto3 here."""

from __future__ import annotations

from collections.abc import Iterator
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


class SpaceLifecycle(Protocol):
    """Closure, reopening and erasure on the space item (accounts' own writes)."""

    def lifecycle_write(self, space: Space, previous: Space) -> Staged:
        """The space's new lifecycle fields, for the journal's transaction with its trace (label `space`): it
        commits only if the stored status and deletion are still `previous`'s (a concurrent change refuses)."""
        ...

    def start_erasure(self, space: Space) -> Space | None:
        """Mark a closed space's deletion `running` (conditional on it being closed and erasable as read):
        from here reopening refuses. None when it changed meanwhile (reopened)."""
        ...

    def due_for_erasure(self, day: str) -> Iterator[str]:
        """The INS of the spaces whose erasure is due on `day` (ISO date), from the sparse index of the day's
        shards: one Query per shard, never a Scan."""
        ...

    def tombstone(self, space: Space, at: datetime, reference: str) -> None:
        """Replace the space item by its tombstone (no contact, birth date, switches or dates but the erasure's)
        and delete the login links it lists."""
        ...


class SpaceKeys(Protocol):
    """Each space's data key (AES-256), wrapped by the project's documents key under the encryption context
    {"space": ins}; only the wrapped key is stored. Destroying it is the crypto-shredding of every object sealed
    under it (functions/shared/envelope.py), old versions and backups of the objects included."""

    def data_key(self, ins: str) -> bytes:
        """The plaintext data key, created on first use; cached per process a few minutes."""
        ...

    def destroy(self, ins: str) -> None: ...


class SpaceEraser(Protocol):
    """What each capability offers the erasure: delete every item it keeps of one person in its tables, and
    every object and object version in its buckets (by the keys the person's own items point to, never a
    Scan). Idempotent: a second run finds nothing. Returns how many items and object versions it deleted."""

    def erase_space(self, ins: str) -> int: ...
