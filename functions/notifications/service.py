"""What the holder reads of their notifications, and how they want to be told."""

from __future__ import annotations

from functions.identity.principal import Citizen
from functions.notifications.models import Notification, NotificationPreferences
from functions.notifications.storage import NotificationStore
from functions.shared import cursor
from functions.shared.errors import NotFound


def list_notifications(store: NotificationStore, who: Citizen, raw_cursor: str | None,
                       limit: int) -> tuple[list[Notification], str | None]:
    position = cursor.decode(raw_cursor, frozenset({"sk"}))
    items, last = store.list(who.ins, position["sk"] if position else None, limit)
    return items, cursor.encode({"sk": last} if last else None)


def read_preferences(store: NotificationStore, who: Citizen) -> NotificationPreferences:
    prefs = store.get_preferences(who.ins)
    if prefs is None:
        raise NotFound("space")
    return prefs


def replace_preferences(store: NotificationStore, who: Citizen,
                        prefs: NotificationPreferences) -> NotificationPreferences:
    if not store.put_preferences(who.ins, prefs):
        raise NotFound("space")
    return prefs
