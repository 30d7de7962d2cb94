"""The patient journal's ports (`PatientJournal`, `TraceReader`) over the fake and the DynamoDB adapter: the chain
and its head, a moved head (ChainMoved, or a retry on the fresh head), refused staged writes, ledger facts,
withheld chains, and the holder's listing with its cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest

from functions.accounts.models import Space, SpaceStatus
from functions.accounts.ports import SpaceDirectory
from functions.journal.models import Actor, ChainHead, Trace, TraceAction, verify_chain
from functions.journal.ports import ChainMoved, Entry, Fact, PatientJournal, Refused, TraceReader
from functions.notifications.models import Notification
from functions.notifications.ports import InAppNotifications
from tests.contract.conftest import new_ins
from tests.unit.fakes import FakeJournal, FakeNotificationStore, FakeSpaceDirectory

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)
DOC = "doc_" + "7" * 26


class Journal(PatientJournal, TraceReader, Protocol):
    """Both sides of the chain, as the tests read back what they wrote."""


class Owners:
    """The journal with the owners whose staged writes it commits (spaces' condition, notifications)."""

    def __init__(self, journal: Journal, spaces: SpaceDirectory, notes: InAppNotifications) -> None:
        self.journal, self.spaces, self.notes = journal, spaces, notes


@pytest.fixture
def owners(side: str) -> Owners:
    if side == "fake":
        return Owners(FakeJournal(), FakeSpaceDirectory(), FakeNotificationStore())
    from functions.accounts.storage import DynamoSpaceStore
    from functions.journal.storage import DynamoJournal, DynamoTraceReader
    from functions.notifications.storage import DynamoNotificationStore

    class Both(DynamoJournal, DynamoTraceReader):
        pass

    return Owners(Both(), DynamoSpaceStore(), DynamoNotificationStore())


def trace(ins: str, n: int = 0, document_id: str | None = None) -> Trace:
    return Trace.new(ins, T0 + timedelta(seconds=n), Actor.system("contract"), TraceAction.DOCUMENT_READ,
                     document_id)


def test_traces_chain_on_the_head_and_list_newest_first_page_by_page(owners: Owners) -> None:
    j, ins = owners.journal, new_ins()
    for n in range(3):
        j.record(Entry(ins, traces=[trace(ins, 2 * n), trace(ins, 2 * n + 1)]))
    everything = list(j.all(ins))
    assert [t.seq for t in everything] == [1, 2, 3, 4, 5, 6] and verify_chain(everything) == []
    assert j.head(ins) == ChainHead(seq=6, hash=everything[-1].hash) == j.ledger(ins).head
    seen: list[int] = []
    after = None
    for _ in range(10):
        page, after = j.list(ins, after, 4)
        assert len(page) <= 4
        seen += [t.seq for t in page]
        if after is None:
            break
        assert j.is_position(after)
    assert seen == [6, 5, 4, 3, 2, 1]
    assert j.list(new_ins(), None, 20) == ([], None)


def test_a_moved_head_is_chain_moved_without_retry_and_nothing_is_written(owners: Owners) -> None:
    j, ins = owners.journal, new_ins()
    j.record(Entry(ins, traces=[trace(ins)]))
    stale = ChainHead()
    with pytest.raises(ChainMoved):
        j.record(Entry(ins, traces=[trace(ins, 1)], facts=[Fact("CARE", "10000000001", "{}")]), stale,
                 retry=False)
    assert [t.seq for t in j.all(ins)] == [1] and j.ledger(ins).facts == ()


def test_a_moved_head_with_retry_commits_on_the_fresh_head(owners: Owners) -> None:
    j, ins = owners.journal, new_ins()
    j.record(Entry(ins, traces=[trace(ins)]))
    j.record(Entry(ins, traces=[trace(ins, 1)]), ChainHead(), retry=True)
    assert [t.seq for t in j.all(ins)] == [1, 2] and verify_chain(list(j.all(ins))) == []


def test_an_entry_without_traces_does_not_wait_for_the_head(owners: Owners) -> None:
    j, ins = owners.journal, new_ins()
    j.record(Entry(ins, traces=[trace(ins)]))
    j.record(Entry(ins, facts=[Fact("SETTINGS", "", "on")]), ChainHead(), retry=False)
    assert j.ledger(ins).facts == (Fact("SETTINGS", "", "on"),)


def test_a_refused_staged_write_writes_nothing_and_names_its_label(owners: Owners) -> None:
    """Given a patient with no space, an entry conditioned on an open space is Refused({"space"}): no trace, no
    head move, no fact, no notification."""
    j, ins = owners.journal, new_ins()
    note = Notification.for_first_access(ins, "10000000001", T0)
    entry = Entry(ins, traces=[trace(ins)], staged=[owners.spaces.open_condition(ins),
                                                    *owners.notes.staged([note], once=False)],
                  facts=[Fact("CARE", "10000000001", "{}")])
    with pytest.raises(Refused) as refused:
        j.record(entry)
    assert refused.value.failed == {"space"}
    assert (list(j.all(ins)), j.head(ins), j.ledger(ins).facts) == ([], ChainHead(), ())
    assert owners.notes.list(ins, None, 20) == ([], None)

    owners.spaces.open(Space(ins=ins, status=SpaceStatus.OPEN, created_at=T0))
    j.record(entry)
    assert [t.seq for t in j.all(ins)] == [1]
    assert [n.notification_id for n in owners.notes.list(ins, None, 20)[0]] == [note.notification_id]


def test_facts_are_written_and_forgotten_in_key_order(owners: Owners) -> None:
    j, ins = owners.journal, new_ins()
    j.record(Entry(ins, facts=[Fact("GRANT", "10000000009", "b"), Fact("CARE", "10000000001", "a"),
                               Fact("SETTINGS", "", "s"), Fact("CARE", "10000000002", "c")]))
    assert j.ledger(ins).facts == (Fact("CARE", "10000000001", "a"), Fact("CARE", "10000000002", "c"),
                                   Fact("GRANT", "10000000009", "b"), Fact("SETTINGS", "", "s"))
    j.record(Entry(ins, forget=[Fact("CARE", "10000000001"), Fact("BLOCK", "nobody")],
                   facts=[Fact("CARE", "10000000002", "c2")]))
    assert j.ledger(ins).facts == (Fact("CARE", "10000000002", "c2"), Fact("GRANT", "10000000009", "b"),
                                   Fact("SETTINGS", "", "s"))


def test_withheld_traces_go_to_their_own_chain_and_never_show(owners: Owners) -> None:
    j, ins = owners.journal, new_ins()
    j.record(Entry(ins, traces=[trace(ins)]))
    main = j.head(ins)
    j.record(Entry(ins, traces=[trace(ins, 1, DOC), trace(ins, 2, DOC), trace(ins, 3)],
                   withheld={DOC: ChainHead()}))
    ledger = j.ledger(ins)
    assert ledger.withheld[DOC].seq == 2
    assert [t.seq for t in j.all(ins)] == [1, 2] and ledger.head.seq == 2 and main.seq == 1
    assert all(t.document_id != DOC for t in j.list(ins, None, 20)[0])
    with pytest.raises(ChainMoved):  # the withheld chain moved since ChainHead() was read
        j.record(Entry(ins, traces=[trace(ins, 4, DOC)], withheld={DOC: ChainHead()}), retry=False)
    j.record(Entry(ins, traces=[trace(ins, 4, DOC)], withheld={DOC: ledger.withheld[DOC]}), retry=False)
    assert j.ledger(ins).withheld[DOC].seq == 3 and j.head(ins).seq == 2


def test_a_guarded_withheld_entry_needs_the_main_head_as_read(owners: Owners) -> None:
    j, ins = owners.journal, new_ins()
    j.record(Entry(ins, traces=[trace(ins)]))
    unguarded = Entry(ins, traces=[trace(ins, 1, DOC)], withheld={DOC: ChainHead()})
    j.record(unguarded, ChainHead(), retry=False)  # no trace reaches the main chain: its head is not checked
    guarded = Entry(ins, traces=[trace(ins, 2, DOC)], withheld={DOC: j.ledger(ins).withheld[DOC]}, guard=True)
    with pytest.raises(ChainMoved):
        j.record(guarded, ChainHead(), retry=False)
    j.record(guarded, j.head(ins), retry=False)
    assert j.ledger(ins).withheld[DOC].seq == 2


def test_a_cursor_is_a_position_of_the_main_chain_only(owners: Owners) -> None:
    assert owners.journal.is_position("S#000000000001")
    assert not owners.journal.is_position(f"WTRACE#{DOC}#000000000001")


def test_a_commit_whose_answer_was_lost_is_applied_once_when_the_client_sends_it_again(aws: dict[str, str]) -> None:
    """A read timeout after DynamoDB applied a transaction: botocore sends the same request again (here forced by a
    retry decision on the first answer), with the ClientRequestToken it fills in itself, which makes the retry a
    no-op on DynamoDB. moto ignored the token: the retry failed its own conditions and the journal linked the same
    trace a second time on the head it had itself moved (local.moto_fidelity.transactions_idempotent_by_token)."""
    from functions.journal.storage import DynamoJournal, DynamoTraceReader
    from functions.shared.dynamo import connection

    class Both(DynamoJournal, DynamoTraceReader):
        pass

    j, ins = Both(), new_ins()
    lost: list[int] = []

    def lose_the_first_answer(attempts: int, operation: Any, response: Any = None, **_: Any) -> float | None:
        if operation.name == "TransactWriteItems" and response is not None and not lost:
            lost.append(attempts)
            return 0.0  # retry at once, as after a read timeout
        return None

    events = connection().client.meta.events
    events.register_first("needs-retry.dynamodb.TransactWriteItems", lose_the_first_answer, unique_id="lost")
    try:
        j.record(Entry(ins, traces=[trace(ins)], facts=[Fact("CARE", "10000000001", "{}")]))
    finally:
        events.unregister("needs-retry.dynamodb.TransactWriteItems", unique_id="lost")
    assert lost == [1]
    everything = list(j.all(ins))
    assert [t.seq for t in everything] == [1] and verify_chain(everything) == []
    assert j.head(ins) == ChainHead(seq=1, hash=everything[0].hash)
