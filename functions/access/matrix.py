"""The profession x document type matrix, loaded once per cold start from a data file."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib import resources

from pydantic import BaseModel, ConfigDict


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
    override = os.environ.get("MES_ACCESS_MATRIX_FILE")
    if override:
        with open(override, encoding="utf-8") as f:
            raw = f.read()
    else:
        raw = resources.files("functions.access").joinpath("data", "matrix.json").read_text(encoding="utf-8")
    return Matrix.model_validate(json.loads(raw))
