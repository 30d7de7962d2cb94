"""Rate limits of the sensitive flows (security-tests.md: consent changes, emergency access, export and closure are
traced, notified and rate-limited). Storage-free: the counter is one more item of the action's own transaction
(`QuotaLedger.staged`, on the idempotency table, functions/shared/idempotency_store.py), so an action over its
limit is refused by the same commit that would have written it: 429, nothing written, no extra round trip.

Fixed windows: the window's start is in the counter's key, so a new window starts from zero and an old counter
only waits for its TTL. The subject is pseudonymised by the adapter (a key reaches CloudTrail in clear)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from functions.shared.clock import PARIS
from functions.shared.errors import TooManyRequests
from functions.shared.staging import Staged

LABEL = "quota"  # the staged write's label: `Refused.failed` holds it when the limit is reached


@dataclass(frozen=True)
class Quota:
    """At most `limit` actions of `flow` by `subject` in each fixed window of `window`. `kind` says what the
    subject is (`ins`, `rpps`) for its pseudonym; `owner`, the space whose erasure takes the counter with it."""

    flow: str
    kind: str
    subject: str
    limit: int
    window: timedelta
    owner: str | None = None

    def window_start(self, now: datetime) -> int:
        seconds = int(self.window.total_seconds())
        return int(now.timestamp()) // seconds * seconds

    def window_end(self, now: datetime) -> int:
        return self.window_start(now) + int(self.window.total_seconds())

    def retry_after(self, now: datetime) -> int:
        """Seconds until the next window opens (at least one)."""
        return max(1, self.window_end(now) - int(now.timestamp()))


class QuotaLedger(Protocol):
    def staged(self, quota: Quota, now: datetime) -> Staged:
        """One more action in `quota`'s current window, conditional on the window holding fewer than `limit`:
        refused under the label `quota` otherwise (the whole transaction with it)."""
        ...


def counted(ledger: QuotaLedger | None, quota: Quota, now: datetime) -> list[Staged]:
    """The counter's write to join an action's transaction (none without a ledger: unit tests' fakes)."""
    return [] if ledger is None else [ledger.staged(quota, now)]


def over_quota(failed: set[str], quota: Quota, now: datetime) -> None:
    """Raise OverQuota if the transaction was refused by the counter (`Refused.failed` holds its label)."""
    if LABEL in failed:
        raise OverQuota(quota, now)


class OverQuota(TooManyRequests):
    """The flow's limit is reached for this window; `retry_after` seconds until the next one."""

    code = "too_many_requests"

    def __init__(self, quota: Quota, now: datetime) -> None:
        self.retry_after = quota.retry_after(now)
        until = datetime.fromtimestamp(quota.window_end(now), PARIS).strftime("%H:%M")
        super().__init__(f"Trop de demandes de ce type : réessayez après {until} (heure de Paris).")


HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def consent_changes(space: str) -> Quota:
    """The holder's access controls (care team, blocks, administrator, settings): 30 changes an hour, far above a
    person's use of the screens, low enough that a stolen session cannot churn them."""
    return Quota("consent", "ins", space, 30, HOUR, owner=space)


def emergency_requests(rpps: str) -> Quota:
    """A professional's emergency accesses (granted or refused), every patient together: 30 an hour, above a SAMU
    regulator's calls in a busy hour; a professional going through records in bulk is stopped."""
    return Quota("emergency", "rpps", rpps, 30, HOUR)


def export_requests(space: str) -> Quota:
    """The holder's exports: 5 a day (one at a time besides: `export_running`); each builds three archives."""
    return Quota("export", "ins", space, 5, DAY, owner=space)


def lifecycle_changes(space: str) -> Quota:
    """Closing, asking the deletion and reopening: 5 a day together (each sends an e-mail and moves the space)."""
    return Quota("lifecycle", "ins", space, 5, DAY, owner=space)
