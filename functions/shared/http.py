"""The single error table: domain error -> (HTTP status, JSON body). Framework-free so the edge stays thin."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from functions.shared import errors

STATUS: dict[type[errors.DomainError], int] = {
    errors.InvalidRequest: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.Unprocessable: 422,
    errors.Unavailable: 503,
    errors.TooManyRequests: 429,
}

# On every answer of the API, errors included (the edge's middleware; the local gateway on its own errors too):
# the routes answer health data (documents, traces, the care team...) that no browser or shared cache may keep.
RESPONSE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


# Refused credentials (RFC 6750 section 3). API Gateway answers them itself (infra's Gateway Responses; the local
# gateway mirrors them) and a gateway response header can only be a static value, so the reason is in the JSON body
# (error.code: token_expired, bad_signature, wrong_audience...), not in the header's error_description.
REALM = "mon-espace-sante"
# No bearer token at all (API Gateway's UNAUTHORIZED: the authorizer is not invoked): no error attribute.
WWW_AUTHENTICATE_MISSING = f'Bearer realm="{REALM}"'
# A token the authorizer refused (an explicit Deny, API Gateway's ACCESS_DENIED).
WWW_AUTHENTICATE_REFUSED = (f'Bearer realm="{REALM}", error="invalid_token", '
                            'error_description="the bearer token was refused; error.code in the body says why"')


def www_authenticate_step_up(max_age: int) -> str:
    """A sign-in too old for the action (RFC 9470, OIDC step-up): sign in again with `max_age`, then retry."""
    return (f'Bearer realm="{REALM}", error="insufficient_user_authentication", '
            f'error_description="a more recent authentication is required", max_age={max_age}')


# What an Authorization header must look like for the authorizer to be invoked (RFC 6750 b64token; API Gateway's
# identityValidationExpression): anything else, an empty header or another scheme included, is "no bearer token".
BEARER_PATTERN = r"^Bearer [A-Za-z0-9\-._~+/]+=*$"


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def render_domain_error(exc: errors.DomainError) -> tuple[int, dict[str, Any]]:
    if isinstance(exc, errors.Answered):
        return exc.status, dict(exc.body)
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls], error_body(exc.code, exc.message)
    return 500, error_body("internal_error", "internal error")


def render_validation_error(exc: ValidationError) -> tuple[int, dict[str, Any]]:
    """Name the fields and what is wrong, never echo the submitted values (they may be health data)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return 422, error_body("validation_failed", "; ".join(parts)[:1000])
