"""The profession x document type matrix, loaded once per cold start from a data file."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from functions.shared.datafile import read_json


class _Row(BaseModel):
    label: str
    types: list[str] | str


class Matrix(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    professions: dict[str, _Row]
    others: _Row

    def allows(self, profession: str, type_code: str) -> bool:
        row = self.professions.get(profession, self.others)
        return row.types == "*" or type_code in row.types


@lru_cache(maxsize=1)
def matrix() -> Matrix:
    """`MES_ACCESS_MATRIX_FILE` replaces the shipped default without a code change."""
    return Matrix.model_validate(read_json("functions.access", "matrix.json", "MES_ACCESS_MATRIX_FILE"))
