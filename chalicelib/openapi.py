"""The OpenAPI 3.1 document, generated from the route declarations (chalicelib/registry.py) and their pydantic
models, so the contract cannot drift from what the edge serves: a route exists in the document because it was
declared, with the statuses its declaration says it answers."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from chalicelib.registry import ROUTES, RouteSpec

VERSION = "1.0.0"
_REF = "#/components/schemas/{model}"
_ModelKey = tuple[type[BaseModel], JsonSchemaMode]
_Refs = dict[Any, Any]  # (model, mode) -> its {"$ref"}, as models_json_schema returns it

_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content", 400: "Malformed request",
            401: "Missing or invalid credentials", 403: "Not allowed for this caller",
            404: "Not found, or not yours to see", 405: "Method not allowed", 409: "Conflict",
            413: "Body too large", 415: "Unsupported media type", 422: "Invalid input", 429: "Too many requests",
            503: "Temporarily unavailable"}

# What each bearer scheme is; the document lists those the declared routes use (RouteSpec.security).
_SCHEMES: dict[str, str] = {
    "citizen_bearer": "A citizen's OIDC access token (FranceConnect-style identity provider).",
    "professional_bearer": "A health professional's token (Pro Santé Connect): RPPS, profession, FINESS.",
    "organisation_bearer": "A health organisation's software, as itself (client credentials): FINESS.",
    "service_bearer": "A referenced app's service access token (pairing with the person): pairwise idPe, OID, "
                      "consented purposes; signed RS256 by Mon espace santé.",
}

_ACCESS_REASON = {
    "name": "X-Access-Reason", "in": "header", "required": False,
    "description": "`consent`: the patient's consent to this access, presented by the professional's software "
                   "(recorded in the trace). Without it, a professional with no other basis gets "
                   "`403 consent_required`. Any other value is `400 invalid_access_reason`.",
    "schema": {"type": "string", "enum": ["consent"]},
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "A retry with the same key and body returns the first answer and writes nothing again.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 128},
}


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    """Every error of the API, the gateway's included."""

    error: ErrorDetail


class OAuthErrorOut(BaseModel):
    """RFC 6749 5.2: what the OAuth routes answer for their own errors (OAuth client libraries parse it)."""

    error: str
    error_description: str


def security_of(spec: RouteSpec) -> tuple[str, ...]:
    """The bearer schemes a route accepts (any one of them): a name today, a tuple once a route takes several
    roles, nothing for an open route."""
    schemes: str | tuple[str, ...] | None = spec.security
    if schemes is None:
        return ()
    return (schemes,) if isinstance(schemes, str) else tuple(schemes)


def _models(routes: list[RouteSpec]) -> list[_ModelKey]:
    wanted: list[_ModelKey] = [(ErrorOut, "serialization")]
    if any(spec.oauth for spec in routes):
        wanted.append((OAuthErrorOut, "serialization"))
    for spec in routes:
        wanted.append((spec.response, "serialization"))
        if spec.request is not None:
            wanted.append((spec.request, "validation"))
        if spec.query is not None:
            wanted.append((spec.query, "validation"))
        if spec.outcome is not None:
            wanted.append((spec.outcome, "serialization"))
        if spec.documented_body is not None:
            wanted.append((spec.documented_body, "validation"))
    return list(dict.fromkeys(wanted))


def _query_parameters(spec: RouteSpec, refs: _Refs, defs: dict[str, Any]) -> list[dict[str, Any]]:
    """A query model is flattened into one parameter per field (the edge validates them as one object)."""
    params: list[dict[str, Any]] = []
    if spec.paginated:
        params.append({"name": "cursor", "in": "query", "required": False,
                       "description": "Where the previous page ended (its `next`).", "schema": {"type": "string"}})
        params.append({"name": "limit", "in": "query", "required": False, "description": "Page size (20 if absent).",
                       "schema": {"type": "integer", "minimum": 1, "maximum": 100}})
    if spec.query is not None:
        schema = defs[refs[(spec.query, "validation")]["$ref"].rsplit("/", 1)[1]]
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": _query_value(prop)})
    return params


def _query_value(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a string: an optional field's `null` alternative does not apply."""
    prop = {k: v for k, v in prop.items() if k not in ("title", "default")}
    options = [o for o in prop.pop("anyOf", []) if o != {"type": "null"}]
    if len(options) == 1:
        prop.update(options[0])
    elif options:
        prop["anyOf"] = options
    return prop


def _header_parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    if spec.access_reason:
        params.append(_ACCESS_REASON)
    if getattr(spec, "idempotent", False):  # RouteSpec.idempotent (issue 14 point 6) when it lands
        params.append(_IDEMPOTENCY_KEY)
    return params


def _operation(spec: RouteSpec, refs: _Refs, defs: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = {"content": {"application/json": {"schema": refs[(ErrorOut, "serialization")]}}}
    if spec.oauth:  # the route's own errors are RFC 6749's; the machinery's (415, 413...) stay ours
        error = {"content": {"application/json": {"schema": {"oneOf": [
            refs[(OAuthErrorOut, "serialization")], refs[(ErrorOut, "serialization")]]}}}}
    if spec.outcome is not None:  # e.g. FHIR's OperationOutcome, beside our own errors (gateway, edge)
        error["content"][spec.media_type] = {"schema": refs[(spec.outcome, "serialization")]}
    responses: dict[str, Any] = {}
    for status in spec.statuses:
        if status == spec.status:
            body = {"content": {spec.media_type: {"schema": refs[(spec.response, "serialization")]}}}
            responses[str(status)] = {"description": _REASONS.get(status, "Success"), **body}
        else:
            responses[str(status)] = {**error, "description": _REASONS.get(status, "Error")}
    path_params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                   for p in spec.path_params]
    op: dict[str, Any] = {
        "operationId": spec.view,
        "tags": [spec.path.split("/")[2]],
        "parameters": path_params + _query_parameters(spec, refs, defs) + _header_parameters(spec),
        "responses": responses,
        "security": [{scheme: []} for scheme in security_of(spec)],
    }
    if spec.request is not None:
        media = "application/x-www-form-urlencoded" if spec.form else "application/json"
        op["requestBody"] = {"required": True, "content": {
            media: {"schema": refs[(spec.request, "validation")]}}}
    if spec.documented_body is not None:
        schema = refs[(spec.documented_body, "validation")]
        op["requestBody"] = {"required": True, "content": {spec.media_type: {"schema": schema},
                                                           "application/json": {"schema": schema}}}
    return op


def build(routes: list[RouteSpec]) -> dict[str, Any]:
    """The document for these declarations (tests build it for a registry of their own)."""
    ordered = sorted((s.resolved() for s in routes), key=lambda s: (s.path, s.method))  # models imported now
    refs, top = models_json_schema(_models(ordered), ref_template=_REF)
    defs: dict[str, Any] = top.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for spec in ordered:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, refs, defs)
    used = sorted({scheme for spec in ordered for scheme in security_of(spec)})
    schemes = {name: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                      "description": _SCHEMES.get(name, name)} for name in used}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mon espace santé API", "version": VERSION,
                 "description": "The citizen's health space: record, access rules, traces, agenda. Every error "
                                "is `{\"error\": {\"code\", \"message\"}}`."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": defs, "securitySchemes": schemes},
    }


@cache
def document() -> dict[str, Any]:
    """Built once per process, on first request: by then every route module has been imported."""
    return build(ROUTES)
