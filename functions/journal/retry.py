"""How writers of one patient's chain retry when its head moved: a bounded number of attempts with full jitter.
Storage-free, so services that decide again on fresh data (access, records) use the same loop bounds."""

from __future__ import annotations

import random
import time

MAX_ATTEMPTS = 12
BACKOFF_SECONDS = 0.01
MAX_BACKOFF_SECONDS = 0.4


def back_off(attempt: int) -> None:
    """Full jitter: concurrent writers of one patient's chain spread out instead of colliding again."""
    ceiling = min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2**attempt)
    time.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not security
