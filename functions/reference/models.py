"""What discovery lists, joined once from the type catalogue and the matrix (code systems and labels resolved)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TypeEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    system: str
    label: str
    class_code: str
    class_system: str
    class_label: str
    category: str
    category_label: str
    accepted: bool


class ProfessionEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    label: str
    type_codes: tuple[str, ...]


class TypeListing(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    items: tuple[TypeEntry, ...]


class ProfessionListing(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    items: tuple[ProfessionEntry, ...]
    others: tuple[str, ...]
