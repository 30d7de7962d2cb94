"""Idempotency-Key over HTTP (issue 14.6): on every POST that creates, a retry with the same key and body gets the
first answer again and writes nothing; the key with another body is 422 idempotency_key_reused and writes
nothing; another caller's same key is theirs alone; a malformed key is 400. Counted by listing what the holder
sees (items, traces, notifications) before and after."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import botocore.client
import pytest

from chalicelib import registry
from tests.integration.conftest import Stack, new_ins

URGENTIST = {"rpps": "10000000041", "profession": "10", "finess": "130000004"}
APPOINTMENT = {"start": "2031-07-10T09:30:00+02:00", "professional": "Dr Claire Martin", "place": "12 rue de la Paix",
               "reminder_lead_days": 1}
REMINDER = {"label": "Renouveler l'ordonnance", "date": "2031-07-09", "time": "08:00", "repeat": "monthly"}


@dataclass(frozen=True)
class Case:
    """One idempotent route: its path for a patient, who calls it, two different bodies, and what the patient
    can count of its effects."""

    path: str
    caller: str  # "citizen" (the holder) or "professional"
    body: dict[str, Any]
    other: dict[str, Any]
    effects: Callable[[Stack, dict[str, str]], list[Any]]


def listed(path: str) -> Callable[[Stack, dict[str, str]], list[Any]]:
    return lambda stack, holder: stack.call("GET", path, holder).json()["items"]


def traces_and_notices(stack: Stack, holder: dict[str, str]) -> list[Any]:
    traces = stack.call("GET", "/v1/me/traces?limit=100", holder).json()["items"]
    notices = stack.call("GET", "/v1/me/notifications?limit=100", holder).json()["items"]
    return [*traces, *notices]


CASES = {
    "appointment": Case("/v1/me/appointments", "citizen", APPOINTMENT, {**APPOINTMENT, "place": "Ailleurs"},
                        listed("/v1/me/appointments")),
    "reminder": Case("/v1/me/reminders", "citizen", REMINDER, {**REMINDER, "label": "Vaccin"},
                     listed("/v1/me/reminders")),
    "care-team": Case("/v1/me/care-team", "citizen", {"rpps": "10000000042"}, {"rpps": "10000000043"},
                      listed("/v1/me/care-team")),
    "block": Case("/v1/me/blocked-professionals", "citizen", {"rpps": "10000000044"}, {"rpps": "10000000045"},
                  listed("/v1/me/blocked-professionals")),
    "emergency": Case("/v1/patients/{ins}/emergency-access", "professional",
                      {"purpose": "BTG", "reason": "unconscious, no relative"},
                      {"purpose": "BTG", "reason": "another story"}, traces_and_notices),
}


def caller(stack: Stack, case: Case, holder: dict[str, str], rpps: str = URGENTIST["rpps"]) -> dict[str, str]:
    return holder if case.caller == "citizen" else stack.professional(**{**URGENTIST, "rpps": rpps})


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_replay_answers_the_first_response_and_writes_nothing(stack: Stack, name: str) -> None:
    # Given a first request with a key
    case = CASES[name]
    ins, holder = stack.citizen()
    path = case.path.format(ins=ins)
    headers = {**caller(stack, case, holder), "Idempotency-Key": f"idem-{name}-0001"}
    first = stack.call("POST", path, headers, json=case.body)
    assert first.status_code == 201, first.text
    effects = case.effects(stack, holder)
    # When it is retried with the same key and the same body (keys in another order)
    again = stack.call("POST", path, headers, json=dict(reversed(list(case.body.items()))))
    # Then the answer is the first one, said to be replayed, and nothing more was written
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert case.effects(stack, holder) == effects


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_key_with_another_body_is_a_422_and_writes_nothing(stack: Stack, name: str) -> None:
    case = CASES[name]
    ins, holder = stack.citizen()
    path = case.path.format(ins=ins)
    headers = {**caller(stack, case, holder), "Idempotency-Key": f"idem-{name}-0002"}
    assert stack.call("POST", path, headers, json=case.body).status_code == 201
    effects = case.effects(stack, holder)
    reused = stack.call("POST", path, headers, json=case.other)
    assert (reused.status_code, reused.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert case.effects(stack, holder) == effects


@pytest.mark.parametrize("name", sorted(CASES))
def test_another_callers_same_key_is_independent(stack: Stack, name: str) -> None:
    case = CASES[name]
    key = f"idem-{name}-0003"
    ins_a, holder_a = stack.citizen()
    ins_b, holder_b = stack.citizen()
    a = stack.call("POST", case.path.format(ins=ins_a), {**caller(stack, case, holder_a), "Idempotency-Key": key},
                   json=case.body)
    b = stack.call("POST", case.path.format(ins=ins_b),
                   {**caller(stack, case, holder_b, rpps="10000000046"), "Idempotency-Key": key}, json=case.other)
    assert (a.status_code, b.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in b.headers
    assert len(case.effects(stack, holder_b)) >= 1


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("key", ["short", "a" * 101, "with space 01", "clé-00000001"])
def test_a_malformed_key_is_a_400_and_writes_nothing(stack: Stack, name: str, key: str) -> None:
    case = CASES[name]
    ins, holder = stack.citizen()
    before = case.effects(stack, holder)
    refused = stack.call("POST", case.path.format(ins=ins), {**caller(stack, case, holder), "Idempotency-Key": key},
                         json=case.body)
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_idempotency_key")
    assert case.effects(stack, holder) == before


def test_without_a_key_the_route_creates_each_time(stack: Stack) -> None:
    """The key is optional on these routes: without it a retry is a new request (what the key is for)."""
    _, holder = stack.citizen()
    for _ in range(2):
        assert stack.call("POST", "/v1/me/appointments", holder, json=APPOINTMENT).status_code == 201
    assert len(stack.call("GET", "/v1/me/appointments", holder).json()["items"]) == 2


def test_a_refusal_that_wrote_nothing_is_not_kept_so_the_key_works_once_the_request_can_succeed(
        stack: Stack) -> None:
    """An emergency access to an INS without a space is a 404 that keeps nothing (its transaction is conditioned
    on the space): the same key works once the space is open, and only then is its answer kept."""
    ins = new_ins()
    path = f"/v1/patients/{ins}/emergency-access"
    headers = {**stack.professional(**URGENTIST), "Idempotency-Key": "idem-refused-0001"}
    body = CASES["emergency"].body
    assert stack.call("POST", path, headers, json=body).status_code == 404
    stack.citizen(ins)
    granted = stack.call("POST", path, headers, json=body)
    assert granted.status_code == 201 and "Idempotent-Replayed" not in granted.headers
    assert stack.call("POST", path, headers, json=body).json() == granted.json()


def test_upload_keeps_its_own_key_scheme_and_every_creating_post_is_idempotent(stack: Stack) -> None:
    """Every POST declared in the route modules that answers 201 takes Idempotency-Key; the routes that create
    a record document (uploads, and saving a message attachment into the record) require it: the document's id
    derives from it."""
    creating = {(s.method, s.path): s for s in registry.ROUTES if s.method == "POST" and s.status == 201}
    assert creating and all(s.idempotent for s in creating.values())
    required = {path for (_, path), s in creating.items() if s.idempotency_key_required}
    assert required == {"/v1/me/documents", "/v1/patients/{ins}/documents",
                        "/v1/me/conversations/{conversation_id}/messages/{message_id}/attachments/{attachment_id}"
                        "/record"}


@contextmanager
def aws_calls() -> Iterator[Counter[str]]:
    """Every AWS call the stack makes meanwhile (the API runs in this process, behind the local gateway)."""
    seen: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation: str, params: dict[str, Any]) -> Any:
        seen[operation] += 1
        return original(self, operation, params)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", counting):
        yield seen


def test_a_key_costs_one_call_and_a_replay_writes_nothing(stack: Stack) -> None:
    """The bench's rule, checked here too: the claim rides in the creating transaction, the first response costs
    one UpdateItem; the replay's own transaction is refused by the claim and one GetItem reads the answer."""
    _, holder = stack.citizen()
    stack.call("GET", "/v1/me/appointments", holder)  # the authorizer's answer is cached from here on
    with aws_calls() as plain:
        assert stack.call("POST", "/v1/me/appointments", holder, json=APPOINTMENT).status_code == 201
    keyed_headers = {**holder, "Idempotency-Key": "idem-cost-0001"}
    with aws_calls() as keyed:
        assert stack.call("POST", "/v1/me/appointments", keyed_headers, json=APPOINTMENT).status_code == 201
    with aws_calls() as replayed:
        assert stack.call("POST", "/v1/me/appointments", keyed_headers, json=APPOINTMENT).status_code == 201
    assert keyed - plain == Counter({"UpdateItem": 1})
    assert replayed - plain == Counter({"GetItem": 1})
    assert sum(replayed.values()) == sum(plain.values()) + 1


def test_simultaneous_retries_create_once(stack: Stack) -> None:
    """Four copies of one request at once: one creates; the others get its answer or 409 in progress."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    _, holder = stack.citizen()
    headers = {**holder, "Idempotency-Key": "idem-race-0001"}
    start = threading.Barrier(4, timeout=10)

    def one(_: int) -> tuple[int, str]:
        start.wait()
        response = stack.call("POST", "/v1/me/reminders", headers, json=REMINDER)
        return response.status_code, response.headers.get("Idempotent-Replayed", "")

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(one, range(4), timeout=60))
    assert answers.count((201, "")) == 1
    assert all(a in {(201, ""), (201, "true"), (409, "")} for a in answers)
    assert len(stack.call("GET", "/v1/me/reminders", holder).json()["items"]) == 1
