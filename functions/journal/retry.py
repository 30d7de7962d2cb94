"""How writers of one patient's chain retry when its head moved: a bounded number of attempts with full jitter.
Storage-free, so services that decide again on fresh data (access, records) use the same loop as the journal."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from time import monotonic
from typing import TypeVar

from functions.journal.ports import Busy, ChainMoved

T = TypeVar("T")
MAX_ATTEMPTS = 48
BACKOFF_SECONDS = 0.01
MAX_BACKOFF_SECONDS = 0.5
BUDGET_SECONDS = 10.0  # well inside the gateway's 29 s: a burst of one holder's own requests all get through


def back_off(attempt: int) -> None:
    """Full jitter: concurrent writers of one patient's chain spread out instead of colliding again."""
    ceiling = min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2**attempt)
    time.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not security


def until_settled(attempt: Callable[[], T]) -> T:
    """Run `attempt` (which reads what it needs, decides and commits on the head it read) until no other writer
    moved the chain first: ChainMoved means back off and run it again on fresh data; Busy (503) after MAX_ATTEMPTS or
    BUDGET_SECONDS, whichever comes first. A time budget rather than a count alone: when the store is slow, each
    attempt takes longer and the burst of writers that collide lasts longer, so a fixed count gave up too early."""
    deadline = monotonic() + BUDGET_SECONDS
    for n in range(MAX_ATTEMPTS):
        try:
            return attempt()
        except ChainMoved:
            if monotonic() >= deadline:
                break
            back_off(n)
    raise Busy("too many simultaneous changes to this record; try again")
