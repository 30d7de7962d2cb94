"""INTERIM `PurposeCatalogue` from a data file (`data/purposes.json`, or the file `MES_MEASURE_PURPOSES_FILE`
names), until CAT-PAIR's catalogue carries `measure_codes` per purpose: then its adapter replaces this one in
`deps.purpose_catalogue`."""

from __future__ import annotations

from typing import Any

from functions.measures.ports import Action
from functions.shared.datafile import read_json

PURPOSES_FILE_ENV = "MES_MEASURE_PURPOSES_FILE"


class FilePurposeCatalogue:
    def __init__(self, data: dict[str, Any] | None = None) -> None:
        raw = data if data is not None else read_json("functions.measures", "purposes.json", PURPOSES_FILE_ENV)
        self._services: dict[str, list[dict[str, Any]]] = raw["services"]
        self._statuses: dict[str, str] = raw.get("statuses", {})

    def purposes_for(self, oid: str, loinc: str, action: Action) -> set[str]:
        purposes = self._services.get(oid, self._services.get("*", []))
        return {str(p["code"]) for p in purposes if p["action"] == action and loinc in p["measure_codes"]}

    def status(self, oid: str) -> str | None:
        return self._statuses.get(oid, "EN_LIGNE")
