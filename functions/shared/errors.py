"""Domain errors. Each names a stable machine code; the edge maps them to HTTP in one table."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a caller may see; `code` is stable, `message` is safe to show (no health data)."""

    code = "error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidRequest(DomainError):
    """Malformed input (bad JSON, bad identifier, missing header)."""

    code = "invalid_request"


class Unprocessable(DomainError):
    """Well-formed input that breaks a rule (unknown type code, bad field value)."""

    code = "validation_failed"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


class Unauthenticated(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    """The caller is known and the resource is theirs to know about, but the action is not allowed."""

    code = "forbidden"


class NotFound(DomainError):
    """Missing, or someone else's: the two must be indistinguishable, so the message is always the same."""

    code = "not_found"

    def __init__(self, what: str = "resource") -> None:
        super().__init__(f"{what} not found")


class Conflict(DomainError):
    code = "conflict"


class Unavailable(DomainError):
    """Not the caller's fault and worth retrying (e.g. too many simultaneous changes to one record)."""

    code = "unavailable"


class TooManyRequests(DomainError):
    """Too soon after the previous request of the same kind (a provisional code asked again within 30 s)."""

    code = "too_many_requests"


class ReauthenticationRequired(Unauthenticated):
    """The action needs a fresh authentication (the token's `auth_time` within `max_age` seconds): OIDC step-up,
    the client signs in again with `max_age` and retries (the edge adds the WWW-Authenticate hint)."""

    code = "reauthentication_required"

    def __init__(self, max_age: int) -> None:
        super().__init__(f"this action needs a sign-in less than {max_age} seconds old: sign in again")
        self.max_age = max_age
class Answered(DomainError):
    """An error whose body a standard dictates (FHIR's OperationOutcome, not our `{"error"}` schema): the edge
    answers `body` as is, with `status` and `media_type`."""

    def __init__(self, status: int, body: dict[str, object], media_type: str, message: str,
                 code: str | None = None) -> None:
        super().__init__(message, code)
        self.status = status
        self.body = body
        self.media_type = media_type
