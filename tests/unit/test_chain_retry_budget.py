"""How long a writer of a busy chain keeps trying: a burst of one holder's simultaneous requests on a slow store
(CI's two cores) collided more than twelve times and answered 503 to a plain read; the loop now gives up on time
(BUDGET_SECONDS), not after a fixed count, and still gives up."""

from __future__ import annotations

import pytest

from functions.journal import retry
from functions.journal.ports import Busy, ChainMoved


class SlowStore:
    """Each attempt takes `seconds` of the fake clock; the chain settles after `collisions` moves (None: never)."""

    def __init__(self, seconds: float, collisions: int | None) -> None:
        self.now, self.seconds, self.collisions, self.attempts = 0.0, seconds, collisions, 0

    def attempt(self) -> str:
        self.attempts += 1
        self.now += self.seconds
        if self.collisions is None or self.attempts <= self.collisions:
            raise ChainMoved
        return "committed"


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> SlowStore:
    slow = SlowStore(seconds=0.05, collisions=20)
    monkeypatch.setattr(retry, "monotonic", lambda: slow.now)
    monkeypatch.setattr(retry, "back_off", lambda attempt: setattr(slow, "now", slow.now + 0.1))
    return slow


def test_a_write_that_collides_twenty_times_within_the_budget_commits(store: SlowStore) -> None:
    assert retry.until_settled(store.attempt) == "committed"  # twelve attempts answered 503 here
    assert store.attempts == 21


def test_a_chain_that_never_settles_answers_busy_once_the_budget_is_spent(store: SlowStore) -> None:
    store.collisions = None
    with pytest.raises(Busy):
        retry.until_settled(store.attempt)
    assert store.now <= retry.BUDGET_SECONDS + store.seconds + 0.1  # no attempt started after the deadline


def test_a_slow_store_is_bounded_by_time_before_the_count(store: SlowStore) -> None:
    store.collisions, store.seconds = None, 1.0
    with pytest.raises(Busy):
        retry.until_settled(store.attempt)
    assert store.attempts < retry.MAX_ATTEMPTS and store.now <= retry.BUDGET_SECONDS + 1.1
