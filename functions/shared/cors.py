"""CORS, one policy for the three places that answer a browser: the app (actual responses), API Gateway (the
preflight's MOCK integration and its own error responses, infra/components/api.py) and the local gateway that
mirrors it. Which web origins may call the API is a stage parameter (MES_CORS_ALLOWED_ORIGINS): none in prod by
default, the local web front end in dev and locally. Any other origin gets no CORS header, so its browser refuses
to hand the answer to its script."""

from __future__ import annotations

import os

from functions.shared import names

# What a browser's script may send beyond the CORS-safelisted headers, and read beyond the safelisted ones.
ALLOWED_HEADERS = "Authorization,Content-Type,Idempotency-Key,X-Access-Reason"
EXPOSED_HEADERS = "X-Correlation-Id"
PREFLIGHT_MAX_AGE_SECONDS = 600


def parse_origins(raw: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def allowed_origins() -> tuple[str, ...]:
    """Read on each request (a dictionary lookup): nothing is read from the environment at import."""
    return parse_origins(os.environ.get(names.ENV_CORS_ALLOWED_ORIGINS, ""))


def response_headers(origin: str | None, allowed: tuple[str, ...]) -> dict[str, str]:
    """For an actual (non-preflight) answer: the origin echoed only when allowed; `Vary: Origin` whenever the answer
    depends on it, so a cache never hands one origin's answer to another."""
    if not allowed:
        return {}
    if origin is not None and origin in allowed:
        return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED_HEADERS,
                "Vary": "Origin"}
    return {"Vary": "Origin"}


def preflight_headers(origin: str, methods: list[str]) -> dict[str, str]:
    """An allowed preflight's answer (the caller checked `origin`): the path's methods and our request headers."""
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": ",".join(methods),
            "Access-Control-Allow-Headers": ALLOWED_HEADERS, "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
            "Vary": "Origin"}
