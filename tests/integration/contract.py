"""The served contract as the tests read it: which documented response a real answer falls under, and whether
its body matches that response's schema (OpenAPI 3.1 = JSON Schema 2020-12, formats checked)."""

from __future__ import annotations

from functools import cache
from typing import Any

import requests
from openapi_schema_validator import OAS31Validator


@cache
def contract() -> dict[str, Any]:
    import app  # noqa: F401  (every route module imported: the registry is complete)
    from chalicelib.openapi import document

    return document()


def violations(method: str, template: str, status: int, content_type: str, body: Any) -> list[str]:
    """What is wrong with an answer against the document: an undocumented route or status, another content type,
    a body outside the schema. Empty when it conforms."""
    operation = contract()["paths"].get(template, {}).get(method.lower())
    if operation is None:
        return [f"{method} {template} is not in the document"]
    documented = operation["responses"].get(str(status))
    if documented is None:
        return [f"{method} {template}: status {status} is not documented ({sorted(operation['responses'])})"]
    media = content_type.split(";", 1)[0].strip()
    if media not in documented["content"]:
        return [f"{method} {template} {status}: content type {content_type!r} is not documented"]
    schema = {**documented["content"][media]["schema"], "components": contract()["components"]}
    validator = OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER)
    return [f"{method} {template} {status}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(body)]


def assert_documented(method: str, template: str, response: requests.Response) -> None:
    body = response.json() if response.content else None
    found = violations(method, template, response.status_code, response.headers.get("Content-Type", ""), body)
    assert found == [], found
