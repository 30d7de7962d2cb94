"""Reference data for documents (the DMP's type codes, upload limits), loaded once per cold start from data files."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from functions.shared.datafile import read_json


class DocumentType(BaseModel):
    """One typeCode of JDV_J66 with its class (JDV_J57 via ASS_X16) and the heading the citizen sees it under.
    `accepted=False` keeps a code documents were once declared with readable while refusing new declarations."""

    model_config = ConfigDict(frozen=True)

    code: str
    system: str
    label: str
    class_code: str
    category: str
    accepted: bool = True
    retired: str | None = None


class DocumentClass(BaseModel):
    model_config = ConfigDict(frozen=True)

    system: str
    label: str


class TypeCatalog(BaseModel):
    """The whole data file, checked as a whole: a type naming an unknown system, class or category fails at load,
    not at the first document that carries it."""

    model_config = ConfigDict(frozen=True)

    version: str
    source: str
    notes: list[str] = []
    systems: dict[str, str]
    classes: dict[str, DocumentClass]
    categories: dict[str, str]
    types: list[DocumentType]

    @model_validator(mode="after")
    def _consistent(self) -> TypeCatalog:
        codes = [t.code for t in self.types]
        if len(codes) != len(set(codes)):
            raise ValueError("a type code is listed twice")
        for t in self.types:
            if t.system not in self.systems or t.class_code not in self.classes or t.category not in self.categories:
                raise ValueError(f"type {t.code} names an unknown system, class or category")
        for c in self.classes.values():
            if c.system not in self.systems:
                raise ValueError(f"class system {c.system} is not listed")
        return self

    def by_code(self) -> dict[str, DocumentType]:
        return {t.code: t for t in self.types}


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
def type_catalog() -> TypeCatalog:
    return TypeCatalog.model_validate(read_json("functions.records", "document_types.json"))


@lru_cache(maxsize=1)
def document_types() -> dict[str, DocumentType]:
    """The codes a new declaration may use (JDV_J66). Retired codes are not here: see `known_document_types`."""
    return {code: t for code, t in type_catalog().by_code().items() if t.accepted}


@lru_cache(maxsize=1)
def known_document_types() -> dict[str, DocumentType]:
    """Every code a stored document may carry: the accepted ones and those retired since they were declared."""
    return type_catalog().by_code()


@lru_cache(maxsize=1)
def upload_limits() -> UploadLimits:
    return UploadLimits.model_validate(read_json("functions.records", "upload_limits.json"))
