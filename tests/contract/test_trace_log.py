"""records' `TraceLog` (the journal's `record`, which records and audit call) over the fake the service tests
hand them (FakeControlStore) and the DynamoDB journal: the same head conditions as FakeJournal's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from functions.journal.models import Actor, ChainHead, Trace, TraceAction
from functions.journal.ports import ChainMoved, Entry
from functions.records.ports import TraceLog
from tests.contract.conftest import new_ins
from tests.unit.fakes import FakeControlStore

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)
DOC = "doc_" + "3" * 26


@dataclass
class Log:
    log: TraceLog
    head: Callable[[str], ChainHead]
    withheld: Callable[[str, str], ChainHead]
    seqs: Callable[[str], list[int]]  # the main chain, oldest first


@pytest.fixture
def log(side: str) -> Log:
    if side == "fake":
        fake = FakeControlStore()
        return Log(fake, fake.head, fake.withheld_head, lambda ins: [t.seq for t in fake.traces.get(ins, [])])
    from functions import deps

    return Log(deps.journal(), deps.journal().head,
               lambda ins, doc: deps.journal().ledger(ins).withheld.get(doc, ChainHead()),
               lambda ins: [t.seq for t in deps.traces().all(ins)])


def trace(ins: str, document_id: str | None = None) -> Trace:
    return Trace.new(ins, T0, Actor.system("contract"), TraceAction.DOCUMENT_READ, document_id)


def test_a_read_is_traced_on_the_head_it_was_read_with_or_decided_again(log: Log) -> None:
    ins = new_ins()
    log.log.record(Entry(ins, traces=[trace(ins)]), ChainHead())
    with pytest.raises(ChainMoved):
        log.log.record(Entry(ins, traces=[trace(ins)]), ChainHead(), retry=False)
    log.log.record(Entry(ins, traces=[trace(ins)]), ChainHead())  # retried on the fresh head
    assert log.seqs(ins) == [1, 2] and log.head(ins).seq == 2


def test_a_withheld_read_needs_its_chains_head_and_leaves_the_main_chain_alone(log: Log) -> None:
    ins = new_ins()
    log.log.record(Entry(ins, traces=[trace(ins, DOC)], withheld={DOC: ChainHead()}), retry=False)
    assert (log.seqs(ins), log.withheld(ins, DOC).seq) == ([], 1)
    with pytest.raises(ChainMoved):
        log.log.record(Entry(ins, traces=[trace(ins, DOC)], withheld={DOC: ChainHead()}), retry=False)
    log.log.record(Entry(ins, traces=[trace(ins)]))
    guarded = Entry(ins, traces=[trace(ins, DOC)], withheld={DOC: log.withheld(ins, DOC)}, guard=True)
    with pytest.raises(ChainMoved):
        log.log.record(guarded, ChainHead(), retry=False)
    log.log.record(guarded, log.head(ins), retry=False)
    assert log.withheld(ins, DOC).seq == 2 and log.seqs(ins) == [1]


def test_simultaneous_writers_of_one_chain_in_one_process_take_turns(log: Log, side: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """24 threads trace reads of one patient at once: every trace lands, in one unbroken chain, and no writer had
    to back off (before they took turns, they collided on the head, and under CI's load some spent their whole
    retry budget: `503 busy` to a plain document list)."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    if side == "fake":
        pytest.skip("the fake journal is single-threaded: taking turns is the DynamoDB journal's")
    backed_off: list[int] = []
    monkeypatch.setattr("functions.journal.retry.back_off", lambda attempt: backed_off.append(attempt))
    ins = new_ins()
    start = Barrier(24, timeout=10)

    def one(_: int) -> None:
        start.wait()
        log.log.record(Entry(ins, traces=[trace(ins)]))

    with ThreadPoolExecutor(max_workers=24) as pool:
        list(pool.map(one, range(24), timeout=120))
    assert log.seqs(ins) == list(range(1, 25)) and backed_off == []
