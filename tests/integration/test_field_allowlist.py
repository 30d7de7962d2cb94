"""Property-level authorization, read side (security-tests.md: "responses carry an allowlist of fields per role"):
what a professional's software receives is exactly these fields, no more. A field added to a response model
fails here until someone decides who may see it (a professional never gets the holder's settings, notification
choices, care team, traces or contact details through a document or a message)."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Stack, declaration, post_file

PDF = b"%PDF-1.4\n% allowlist\n"
DOCUMENT = {"document_id", "type_code", "title", "service_date", "created_at", "updated_at", "content_type", "size",
            "status", "author", "rejection_reason", "hidden_from_professionals", "visible_to_patient",
            "download_url"}
AUTHOR = {"kind", "rpps", "finess", "name", "organisation_name", "by_organisation"}
TICKET = {"document_id", "status", "upload"}
UPLOAD = {"url", "fields", "expires_at"}
GRANT = {"purpose", "granted_at", "expires_at"}
SENT = {"message_id", "conversation_id", "direction", "sender", "to", "recipients", "at", "subject", "content",
        "ends_exchange", "attachments", "receipt_requested", "uploads", "remaining_attachment_bytes"}
PAGE = {"items", "next"}


def keys(body: Any) -> set[str]:
    assert isinstance(body, dict), body
    return set(body)


def test_a_professionals_software_gets_exactly_the_allowed_fields(stack: Stack) -> None:
    ins, holder = stack.citizen()
    doctor = {**stack.professional(rpps="10000000321"), "X-Access-Reason": "consent"}
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", {**doctor, "Idempotency-Key": "allowlist-0001"},
                        json=declaration(PDF))
    assert keys(ticket.json()) == TICKET and keys(ticket.json()["upload"]) == UPLOAD
    post_file(ticket.json()["upload"], PDF)
    stack.pump.drain()
    doc_id = ticket.json()["document_id"]

    read = stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", doctor).json()
    assert keys(read) == DOCUMENT and keys(read["author"]) == AUTHOR
    listed = stack.call("GET", f"/v1/patients/{ins}/documents", doctor).json()
    assert keys(listed) == PAGE and all(keys(d) <= DOCUMENT for d in listed["items"]) and listed["items"]
    grant = stack.call("POST", f"/v1/patients/{ins}/emergency-access", doctor,
                       json={"purpose": "BTG", "reason": "unconscious"}).json()
    assert keys(grant) == GRANT
    sent = stack.call("POST", f"/v1/patients/{ins}/messages", doctor, json={"subject": "Résultats", "text": "Ok"})
    assert keys(sent.json()) == SENT
    mine = stack.call("GET", f"/v1/me/documents/{doc_id}", holder).json()
    assert keys(mine) == DOCUMENT  # the holder's view of a document: the same fields, never fewer
