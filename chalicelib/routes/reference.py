"""Discovery for the software that calls the API: the DMP document types it may declare (with the class and the
citizen's heading) and which profession reads which type. Public reference data, but behind a token like every
route; no AWS call (data files read once per cold start)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib.edge import route
from chalicelib.registry import Models, Role

if TYPE_CHECKING:
    from functions.identity.principal import Citizen, Organisation, Professional
    from functions.reference import api
else:
    api = Models("functions.reference.api")

bp = Blueprint(__name__)
ANYONE: tuple[Role, ...] = ("citizen", "professional", "organisation")


@route(bp, "GET", "/v1/reference/document-types", role=ANYONE, query=api.DocumentTypeQueryIn,
       response=api.DocumentTypeListOut, errors=(422,))
def document_types(who: Citizen | Professional | Organisation,
                   query: api.DocumentTypeQueryIn, space: str | None = None) -> api.DocumentTypeListOut:
    from functions.reference import service

    return api.DocumentTypeListOut.from_domain(service.document_types(query.include_retired, query.category))


@route(bp, "GET", "/v1/reference/professions", role=ANYONE, response=api.ProfessionListOut)
def professions(who: Citizen | Professional | Organisation, space: str | None = None) -> api.ProfessionListOut:
    from functions.reference import service

    return api.ProfessionListOut.from_domain(service.professions())
