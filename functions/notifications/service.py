"""What the holder reads of their notifications, and how they want to be told."""

from __future__ import annotations

from functions.notifications.models import Notification, NotificationPreferences
from functions.notifications.ports import ContactSwitches, InAppNotifications
from functions.shared import cursor


def list_notifications(store: InAppNotifications, space: str, raw_cursor: str | None,
                       limit: int) -> tuple[list[Notification], str | None]:
    """The notifications of the space acted on (the caller's own today: `functions.identity.spaces.space_of`)."""
    after = cursor.decode(raw_cursor)
    items, last = store.list(space, after, limit)
    return items, cursor.encode(last)


def read_preferences(store: InAppNotifications, space: str) -> NotificationPreferences:
    """A citizen is authenticated through the login link of an existing space, so there is always a space here;
    a holder who never chose has every code on."""
    return store.preferences(space)


def replace_preferences(store: InAppNotifications, contacts: ContactSwitches, space: str,
                        prefs: NotificationPreferences) -> NotificationPreferences:
    """The choices (the `PREFS` item, what the holder reads back and what other notifiers honour) and their copy
    on the space's contact (what reminder delivery reads), in one transaction: the two never disagree."""
    store.put_preferences(space, prefs, also=[contacts.notification_switches(space, prefs)])
    return prefs
