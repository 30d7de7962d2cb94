"""The holder's export of all their data (issue 12.7): ask, see the status, take each part's short-lived link."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib.edge import route
from chalicelib.registry import Models
from functions import deps
from functions.shared.errors import NotFound

if TYPE_CHECKING:
    from functions.exports import api
    from functions.identity.principal import Citizen
else:
    api = Models("functions.exports.api")

bp = Blueprint(__name__)


@route(bp, "POST", "/v1/me/export", role="citizen", response=api.ExportOut, status=202, errors=(403, 409, 429))
def request_export(who: Citizen, space: str) -> api.ExportOut:
    from functions.exports import service

    job = service.request_export(deps.exports(), who, space)
    return api.ExportOut.from_domain(job, deps.clock().now())


@route(bp, "GET", "/v1/me/export", role="citizen", response=api.ExportOut, errors=(403, 404))
def export_status(who: Citizen, space: str) -> api.ExportOut:
    from functions.exports import service

    job = service.export_status(deps.exports(), who, space)
    if job is None:
        raise NotFound("export")
    return api.ExportOut.from_domain(job, deps.clock().now())


@route(bp, "GET", "/v1/me/export/{part}", role="citizen", response=api.ExportLinkOut, errors=(403, 404))
def export_link(who: Citizen, space: str, part: str) -> api.ExportLinkOut:
    from functions.exports import service
    from functions.exports.models import ExportPart

    try:
        which = ExportPart(part)
    except ValueError:
        raise NotFound("export part") from None
    exports = deps.exports()
    url = service.download_link(exports, who, space, which)
    return api.ExportLinkOut(part=which, url=url, expires_in=exports.link_ttl_seconds)
