"""INTERIM, until CAT-PAIR's pairing storage lands: an in-memory pairing directory and revocation list, per
process, empty at start. They fit `functions.identity.ports.PairingDirectory` and `RevokedPairings`; `deps.pairings`
wires them and is the one factory to swap for the real adapters. Nothing here survives a cold start: this is not
the pairing store, only what lets the service-token check and the measures flow run and be tested meanwhile."""

from __future__ import annotations


class InMemoryPairings:
    def __init__(self) -> None:
        self._persons: dict[tuple[str, str], str] = {}
        self._revoked: dict[str, int] = {}

    def pair(self, oid: str, id_pe: str, ins: str) -> None:
        self._persons[(oid, id_pe)] = ins

    def revoke(self, key: str, minimum: int) -> None:
        """`key`: a pairing id (tokens with `pv` below `minimum` are dead) or `svc:<oid>` (tokens issued before
        `minimum`, epoch seconds, are dead)."""
        self._revoked[key] = minimum

    def resolve(self, oid: str, id_pe: str) -> str | None:
        return self._persons.get((oid, id_pe))

    def snapshot(self) -> dict[str, int]:
        return dict(self._revoked)
