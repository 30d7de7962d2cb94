"""Dates and instants as the API takes them: ISO 8601 text only. In lax mode pydantic reads a number, or a string
of digits, as a Unix timestamp, so `"service_date": 0`, `?date_to=0` or `"effective": "0"` became 1970-01-01
instead of a 422 (found by schemathesis' negative_data_rejection check). Every date or instant a caller sends is
one of these types; what the functions build themselves stays a plain `date` or `datetime`."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}.*")


def _iso(pattern: re.Pattern[str], what: str) -> BeforeValidator:
    def check(value: object) -> object:
        if isinstance(value, bool | int | float) or (isinstance(value, str) and not pattern.fullmatch(value)):
            raise ValueError(f"{what} in ISO 8601")
        return value

    return BeforeValidator(check)


IsoDay = Annotated[date, _iso(_DAY, "a date as YYYY-MM-DD")]
IsoInstant = Annotated[AwareDatetime, _iso(_INSTANT, "a date and time with its offset (2026-12-02T09:30:00+01:00)")]
