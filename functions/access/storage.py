"""The access adapter: the patient's access facts live in their ledger partition, read and written through the
patient journal (which owns the table); the space condition and notifications are staged by their owners."""

from __future__ import annotations

from functions.access.ledger import facts_of, profile_from
from functions.access.models import AccessProfile
from functions.access.ports import ControlWrite
from functions.accounts.ports import SpaceDirectory
from functions.journal.models import ChainHead
from functions.journal.ports import Entry, PatientJournal, Refused
from functions.notifications.ports import InAppNotifications
from functions.shared import quota
from functions.shared.clock import Clock, SystemClock
from functions.shared.errors import NotFound
from functions.shared.quota import QuotaLedger


class JournalControlStore:
    """`ControlStore` on the patient journal: one Query reads profile and head, one transaction writes."""

    def __init__(self, journal: PatientJournal, spaces: SpaceDirectory, notifications: InAppNotifications,
                 quotas: QuotaLedger | None = None, clock: Clock | None = None) -> None:
        """`quotas`: where a change's rate limit is counted (none: not counted, the unit tests' fakes)."""
        self._journal = journal
        self._spaces = spaces
        self._notifications = notifications
        self._quotas = quotas
        self._clock = clock or SystemClock()

    def profile(self, patient_ins: str) -> AccessProfile:
        return profile_from(self._journal.ledger(patient_ins))

    def head(self, patient_ins: str) -> ChainHead:
        return self._journal.head(patient_ins)

    def write(self, patient_ins: str, change: ControlWrite, head: ChainHead | None = None,
              retry: bool = True) -> None:
        puts, forgets = facts_of(change.changes)
        staged = [self._spaces.open_condition(patient_ins)] if change.needs_open_space else []
        staged += self._notifications.staged(change.notifications, once=False)  # as access always wrote them
        now = self._clock.now()
        if change.quota is not None:
            staged += quota.counted(self._quotas, change.quota, now)
        entry = Entry(patient_ins, traces=change.traces, staged=staged, facts=puts, forget=forgets,
                      withheld=change.withheld, guard=True)
        try:
            self._journal.record(entry, head, retry)
        except Refused as exc:
            if "space" in exc.failed:
                raise NotFound("patient") from exc
            if change.quota is not None:
                quota.over_quota(exc.failed, change.quota, now)
            raise
