"""The space directory: how every other capability reaches spaces (status, contact, birth date, sex) without
knowing how accounts stores them. Storage-free: no pynamodb, botocore or boto3 here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Protocol

from functions.accounts.models import CodeChannel, Contact, Enrolment, Space, Standing
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

    def contact(self, ins: str) -> Contact | None:
        """One space's contact (status, e-mail, the copy of the notification switches) in one consistent read:
        what delivering to that person needs, without a second read of notifications' `PREFS` item (the copy is
        written in the preferences' own transaction). None when there is no space item (a tombstone is `erased`)."""
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

    def activated(self, ins: str, digest: str, at: datetime, terms_version: str,
                  login: tuple[str, str] | None = None) -> Staged:
        """informed/opposed/open -> open + activated_at, the code used (conditional on its digest, unused, and the
        space not activated yet: single use), the terms accepted; `login` (issuer, subject) is listed on the space so
        that its erasure deletes the link too."""
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


class IntakeStore(Protocol):
    """What opening by default needs of the spaces table (functions/accounts/opening.py)."""

    def known(self, ins: list[str]) -> set[str]:
        """Which of these INS have a space item already, whatever its state (BatchGetItem, 100 keys a call)."""
        ...

    def informed(self, enrolment: Enrolment, code_digest: str, code_expires_at: datetime, channel: str,
                 shard: int) -> Staged:
        """The informed space's creation, with the identity enrolment checks later, for the journal's commit,
        only if the INS has no space (label `space`)."""
        ...

    def standing(self, ins: list[str]) -> Standing:
        """Of these (read only for people a chunk found known already): the informed spaces whose information
        never left (no `code_sent_at`: a crash between the commit and the send, then a redelivery), and the
        tombstones of erased spaces that hold no identity yet."""
        ...

    def refreshed(self, enrolment: Enrolment) -> Staged:
        """The insurer's identity and contacts onto an erased space's tombstone, which stays `erased` (never
        created by default: its holder closed it) but may be activated again with a code (mes-rules-next.md
        B.1), only while it is a tombstone without identity (label `space`)."""
        ...

    def reissued(self, ins: str, code_digest: str, code_expires_at: datetime, channel: str, informed_at: datetime,
                 creation_due: date, shard: int) -> Staged:
        """A new provisional code for such a space, informed now and due six weeks from now (the person gets the
        whole window announced), only while it is informed and still unsent (label `space`)."""
        ...

    def created(self, ins: str, at: datetime) -> Staged:
        """informed -> open, only if still informed and its information left (label `space`)."""
        ...

    def mark_sent(self, ins: list[str], at: datetime) -> None:
        """`code_sent_at` on these spaces: their information message left."""
        ...

    def last_creation_day(self) -> date | None:
        """The last day the creation job dispatched (None before its first run)."""
        ...

    def creation_dispatched(self, day: date) -> None:
        """Remember that `day` was dispatched, unless a later day already was."""
        ...

    def due(self, day: date, shard: int, after: str | None, limit: int) -> tuple[list[str], str | None]:
        """INS of the informed spaces due that day in that shard (one Query of the sparse index), and a cursor."""
        ...


class IntakeFiles(Protocol):
    """The intake bucket (beneficiaries files in, reports out) and the print bucket (letters and SMS batches)."""

    def lines(self, key: str) -> tuple[str, Iterator[tuple[int, int, bytes]]]:
        """The file's version tag and its lines as (line number from 1, byte offset, raw bytes), streamed."""
        ...

    def read(self, key: str, version: str, start: int, end: int) -> bytes | None:
        """Bytes [start, end) of that version of the file; None when the file was replaced since."""
        ...

    def put_report(self, key: str, body: str) -> None: ...

    def put_print(self, key: str, body: str) -> None: ...
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
