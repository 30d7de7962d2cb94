"""Reference data for documents (type codes, upload limits), loaded once per cold start from data files."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from functions.shared.datafile import read_json


class DocumentType(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    label: str
    category: str


class UploadLimit(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_bytes: int
    content_types: frozenset[str]


class UploadLimits(BaseModel):
    model_config = ConfigDict(frozen=True)

    professional: UploadLimit
    patient: UploadLimit

    def for_author(self, kind: Literal["professional", "patient"]) -> UploadLimit:
        return self.professional if kind == "professional" else self.patient


@lru_cache(maxsize=1)
def document_types() -> dict[str, DocumentType]:
    raw = read_json("functions.records", "document_types.json")
    assert isinstance(raw, dict)
    return {t["code"]: DocumentType.model_validate(t) for t in raw["types"]}


@lru_cache(maxsize=1)
def upload_limits() -> UploadLimits:
    return UploadLimits.model_validate(read_json("functions.records", "upload_limits.json"))
