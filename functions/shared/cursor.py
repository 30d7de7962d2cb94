"""Opaque pagination cursors. They carry only sort-key positions; the partition always comes from the caller,
so a forged cursor can never reach another patient's items."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from functions.shared.errors import InvalidRequest

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
T = TypeVar("T")
# ASCII digits only: str.isdigit() and `\d` also take "²" (which int() refuses), fullwidth or Arabic-Indic digits.
_PAGE_SIZE = re.compile(r"[0-9]{1,3}")


def encode(position: str | None) -> str | None:
    """The cursor of the next page (None: this was the last page)."""
    if not position:
        return None
    raw = json.dumps({"p": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> str | None:
    """The sort-key position a cursor carries; anything else is a 400 `invalid_cursor`."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("invalid cursor", code="invalid_cursor") from exc
    position = value.get("p") if isinstance(value, dict) and set(value) == {"p"} else None
    if not isinstance(position, str) or not position or len(position) >= 300:
        raise InvalidRequest("invalid cursor", code="invalid_cursor")
    return position


def page_size(raw: str | None) -> int:
    """Page sizes are capped (resource consumption): outside 1..100 is a 400, not a silent clamp. An empty
    `limit=` is a 400 too (it says a size and gives none), only an absent one is the default."""
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not _PAGE_SIZE.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}", code="invalid_limit")
    return int(raw)


@dataclass(frozen=True)
class PageRequest:
    """Where a list resumes (the raw cursor, decoded by the service that owns the keys) and how many items."""

    cursor: str | None
    limit: int


def page_request(params: Mapping[str, str]) -> PageRequest:
    """The one reading of `cursor` and `limit` for every list route."""
    return PageRequest(cursor=params.get("cursor") or None, limit=page_size(params.get("limit")))


class Page(BaseModel, Generic[T]):
    """Every list answers `{items, next}`: `next` is the cursor of the following page, null on the last one."""

    items: list[T]
    next: str | None
