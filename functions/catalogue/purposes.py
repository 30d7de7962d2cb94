"""The catalogue as the measures flow reads it (measures' `PurposeCatalogue` port): which purposes of a service
allow reading or writing a measure code (each purpose's `measure_codes` in the published file), and the service's
status as operations last set it. Storage-free: the statuses come from a callable deps wires to the catalogue's
table, read at most every `ttl` seconds, so a measure write pays no catalogue read; a suspension still bites at once
through the `svc:<oid>` revocation entry the token check sees (functions/catalogue/operations.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from functions.catalogue.models import Catalogue, ServiceStatus

STATUS_TTL_SECONDS = 60


class CataloguePurposes:
    def __init__(self, published: Callable[[], Catalogue], statuses: Callable[[], Mapping[str, ServiceStatus]],
                 ttl: float = STATUS_TTL_SECONDS, now: Callable[[], float] = time.monotonic) -> None:
        self._published = published
        self._statuses = statuses
        self._ttl = ttl
        self._now = now
        self._overrides: Mapping[str, ServiceStatus] = {}
        self._read_at: float | None = None

    def purposes_for(self, oid: str, loinc: str, action: str) -> set[str]:
        """Every purpose code of the service, in any of its versions, that allows `action` on `loinc`: the token
        carries the codes the holder granted for the version they acknowledged, so a code counts wherever it is
        defined (a version does not reuse a code with another meaning)."""
        service = self._published().service(oid)
        if service is None:
            return set()
        return {p.code for v in service.versions for p in v.purposes
                if p.action == action and loinc in p.measure_codes}

    def status(self, oid: str) -> str | None:
        service = self._published().service(oid)
        if service is None:
            return None
        at = self._now()
        if self._read_at is None or at - self._read_at >= self._ttl:
            self._overrides = dict(self._statuses())
            self._read_at = at
        return self._overrides.get(oid, service.status).value
