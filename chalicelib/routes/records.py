"""The record: documents declared and uploaded (by the holder or a professional), read, hidden, deleted, released."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib.edge import header, route
from chalicelib.registry import Models, paged
from functions import deps
from functions.shared.cursor import Page

if TYPE_CHECKING:
    from functions.identity.principal import Citizen, Organisation, Professional
    from functions.records import api
    from functions.shared.cursor import PageRequest
else:
    api = Models("functions.records.api")

bp = Blueprint(__name__)
UPLOAD_ERRORS = (400, 404, 409, 413, 415, 422)


def _upload(who: Citizen | Professional | Organisation, patient: str, body: api.UploadIn) -> api.UploadTicketOut:
    """One declaration path for every caller: the service checks who may declare what for whom."""
    from functions.records import service

    doc, post = service.request_upload(deps.records(), who, patient, body.to_domain(), header("idempotency-key"),
                                       body.named_author())
    return api.UploadTicketOut.from_domain(doc, post)


@route(bp, "POST", "/v1/patients/{ins}/documents", role=("professional", "organisation"), request=api.UploadIn,
       response=api.UploadTicketOut, status=201, errors=UPLOAD_ERRORS, idempotent=True,
       idempotency_key_required=True)
def professional_upload(who: Professional | Organisation, ins: str, body: api.UploadIn) -> api.UploadTicketOut:
    return _upload(who, ins, body)


@route(bp, "POST", "/v1/me/documents", role="citizen", request=api.UploadIn, response=api.UploadTicketOut,
       status=201, errors=UPLOAD_ERRORS, idempotent=True, idempotency_key_required=True)
def my_upload(who: Citizen, space: str, body: api.UploadIn) -> api.UploadTicketOut:
    return _upload(who, space, body)


@route(bp, "POST", "/v1/patients/{ins}/documents/{document_id}/release", role=("professional", "organisation"),
       response=api.DocumentOut, errors=(400, 404, 409))
def professional_release(who: Professional | Organisation, ins: str, document_id: str) -> api.DocumentOut:
    from functions.records import service

    return api.DocumentOut.from_domain(service.release_document(deps.records(), who, ins, document_id))


@route(bp, "GET", "/v1/me/documents", role="citizen", query=api.ListFilter, paginated=True,
       response=paged(api.DocumentOut))
def my_documents(who: Citizen, space: str, page: PageRequest, query: api.ListFilter) -> Page[api.DocumentOut]:
    from functions.records import service

    docs, nxt = service.list_own_documents(deps.records(), who, space, query.to_domain(), page.cursor, page.limit)
    return Page(items=[api.DocumentOut.from_domain(d) for d in docs], next=nxt)


@route(bp, "GET", "/v1/me/documents/{document_id}", role="citizen", response=api.DocumentOut, errors=(404,))
def my_document(who: Citizen, space: str, document_id: str) -> api.DocumentOut:
    from functions.records import service

    doc, url = service.read_own_document(deps.records(), who, space, document_id)
    return api.DocumentOut.from_domain(doc, url)


@route(bp, "PATCH", "/v1/me/documents/{document_id}", role="citizen", request=api.DocumentPatchIn,
       response=api.DocumentOut, errors=(404, 409))
def my_document_patch(who: Citizen, space: str, document_id: str, body: api.DocumentPatchIn) -> api.DocumentOut:
    from functions.records import service

    doc = service.hide_own_document(deps.records(), who, space, document_id, body.hidden_from_professionals)
    return api.DocumentOut.from_domain(doc)


@route(bp, "DELETE", "/v1/me/documents/{document_id}", role="citizen", response=api.DocumentDeletedOut,
       errors=(403, 404, 409))
def my_document_delete(who: Citizen, space: str, document_id: str) -> api.DocumentDeletedOut:
    from functions.records import service

    service.delete_own_document(deps.records(), who, space, document_id)
    return api.DocumentDeletedOut(document_id=document_id)
