"""What the holder reads of their notifications, and how they want to be told."""

from __future__ import annotations

from functions.identity.principal import Citizen
from functions.notifications.models import Notification, NotificationPreferences
from functions.notifications.ports import InAppNotifications
from functions.shared import cursor


def list_notifications(store: InAppNotifications, who: Citizen, raw_cursor: str | None,
                       limit: int) -> tuple[list[Notification], str | None]:
    after = cursor.decode(raw_cursor)
    items, last = store.list(who.ins, after, limit)
    return items, cursor.encode(last)


def read_preferences(store: InAppNotifications, who: Citizen) -> NotificationPreferences:
    """A citizen is authenticated through the login link of an existing space, so there is always a space here;
    a holder who never chose has every code on."""
    return store.preferences(who.ins)


def replace_preferences(store: InAppNotifications, who: Citizen,
                        prefs: NotificationPreferences) -> NotificationPreferences:
    store.put_preferences(who.ins, prefs)
    return prefs
