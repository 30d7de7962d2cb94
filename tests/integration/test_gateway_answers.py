"""Errors that say why, and CORS per stage (issue 14.5), as API Gateway answers them (the local gateway mirrors the
stack's Gateway Responses and preflight MOCK integration): a refused token is a 401 naming its reason, in the JSON
body and RFC 6750's WWW-Authenticate; the gateway's own errors carry the request id; a preflight from the allowed
web origin is answered without a token, any other origin gets no CORS header."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable

import jwt
import pytest

from functions.shared.http import WWW_AUTHENTICATE_MISSING, WWW_AUTHENTICATE_REFUSED
from local import config
from tests.integration.conftest import Stack

PRO = {"rpps": "10000000001", "profession": "10", "finess": "750000001"}
ROUTE = "/v1/me/documents"


def refused(stack: Stack, authorization: str) -> tuple[int, str, str | None]:
    response = stack.call("GET", ROUTE, {"Authorization": authorization})
    return response.status_code, response.json()["error"]["code"], response.headers.get("WWW-Authenticate")


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b"])
def test_no_bearer_token_is_a_401_with_the_realm_and_no_error(stack: Stack, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = stack.call("GET", ROUTE, headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "missing_token", "message": "a bearer token is required"}}
    assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE_MISSING == 'Bearer realm="mon-espace-sante"'


@pytest.mark.parametrize(("token", "code"), [
    ("expired", "token_expired"),
    ("other_audience", "wrong_audience"),
    ("other_issuer", "unknown_issuer"),
    ("bad_signature", "bad_signature"),
    ("no_subject", "missing_claim"),
    ("not_a_jwt", "malformed_token"),
    ("unlinked_citizen", "login_not_linked"),
])
def test_a_refused_token_is_a_401_that_names_its_reason(stack: Stack, token: str, code: str) -> None:
    mint = stack.issuer.mint
    now = int(time.time())
    tokens: dict[str, Callable[[], str]] = {
        "expired": lambda: mint(config.PRO_ISSUER, "psc-1", PRO, ttl_seconds=-120),
        "other_audience": lambda: mint(config.PRO_ISSUER, "psc-1", PRO, audience="another-api"),
        "other_issuer": lambda: mint("https://elsewhere.example", "psc-1", PRO),
        "bad_signature": lambda: mint(config.PRO_ISSUER, "psc-1", PRO)[:-6] + "AAAAAA",
        "no_subject": lambda: jwt.encode({"iss": config.PRO_ISSUER, "aud": config.AUDIENCE, "iat": now, "nbf": now,
                                          "exp": now + 600, **PRO}, stack.issuer.private_key, algorithm="RS256",
                                         headers={"kid": stack.issuer.kid}),
        "not_a_jwt": lambda: "not-a-token",
        "unlinked_citizen": lambda: mint(config.CITIZEN_ISSUER, "never-linked"),
    }
    status, answered, authenticate = refused(stack, f"Bearer {tokens[token]()}")
    assert (status, answered) == (401, code)
    assert authenticate == WWW_AUTHENTICATE_REFUSED
    assert authenticate.startswith('Bearer realm="mon-espace-sante", error="invalid_token", error_description="')


def test_the_log_records_the_reason_never_the_token(stack: Stack, json_logs: io.StringIO) -> None:
    token = stack.issuer.mint(config.PRO_ISSUER, "psc-1", PRO, ttl_seconds=-120)
    assert refused(stack, f"Bearer {token}")[:2] == (401, "token_expired")
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    assert {"message": "bearer token refused", "reason": "token_expired"}.items() <= lines[-1].items()
    assert token not in json_logs.getvalue() and token.split(".")[1] not in json_logs.getvalue()


def test_gateway_errors_carry_the_request_id_as_the_apps_answers_do(stack: Stack) -> None:
    _, patient = stack.citizen()
    answered = stack.call("GET", ROUTE, patient)
    assert answered.headers["x-amzn-RequestId"] == answered.headers["X-Correlation-Id"]
    ids = set()
    for response in (stack.call("GET", ROUTE), stack.call("GET", ROUTE, {"Authorization": "Bearer x.y.z"}),
                     stack.call("GET", "/v1/nowhere")):
        assert response.status_code in {401, 404}
        assert "error" in response.json()
        ids.add(response.headers["x-amzn-RequestId"])
    assert len(ids) == 3  # one per request


def test_a_preflight_from_the_allowed_origin_is_answered_without_a_token(stack: Stack) -> None:
    response = stack.call("OPTIONS", "/v1/me/documents/doc_x", {
        "Origin": config.WEB_ORIGIN, "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == config.WEB_ORIGIN
    assert set(response.headers["Access-Control-Allow-Methods"].split(",")) >= {"GET", "DELETE", "OPTIONS"}
    assert {"authorization", "content-type", "idempotency-key"} <= set(
        response.headers["Access-Control-Allow-Headers"].lower().split(","))
    assert response.headers["Vary"] == "Origin"


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost:3001", None])
def test_a_preflight_from_another_origin_gets_no_cors_headers(stack: Stack, origin: str | None) -> None:
    headers = {"Access-Control-Request-Method": "GET"} | ({"Origin": origin} if origin else {})
    response = stack.call("OPTIONS", ROUTE, headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_an_actual_answer_names_only_an_allowed_origin(stack: Stack) -> None:
    _, patient = stack.citizen()
    allowed = stack.call("GET", ROUTE, {**patient, "Origin": config.WEB_ORIGIN})
    other = stack.call("GET", ROUTE, {**patient, "Origin": "https://evil.example"})
    assert allowed.status_code == other.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == config.WEB_ORIGIN
    assert "X-Correlation-Id" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in other.headers
    assert allowed.headers["Vary"] == other.headers["Vary"] == "Origin"
    # the gateway's own 401, so the web front end can read why it was refused (one allowed origin: static header)
    assert stack.call("GET", ROUTE, {"Origin": config.WEB_ORIGIN}).headers[
        "Access-Control-Allow-Origin"] == config.WEB_ORIGIN
