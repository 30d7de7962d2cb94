"""The contract: `GET /v1/openapi.json` serves, without a token, an OpenAPI 3.1 document of every route the app
serves, generated from the declarations; the local gateway's /docs page shows it without any CDN."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from tests.integration.conftest import Stack
from tests.integration.contract import assert_documented, contract

OPERATIONS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def served(stack: Stack) -> dict[str, Any]:
    response = stack.call("GET", "/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


def app_routes() -> set[tuple[str, str]]:
    import app as api

    return {(method, path) for path, entries in api.app.routes.items() for method in entries}


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in OPERATIONS}


def test_the_served_document_is_valid_openapi_3_1(served: dict[str, Any]) -> None:
    assert served["openapi"] == "3.1.0"
    errors = [e.message for e in OpenAPIV31SpecValidator(served).iter_errors()]
    assert errors == []


def test_the_served_document_names_every_route_of_the_app(served: dict[str, Any]) -> None:
    assert documented(served) == app_routes()
    assert served == contract()  # what the tests check responses against is what callers get


def test_a_route_missing_from_the_registry_fails_the_comparison() -> None:
    """Given the document of every declaration but one, the comparison above names the route left out."""
    from chalicelib.openapi import build
    from chalicelib.registry import ROUTES

    partial = build([s for s in ROUTES if s.path != "/v1/me/traces/export"])
    assert app_routes() - documented(partial) == {("GET", "/v1/me/traces/export")}


def test_each_operation_says_its_statuses_parameters_and_schemes() -> None:
    from chalicelib.registry import ROUTES

    document = contract()
    for spec in ROUTES:
        op = document["paths"][spec.path][spec.method.lower()]
        assert sorted(int(s) for s in op["responses"]) == sorted(spec.statuses), spec.view
        for status, answer in op["responses"].items():
            schema = answer["content"].get("application/json", {}).get("schema")
            if int(status) >= 400 and spec.oauth:  # RFC 6749's errors, or ours from the machinery (415, 413)
                assert schema == {"oneOf": [{"$ref": "#/components/schemas/OAuthErrorOut"},
                                            {"$ref": "#/components/schemas/ErrorOut"}]}, (spec.view, status)
            elif int(status) >= 400:  # our errors always; a FHIR route's OperationOutcome beside them
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (spec.view, status)
                if spec.outcome is not None:
                    assert answer["content"][spec.media_type]["schema"] == {
                        "$ref": f"#/components/schemas/{spec.outcome.__name__}"}, (spec.view, status)
            else:
                assert set(answer["content"]) == {spec.media_type}, (spec.view, status)
        params = {(p["in"], p["name"]) for p in op["parameters"]}
        assert {name for kind, name in params if kind == "path"} == set(spec.path_params)
        assert (("query", "cursor") in params) == spec.paginated
        assert (("header", "X-Access-Reason") in params) == spec.access_reason
        assert ("requestBody" in op) == (spec.request is not None or spec.documented_body is not None)
        schemes = [name for requirement in op["security"] for name in requirement]
        assert schemes == list(spec.security)  # any one of the route's schemes (an OR of requirements)
        assert set(schemes) <= set(document["components"]["securitySchemes"])
    assert set(document["components"]["securitySchemes"]) == {"citizen_bearer", "professional_bearer",
                                                              "organisation_bearer", "service_bearer"}


def test_a_query_model_becomes_one_optional_string_parameter_per_field() -> None:
    params = {p["name"]: p for p in contract()["paths"]["/v1/me/documents"]["get"]["parameters"]}
    assert set(params) == {"cursor", "limit", "type_code", "date_from", "date_to"}
    assert params["date_from"] == {"name": "date_from", "in": "query", "required": False,
                                   "schema": {"type": "string", "format": "date"}}
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}


def test_an_idempotent_declaration_documents_the_idempotency_key_header() -> None:
    """RouteSpec gains `idempotent` with issue 14 point 6; the document reads it from the spec when present."""
    from chalicelib.openapi import build
    from chalicelib.registry import ROUTES, RouteSpec

    @dataclass(frozen=True)
    class Idempotent(RouteSpec):
        idempotent: bool = True

    spec = next(s for s in ROUTES if (s.method, s.path) == ("POST", "/v1/me/appointments"))
    marked = Idempotent(**{f: getattr(spec, f) for f in spec.__dataclass_fields__ if f != "idempotent"})
    op = build([marked])["paths"]["/v1/me/appointments"]["post"]
    assert [p["name"] for p in op["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
    plain = build([replace(spec)])["paths"]["/v1/me/appointments"]["post"]
    assert [p["name"] for p in plain["parameters"] if p["in"] == "header"] == (
        ["Idempotency-Key"] if getattr(spec, "idempotent", False) else [])


def test_the_contract_is_served_to_anyone_even_with_a_bad_token(stack: Stack) -> None:
    response = stack.call("GET", "/v1/openapi.json", {"Authorization": "Bearer not-a-token"})
    assert response.status_code == 200
    assert_documented("GET", "/v1/openapi.json", response)


def test_the_docs_page_loads_swagger_ui_and_the_contract_from_this_server_only(stack: Stack) -> None:
    page = stack.call("GET", "/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/docs/") for a in assets), assets  # no CDN
    for asset in assets:
        assert stack.call("GET", asset).status_code == 200, asset
    init = stack.call("GET", "/docs/init.js").text
    assert 'url: "/v1/openapi.json"' in init
    bundle = stack.call("GET", "/docs/swagger-ui-bundle.js")
    assert bundle.headers["Content-Type"].startswith("text/javascript") and len(bundle.content) > 100_000


def test_the_docs_page_serves_nothing_but_its_own_files(stack: Stack) -> None:
    for path in ("/docs/../app.py", "/docs/LICENSE", "/docs/swagger-editor.js", "/docs/%2e%2e/app.py"):
        response = stack.call("GET", path)
        assert response.status_code == 404, path
        assert set(response.json()) == {"error"}


# Seeds of the fuzz run (tests/integration/test_fuzz.py), kept as plain regression tests.


@pytest.mark.parametrize(("method", "path", "role"), [("GET", "/v1/health", None),
                                                      ("GET", "/v1/openapi.json", None),
                                                      ("GET", "/v1/me/documents", "citizen"),
                                                      ("POST", "/v1/patients/{ins}/emergency-access", "pro")])
def test_a_content_type_other_than_json_is_a_documented_415(stack: Stack, method: str, path: str,
                                                           role: str | None) -> None:
    """Found by the fuzz: Chalice answers 415 to a non-JSON Content-Type on every route, with or without a body,
    and the contract did not say so (health, a GET list, a POST)."""
    headers = {"Content-Type": "text/plain"}
    if role == "citizen":
        headers.update(stack.citizen()[1])
    elif role == "pro":
        headers.update(stack.professional())
    response = stack.call(method, path.format(ins="284067512345688"), headers, data="purpose=BTG")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert_documented(method, path, response)


def test_the_token_endpoint_takes_a_form_and_answers_oauth_errors() -> None:
    op = contract()["paths"]["/v1/oauth/token"]["post"]
    assert list(op["requestBody"]["content"]) == ["application/x-www-form-urlencoded"]
    assert op["security"] == []
    assert {"400", "401"} <= set(op["responses"])
