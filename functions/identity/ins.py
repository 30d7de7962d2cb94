"""INS (identifiant national de santé, the NIR): shape and control key, Corsica and overseas included."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from functions.shared.errors import InvalidRequest

INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"  # the INS-NIR's identifier system, as FHIR resources name a person

# sex, year, month, then either a 2-character department (digits, 2A, 2B) + 3-digit commune,
# or an overseas 3-digit department (97x/98x) + 2-digit commune; then order (3) and key (2). ASCII [0-9] only:
# `\d` and int() also take fullwidth or Arabic-Indic digits.
_SHAPE = re.compile(r"[12][0-9]{2}[0-9]{2}(?:[0-9]{2}|2[AB])[0-9]{3}[0-9]{3}[0-9]{2}")


class Ins(BaseModel):
    """A checked INS. `legacy_month` flags the 20-42 / 50+ month codes that exist on real NIRs."""

    model_config = ConfigDict(frozen=True)

    value: str
    sex: int
    legacy_month: bool

    def __str__(self) -> str:
        return self.value


def control_key(nir13: str) -> int:
    """97 - (NIR mod 97), with 2A counted as 19 and 2B as 18 (Corsica)."""
    numeric = nir13.replace("2A", "19").replace("2B", "18")
    return 97 - (int(numeric) % 97)


def parse_ins(raw: str) -> Ins:
    """Validate an INS from a path or a claim; any defect is a 400 `invalid_ins` that does not echo the value."""
    value = raw.strip().upper()
    if not _SHAPE.fullmatch(value):
        raise InvalidRequest("INS must be 15 characters: 13-character NIR and 2-digit key", code="invalid_ins")
    month = int(value[3:5])
    if month == 0 or 13 <= month <= 19 or 43 <= month <= 49:
        raise InvalidRequest("INS birth month is not valid", code="invalid_ins")
    if control_key(value[:13]) != int(value[13:]):
        raise InvalidRequest("INS control key does not match", code="invalid_ins")
    return Ins(value=value, sex=int(value[0]), legacy_month=month > 12)


def with_key(nir13: str) -> str:
    """Complete a 13-character NIR with its key (demo data, tests, local tooling)."""
    return f"{nir13}{control_key(nir13):02d}"
