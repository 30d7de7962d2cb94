"""Idempotency-Key: a retried POST never creates twice (issue 14.6). Storage-free: the key rule, the claim a
request makes, the first response kept for replays, the store's port, and the claim waiting to join the creating
transaction.

Why in the creating transaction: the claim (scope + request hash) is one more item of the TransactWriteItems that
creates the thing, so the creation and its record commit together or not at all. There is no window in which a
creation exists without its record (a retry would create again) nor a record without its creation (a retry would
be refused for nothing), and the first request pays no extra call for the claim; only the first response, known
once the view has answered, is written after it (one UpdateItem). `functions.shared.dynamo.transaction()` is the
one place that lets a waiting claim join: every transaction of the code base is made there."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from functions.shared.errors import Conflict, InvalidRequest, Unprocessable

# The one key rule, uploads' since issue 9: 8-100 characters of [A-Za-z0-9._:-] (ASCII only: a UUID fits).
KEY_FORMAT = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")


class KeyReused(Unprocessable):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used with a different request")


class KeyInProgress(Conflict):
    """The first request with this key has committed but not yet answered (or is still running): retry later."""

    code = "idempotency_key_in_progress"

    def __init__(self) -> None:
        super().__init__("a request with this Idempotency-Key is still in progress; retry in a moment")


class KeyTaken(Exception):
    """The creating transaction was cancelled by the claim's condition: another request holds this key."""


MALFORMED_KEY = "Idempotency-Key must be 8-100 characters of [A-Za-z0-9._:-]"


def checked_key(key: str | None, required: bool = False) -> str | None:
    """The key if well formed; None if absent and optional. Missing but required, or malformed (an empty header
    included: the client asked for a key, it is not the same as none): 400."""
    if key is None and not required:
        return None
    if key == "" and not required:
        raise InvalidRequest(MALFORMED_KEY, code="invalid_idempotency_key")
    return required_key(key)


def required_key(key: str | None) -> str:
    """The key, which must be sent and well formed (400 otherwise)."""
    if not key:
        raise InvalidRequest("the Idempotency-Key header is required", code="idempotency_key_required")
    if not KEY_FORMAT.match(key):
        raise InvalidRequest(MALFORMED_KEY, code="invalid_idempotency_key")
    return key


def request_hash(body: Any) -> str:
    """The body as its meaning, not its bytes: key order and spacing do not make another request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    """`scope`: the key as stored, a hash of caller + method + path + key (one caller's key never meets another's;
    no identifier in clear). `request`: the hash of the body sent with it. `owner`: a keyed pseudonym of the space
    the request acts on (None: none), so the erasure finds the records whose answers hold that person's data."""

    scope: str
    request: str
    owner: str | None = None

    @classmethod
    def of(cls, caller: str, method: str, path: str, key: str, body: Any, owner: str | None = None) -> Claim:
        scope = hashlib.sha256(f"{caller}|{method.upper()}|{path}|{key}".encode()).hexdigest()
        return cls(scope=scope, request=request_hash(body), owner=owner)


@dataclass(frozen=True)
class FirstResponse:
    """What the first request with a key answered, replayed to the next ones. `status` None: its creation
    committed and its answer is not recorded yet."""

    request: str
    status: int | None = None
    body: Any = None


@dataclass
class Joining:
    """A claim waiting for the transaction that creates: `stage` adds its write to that transaction (the
    adapter's business); `committed` once one transaction carrying it committed."""

    stage: Callable[[Any], None]
    committed: bool = False


class IdempotencyStore(Protocol):
    def joining(self, claim: Claim) -> Joining:
        """The claim as a write for the creating transaction (conditional: no live record under this scope)."""
        ...

    def complete(self, claim: Claim, status: int, body: Any) -> None:
        """Keep the first response of a claim whose creation committed."""
        ...

    def record(self, claim: Claim, status: int, body: Any) -> FirstResponse | None:
        """Keep the response of a request that wrote nothing (no transaction took the claim); if a live record
        holds the scope already, return it instead and keep nothing."""
        ...

    def find(self, claim: Claim) -> FirstResponse | None:
        """The live record under the claim's scope, if any."""
        ...


_WAITING: ContextVar[Joining | None] = ContextVar("idempotency_claim", default=None)


@contextmanager
def claimed(joining: Joining) -> Iterator[Joining]:
    """While the view runs, the first transaction that commits carries the claim."""
    token = _WAITING.set(joining)
    try:
        yield joining
    finally:
        _WAITING.reset(token)


def waiting() -> Joining | None:
    """The claim the next transaction must carry, if one waits in this context (request)."""
    joining = _WAITING.get()
    return joining if joining is not None and not joining.committed else None


def replay(found: FirstResponse | None, claim: Claim) -> FirstResponse | None:
    """The response to give again for `claim`: None if there is no record; 422 for another body; 409 while the
    first request has not answered."""
    if found is None:
        return None
    if found.request != claim.request:
        raise KeyReused()
    if found.status is None:
        raise KeyInProgress()
    return found


def owner_of(ins: str) -> str:
    """The `owner` of a record: a keyed pseudonym of the person (functions/shared/privacy.py), never the INS."""
    from functions.shared.privacy import digest

    return digest("idempotency-owner", ins)
