"""The space directory: how every other capability reaches spaces (status, contact, birth date, sex) without
knowing how accounts stores them. Storage-free: no pynamodb, botocore or boto3 here."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from functions.accounts.models import CodeChannel, Contact, Enrolment, Space
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


class Enrolments(Protocol):
    """The space item as enrolment reads and writes it (identity, provisional code, opposition, terms). Every write
    is staged for the journal's transaction with its trace, conditioned so that a race loses cleanly (label
    `space`; the login link's is `login`)."""

    def enrolment(self, ins: str) -> Enrolment | None:
        """A consistent read of one space item."""
        ...

    def inform(self, enrolment: Enrolment) -> None:
        """Create an informed space with its identity data unless it exists (tests and the local shortcut)."""
        ...

    def code_issued(self, ins: str, digest: str, channel: CodeChannel, expires_at: datetime, at: datetime,
                    not_after: datetime) -> Staged:
        """A new code replaces the previous one; only if none was sent after `not_after` (MIN_DELAY) and the
        space is not activated."""
        ...

    def activated(self, ins: str, digest: str, at: datetime, terms_version: str) -> Staged:
        """informed/opposed/open -> open + activated_at, the code used (conditional on its digest, unused, and the
        space not activated yet: single use), the terms accepted."""
        ...

    def login_linked(self, issuer: str, subject: str, ins: str, at: datetime) -> Staged:
        """The login link, unless this login is already linked to another INS (label `login`)."""
        ...

    def opposed(self, ins: str, digest: str, at: datetime, reference: str) -> Staged:
        """informed -> opposed with its proof's reference, on the code's digest."""
        ...

    def terms_accepted(self, ins: str, version: str, at: datetime) -> Staged:
        """A later acceptance of the terms, on an activated space."""
        ...


class ProofStore(Protocol):
    """The proofs bucket (SSE-KMS): proofs of opposition, rebuilt from the space item when missing."""

    def has(self, reference: str) -> bool: ...
    def put(self, reference: str, ins: str, pdf: bytes) -> None: ...
    def link(self, reference: str, ins: str, ttl_seconds: int) -> str:
        """A short-lived download link (presigned GET)."""
        ...


class Letters(Protocol):
    """Postal letters: a print record (name, address, the code) for the print provider."""

    def print_code(self, ins: str, name: str, address: str, code: str, expires_at: datetime) -> None: ...
