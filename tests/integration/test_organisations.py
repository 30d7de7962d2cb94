"""A hospital's information system calls as itself (issue 14 point 3): a client-credentials token (FINESS, no RPPS)
declares documents in the name of their professional author (the DMP's indirect mode), reads and lists what its
organisation authored and nothing else, releases its INVISIBLE_PATIENT documents, and the patient's traces, list of
who accessed the record and notifications name the hospital and the author."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Stack, declaration, post_file

PDF = b"%PDF-1.4\n% organisation\n"
AUTHOR = {"rpps": "10000000501", "profession": "10", "name": "Claire Martin"}


def _declare(stack: Stack, ins: str, headers: dict[str, str], key: str, data: bytes = PDF,
             **over: Any) -> Any:
    return stack.call("POST", f"/v1/patients/{ins}/documents", {**headers, "Idempotency-Key": key},
                      json=declaration(data, **over))


def _uploaded(stack: Stack, ins: str, headers: dict[str, str], key: str, data: bytes = PDF, **over: Any) -> str:
    ticket = _declare(stack, ins, headers, key, data, **over)
    assert ticket.status_code == 201, ticket.text
    assert post_file(ticket.json()["upload"], data).status_code == 204
    stack.pump.drain()
    return str(ticket.json()["document_id"])


def test_a_hospital_declares_in_its_professionals_name_and_the_patient_reads_both(stack: Stack) -> None:
    ins, patient = stack.citizen()
    hospital = stack.organisation()
    doc_id = _uploaded(stack, ins, hospital, "org-flow-0001", author=AUTHOR)

    mine = stack.call("GET", f"/v1/me/documents/{doc_id}", patient).json()
    assert mine["status"] == "available"
    assert mine["author"] == {"kind": "professional", "rpps": AUTHOR["rpps"], "finess": "750000002",
                              "name": "Claire Martin", "organisation_name": "Hôpital Nord", "by_organisation": True}
    told = stack.call("GET", "/v1/me/notifications", patient).json()["items"]
    assert [n["title"] for n in told] == [
        "Nouveau document : Compte rendu d'examens biologiques — Claire Martin (Hôpital Nord)"]

    listed = stack.call("GET", f"/v1/patients/{ins}/documents", hospital)
    assert listed.status_code == 200 and [d["document_id"] for d in listed.json()["items"]] == [doc_id]
    read = stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", hospital)
    assert read.status_code == 200 and read.json()["download_url"]

    traces = stack.call("GET", "/v1/me/traces", patient).json()["items"]
    upload = next(t for t in traces if t["action"] == "document.upload_requested")
    assert upload["actor"] == {"kind": "organisation", "id": "750000002", "organisation": "750000002",
                               "profession": "10", "name": "Hôpital Nord", "author": AUTHOR["rpps"],
                               "author_name": "Claire Martin", "label": "Hôpital Nord — Claire Martin"}
    by_hospital = [(t["action"], t["actor"]["label"]) for t in traces if t["actor"]["kind"] == "organisation"]
    assert ("document.read", "Hôpital Nord") in by_hospital and ("document.listed", "Hôpital Nord") in by_hospital

    seen = stack.call("GET", "/v1/me/professionals", patient).json()["items"]
    assert [(p["kind"], p["organisation"], p["name"]) for p in seen] == [("organisation", "750000002",
                                                                          "Hôpital Nord")]


def test_a_hospital_reads_only_what_its_organisation_authored_consent_or_not(stack: Stack) -> None:
    """What the professional it names may read is not the organisation's: another organisation's document is a
    404 and is not listed, even with the patient's consent presented."""
    ins, _ = stack.citizen()
    theirs = _uploaded(stack, ins, stack.professional(finess="690000009"), "org-other-0001", PDF + b"1")
    hospital = {**stack.organisation(), "X-Access-Reason": "consent"}
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{theirs}", hospital).status_code == 404
    listed = stack.call("GET", f"/v1/patients/{ins}/documents", hospital)
    assert listed.status_code == 200 and listed.json()["items"] == []
    emergency = stack.call("POST", f"/v1/patients/{ins}/emergency-access", hospital,
                           json={"purpose": "BTG", "reason": "unconscious"})
    assert emergency.status_code == 403 and emergency.json()["error"]["code"] == "wrong_principal"


