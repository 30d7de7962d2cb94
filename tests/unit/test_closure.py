"""Closure, deletion request and reopening (issue 12 points 4 and 6; mes-rules-next.md B.1, B.4, B.7), on the
service with in-memory stores: what the holder can do to their space, what a caregiver or a stale sign-in
cannot, and that each change lands with its trace or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from functions.accounts import closure
from functions.accounts.closure import ClosureDeps
from functions.accounts.models import DeletionState, Space, SpaceStatus
from functions.identity.principal import Citizen
from functions.journal.models import TraceAction
from functions.journal.ports import Entry, Refused
from functions.shared.clock import FixedClock
from functions.shared.errors import Conflict, Forbidden, ReauthenticationRequired
from tests.unit.fakes import FakeTransaction

INS = "284067512345688"
CAREGIVER = Citizen(ins="190017512345677", auth_time=0)
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class _Write:
    store: FakeSpaces
    space: Space
    previous: Space

    def stage(self, tx: Any) -> None:
        stored = self.store.spaces[self.space.ins]
        if (stored.status, stored.deletion) != (self.previous.status, self.previous.deletion):
            raise Refused({"space"})
        self.store.spaces[self.space.ins] = self.space


@dataclass
class FakeSpaces:
    spaces: dict[str, Space] = field(default_factory=dict)

    def get(self, ins: str) -> Space | None:
        return self.spaces.get(ins)

    def lifecycle_write(self, space: Space, previous: Space) -> _Write:
        return _Write(self, space, previous)


@dataclass
class FakeJournal:
    """Commits an entry's staged writes and traces together: a refused write leaves no trace."""

    actions: list[TraceAction] = field(default_factory=list)
    reasons: list[str | None] = field(default_factory=list)

    def record(self, entry: Entry, head: Any = None, retry: bool = True) -> None:
        for staged in entry.staged:
            staged.stage(FakeTransaction())
        self.actions.extend(t.action for t in entry.traces)
        self.reasons.extend(t.reason for t in entry.traces)


@dataclass
class FakeQueue:
    asked: list[str] = field(default_factory=list)

    def request_erasure(self, ins: str) -> None:
        self.asked.append(ins)


@dataclass
class World:
    spaces: FakeSpaces
    journal: FakeJournal
    queue: FakeQueue
    deps: ClosureDeps

    @property
    def space(self) -> Space:
        return self.spaces.spaces[INS]


def world(status: SpaceStatus = SpaceStatus.OPEN, delay_days: int = 0, **fields: Any) -> World:
    spaces = FakeSpaces({INS: Space(ins=INS, status=status, created_at=NOW - timedelta(days=400), **fields)})
    journal, queue = FakeJournal(), FakeQueue()
    deps = ClosureDeps(directory=spaces, lifecycle=spaces, journal=journal, clock=FixedClock(NOW),  # type: ignore[arg-type]
                       fresh_auth_seconds=300, deletion_delay=timedelta(days=delay_days), erasures=queue)
    return World(spaces, journal, queue, deps)


def holder(signed_in_ago: int | None = 60) -> Citizen:
    return Citizen(ins=INS, auth_time=None if signed_in_ago is None else int(NOW.timestamp()) - signed_in_ago)


def test_closing_archives_the_space_for_ten_years_and_traces_it() -> None:
    w = world()
    closed = closure.close_space(w.deps, holder(), INS, delete_data=False)
    assert (closed.status, closed.closed_at, closed.archive_until) == (SpaceStatus.CLOSED, NOW, date(2036, 12, 1))
    assert closed.deletion is None and w.space == closed
    assert w.journal.actions == [TraceAction.SPACE_CLOSED] and w.queue.asked == []


def test_closing_with_delete_data_asks_the_erasure_at_once_by_default() -> None:
    w = world()
    closed = closure.close_space(w.deps, holder(), INS, delete_data=True)
    assert (closed.deletion, closed.deletion_due) == (DeletionState.REQUESTED, date(2026, 12, 1))
    assert w.journal.actions == [TraceAction.SPACE_CLOSED, TraceAction.SPACE_DELETION_REQUESTED]
    assert w.queue.asked == [INS]


def test_a_configured_delay_postpones_the_erasure_to_the_daily_job_within_three_months() -> None:
    later = closure.close_space(world(delay_days=30).deps, holder(), INS, delete_data=True)
    assert later.deletion_due == date(2026, 12, 31)
    w = world(delay_days=30)
    closure.close_space(w.deps, holder(), INS, delete_data=True)
    assert w.queue.asked == []  # not due today: the daily job takes it on its day


def test_deletion_asked_after_closure_and_asked_again_writes_once() -> None:
    w = world()
    closure.close_space(w.deps, holder(), INS, delete_data=False)
    first = closure.ask_deletion(w.deps, holder(), INS)
    again = closure.ask_deletion(w.deps, holder(), INS)
    assert first == again and first.deletion is DeletionState.REQUESTED
    assert w.journal.actions == [TraceAction.SPACE_CLOSED, TraceAction.SPACE_DELETION_REQUESTED]


def test_deletion_of_an_open_space_is_refused_close_it_first() -> None:
    with pytest.raises(Conflict) as refused:
        closure.ask_deletion(world().deps, holder(), INS)
    assert refused.value.code == "space_not_closed"


