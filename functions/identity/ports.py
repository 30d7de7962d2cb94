"""Ports shared by the catalogue (which keeps pairings and revocations) and the measures flow (which checks service
access tokens): storage-free protocols, so neither imports the other's storage."""

from __future__ import annotations

from typing import Protocol


class PairingDirectory(Protocol):
    def resolve(self, oid: str, id_pe: str) -> str | None: ...


class RevokedPairings(Protocol):
    """The deny list: pairing id -> the lowest token version still alive (negative: the pairing ended, none is),
    `svc:<oid>` -> epoch seconds before which every token of the service is dead."""

    def snapshot(self) -> dict[str, int]: ...
