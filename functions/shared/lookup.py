"""Reads several owners make together: each owner's adapter names the keys it wants and parses what comes back,
so one multi-table BatchGetItem (`functions.shared.dynamo.batch_get_many`) serves them all without any of them
importing another's item models.

Storage-free on purpose: ports may return these; only adapters implement them."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

T_co = TypeVar("T_co", covariant=True)


class BatchLookup(Protocol[T_co]):
    """Keys an owner wants from one batch read, as (item model, hash key, range key or None), and how it reads
    its own items back (absent keys simply do not come back)."""

    def requested(self) -> list[tuple[Any, Any, Any]]: ...
    def parse(self, items: list[Any]) -> T_co: ...
