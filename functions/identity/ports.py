"""What identity needs of the pairings (storage-free): CAT-PAIR's storage implements both; the edge's service-token
check and the measures capability read them through these ports only."""

from __future__ import annotations

from typing import Protocol


class PairingDirectory(Protocol):
    def resolve(self, oid: str, id_pe: str) -> str | None: ...


class RevokedPairings(Protocol):
    def snapshot(self) -> dict[str, int]: ...
