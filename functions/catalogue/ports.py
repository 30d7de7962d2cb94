"""What the catalogue's service needs (storage-free): its own store of pairings, codes, refresh tokens,
assertion ids and revocation entries; a signer for the tokens it issues."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from functions.catalogue.models import AuthorizationCode, Pairing, RefreshToken, ServiceStatus, StatusChange
from functions.shared.staging import Staged


class PairingStore(Protocol):
    """The `catalogue` table (functions/catalogue/storage.py). Reads are GetItem or one Query; writes that land
    with the holder's traces are staged and committed through the journal."""

    def pairing(self, holder_ins: str, oid: str) -> Pairing | None: ...

    def pairings(self, holder_ins: str) -> list[Pairing]:
        """The holder's pairings (one Query of their partition)."""
        ...

    def pairings_of_service(self, oid: str, after: str | None, limit: int) -> tuple[list[Pairing], str | None]:
        """Active pairings of one service, a page at a time (the per-service index: no Scan)."""
        ...

    def pairings_in_cycle(self, slot: int, shard: int, after: str | None,
                          limit: int) -> tuple[list[Pairing], str | None]:
        """Active pairings of the holders whose 90-day summary falls on `slot`, in `shard` (an index: no Scan)."""
        ...

    def commit_once(self, staged: Sequence[Staged]) -> bool:
        """Commit; False when a condition failed (a once-only notification already written)."""
        ...

    def staged_pairing(self, pairing: Pairing, previous: Pairing | None) -> Staged:
        """Put the pairing (and its idPe directory entry) on the condition that it did not change meanwhile."""
        ...

    def staged_revocation(self, key: str, min_version: int, at: datetime) -> Staged:
        """A `REVOKED` entry: tokens of `key` (a pairing id, or `svc:<oid>`) below `min_version` are refused."""
        ...

    def staged_code(self, code_hash: str, code: AuthorizationCode) -> Staged: ...

    def code(self, code_hash: str) -> tuple[AuthorizationCode, str | None] | None:
        """The code and, once consumed, the refresh family it started (None while unused)."""
        ...

    def staged_code_use(self, code_hash: str, family: str) -> Staged:
        """Consume the code once: fails if it was consumed before."""
        ...

    def refresh_token(self, token_hash: str) -> RefreshToken | None: ...

    def staged_refresh_token(self, token_hash: str, token: RefreshToken) -> Staged: ...

    def staged_refresh_use(self, token_hash: str) -> Staged:
        """Rotate: `current` -> `used`, failing if it was used already."""
        ...

    def use_assertion_id(self, oid: str, jti: str, expires_at: datetime) -> bool:
        """Record a client assertion's `jti` once; False if it was seen before."""
        ...

    def statuses(self) -> dict[str, ServiceStatus]:
        """Status changes operations made since the data file was published (one Query of a small partition)."""
        ...

    def staged_status(self, change: StatusChange) -> Staged:
        """The service's current status and the change appended to its history, in the same transaction."""
        ...

    def status_history(self, oid: str) -> list[StatusChange]:
        """Every status change of a service, oldest first (one Query of its history partition)."""
        ...

    def commit(self, staged: Sequence[Staged]) -> None:
        """Commit writes that trace nothing in a holder's chain (a status change), in one transaction."""
        ...


class TokenSigner(Protocol):
    """Signs JWTs with the service-token key (KMS, RS256): the access and id tokens."""

    def sign(self, claims: dict[str, Any]) -> str: ...
