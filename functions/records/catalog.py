"""Reference data for documents (type codes, upload limits), loaded once per cold start from data files."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict


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


def _load(name: str) -> object:
    return json.loads(resources.files("functions.records").joinpath("data", name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def document_types() -> dict[str, DocumentType]:
    raw = _load("document_types.json")
    assert isinstance(raw, dict)
    return {t["code"]: DocumentType.model_validate(t) for t in raw["types"]}


@lru_cache(maxsize=1)
def upload_limits() -> UploadLimits:
    return UploadLimits.model_validate(_load("upload_limits.json"))
