"""What the holder reads of their traces."""

from __future__ import annotations

from functions.audit.models import Trace
from functions.audit.storage import TraceStore
from functions.identity.principal import Citizen
from functions.shared import cursor


def list_traces(store: TraceStore, who: Citizen, raw_cursor: str | None, limit: int) -> tuple[list[Trace], str | None]:
    position = cursor.decode(raw_cursor, frozenset({"sk"}))
    traces, last = store.list(who.ins, position["sk"] if position else None, limit)
    return traces, cursor.encode({"sk": last} if last else None)
