"""The one transaction API between owners: a capability's adapter prepares `Staged` writes (its own items inside),
and whoever commits (the patient journal, or a capability's own adapter) adds them to one `WriteSink`, so writes of
several owners commit in a single DynamoDB transaction without any of them importing another's item models.

Storage-free on purpose: ports and services may name these types; only adapters implement them."""

from __future__ import annotations

from typing import Any, Protocol


class WriteSink(Protocol):
    """A transaction being filled (`functions.shared.dynamo.Transaction`). Labels name each write so a cancelled
    transaction can say which condition failed."""

    def check(self, label: str, model: Any, hash_key: Any, range_key: Any, condition: Any) -> None: ...
    def delete(self, label: str, item: Any, condition: Any | None = None) -> None: ...
    def put(self, label: str, item: Any, condition: Any | None = None, return_old: bool = False) -> None: ...
    def update(self, label: str, item: Any, actions: list[Any], condition: Any | None = None) -> None: ...


class Staged(Protocol):
    """A write prepared by its owner's adapter, waiting to join a transaction."""

    def stage(self, tx: WriteSink) -> None: ...
