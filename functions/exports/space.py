"""The third part of a holder's export ("le reste de l'ENS"): profile, notification settings, access controls,
agenda, notifications and the signed trace chain, as JSON files read through each owner's port, then the files
of the capabilities that build their own (measures as FHIR Observations, paired services)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from functions.access.models import AccessProfile
from functions.accounts.ports import SpaceDirectory
from functions.agenda.ports import AgendaStore
from functions.audit.export import canonical
from functions.exports.ports import PartSource
from functions.journal.ports import PatientJournal, TraceReader
from functions.notifications.ports import InAppNotifications

M = TypeVar("M", bound=BaseModel)
PAGE = 100


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode()


def _every_page(lister: Callable[[str, str | None, int], tuple[list[M], str | None]], ins: str) -> bytes:
    """Every item of a paginated list of the holder's, as a JSON array."""
    out: list[M] = []
    after: str | None = None
    while True:
        page, after = lister(ins, after, PAGE)
        out.extend(page)
        if after is None:
            return _json([m.model_dump(mode="json") for m in out])


class SpaceExport:
    def __init__(self, spaces: SpaceDirectory, notifications: InAppNotifications, agenda: AgendaStore,
                 access: Callable[[str], AccessProfile], traces: TraceReader, journal: PatientJournal,
                 others: Sequence[PartSource] = ()) -> None:
        self._spaces = spaces
        self._notifications = notifications
        self._agenda = agenda
        self._access = access
        self._traces = traces
        self._journal = journal
        self._others = others

    def files(self, ins: str, at: datetime) -> Iterator[tuple[str, bytes]]:
        space = self._spaces.get(ins)
        if space is not None:
            yield "profil.json", _json(space.model_dump(mode="json"))
        yield "preferences-notifications.json", _json(self._notifications.preferences(ins).model_dump(mode="json"))
        profile = self._access(ins)
        yield "controle-des-acces.json", _json(profile.model_dump(mode="json", include={
            "settings", "care_team", "blocked", "administrator", "grants"}))
        yield "agenda/rendez-vous.json", _every_page(self._agenda.list_appointments, ins)
        yield "agenda/rappels.json", _every_page(self._agenda.list_reminders, ins)
        prevention = self._agenda.get_prevention(ins)
        if prevention is not None:
            yield "agenda/prevention.json", _json(prevention.model_dump(mode="json"))
        yield "notifications.json", _every_page(self._notifications.list, ins)
        for other in self._others:
            yield from other.files(ins, at)
        head = self._journal.head(ins)
        chain = [t for t in self._traces.all(ins) if t.seq <= head.seq]
        # The chain as stored, hashes and head included (anyone can recompute it); a signed copy is one request away
        # (GET /v1/me/traces/export): only the API handler holds the signing right.
        yield "traces.json", canonical({"patient_ins": ins, "generated_at": at.isoformat(), "head": head.model_dump(),
                                        "traces": [t.model_dump(mode="json") for t in chain]}).encode()
