"""Object-level authorization on the holder's resources that the other tests did not cover (documents,
appointments, conversations and attachments are in theirs): a reminder, a measure, a pharmacy of the contact book,
an export part. Another citizen using the owner's real id gets exactly what a missing id gets, status and body
byte for byte, and changes nothing (security-tests.md: "the non-owner answer equals the answer for an id that
does not exist")."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.integration.conftest import Stack

Call = tuple[str, str, dict[str, Any] | None]


def missing_like(resource_id: str) -> str:
    """An id of the same shape that nobody has: the prefix kept, the rest zeros."""
    prefix, _, rest = resource_id.rpartition("_")
    return f"{prefix}_{re.sub(r'[0-9A-Za-z]', '0', rest)}" if prefix else re.sub(r"[0-9]", "0", resource_id)


def reminder(stack: Stack, owner: dict[str, str]) -> tuple[str, Callable[[str], list[Call]]]:
    made = stack.call("POST", "/v1/me/reminders", owner, json={"label": "Renouveler l'ordonnance",
                                                               "date": "2031-06-09", "time": "08:00"})
    assert made.status_code == 201, made.text
    rid = str(made.json()["reminder_id"])
    return rid, lambda i: [("GET", f"/v1/me/reminders/{i}", None),
                           ("PATCH", f"/v1/me/reminders/{i}", {"label": "Autre"}),
                           ("DELETE", f"/v1/me/reminders/{i}", None)]


def measure(stack: Stack, owner: dict[str, str]) -> tuple[str, Callable[[str], list[Call]]]:
    made = stack.call("POST", "/v1/me/measures", owner,
                      json={"code": "WEIGHT", "effective": "2026-11-30T08:00:00+01:00", "value": 72.5})
    assert made.status_code == 201, made.text
    mid = str(made.json()["id"])
    return mid, lambda i: [("PUT", f"/v1/me/measures/WEIGHT/{i}", {"value": 60}),
                           ("DELETE", f"/v1/me/measures/WEIGHT/{i}", None)]


def pharmacy(stack: Stack, owner: dict[str, str]) -> tuple[str, Callable[[str], list[Call]]]:
    made = stack.call("POST", "/v1/me/contacts/pharmacies", {**owner, "Idempotency-Key": "object-level-0001"},
                      json={"finess": "750012346", "name": "Pharmacie de la Gare",
                            "address": "contact@pharmacie-gare.mssante.fr"})
    assert made.status_code == 201, made.text
    return "750012346", lambda f: [("DELETE", f"/v1/me/contacts/pharmacies/{f}", None)]


MAKERS = {"reminder": reminder, "measure": measure, "pharmacy": pharmacy}


def answer(stack: Stack, who: dict[str, str], call: Call) -> requests.Response:
    method, path, body = call
    return stack.call(method, path, who, json=body)


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_someone_elses_resource_answers_exactly_like_a_missing_one_and_stays_as_it_was(stack: Stack,
                                                                                       kind: str) -> None:
    _, owner = stack.citizen()
    _, other = stack.citizen()
    real, calls = MAKERS[kind](stack, owner)
    absent = missing_like(real) if kind != "pharmacy" else "750099999"
    for theirs, nobodys in zip(calls(real), calls(absent), strict=True):
        foreign, missing = answer(stack, other, theirs), answer(stack, other, nobodys)
        assert foreign.status_code == 404, (theirs, foreign.text)
        assert (foreign.status_code, foreign.content) == (missing.status_code, missing.content), theirs
    # the owner still has it as it was: read back (a reminder), or removed by its owner only now
    reads = [c for c in calls(real) if c[0] == "GET"]
    if reads:
        assert answer(stack, owner, reads[0]).json()["label"] == "Renouveler l'ordonnance"
    assert answer(stack, owner, calls(real)[-1]).status_code == 200
