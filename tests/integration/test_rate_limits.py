"""The sensitive flows are rate-limited (security-tests.md): the holder's consent changes (30 an hour), a
professional's emergency accesses (30 an hour, every patient together), exports (5 a day) and closing / deleting /
reopening (5 a day). Past the limit: 429 `too_many_requests` with `Retry-After`, and nothing written, because the
counter is one more item of the action's own transaction."""

from __future__ import annotations

import time
from typing import Any

from app import on_export
from functions.shared.aws import client
from functions.shared.idempotency import owner_of
from local import config
from local.pump import QueuePump
from tests.integration.conftest import ACTIVATION_TRACES, Stack


def actions(stack: Stack, who: dict[str, str]) -> list[str]:
    items: list[dict[str, Any]] = stack.call("GET", "/v1/me/traces?limit=100", who).json()["items"]
    return [t["action"] for t in items if t["action"] not in ACTIVATION_TRACES]


def assert_limited(answer: Any, hour: bool) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.json()["error"]["code"] == "too_many_requests"
    assert "réessayez après" in answer.json()["error"]["message"]
    window = 3600 if hour else 86_400  # fixed windows: the hour, or the day from 00:00 UTC
    until_next = window - time.time() % window
    assert abs(int(answer.headers["Retry-After"]) - until_next) <= 5, answer.headers["Retry-After"]


def test_the_31st_consent_change_in_an_hour_is_a_429_that_writes_nothing(stack: Stack) -> None:
    """Given a holder who blocked and unblocked a professional 15 times (30 changes), when they block once more,
    then 429 with Retry-After: the professional is not blocked and the chain has no 31st trace. Another holder
    is not limited by it."""
    ins, holder = stack.citizen()
    rpps = "10000000071"
    for _ in range(15):
        assert stack.call("POST", "/v1/me/blocked-professionals", holder, json={"rpps": rpps}).status_code == 201
        assert stack.call("DELETE", f"/v1/me/blocked-professionals/{rpps}", holder).status_code == 200
    before = actions(stack, holder)
    assert len(before) == 30
    assert_limited(stack.call("POST", "/v1/me/blocked-professionals", holder, json={"rpps": rpps}), hour=True)
    assert_limited(stack.call("PUT", "/v1/me/settings", holder, json={}), hour=True)  # every consent change
    assert stack.call("GET", "/v1/me/blocked-professionals", holder).json()["items"] == []
    assert actions(stack, holder) == before
    _, other = stack.citizen()
    assert stack.call("POST", "/v1/me/blocked-professionals", other, json={"rpps": rpps}).status_code == 201
    counters = [item for item in idempotency_items() if item["request"]["S"] == "quota:consent"]
    assert counters and not any(ins in str(item) for item in counters)  # keyed by a pseudonym, never the INS
    assert [int(item["uses"]["N"]) for item in counters if item["owner"]["S"] == owner_of(ins)] == [30]


def idempotency_items() -> list[dict[str, Any]]:
    """Every item of the idempotency table (a Scan, in a test only)."""
    from functions.shared.settings import settings

    pages = client("dynamodb", config.REGION).get_paginator("scan").paginate(TableName=settings().idempotency_table)
    return [item for page in pages for item in page["Items"]]


def test_a_professionals_31st_emergency_access_in_an_hour_is_a_429_and_leaves_no_grant(stack: Stack) -> None:
    """Given a professional who asked 30 emergency accesses (three patients, ten each), when they ask for a fourth
    patient, then 429: no grant, no trace in that patient's chain. Another professional still gets theirs."""
    doctor = stack.professional(rpps="10000000072", finess="130000004")
    body = {"purpose": "BTG", "reason": "unconscious, no relative"}
    for _ in range(3):
        ins, _ = stack.citizen()
        for _ in range(10):
            assert stack.call("POST", f"/v1/patients/{ins}/emergency-access", doctor, json=body).status_code == 201
    ins, patient = stack.citizen()
    before = actions(stack, patient)
    assert_limited(stack.call("POST", f"/v1/patients/{ins}/emergency-access", doctor, json=body), hour=True)
    assert actions(stack, patient) == before
    assert [n for n in stack.call("GET", "/v1/me/notifications", patient).json()["items"]
            if n["kind"].startswith("access.emergency")] == []
    colleague = stack.professional(rpps="10000000073", finess="130000004")
    assert stack.call("POST", f"/v1/patients/{ins}/emergency-access", colleague, json=body).status_code == 201


def test_the_sixth_export_of_the_day_is_a_429_and_starts_nothing(stack: Stack) -> None:
    """Given a holder who asked five exports today (each built before the next), when they ask a sixth, then 429:
    the status still shows the fifth, and no build is queued."""
    _, holder = stack.citizen()
    pump = QueuePump(client("sqs", config.REGION), config.EXPORT_QUEUE, on_export, retry_delay_seconds=0)
    for _ in range(5):
        assert stack.call("POST", "/v1/me/export", holder).status_code == 202
        pump.drain()
    fifth = stack.call("GET", "/v1/me/export", holder).json()
    assert fifth["available"] and not fifth["in_progress"]
    assert_limited(stack.call("POST", "/v1/me/export", holder), hour=False)
    assert pump.poll_once() == 0  # no build queued
    assert stack.call("GET", "/v1/me/export", holder).json() == fifth
    assert actions(stack, holder).count("export.requested") == 5


def test_the_sixth_closure_or_reopening_of_the_day_is_a_429_and_the_space_stays_as_it_is(stack: Stack) -> None:
    """Given a holder who closed and reopened their space five times today (close, reopen, close, reopen,
    close), when they reopen, then 429: the space stays closed, no sixth trace."""
    from functions import deps

    ins, holder = stack.citizen()
    for path in ("/v1/me/closure", "/v1/me/reopening") * 2 + ("/v1/me/closure",):
        assert stack.call("POST", path, holder, json={} if path.endswith("closure") else None).status_code == 200
    before = deps.journal().head(ins)
    assert_limited(stack.call("POST", "/v1/me/reopening", holder), hour=False)
    assert stack.call("GET", "/v1/me/documents", holder).json()["error"]["code"] == "space_closed"
    assert deps.spaces().get(ins).status.value == "closed"  # type: ignore[union-attr]
    assert deps.journal().head(ins) == before
