"""Where the embedded moto server must behave like AWS for our tests to mean anything.

DynamoDB serializes conditional writes and transactions; moto checks conditions and then writes without a lock,
so two concurrent transactions can both pass `attribute_not_exists` / `seq = :n` and the second silently
overwrites the first. Our trace chain relies on that serialization, so the local server (and the tests) run
moto's DynamoDB writes under one lock. Nothing here is deployed."""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def serialize_dynamodb_writes() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_serialized", False):
            continue

        @functools.wraps(original)
        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return __original(self, *args, **kwargs)

        locked._serialized = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)
