"""Binding pynamodb models to their tables at composition time (table names come from settings, not imports)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite


def bind(model: type[Model], table_name: str, region: str) -> None:
    """Point a model at its table; bounded timeouts and retries like every other outbound call."""
    meta: Any = model.Meta
    meta.table_name = table_name
    meta.region = region
    meta.connect_timeout_seconds = 3
    meta.read_timeout_seconds = 10
    meta.max_retry_attempts = 3
    model._connection = None
    _REGION["region"] = region


_REGION: dict[str, str] = {}


def transaction() -> TransactWrite:
    """A TransactWrite on the region the models are bound to (pynamodb needs an explicit connection)."""
    return TransactWrite(connection=_connection(_REGION.get("region", "eu-west-3")))


@lru_cache(maxsize=4)
def _connection(region: str) -> Connection:
    return Connection(region=region, connect_timeout_seconds=3, read_timeout_seconds=10, max_retry_attempts=3)
