"""The Idempotency-Key rule and what a record replays (functions/shared/idempotency.py), without storage."""

from __future__ import annotations

import pytest

from functions.shared import idempotency as idem
from functions.shared.errors import InvalidRequest


def test_a_key_is_scoped_to_caller_method_and_path_and_bound_to_the_body_not_its_spelling() -> None:
    base = idem.Claim.of("caller-a", "POST", "/v1/me/appointments", "key-00000001", {"a": 1, "b": [1, 2]})
    assert idem.Claim.of("caller-a", "post", "/v1/me/appointments", "key-00000001", {"b": [1, 2], "a": 1}) == base
    for other in (idem.Claim.of("caller-b", "POST", "/v1/me/appointments", "key-00000001", {"a": 1, "b": [1, 2]}),
                  idem.Claim.of("caller-a", "POST", "/v1/me/reminders", "key-00000001", {"a": 1, "b": [1, 2]}),
                  idem.Claim.of("caller-a", "POST", "/v1/me/appointments", "key-00000002", {"a": 1, "b": [1, 2]})):
        assert other.scope != base.scope
    assert idem.Claim.of("caller-a", "POST", "/v1/me/appointments", "key-00000001", {"a": 2}).request != base.request
    assert "caller-a" not in base.scope and "key-00000001" not in base.scope


# Fullwidth digits: Python's `\d` would take them (stack notes); the rule is ASCII only.
@pytest.mark.parametrize("key", ["", "short", "x" * 101, "with space", "\uff11" * 8])
def test_a_malformed_key_is_refused(key: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        idem.checked_key(key)
    assert refused.value.code == "invalid_idempotency_key"


def test_a_key_is_optional_unless_required() -> None:
    assert idem.checked_key(None) is None
    assert idem.checked_key("uuid-1234-abcd") == "uuid-1234-abcd"
    with pytest.raises(InvalidRequest) as refused:
        idem.checked_key(None, required=True)
    assert refused.value.code == "idempotency_key_required"


def test_a_record_replays_its_answer_refuses_another_body_and_waits_for_an_unanswered_first() -> None:
    claim = idem.Claim.of("c", "POST", "/p", "key-00000001", {"a": 1})
    answered = idem.FirstResponse(request=claim.request, status=201, body={"id": "x"})
    assert idem.replay(None, claim) is None
    assert idem.replay(answered, claim) == answered
    with pytest.raises(idem.KeyReused):
        idem.replay(idem.FirstResponse(request="another", status=201, body={}), claim)
    with pytest.raises(idem.KeyInProgress):
        idem.replay(idem.FirstResponse(request=claim.request), claim)


def test_a_waiting_claim_is_offered_to_transactions_until_one_commits() -> None:
    staged: list[object] = []
    assert idem.waiting() is None
    with idem.claimed(idem.Joining(stage=staged.append)) as joining:
        assert idem.waiting() is joining
        joining.committed = True
        assert idem.waiting() is None
    assert idem.waiting() is None
