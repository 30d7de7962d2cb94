"""Discovery for callers' software: the listings a hospital's system reads to know which types it may declare and
which professions read them (served as `GET /v1/reference/document-types` and `GET /v1/reference/professions`)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from functions.reference import service
from functions.reference.api import DocumentTypeListOut, DocumentTypeQueryIn, ProfessionListOut
from functions.shared.errors import Unprocessable


def test_the_listing_names_every_accepted_type_with_its_system_class_and_heading() -> None:
    body = DocumentTypeListOut.from_domain(service.document_types()).model_dump(mode="json")
    assert len(body["items"]) == 108 and "1.14.0" in body["version"]
    urgences = next(i for i in body["items"] if i["code"] == "15507-7")
    assert urgences == {
        "code": "15507-7", "system": "http://loinc.org", "label": "CR de passage aux urgences",
        "class_code": "10", "class_label": "Compte rendu",
        "class_system": "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument",
        "category": "comptes_rendus", "category_label": "Comptes rendus", "accepted": True}
    assert all(i["accepted"] for i in body["items"])
    assert "51851-4" not in {i["code"] for i in body["items"]}


def test_retired_codes_are_listed_on_request_as_not_accepted() -> None:
    items = {t.code: t for t in service.document_types(include_retired=True).items}
    assert len(items) == 110
    assert (items["51851-4"].accepted, items["42348-3"].accepted, items["EXPPAT_3"].accepted) == (False, False, True)


def test_a_category_narrows_the_listing_and_an_unknown_one_is_refused() -> None:
    directives = service.document_types(category="directives_anticipees").items
    assert [t.code for t in directives] == ["EXPPAT_1", "EXPPAT_3"]
    with pytest.raises(Unprocessable) as refused:
        service.document_types(category="biology")
    assert refused.value.code == "unknown_category"


def test_the_query_refuses_unknown_parameters() -> None:
    assert DocumentTypeQueryIn.model_validate({"include_retired": "true"}).include_retired is True
    with pytest.raises(ValidationError):
        DocumentTypeQueryIn.model_validate({"limit": "5"})


def test_professions_list_what_each_may_read() -> None:
    body = ProfessionListOut.from_domain(service.professions()).model_dump(mode="json")
    by_code = {p["code"]: p for p in body["items"]}
    assert by_code["10"]["label"] == "Médecin" and len(by_code["10"]["document_types"]) == 108
    pharmacist = by_code["21"]["document_types"]
    assert "57833-6" in pharmacist and "18748-4" not in pharmacist
    assert set(body["other_professions"]) == {"60591-5", "SYNTH", "DOCPAT01", "DOCPAT08", "11369-6", "87273-9",
                                              "96874-3"}
    # retired codes are not offered for discovery, even to those who may still read old documents with them
    assert "51851-4" not in by_code["10"]["document_types"]
