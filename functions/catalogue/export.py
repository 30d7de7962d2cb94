"""The services in a holder's export: every pairing the space has had (active, revoked or ended), with the
service's name and each consented purpose's label as the catalogue gives them in the version the holder
acknowledged. What the app shows under "Services connectés", plus the past ones; no token, no refresh chain."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from functions.catalogue.models import Catalogue, Pairing, ServiceVersion
from functions.catalogue.ports import PairingStore


def _purpose(version: ServiceVersion | None, code: str) -> dict[str, Any]:
    purpose = version.purpose(code) if version is not None else None
    return {"code": code, "label": purpose.label if purpose else None, "action": purpose.action if purpose else None}


def _entry(pairing: Pairing, catalogue: Catalogue) -> dict[str, Any]:
    service = catalogue.service(pairing.oid)
    version = service.version(pairing.acknowledged_version) if service else None
    return {
        "service": {"oid": pairing.oid, "name": service.name if service else None},
        "state": pairing.state.value,
        "paired_at": pairing.paired_at.isoformat(),
        "changed_at": pairing.changed_at.isoformat(),
        "by_representative": pairing.by_representative,
        "purposes": [_purpose(version, code) for code in pairing.consented],
    }


class ServicesExport:
    def __init__(self, store: PairingStore, catalogue: Callable[[], Catalogue]) -> None:
        self._store = store
        self._catalogue = catalogue

    def files(self, ins: str, at: datetime) -> Iterator[tuple[str, bytes]]:
        catalogue = self._catalogue()
        entries = [_entry(p, catalogue) for p in sorted(self._store.pairings(ins), key=lambda p: p.paired_at)]
        yield "services-connectes.json", json.dumps(entries, ensure_ascii=False, indent=2).encode()
