"""The DMP's document types over HTTP: a hospital's emergency-visit report, pre-anaesthesia consultation and care
plan declare, upload and reach the patient; a code that is not a DMP type is refused for new documents, while a
document stored with it before still lists, reads, downloads and exports."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from functions.records import catalog
from tests.integration.conftest import Stack, declaration, post_file

PDF = b"%PDF-1.4\n% types\n"
HOSPITAL = {"rpps": "10000000001", "profession": "10", "finess": "750000001"}
NURSE = {"rpps": "10000000042", "profession": "60", "finess": "690000002"}


def declare(stack: Stack, ins: str, key: str, type_code: str, headers: dict[str, str] | None = None,
            path: str | None = None) -> requests.Response:
    headers = {**(headers or stack.professional(**HOSPITAL)), "Idempotency-Key": key}
    data = PDF + key.encode()
    return stack.call("POST", path or f"/v1/patients/{ins}/documents", headers,
                      json=declaration(data, type_code=type_code, title=f"Document {type_code}"))


def deliver(stack: Stack, ticket: dict[str, Any], key: str) -> str:
    assert post_file(ticket["upload"], PDF + key.encode()).status_code in (200, 201, 204)
    stack.pump.drain()
    return str(ticket["document_id"])


def test_a_hospitals_emergency_anaesthesia_and_care_plan_documents_reach_the_patient(stack: Stack) -> None:
    ins, patient = stack.citizen()
    ids = {}
    for code in ("15507-7", "34749-2", "18776-5"):
        declared = declare(stack, ins, f"types-{code}", code)
        assert declared.status_code == 201, declared.text
        ids[code] = deliver(stack, declared.json(), f"types-{code}")

    listed = stack.call("GET", "/v1/me/documents", patient).json()["items"]
    assert {(d["document_id"], d["type_code"], d["status"]) for d in listed} == \
        {(doc_id, code, "available") for code, doc_id in ids.items()}
    for code, doc_id in ids.items():
        read = stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", stack.professional(**HOSPITAL))
        assert (read.status_code, read.json()["type_code"]) == (200, code)

    # a nurse of the care team reads the care plan (class 44) but not the emergency report (matrix rows)
    assert stack.call("POST", "/v1/me/care-team", patient, json={"rpps": NURSE["rpps"]}).status_code == 201
    nurse = stack.professional(**NURSE)
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{ids['18776-5']}", nurse).status_code == 200
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{ids['15507-7']}", nurse).status_code == 404


@pytest.mark.parametrize("code", ["51851-4", "42348-3", "00000-0"])
def test_codes_outside_the_dmp_list_are_refused_for_new_documents(stack: Stack, code: str) -> None:
    ins, patient = stack.citizen()
    by_hospital = declare(stack, ins, f"refused-{code}", code)
    by_patient = declare(stack, ins, f"refused-own-{code}", code, headers=patient, path="/v1/me/documents")
    for refused in (by_hospital, by_patient):
        assert (refused.status_code, refused.json()["error"]["code"]) == (422, "unknown_type_code")
    assert stack.call("GET", "/v1/me/documents", patient).json()["items"] == []


def test_advance_directives_are_declared_as_exppat_3(stack: Stack) -> None:
    _, patient = stack.citizen()
    declared = declare(stack, "", "directives-0001", "EXPPAT_3", headers=patient, path="/v1/me/documents")
    assert declared.status_code == 201, declared.text


def test_a_document_stored_with_a_retired_code_stays_readable(stack: Stack,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """51851-4 was accepted before this release: a document declared then keeps listing, reading, downloading
    and exporting for the patient and the professionals the matrix lets read it."""
    ins, patient = stack.citizen()
    with monkeypatch.context() as before:
        before.setattr(catalog, "document_types", catalog.known_document_types)  # the catalogue as it was
        declared = declare(stack, ins, "retired-0001", "51851-4")
        assert declared.status_code == 201, declared.text
    doc_id = deliver(stack, declared.json(), "retired-0001")
    assert declare(stack, ins, "retired-0002", "51851-4").status_code == 422  # and refused again afterwards

    listed = stack.call("GET", "/v1/me/documents", patient).json()["items"]
    assert [(d["document_id"], d["type_code"], d["status"]) for d in listed] == [(doc_id, "51851-4", "available")]
    filtered = stack.call("GET", "/v1/me/documents", patient, params={"type_code": "51851-4"}).json()["items"]
    assert [d["document_id"] for d in filtered] == [doc_id]
    detail = stack.call("GET", f"/v1/me/documents/{doc_id}", patient).json()
    assert requests.get(detail["download_url"], timeout=10).content == PDF + b"retired-0001"
    by_hospital = stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", stack.professional(**HOSPITAL))
    assert by_hospital.status_code == 200
    gp = {"rpps": "10000000043", "profession": "10", "finess": "690000003"}
    assert stack.call("POST", "/v1/me/care-team", patient, json={"rpps": gp["rpps"]}).status_code == 201
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", stack.professional(**gp)).status_code == 200

    export = stack.call("GET", "/v1/me/traces/export", patient)
    assert export.status_code == 200
    assert doc_id in export.json()["payload"]


# ---- discovery: software finds the accepted types and who reads them -------------------------------------------


def test_software_discovers_the_108_dmp_types_with_their_class_and_heading(stack: Stack) -> None:
    answer = stack.call("GET", "/v1/reference/document-types", {**stack.professional()})
    assert answer.status_code == 200
    types = {t["code"]: t for t in answer.json()["items"]}
    assert len(types) == 108 and all(t["accepted"] for t in types.values())
    assert types["15507-7"]["class_code"] == "10" and types["EXPPAT_3"]["category"] == "directives_anticipees"
    assert "51851-4" not in types


def test_retired_codes_show_only_when_asked_and_an_unknown_heading_is_a_422(stack: Stack) -> None:
    _, patient = stack.citizen()
    everything = stack.call("GET", "/v1/reference/document-types?include_retired=true", patient).json()["items"]
    assert {t["code"] for t in everything if not t["accepted"]} == {"51851-4", "42348-3"}
    biology = stack.call("GET", "/v1/reference/document-types?category=biologie", patient).json()["items"]
    assert biology and {t["category"] for t in biology} == {"biologie"}
    unknown = stack.call("GET", "/v1/reference/document-types?category=astrologie", patient)
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_category"


def test_software_discovers_which_profession_reads_which_type(stack: Stack) -> None:
    answer = stack.call("GET", "/v1/reference/professions", stack.organisation())
    assert answer.status_code == 200
    professions = {p["code"]: p for p in answer.json()["items"]}
    assert "15507-7" in professions["10"]["document_types"]  # a physician reads an emergency-visit report
    assert professions["21"]["label"]  # pharmacists are listed by name
