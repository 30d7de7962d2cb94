"""What the holder reads of their notifications."""

from __future__ import annotations

from functions.identity.principal import Citizen
from functions.notifications.models import Notification
from functions.notifications.storage import NotificationStore
from functions.shared import cursor


def list_notifications(store: NotificationStore, who: Citizen, raw_cursor: str | None,
                       limit: int) -> tuple[list[Notification], str | None]:
    position = cursor.decode(raw_cursor, frozenset({"sk"}))
    items, last = store.list(who.ins, position["sk"] if position else None, limit)
    return items, cursor.encode({"sk": last} if last else None)
