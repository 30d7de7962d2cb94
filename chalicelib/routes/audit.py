"""The holder's side of the patient journal: who accessed the record, and the signed export of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib.edge import route
from chalicelib.registry import Models, paged
from functions import deps
from functions.shared.cursor import Page

if TYPE_CHECKING:
    from functions.audit import api, export
    from functions.identity.principal import Citizen
    from functions.shared.cursor import PageRequest
else:
    api, export = Models("functions.audit.api"), Models("functions.audit.export")

bp = Blueprint(__name__)


@route(bp, "GET", "/v1/me/traces", role="citizen", paginated=True, response=paged(api.TraceOut))
def my_traces(who: Citizen, space: str, page: PageRequest) -> Page[api.TraceOut]:
    from functions.audit import service

    items, nxt = service.list_traces(deps.traces(), space, page.cursor, page.limit)
    return Page(items=[api.TraceOut.from_domain(t) for t in items], next=nxt)


@route(bp, "GET", "/v1/me/traces/export", role="citizen", response=export.SignedExport, errors=(409, 503))
def my_traces_export(who: Citizen, space: str) -> export.SignedExport:
    from functions.audit import service

    return service.export_traces(deps.traces(), deps.journal(), deps.trace_signer(), deps.clock(), who, space)
