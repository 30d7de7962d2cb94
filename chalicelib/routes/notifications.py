"""The holder's in-app notifications and their choice of channels per kind."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib.edge import route
from chalicelib.registry import Models, paged
from functions import deps
from functions.shared.cursor import Page

if TYPE_CHECKING:
    from functions.identity.principal import Citizen
    from functions.notifications import api
    from functions.shared.cursor import PageRequest
else:
    api = Models("functions.notifications.api")

bp = Blueprint(__name__)


@route(bp, "GET", "/v1/me/notifications", role="citizen", paginated=True, response=paged(api.NotificationOut))
def my_notifications(who: Citizen, space: str, page: PageRequest) -> Page[api.NotificationOut]:
    from functions.notifications import service

    items, nxt = service.list_notifications(deps.notifications(), space, page.cursor, page.limit)
    return Page(items=[api.NotificationOut.from_domain(n) for n in items], next=nxt)


@route(bp, "GET", "/v1/me/notification-preferences", role="citizen", response=api.PreferencesOut)
def my_notification_preferences(who: Citizen, space: str) -> api.PreferencesOut:
    from functions.notifications import service

    return api.PreferencesOut.from_domain(service.read_preferences(deps.notifications(), space))


@route(bp, "PUT", "/v1/me/notification-preferences", role="citizen", request=api.PreferencesIn,
       response=api.PreferencesOut)
def my_notification_preferences_put(who: Citizen, space: str, body: api.PreferencesIn) -> api.PreferencesOut:
    from functions.notifications import service

    prefs = service.replace_preferences(deps.notifications(), deps.spaces(), space, body.to_domain())
    return api.PreferencesOut.from_domain(prefs)