def test_the_named_author_is_required_of_organisations_and_refused_from_anyone_else(stack: Stack) -> None:
    ins, patient = stack.citizen()
    missing = _declare(stack, ins, stack.organisation(), "org-author-0001")
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "author_required"
    from_pro = _declare(stack, ins, stack.professional(), "org-author-0002", author=AUTHOR)
    assert from_pro.status_code == 422 and from_pro.json()["error"]["code"] == "forbidden_field"
    from_holder = stack.call("POST", "/v1/me/documents", {**patient, "Idempotency-Key": "org-author-0003"},
                             json=declaration(PDF, author=AUTHOR))
    assert from_holder.status_code == 422
    unnamed = _declare(stack, ins, stack.organisation(), "org-author-0004", author={**AUTHOR, "name": "\n "})
    assert unnamed.status_code == 422


def test_the_same_key_naming_another_author_is_a_reused_key(stack: Stack) -> None:
    """Issue 14.6: a key reused with another body is 422 on every creating route (it was 409 for declarations)."""
    ins, _ = stack.citizen()
    hospital = stack.organisation()
    assert _declare(stack, ins, hospital, "org-idem-0001", author=AUTHOR).status_code == 201
    again = _declare(stack, ins, hospital, "org-idem-0001", author={**AUTHOR, "rpps": "10000000502"})
    assert again.status_code == 422 and again.json()["error"]["code"] == "idempotency_key_reused"


def test_a_hospital_releases_its_invisible_patient_document_unless_its_author_is_blocked(stack: Stack) -> None:
    ins, patient = stack.citizen()
    hospital = stack.organisation()
    first = _uploaded(stack, ins, hospital, "org-inv-0001", PDF + b"a", author=AUTHOR, visibility="invisible_patient")
    assert stack.call("GET", f"/v1/me/documents/{first}", patient).status_code == 404
    other = stack.organisation(finess="750000003", name="Clinique Sud")
    assert stack.call("POST", f"/v1/patients/{ins}/documents/{first}/release", other).status_code == 404
    released = stack.call("POST", f"/v1/patients/{ins}/documents/{first}/release", hospital)
    assert released.status_code == 200 and released.json()["visible_to_patient"] is True
    assert stack.call("GET", f"/v1/me/documents/{first}", patient).status_code == 200
    release = next(t for t in stack.call("GET", "/v1/me/traces", patient).json()["items"]
                   if t["action"] == "document.released")
    assert release["actor"]["label"] == "Hôpital Nord — Claire Martin"

    second = _uploaded(stack, ins, hospital, "org-inv-0002", PDF + b"b", author=AUTHOR,
                       visibility="invisible_patient")
    stack.call("POST", "/v1/me/blocked-professionals", patient, json={"rpps": AUTHOR["rpps"]})
    assert stack.call("POST", f"/v1/patients/{ins}/documents/{second}/release", hospital).status_code == 404


def test_a_professional_appears_by_the_name_their_token_gave(stack: Stack) -> None:
    ins, patient = stack.citizen()
    token = stack.issuer.mint("https://dev-issuer.localhost/pro", "psc-named",
                              {"rpps": "10000000503", "profession": "10", "finess": "690000002",
                               "given_name": "Paul", "family_name": "Durand"})
    doctor = {"Authorization": f"Bearer {token}", "X-Access-Reason": "consent"}
    assert stack.call("GET", f"/v1/patients/{ins}/documents", doctor).status_code == 200
    seen = stack.call("GET", "/v1/me/professionals", patient).json()["items"]
    assert [(p["rpps"], p["name"]) for p in seen] == [("10000000503", "Paul Durand")]
    told = stack.call("GET", "/v1/me/notifications", patient).json()["items"]
    assert [n["text"] for n in told] == ["Paul Durand a consulté votre dossier médical pour la première fois."]
    listed = next(t for t in stack.call("GET", "/v1/me/traces", patient).json()["items"]
                  if t["action"] == "document.listed")
    assert listed["actor"]["name"] == "Paul Durand" and listed["actor"]["label"] == "Paul Durand"
