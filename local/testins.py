"""Random test INS for local use (`python -m local ins --random`): real structure (sex, year and month of birth,
department and commune of birth, order number) and key, checked by the very parser the API applies."""

from __future__ import annotations

import random
import re
from datetime import date

from functions.identity.ins import parse_ins, with_key

# Metropolitan departments (01-95 without 20, split into 2A/2B in 1976), overseas (3 digits), 99 born abroad.
_DEPARTMENT = re.compile(r"0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-6]|98[4-9]|99")
_METROPOLITAN = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"]


def valid_department(raw: str) -> str | None:
    """The department code in INS form (upper case), or None when no INS can carry it."""
    value = raw.strip().upper()
    return value if value.isascii() and _DEPARTMENT.fullmatch(value) else None


def random_ins(rng: random.Random, sex: int | None = None, born: date | None = None,
               department: str | None = None) -> str:
    """A 15-character INS whose unspecified parts are drawn from `rng`; the result always passes `parse_ins`."""
    sex = sex or rng.choice((1, 2))
    born = born or date(rng.randint(1940, 2020), rng.randint(1, 12), 1)
    dept = department or rng.choice(_METROPOLITAN)
    # Overseas departments take 3 characters, so their commune number takes 2.
    commune = f"{rng.randint(1, 99):02d}" if len(dept) == 3 else f"{rng.randint(1, 999):03d}"
    nir = f"{sex}{born.year % 100:02d}{born.month:02d}{dept}{commune}{rng.randint(1, 999):03d}"
    return parse_ins(with_key(nir)).value
