"""What the holder reads of their notifications, and how they want to be told."""

from __future__ import annotations

from functions.identity.principal import Citizen
from functions.notifications.models import Notification, NotificationPreferences
from functions.notifications.storage import NotificationStore
from functions.shared import cursor
from functions.shared.errors import NotFound


def list_notifications(store: NotificationStore, who: Citizen, raw_cursor: str | None,
                       limit: int) -> tuple[list[Notification], str | None]:
    after = cursor.decode(raw_cursor)
    items, last = store.list(who.ins, after, limit)
    return items, cursor.encode(last)


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
