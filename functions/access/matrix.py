"""The profession x document type matrix (arrêté du 26 octobre 2023), loaded once per cold start from a data file.

One row per document type names a group of readers, as the arrêté's annex lists types against professions: a type
with no row is read by no professional (the safe side), and a unit test checks that every catalogued type has one."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from functions.shared.datafile import read_json

EVERY_PROFESSION = "*"


class ReaderGroup(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    readers: list[str] | Literal["*"]

    def admits(self, profession: str) -> bool:
        return self.readers == EVERY_PROFESSION or profession in self.readers


class Matrix(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    source: str = ""
    notes: list[str] = []
    professions: dict[str, str]
    groups: dict[str, ReaderGroup]
    types: dict[str, str]

    @model_validator(mode="after")
    def _consistent(self) -> Matrix:
        """A typo in a replacement file (a group or profession that does not exist) fails at load, not silently."""
        for code, group in self.types.items():
            if group not in self.groups:
                raise ValueError(f"type {code} names the unknown group {group}")
        for name, g in self.groups.items():
            unknown = [] if g.readers == EVERY_PROFESSION else [p for p in g.readers if p not in self.professions]
            if unknown:
                raise ValueError(f"group {name} names unknown professions {unknown}")
        return self

    def allows(self, profession: str, type_code: str) -> bool:
        group = self.types.get(type_code)
        return group is not None and self.groups[group].admits(profession)

    def readable_by(self, profession: str) -> list[str]:
        """The type codes a profession may read (with a basis), in the matrix's order."""
        return [code for code in self.types if self.allows(profession, code)]


@lru_cache(maxsize=1)
def matrix() -> Matrix:
    """`MES_ACCESS_MATRIX_FILE` replaces the shipped default without a code change."""
    return Matrix.model_validate(read_json("functions.access", "matrix.json", "MES_ACCESS_MATRIX_FILE"))
