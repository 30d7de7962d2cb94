"""What hostile or careless callers get: clear JSON errors with the right status, nothing written, 401 for any
bad token, and someone else's resource answering exactly like a missing one."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from functions.identity.ins import with_key
from tests.integration.conftest import ACTIVATION_TRACES, Stack, declaration, new_ins, post_file

PDF = b"%PDF-1.4\n% edge\n"


def traces_of(stack: Stack, ins: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = stack.call("GET", "/v1/me/traces?limit=100", stack.citizen(ins)[1]).json()["items"]
    return [t for t in items if t["action"] != "document.listed" and t["action"] not in ACTIVATION_TRACES]


def test_health_is_the_only_open_route(stack: Stack) -> None:
    assert stack.call("GET", "/v1/health").json() == {"status": "ok"}


@pytest.mark.parametrize(("path", "over", "status", "code"), [
    ("/v1/patients/12345/documents", {}, 400, "invalid_ins"),
    ("/v1/patients/{bad_key}/documents", {}, 400, "invalid_ins"),
    ("/v1/patients/{corsica_naive}/documents", {}, 400, "invalid_ins"),
    ("/v1/patients/{ins}/documents", {"type_code": "00000-0"}, 422, "unknown_type_code"),
    ("/v1/patients/{ins}/documents", {"content_type": "application/x-msdownload"}, 415, "unsupported_media_type"),
    ("/v1/patients/{ins}/documents", {"size": 20 * 1024 * 1024 + 1}, 413, "payload_too_large"),
    ("/v1/patients/{ins}/documents", {"sha256": "abc"}, 422, "validation_failed"),
    ("/v1/patients/{ins}/documents", {"size": 0}, 422, "validation_failed"),
    ("/v1/patients/{ins}/documents", {"service_date": "2026-02-30"}, 422, "validation_failed"),
    ("/v1/patients/{ins}/documents", {"status": "available"}, 422, "validation_failed"),
    ("/v1/patients/{ins}/documents", {"author": {"rpps": "1"}}, 422, "validation_failed"),
])
def test_bad_declarations_get_a_json_error_and_write_nothing(stack: Stack, path: str, over: dict[str, Any],
                                                             status: int, code: str) -> None:
    ins, _ = stack.citizen()
    good = with_key("1840675123456")
    corsica = "184012A012345"
    naive = 97 - int(corsica.replace("A", "0")) % 97
    url = path.format(ins=ins, bad_key=good[:13] + f"{(int(good[13:]) + 1) % 97:02d}",
                      corsica_naive=f"{corsica}{naive:02d}")
    headers = {**stack.professional(), "Idempotency-Key": "bad-input-0001"}
    response = stack.call("POST", url, headers, json=declaration(PDF, **over))
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code and body["error"]["message"]
    assert traces_of(stack, ins) == []


@pytest.mark.parametrize(("raw", "code"), [(b"", "malformed_json"), (b"{not json", "malformed_json"),
                                           (b"[1, 2]", "malformed_json")])
def test_missing_or_malformed_json_is_a_400(stack: Stack, raw: bytes, code: str) -> None:
    ins, _ = stack.citizen()
    headers = {**stack.professional(), "Idempotency-Key": "bad-json-0001", "Content-Type": "application/json"}
    response = stack.call("POST", f"/v1/patients/{ins}/documents", headers, data=raw)
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)
    assert traces_of(stack, ins) == []


def test_a_missing_idempotency_key_is_a_400(stack: Stack) -> None:
    ins, _ = stack.citizen()
    response = stack.call("POST", f"/v1/patients/{ins}/documents", stack.professional(), json=declaration(PDF))
    assert (response.status_code, response.json()["error"]["code"]) == (400, "idempotency_key_required")


def test_a_citizen_cannot_upload_cda_or_more_than_5_mb(stack: Stack) -> None:
    _, patient = stack.citizen()
    headers = {**patient, "Idempotency-Key": "citizen-limits-01"}
    xml = stack.call("POST", "/v1/me/documents", headers, json=declaration(PDF, "application/xml"))
    big = stack.call("POST", "/v1/me/documents", headers, json=declaration(PDF, size=5 * 1024 * 1024 + 1))
    assert (xml.status_code, big.status_code) == (415, 413)


def test_a_patient_without_a_space_is_not_found(stack: Stack) -> None:
    headers = {**stack.professional(), "Idempotency-Key": "no-space-0001"}
    response = stack.call("POST", f"/v1/patients/{new_ins()}/documents", headers, json=declaration(PDF))
    assert response.status_code == 404


@pytest.mark.parametrize(("authorization", "code"), [
    (None, "missing_token"), ("", "missing_token"), ("Bearer", "missing_token"),
    ("Bearer not-a-token", "malformed_token"), ("Basic dXNlcjpwYXNz", "missing_token")])
def test_missing_or_invalid_tokens_are_401_with_a_json_body(stack: Stack, authorization: str | None,
                                                            code: str) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, path in [("GET", "/v1/me/documents"), ("POST", f"/v1/patients/{new_ins()}/documents")]:
        response = stack.call(method, path, headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == code  # issue 14.5: the reason, no longer "unauthorized"


def test_an_expired_token_is_401(stack: Stack) -> None:
    token = stack.issuer.mint("https://dev-issuer.localhost/pro", "psc-1", {"rpps": "10000000001",
                              "profession": "10", "finess": "750000001"}, ttl_seconds=-120)
    assert stack.call("GET", "/v1/me/documents", {"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_token_for_another_audience_is_401(stack: Stack) -> None:
    token = stack.issuer.mint("https://dev-issuer.localhost/pro", "psc-1", {"rpps": "10000000001",
                              "profession": "10", "finess": "750000001"}, audience="another-api")
    assert stack.call("GET", "/v1/me/documents", {"Authorization": f"Bearer {token}"}).status_code == 401


def test_principals_on_the_wrong_side_are_403(stack: Stack) -> None:
    ins, patient = stack.citizen()
    as_citizen = stack.call("POST", f"/v1/patients/{ins}/documents", {**patient, "Idempotency-Key": "wrong-side-01"},
                            json=declaration(PDF))
    as_pro = stack.call("GET", "/v1/me/documents", stack.professional())
    assert (as_citizen.status_code, as_pro.status_code) == (403, 403)
    assert as_pro.json()["error"]["code"] == "wrong_principal"


def test_unknown_routes_are_a_json_404(stack: Stack) -> None:
    _, patient = stack.citizen()
    response = stack.call("GET", "/v1/nothing-here", patient)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_someone_elses_document_is_byte_for_byte_a_missing_one(stack: Stack) -> None:
    ins, owner = stack.citizen()
    headers = {**stack.professional(), "Idempotency-Key": "foreign-doc-0001"}
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", headers, json=declaration(PDF)).json()
    post_file(ticket["upload"], PDF)
    stack.pump.drain()
    doc_id = ticket["document_id"]
    _, stranger = stack.citizen()
    # A physiotherapist with the patient's consent: lab reports are not theirs to read (matrix) -> like missing.
    other_org = {**stack.professional(rpps="10000000003", profession="70", finess="690000002"),
                 "X-Access-Reason": "consent"}
    missing = "doc_" + hashlib.sha256(b"nothing").hexdigest()[:26]

    answers = [
        stack.call("GET", f"/v1/me/documents/{doc_id}", stranger),
        stack.call("GET", f"/v1/me/documents/{missing}", owner),
        stack.call("GET", "/v1/me/documents/not-even-an-id", owner),
        stack.call("DELETE", f"/v1/me/documents/{doc_id}", stranger),
        stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", other_org),
        stack.call("GET", f"/v1/patients/{ins}/documents/{missing}",
                   {**stack.professional(), "X-Access-Reason": "consent"}),  # authoring is no basis: consent
    ]
    assert {(r.status_code, r.content) for r in answers} == {(404, answers[0].content)}
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", owner).status_code == 200


def test_a_forged_cursor_is_a_400_not_a_window_into_another_record(stack: Stack) -> None:
    _, patient = stack.citizen()
    for cursor in ["!!!", "eyJ4IjoxfQ", "W10"]:
        response = stack.call("GET", f"/v1/me/documents?cursor={cursor}", patient)
        assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_cursor")
    assert stack.call("GET", "/v1/me/documents?limit=1000", patient).status_code == 400
    assert stack.call("GET", "/v1/me/documents?date_from=2026-13-01", patient).status_code == 422


def test_a_real_shaped_api_gateway_event_is_served_with_its_request_id(stack: Stack) -> None:
    import json

    import app as api
    from local.pump import LambdaContext
    from tests.events import load

    ins, _ = stack.citizen()
    event = load("apigateway/get_my_documents.json")
    event["requestContext"]["authorizer"]["ins"] = ins
    response = api.app(event, LambdaContext())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"items": [], "next": None}
    assert response["headers"]["X-Correlation-Id"] == event["requestContext"]["requestId"]
