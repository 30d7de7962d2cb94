"""A professional never gains a basis, or an effect on the record, by their own action (issue 9): a blocked author
cannot release, writing a document gives no consent, and an INS with no space takes no grant, trace or notice."""

from __future__ import annotations

from typing import Any

import requests

from tests.integration.conftest import ACTIVATION_TRACES, Stack, declaration, new_ins, post_file

PDF = b"%PDF-1.4\n% access bases\n"
AUTHOR = {"rpps": "10000000010", "profession": "10", "finess": "750000001"}
COLLEAGUE = {"rpps": "10000000042", "profession": "10", "finess": "750000001"}  # same hospital, not blocked
PHARMACIST = {"rpps": "10000000043", "profession": "21", "finess": "690000004"}
URGENTIST = {"rpps": "10000000044", "profession": "10", "finess": "130000003"}
MISSING = "doc_" + "0" * 26


def upload(stack: Stack, who: dict[str, str], ins: str, key: str, data: bytes = PDF, **over: Any) -> str:
    headers = {**stack.professional(**who), "Idempotency-Key": key}
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", headers, json=declaration(data, **over)).json()
    post_file(ticket["upload"], data)
    stack.pump.drain()
    return str(ticket["document_id"])


def seen_by_patient(stack: Stack, patient: dict[str, str]) -> tuple[list[Any], list[Any]]:
    traces = stack.call("GET", "/v1/me/traces?limit=100", patient).json()["items"]
    notices = stack.call("GET", "/v1/me/notifications?limit=100", patient).json()["items"]
    return traces, notices


def test_a_blocked_author_cannot_release_and_the_answer_is_that_of_a_missing_document(stack: Stack) -> None:
    ins, patient = stack.citizen()
    doc_id = upload(stack, AUTHOR, ins, "bases-release-0001", PDF + b"1", visibility="invisible_patient")
    assert stack.call("POST", "/v1/me/blocked-professionals", patient, json={"rpps": AUTHOR["rpps"]}).status_code \
        == 201
    before = seen_by_patient(stack, patient)
    author = stack.professional(**AUTHOR)

    refused = stack.call("POST", f"/v1/patients/{ins}/documents/{doc_id}/release", author)
    missing = stack.call("POST", f"/v1/patients/{ins}/documents/{MISSING}/release", author)
    assert (refused.status_code, refused.content) == (404, missing.content)
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).status_code == 404
    assert seen_by_patient(stack, patient) == before  # nothing changed, nothing was told
    detail = stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", stack.professional(**COLLEAGUE)).json()
    assert detail["visible_to_patient"] is False


def test_releasing_a_document_the_patient_already_sees_answers_like_a_missing_one(stack: Stack) -> None:
    ins, patient = stack.citizen()
    invisible = upload(stack, AUTHOR, ins, "bases-release-0002", PDF + b"2", visibility="invisible_patient")
    normal = upload(stack, AUTHOR, ins, "bases-release-0003", PDF + b"3")
    author = stack.professional(**AUTHOR)
    assert stack.call("POST", f"/v1/patients/{ins}/documents/{invisible}/release", author).status_code == 200

    before = seen_by_patient(stack, patient)
    missing = stack.call("POST", f"/v1/patients/{ins}/documents/{MISSING}/release", author)
    for doc_id in (invisible, normal):
        again = stack.call("POST", f"/v1/patients/{ins}/documents/{doc_id}/release", author)
        assert (again.status_code, again.content) == (404, missing.content)
    assert seen_by_patient(stack, patient) == before


def test_writing_a_document_gives_a_professional_no_basis_to_read_the_record(stack: Stack) -> None:
    """The repro: a pharmacist refused for want of consent writes 2 bytes for the patient, then tries again."""
    ins, patient = stack.citizen()
    lab = upload(stack, AUTHOR, ins, "bases-consent-0001", PDF + b"4")  # a lab report: in a pharmacist's matrix
    pharmacist = stack.professional(**PHARMACIST)
    listing = f"/v1/patients/{ins}/documents"

    def refused(response: requests.Response) -> bool:
        return response.status_code == 403 and response.json()["error"]["code"] == "consent_required"

    assert refused(stack.call("GET", listing, pharmacist))
    own = upload(stack, PHARMACIST, ins, "bases-consent-0002", b"ok", content_type="text/plain")
    assert stack.call("GET", f"{listing}/{own}", pharmacist).json()["status"] == "available"  # its own, yes

    assert refused(stack.call("GET", listing, pharmacist))
    assert refused(stack.call("GET", f"{listing}/{lab}", pharmacist))
    assert stack.call("GET", "/v1/me/care-team", patient).json()["items"] == []
    seen = {p["rpps"]: p for p in stack.call("GET", "/v1/me/professionals", patient).json()["items"]}
    assert seen[PHARMACIST["rpps"]]["care_team"] is False


def test_professional_actions_on_an_ins_without_a_space_answer_404_and_write_nothing(stack: Stack) -> None:
    ins = new_ins()
    urgentist = stack.professional(**URGENTIST)
    with_consent = {**urgentist, "X-Access-Reason": "consent"}
    declared = stack.call("POST", f"/v1/patients/{ins}/documents", {**urgentist, "Idempotency-Key": "no-space-01"},
                          json=declaration(PDF))
    assert declared.status_code == 404

    attempts = [stack.call("POST", f"/v1/patients/{ins}/emergency-access", urgentist,
                           json={"purpose": "BTG", "reason": "unconscious"}),
                stack.call("GET", f"/v1/patients/{ins}/documents", with_consent),
                stack.call("GET", f"/v1/patients/{ins}/documents", urgentist),
                stack.call("GET", f"/v1/patients/{ins}/documents/{MISSING}", with_consent)]
    assert [(a.status_code, a.content) for a in attempts] == [(404, declared.content)] * len(attempts)

    _, patient = stack.citizen(ins)  # the space opens afterwards: nothing from before shows up
    traces, notices = seen_by_patient(stack, patient)
    assert ([t for t in traces if t["action"] not in ACTIVATION_TRACES], notices) == ([], [])
    assert stack.call("GET", "/v1/me/professionals", patient).json()["items"] == []
    no_grant = stack.call("GET", f"/v1/patients/{ins}/documents", urgentist)
    assert (no_grant.status_code, no_grant.json()["error"]["code"]) == (403, "consent_required")
