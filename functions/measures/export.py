"""The measures in a holder's export (mes-rules-next.md B.5: the third archive holds "profile, agenda, measures"
as FHIR resources): every stored measure as the Observation of its MES profile, named by INS, in one FHIR R4
`Bundle` of type `collection`, checked by fhir.resources as the record's Bundle is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from functions.identity.ins import INS_SYSTEM
from functions.measures.fhir import observation
from functions.measures.ports import MeasureStore


class MeasuresExport:
    def __init__(self, store: MeasureStore) -> None:
        self._store = store

    def files(self, ins: str, at: datetime) -> Iterator[tuple[str, bytes]]:
        from fhir.resources.R4B.bundle import Bundle

        entries = [{"resource": observation(m, ins, INS_SYSTEM)} for m in self._store.every_measure(ins)]
        bundle = Bundle.model_validate({"resourceType": "Bundle", "type": "collection",
                                        "timestamp": at.isoformat(), "entry": entries or None})
        yield "mesures.fhir.json", bundle.model_dump_json(exclude_none=True, indent=2).encode()