def test_reopening_restores_the_space_and_cancels_a_requested_deletion() -> None:
    w = world()
    closure.close_space(w.deps, holder(), INS, delete_data=True)
    reopened = closure.reopen_space(w.deps, holder(), INS)
    assert reopened.status is SpaceStatus.OPEN
    assert (reopened.closed_at, reopened.archive_until, reopened.deletion, reopened.deletion_due) == (None,) * 4
    assert w.journal.actions[-1] is TraceAction.SPACE_REOPENED and w.journal.reasons[-1] == "deletion_cancelled"


def test_a_running_deletion_refuses_the_reopening_and_says_the_holder_will_be_told() -> None:
    w = world(SpaceStatus.CLOSED, closed_at=NOW, archive_until=date(2036, 12, 1), deletion=DeletionState.RUNNING,
              deletion_due=date(2026, 12, 1))
    with pytest.raises(Conflict) as refused:
        closure.reopen_space(w.deps, holder(), INS)
    assert refused.value.code == "deletion_running"
    assert "une notification vous sera envoyée" in refused.value.message
    assert w.space.status is SpaceStatus.CLOSED and w.journal.actions == []


def test_reopening_an_open_space_or_after_the_archive_is_refused() -> None:
    with pytest.raises(Conflict) as not_closed:
        closure.reopen_space(world().deps, holder(), INS)
    assert not_closed.value.code == "space_not_closed"
    expired = world(SpaceStatus.CLOSED, closed_at=NOW, archive_until=date(2026, 12, 1))
    with pytest.raises(Conflict) as late:
        closure.reopen_space(expired.deps, holder(), INS)
    assert late.value.code == "archive_expired"


def test_closing_twice_is_a_conflict_not_a_second_trace() -> None:
    w = world()
    closure.close_space(w.deps, holder(), INS, delete_data=False)
    with pytest.raises(Conflict) as again:
        closure.close_space(w.deps, holder(), INS, delete_data=True)
    assert again.value.code == "already_closed" and w.journal.actions == [TraceAction.SPACE_CLOSED]


@pytest.mark.parametrize("act", [
    lambda d: closure.close_space(d, CAREGIVER, INS, delete_data=True),
    lambda d: closure.ask_deletion(d, CAREGIVER, INS),
    lambda d: closure.reopen_space(d, CAREGIVER, INS),
], ids=["close", "delete", "reopen"])
def test_a_caregiver_acting_on_the_space_may_not_close_delete_or_reopen_it(act: Any) -> None:
    w = world()
    with pytest.raises(Forbidden) as refused:
        act(w.deps)
    assert refused.value.code == "holder_only" and w.space.status is SpaceStatus.OPEN and w.journal.actions == []


@pytest.mark.parametrize("ago", [301, 3600, None, -120], ids=["just-too-old", "an-hour", "no-auth-time", "future"])
def test_closing_or_deleting_needs_a_sign_in_of_the_last_five_minutes(ago: int | None) -> None:
    w = world()
    with pytest.raises(ReauthenticationRequired) as refused:
        closure.close_space(w.deps, holder(ago), INS, delete_data=True)
    assert refused.value.code == "reauthentication_required" and refused.value.max_age == 300
    assert w.space.status is SpaceStatus.OPEN and w.journal.actions == []
    closed = world(SpaceStatus.CLOSED, closed_at=NOW, archive_until=date(2036, 12, 1))
    with pytest.raises(ReauthenticationRequired):
        closure.ask_deletion(closed.deps, holder(ago), INS)


def test_a_concurrent_change_refuses_the_write_and_leaves_no_trace() -> None:
    w = world()
    stale = w.space
    w.spaces.spaces[INS] = stale.model_copy(update={"status": SpaceStatus.CLOSED})  # closed by another request
    w.spaces.get = lambda ins: stale  # type: ignore[method-assign]  # this one read it open
    with pytest.raises(Conflict) as refused:
        closure.close_space(w.deps, holder(), INS, delete_data=False)
    assert refused.value.code == "space_changed" and w.journal.actions == []


@dataclass
class FakeMailer:
    sent: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    fail: bool = False

    def send(self, emails: list[Any]) -> int:
        if self.fail:
            raise RuntimeError("SES is down")
        self.sent.extend((e.address, e.data) for e in emails)
        return 0


def mailed(**fields: Any) -> tuple[World, FakeMailer]:
    w = world(email="camille@example.org", **fields)
    mailer = FakeMailer()
    w.deps = ClosureDeps(**{**w.deps.__dict__, "mailer": mailer})
    return w, mailer


def test_the_holder_is_told_of_each_change_by_e_mail_once() -> None:
    w, mailer = mailed()
    closure.close_space(w.deps, holder(), INS, delete_data=False)
    closure.ask_deletion(w.deps, holder(), INS)
    closure.ask_deletion(w.deps, holder(), INS)  # asked again: nothing changes, nothing sent
    closure.reopen_space(w.deps, holder(), INS)
    subjects = [data["subject"] for _, data in mailer.sent]
    assert subjects == ["votre profil a été clôturé", "votre profil a été clôturé avec une demande de suppression "
                        "des données", "votre profil a été réactivé"]
    assert all(address == "camille@example.org" for address, _ in mailer.sent)
    assert "archivées jusqu'au 01/12/2036" in mailer.sent[0][1]["text"]
    assert "La demande de suppression des données est annulée." in mailer.sent[2][1]["text"]
    assert all(INS not in data["text"] for _, data in mailer.sent)


def test_a_notice_that_cannot_leave_does_not_undo_or_fail_the_change() -> None:
    w, mailer = mailed()
    mailer.fail = True
    closed = closure.close_space(w.deps, holder(), INS, delete_data=True)
    assert closed.status is SpaceStatus.CLOSED and w.space == closed and w.queue.asked == [INS]
