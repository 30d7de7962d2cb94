"""access's `ControlStore` over the fake and the journal-backed adapter on DynamoDB: typed changes read back in
the profile, the open-space condition, a moved head (ChainMoved or a retry), withheld chains, notifications."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from functions.access.changes import Blocked, CareTeamAdded, Unblocked
from functions.access.models import CareTeamMember
from functions.access.ports import ControlStore, ControlWrite
from functions.accounts.models import Space, SpaceStatus
from functions.journal.models import Actor, ChainHead, Trace, TraceAction
from functions.journal.ports import ChainMoved
from functions.notifications.models import Notification
from functions.shared.errors import NotFound
from tests.contract.conftest import new_ins
from tests.unit.fakes import FakeControlStore

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)
DOC = "doc_" + "5" * 26
GP = "10000000001"


@dataclass
class Control:
    store: ControlStore
    open_space: Callable[[str], None]
    notified: Callable[[str], list[str]]  # notification ids of a recipient, newest first
    chain: Callable[[str], list[str]]  # the holder's trace actions, newest first


@pytest.fixture
def control(side: str) -> Control:
    if side == "fake":
        fake = FakeControlStore()
        fake.open_spaces = set()
        return Control(fake, fake.open_spaces.add,
                       lambda ins: [n.notification_id for n in reversed(fake.notifications) if n.recipient_ins == ins],
                       fake.actions)
    from functions import deps

    def open_space(ins: str) -> None:
        deps.spaces().open(Space(ins=ins, status=SpaceStatus.OPEN, created_at=T0))

    return Control(deps.control(), open_space,
                   lambda ins: [n.notification_id for n in deps.notifications().list(ins, None, 100)[0]],
                   lambda ins: [t.action.value for t in deps.traces().list(ins, None, 100)[0]])


def trace(ins: str, action: TraceAction = TraceAction.DOCUMENT_READ, document_id: str | None = None) -> Trace:
    return Trace.new(ins, T0, Actor.system("contract"), action, document_id)


def test_typed_changes_read_back_in_the_profile_with_the_head(control: Control) -> None:
    ins = new_ins()
    c = control.store
    c.write(ins, ControlWrite(traces=[trace(ins, TraceAction.CARE_TEAM_ADDED)],
                              changes=[CareTeamAdded(member=CareTeamMember(rpps=GP, since=T0)),
                                       Blocked(rpps="10000000009", at=T0)]))
    profile = c.profile(ins)
    assert set(profile.care_team) == {GP} and set(profile.blocked) == {"10000000009"}
    assert profile.head == c.head(ins) and profile.head.seq == 1
    c.write(ins, ControlWrite(traces=[trace(ins, TraceAction.PROFESSIONAL_UNBLOCKED)],
                              changes=[Unblocked(rpps="10000000009")]))
    assert c.profile(ins).blocked == {} and c.head(ins).seq == 2
    assert control.chain(ins) == ["professional.unblocked", "care_team.added"]


def test_a_change_needing_an_open_space_keeps_nothing_on_an_ins_without_one(control: Control) -> None:
    ins = new_ins()
    change = ControlWrite(traces=[trace(ins)], changes=[CareTeamAdded(member=CareTeamMember(rpps=GP, since=T0))],
                          notifications=[Notification.for_first_access(ins, GP, T0)], needs_open_space=True)
    with pytest.raises(NotFound):
        control.store.write(ins, change)
    assert (control.store.profile(ins).care_team, control.store.head(ins)) == ({}, ChainHead())
    assert control.notified(ins) == [] and control.chain(ins) == []
    control.open_space(ins)
    control.store.write(ins, change)
    assert set(control.store.profile(ins).care_team) == {GP}
    assert control.notified(ins) == [f"first-{GP}"]


def test_a_moved_head_is_chain_moved_when_the_caller_decides_again(control: Control) -> None:
    ins = new_ins()
    c = control.store
    read = c.head(ins)
    c.write(ins, ControlWrite(traces=[trace(ins, TraceAction.PROFESSIONAL_BLOCKED)],
                              changes=[Blocked(rpps=GP, at=T0)]))
    stale = ControlWrite(traces=[trace(ins)], changes=[CareTeamAdded(member=CareTeamMember(rpps=GP, since=T0))])
    with pytest.raises(ChainMoved):
        c.write(ins, stale, read, retry=False)
    assert c.profile(ins).care_team == {} and control.chain(ins) == ["professional.blocked"]
    c.write(ins, stale, read)  # retry: linked on the fresh head
    assert c.head(ins).seq == 2 and set(c.profile(ins).care_team) == {GP}


def test_withheld_traces_leave_the_main_chain_and_need_their_own_head(control: Control) -> None:
    ins = new_ins()
    c = control.store
    c.write(ins, ControlWrite(traces=[trace(ins)]))
    profile = c.profile(ins)
    c.write(ins, ControlWrite(traces=[trace(ins, document_id=DOC)], withheld={DOC: ChainHead()}), profile.head,
            retry=False)
    after = c.profile(ins)
    assert after.head == profile.head and after.withheld[DOC].seq == 1 and len(control.chain(ins)) == 1
    with pytest.raises(ChainMoved):  # the withheld chain moved since it was read (empty)
        c.write(ins, ControlWrite(traces=[trace(ins, document_id=DOC)], withheld={DOC: ChainHead()}),
                after.head, retry=False)
    with pytest.raises(ChainMoved):  # a block landed on the main chain: the guarded decision is stale
        c.write(ins, ControlWrite(traces=[trace(ins, document_id=DOC)], withheld={DOC: after.withheld[DOC]}),
                ChainHead(), retry=False)
    assert c.profile(ins).withheld[DOC].seq == 1
