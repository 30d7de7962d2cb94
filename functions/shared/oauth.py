"""OAuth 2.0 errors (RFC 6749 5.2): the one kind of error this API does not answer in its own schema. The OAuth
routes (`route(..., oauth=True)`) render it as `{"error": <code>, "error_description": ...}`, what every OAuth
client library parses; the OpenAPI document says so for those routes."""

from __future__ import annotations

from typing import Any


class OAuthError(Exception):
    """`error` is one of RFC 6749's codes (invalid_request, invalid_client, invalid_grant, unauthorized_client,
    unsupported_grant_type, invalid_scope, access_denied); 401 for a client that failed to authenticate."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}
