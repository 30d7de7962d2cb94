"""The patient journal's adapter: it owns the traces table and the patient's ledger partition (table `access`).

Decision: the chain head stays in the same partition as the access control facts, because a professional's request
reads "profile + head" in ONE Query (3 calls per professional get). So the journal owns that table as the patient's
**ledger partition**: the chain head item (`HEAD`), the heads of withheld chains (`WHEAD#<document>`), and opaque
facts capabilities keep there through the journal port (`<namespace>#<key>` -> `body`; access owns their meaning).
The journal owns the item model (`LedgerItem`) and is the only writer of both tables.

Traces table: partition = patient, sort = chain sequence number (`S#<seq>`), so the holder's newest-first listing
and the full export are Queries. Entries withheld from the holder (about an INVISIBLE_PATIENT document not yet
released) sit in the same partition under `WTRACE#<document>#<seq>`, outside the `S#` range listing and export read.

A journal entry is the writes of one action and their traces, committed in one transaction that also moves the
patient's chain head with a conditional write, so concurrent actions can never fork the chain. Withheld chains: a
trace naming a document its patient may not know of yet goes, when the caller says so (`withhold`), into that
document's own chain, with a head moved by the same kind of conditional write; the main head does not move, so
nothing the patient reads changes. At the release, `merge` re-links the withheld entries into the main chain
(original time, actor, action and reason; new `seq`, `prev_hash`, `hash`) in the release's own transaction, as many
as fit, and `finish_merge` moves the rest."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from functions.journal.models import Actor, ChainHead, Trace, TraceAction, link, verify_chain
from functions.journal.ports import Attempt, Busy, ChainMoved, Entry, Fact, Ledger, Refused
from functions.journal.retry import BUDGET_SECONDS, MAX_ATTEMPTS, back_off, until_settled
from functions.shared.dynamo import Transaction, TransactionCancelled, batch_get_many, get_together, newest_first
from functions.shared.observability import logger

T = TypeVar("T")
MAX_ITEMS = 100  # DynamoDB's limit of items per TransactWriteItems
HEAD = "HEAD"
WITHHELD_HEAD = "WHEAD#"  # head of the withheld trace chain of an INVISIBLE_PATIENT document
MAIN = "S#"
WITHHELD = "WTRACE#"


def trace_key(seq: int) -> str:
    return f"{MAIN}{seq:012d}"


def withheld_key(document_id: str, seq: int) -> str:
    return f"{WITHHELD}{document_id}#{seq:012d}"


def fact_key(fact: Fact) -> str:
    """The sort key of a ledger fact: `<namespace>#<key>`, or the namespace alone for a single fact."""
    return f"{fact.namespace}#{fact.key}" if fact.key else fact.namespace


class LedgerItem(Model):
    """The patient's ledger partition: partition = patient INS, sort = item kind. A fact's `body` is opaque; the
    chain heads use `seq`/`hash` so that their conditional update is a plain attribute comparison."""

    class Meta:
        table_name = "access"

    patient = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    body = UnicodeAttribute(null=True)
    seq = NumberAttribute(null=True)
    hash = UnicodeAttribute(null=True)

    @classmethod
    def of(cls, patient: str, fact: Fact) -> LedgerItem:
        return cls(patient, fact_key(fact), body=fact.body)

    @classmethod
    def head(cls, patient: str, head: ChainHead, document_id: str | None = None) -> LedgerItem:
        """The patient's chain head, or (`document_id`) the head of that document's withheld chain."""
        return cls(patient, WITHHELD_HEAD + document_id if document_id else HEAD, seq=head.seq, hash=head.hash)

    def chain_head(self) -> ChainHead:
        return ChainHead(seq=int(self.seq or 0), hash=self.hash or ChainHead().hash)


def ledger_from(patient_ins: str, items: list[LedgerItem]) -> Ledger:
    """Heads apart, every other item is a fact (`<namespace>#<key>`; a namespace without `#` is a single fact)."""
    head, withheld, facts = ChainHead(), {}, []
    for item in items:
        if item.sk == HEAD:
            head = item.chain_head()
        elif item.sk.startswith(WITHHELD_HEAD):
            withheld[item.sk.removeprefix(WITHHELD_HEAD)] = item.chain_head()
        else:
            namespace, _, key = item.sk.partition("#")
            facts.append(Fact(namespace, key, item.body or ""))
    return Ledger(patient_ins, head, withheld, tuple(facts))


class TraceItem(Model):
    class Meta:
        table_name = "traces"

    patient = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    trace_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    actor_kind = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    actor_organisation = UnicodeAttribute(null=True)
    actor_profession = UnicodeAttribute(null=True)
    actor_name = UnicodeAttribute(null=True)
    actor_author = UnicodeAttribute(null=True)
    actor_author_name = UnicodeAttribute(null=True)
    action = UnicodeAttribute()
    document_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    seq = NumberAttribute()
    prev_hash = UnicodeAttribute()
    hash = UnicodeAttribute()

    @classmethod
    def from_domain(cls, trace: Trace, withheld: bool = False) -> TraceItem:
        """`withheld`: an entry of its document's withheld chain (`seq`/`prev_hash`/`hash` are that chain's)."""
        assert not withheld or trace.document_id is not None
        return cls(
            trace.patient_ins,
            withheld_key(trace.document_id or "", trace.seq) if withheld else trace_key(trace.seq),
            trace_id=trace.trace_id,
            at=trace.at,
            actor_kind=trace.actor.kind,
            actor_id=trace.actor.id,
            actor_organisation=trace.actor.organisation,
            actor_profession=trace.actor.profession,
            actor_name=trace.actor.name,
            actor_author=trace.actor.author,
            actor_author_name=trace.actor.author_name,
            action=trace.action.value,
            document_id=trace.document_id,
            reason=trace.reason,
            seq=trace.seq,
            prev_hash=trace.prev_hash,
            hash=trace.hash,
        )

    def to_domain(self) -> Trace:
        return Trace(
            patient_ins=self.patient,
            trace_id=self.trace_id,
            at=self.at,
            actor=Actor(kind=self.actor_kind, id=self.actor_id,
                        organisation=self.actor_organisation, profession=self.actor_profession,
                        name=self.actor_name, author=self.actor_author, author_name=self.actor_author_name),
            action=TraceAction(self.action),
            document_id=self.document_id,
            reason=self.reason,
            seq=int(self.seq),
            prev_hash=self.prev_hash,
            hash=self.hash,
        )


def _at(head: ChainHead) -> Any:
    """The condition that a head item is still where it was read (or still absent)."""
    return (LedgerItem.seq == head.seq) if head.seq else LedgerItem.sk.does_not_exist()


class Journal(Transaction):
    """`guard`: commit only on the main head as read even when no trace goes to the main chain (a decision taken on
    the patient's profile, e.g. a professional's read of a withheld document, must not outlive a block)."""

    def __init__(self, patient_ins: str, head: ChainHead, guard: bool = False) -> None:
        super().__init__()
        self.patient_ins = patient_ins
        self.head = head
        self.guard = guard
        self.traces: list[Trace] = []
        self.withheld: dict[str, ChainHead] = {}
        self.withheld_traces: dict[str, list[Trace]] = {}
        self._merge: tuple[str, list[Trace], ChainHead] | None = None
        self.left: list[Trace] = []

    def withhold(self, document_id: str, head: ChainHead) -> None:
        """Traces naming this document go to its withheld chain, after `head` (its head as read)."""
        self.withheld[document_id] = head

    def trace(self, trace: Trace) -> None:
        if trace.document_id is not None and trace.document_id in self.withheld:
            self.withheld_traces.setdefault(trace.document_id, []).append(trace)
        else:
            self.traces.append(trace)

    def merge(self, document_id: str, entries: list[Trace], head: ChainHead) -> None:
        """Move a released document's withheld entries (oldest first, as stored, ending at `head`) into the main
        chain ahead of this journal's own traces, deleting them; as many as fit in the transaction, the others are
        `left` after the commit for `finish_merge`. The withheld head is deleted with the last entry and must not
        have moved meanwhile (an append that slipped in makes this commit fail and be redone)."""
        assert document_id not in self.withheld
        self._merge = (document_id, entries, head)

    def sketch(self) -> Journal:
        """An empty journal on the same heads and merge, to count what a commit with other writes would leave."""
        trial = Journal(self.patient_ins, self.head, self.guard)
        trial.withheld = dict(self.withheld)
        trial._merge = self._merge
        return trial

    def merge_leaves(self, reserve: int = 0) -> bool:
        """Whether the merge would leave entries for `finish_merge`, were `reserve` more writes staged."""
        return bool(self._planned_merge(reserve)[1])

    def _planned_merge(self, reserve: int = 0) -> tuple[list[Trace], list[Trace]]:
        if self._merge is None:
            return [], []
        _, entries, _ = self._merge
        fixed = len(self) + reserve + len(self.traces) + 2  # staged writes, own traces, main head, withheld head
        fixed += sum(len(traces) + 1 for traces in self.withheld_traces.values())
        room = max(0, (MAX_ITEMS - fixed) // 2)  # a merged entry is two items: its new link and its deletion
        return entries[:room], entries[room:]

    def commit(self) -> None:
        merged, left = self._planned_merge()
        linked, new_head = link(self.head, merged + self.traces)
        for entry in linked:
            self.put("trace", TraceItem.from_domain(entry), TraceItem.sk.does_not_exist())
        if linked:
            self.put("head", LedgerItem.head(self.patient_ins, new_head), condition=_at(self.head))
        elif self.guard and self.withheld_traces:
            self.check("head", LedgerItem, self.patient_ins, HEAD, _at(self.head))
        for document_id, traces in self.withheld_traces.items():
            start = self.withheld[document_id]
            entries, withheld_head = link(start, traces)
            for entry in entries:
                self.put("wtrace", TraceItem.from_domain(entry, withheld=True), TraceItem.sk.does_not_exist())
            self.put("whead", LedgerItem.head(self.patient_ins, withheld_head, document_id), _at(start))
        if self._merge is not None:
            document_id, entries, withheld_head = self._merge
            for entry in merged:
                self.delete("wtrace", TraceItem(self.patient_ins, withheld_key(document_id, entry.seq)),
                            TraceItem.sk.exists())
            if entries or withheld_head.seq:
                if left:
                    self.check("whead", LedgerItem, self.patient_ins, WITHHELD_HEAD + document_id,
                               _at(withheld_head))
                else:
                    self.delete("whead", LedgerItem(self.patient_ins, WITHHELD_HEAD + document_id),
                                _at(withheld_head))
        try:
            super().commit()
        except TransactionCancelled as exc:
            if exc.failed & {"head", "trace", "whead", "wtrace"}:
                raise ChainMoved from exc
            raise
        self.traces = linked[len(merged):]
        self.head = new_head
        self.left = left


# Writers of one chain inside one process take turns: a process serving many requests at once (the local gateway, a
# test's threads) would otherwise have them collide on the head and spend their retry budget on each other. Striped
# by INS (64 re-entrant locks, a nested journal of the same patient in the same thread is fine). A Lambda serves
# one request at a time, so there it never waits; writers in other processes still meet at the head's condition.
_STRIPES = tuple(threading.RLock() for _ in range(64))


@contextmanager
def _taking_turns(patient_ins: str) -> Generator[None, None, None]:
    lock = _STRIPES[zlib.crc32(patient_ins.encode()) % len(_STRIPES)]
    if not lock.acquire(timeout=BUDGET_SECONDS):
        raise Busy("too many simultaneous changes to this record; try again")
    try:
        yield
    finally:
        lock.release()


def with_journal(patient_ins: str, head: ChainHead | None, load_head: Callable[[str], ChainHead],
                 write: Callable[[Journal], T], guard: bool = False, retry: bool = True) -> T:
    """Run `write` (which fills and commits a journal) until it commits on the current head: `head` as given for
    the first attempt (None: read it), read again after a move. `retry=False`: that one attempt, ChainMoved if the
    head moved (a caller whose decision depends on what it read decides again)."""
    given = [head]

    def attempt() -> T:
        first = given.pop() if given else None
        with _taking_turns(patient_ins):
            return write(Journal(patient_ins, first if first is not None else load_head(patient_ins), guard))

    return until_settled(attempt) if retry else attempt()


def load_heads(patient_ins: str, document_id: str) -> tuple[ChainHead, ChainHead]:
    """The patient's chain head and the head of a document's withheld chain, in one round trip."""
    found = get_together((LedgerItem, patient_ins, HEAD), (LedgerItem, patient_ins, WITHHELD_HEAD + document_id))
    heads = [item.chain_head() if isinstance(item, LedgerItem) else ChainHead() for item in found]
    return heads[0], heads[1]


def finish_merge(patient_ins: str, document_id: str) -> int:
    """Merge what a release left of a document's withheld chain, one transaction at a time, each on the heads and
    entries as they are then: running it twice, or after a crash, finishes the job and never moves an entry
    twice. Only for a document its patient may see (it reveals the entries). Returns how many entries moved."""
    moved, failures = 0, 0
    while True:
        head, withheld_head = load_heads(patient_ins, document_id)
        entries = withheld_entries(patient_ins, document_id)
        if not entries and not withheld_head.seq:
            return moved
        if entries and verify_chain(entries, withheld_head, ChainHead(seq=entries[0].seq - 1,
                                                                       hash=entries[0].prev_hash)):
            logger.warning("withheld trace chain does not verify")
        journal = Journal(patient_ins, head)
        journal.merge(document_id, entries, withheld_head)
        try:
            journal.commit()
        except ChainMoved:
            failures += 1
            if failures >= MAX_ATTEMPTS:
                raise Busy("too many simultaneous changes to this record; try again") from None
            back_off(failures)
            continue
        failures = 0
        moved += len(entries) - len(journal.left)


def withheld_entries(patient_ins: str, document_id: str) -> list[Trace]:
    """A document's withheld chain as stored, oldest first (only what merging it at release needs to read)."""
    query = TraceItem.query(patient_ins, TraceItem.sk.startswith(f"{WITHHELD}{document_id}#"),
                            scan_index_forward=True, consistent_read=True)
    return [item.to_domain() for item in query]


def read_head(patient_ins: str) -> ChainHead:
    try:
        return LedgerItem.get(patient_ins, HEAD, consistent_read=True).chain_head()
    except LedgerItem.DoesNotExist:
        return ChainHead()


@dataclass(frozen=True)
class _HeadKeys:
    """The chain head item as keys for a caller's own TransactGetItems (`BatchLookup` shape)."""

    patient_ins: str

    def requested(self) -> list[tuple[Any, Any, Any]]:
        return [(LedgerItem, self.patient_ins, HEAD)]

    def parse(self, items: list[Any]) -> ChainHead:
        heads = [item.chain_head() for item in items if isinstance(item, LedgerItem) and item.sk == HEAD]
        return heads[0] if heads else ChainHead()


@dataclass(frozen=True)
class _Attempt:
    """`Attempt` on the journal being filled for it (the merge's room is counted on the real transaction)."""

    journal: Journal
    withheld_head: ChainHead
    entries: Sequence[Trace]

    def merge_leaves(self, entry: Entry, reserve: int = 0) -> bool:
        trial = self.journal.sketch()
        stage(trial, entry)
        return trial.merge_leaves(reserve)


class DynamoJournal:
    """`PatientJournal` and `DocumentJournal` on DynamoDB."""

    def head(self, patient_ins: str) -> ChainHead:
        return read_head(patient_ins)

    def ledger(self, patient_ins: str) -> Ledger:
        return ledger_from(patient_ins, list(LedgerItem.query(patient_ins, consistent_read=True)))

    def record(self, entry: Entry, head: ChainHead | None = None, retry: bool = True) -> None:
        def commit(journal: Journal) -> None:
            stage(journal, entry)
            try:
                journal.commit()
            except TransactionCancelled as exc:
                raise Refused(exc.failed) from exc

        with_journal(entry.patient_ins, head, read_head, commit, guard=entry.guard, retry=retry)

    def head_keys(self, patient_ins: str) -> _HeadKeys:
        return _HeadKeys(patient_ins)

    def commit(self, patient_ins: str, document_id: str, build: Callable[[Attempt], Entry], merge: bool = False,
               head: ChainHead | None = None, retry: bool = True) -> int:
        given = [head]

        def attempt() -> int:
            main, withheld_head = load_heads(patient_ins, document_id)
            first = given.pop() if given else None
            journal = Journal(patient_ins, first if first is not None else main)
            entries: list[Trace] = []
            if merge:
                entries = withheld_entries(patient_ins, document_id)
                journal.merge(document_id, entries, withheld_head)
            else:
                journal.withhold(document_id, withheld_head)
            entry = build(_Attempt(journal, withheld_head, tuple(entries)))
            stage(journal, entry)
            try:
                journal.commit()
            except TransactionCancelled as exc:
                raise Refused(exc.failed) from exc
            return len(journal.left)

        return until_settled(attempt) if retry else attempt()

    def finish_merge(self, patient_ins: str, document_id: str) -> int:
        return finish_merge(patient_ins, document_id)

    def record_all(self, entries: Sequence[Entry]) -> dict[str, set[str]]:
        """`BatchJournal`: the heads in BatchGetItem calls (100 keys each, eventually consistent: a stale head
        only fails its own entry, which is then recorded alone on a consistent read), then the entries packed
        into transactions of up to 100 items, each labelled by its position so a cancelled transaction says
        whose condition failed; the others are committed again without it."""
        patients = [e.patient_ins for e in entries]
        assert len(set(patients)) == len(patients), "one entry per patient"
        heads = batch_get_many([_HeadKeys(p) for p in patients])
        refused: dict[str, set[str]] = {}
        alone: list[Entry] = []
        batch: list[tuple[Entry, Transaction]] = []
        size = 0
        for entry, head in zip(entries, heads, strict=True):
            part = Transaction()
            _stage_plain(part, entry, head)
            if batch and size + len(part) > MAX_ITEMS:
                alone.extend(_commit_packed(batch, refused))
                batch, size = [], 0
            batch.append((entry, part))
            size += len(part)
        if batch:
            alone.extend(_commit_packed(batch, refused))
        for entry in alone:
            try:
                self.record(entry)
            except Refused as exc:
                refused[entry.patient_ins] = exc.failed
        return refused


def _stage_plain(tx: Transaction, entry: Entry, head: ChainHead) -> None:
    """An entry without withheld chains on its patient's head, labels prefixed by the patient (`<ins>|label`)."""
    assert not entry.withheld and not entry.guard, "bulk entries have no withheld chain"
    sink = tx.scoped(f"{entry.patient_ins}|")
    for staged in entry.staged:
        staged.stage(sink)
    for fact in entry.facts:
        sink.put("control", LedgerItem.of(entry.patient_ins, fact))
    for fact in entry.forget:
        sink.delete("control", LedgerItem(entry.patient_ins, fact_key(fact)))
    linked, new_head = link(head, entry.traces)
    for trace in linked:
        sink.put("trace", TraceItem.from_domain(trace), TraceItem.sk.does_not_exist())
    if linked:
        sink.put("head", LedgerItem.head(entry.patient_ins, new_head), condition=_at(head))


def _commit_packed(batch: list[tuple[Entry, Transaction]], refused: dict[str, set[str]]) -> list[Entry]:
    """Commit packed entries; an entry whose own condition failed is left out and the rest committed again.
    Returns the entries whose head had moved (to record alone)."""
    moved: list[Entry] = []
    pending = batch
    while pending:
        tx = Transaction()
        for _, part in pending:
            tx.absorb(part)
        try:
            tx.commit()
            return moved
        except TransactionCancelled as exc:
            failed: dict[str, set[str]] = {}
            for label in exc.failed:
                patient, _, own = label.partition("|")
                failed.setdefault(patient, set()).add(own)
            for entry, _ in pending:
                labels = failed.get(entry.patient_ins)
                if labels is None:
                    continue
                if labels & {"head", "trace"}:
                    moved.append(entry)
                else:
                    refused[entry.patient_ins] = labels
            pending = [(e, p) for e, p in pending if e.patient_ins not in failed]
    return moved


def stage(journal: Journal, entry: Entry) -> None:
    """An entry's writes on a journal (staged writes first, as the access adapter always put them)."""
    for staged in entry.staged:
        staged.stage(journal)
    for document_id, head in entry.withheld.items():
        journal.withhold(document_id, head)
    for fact in entry.facts:
        journal.put("control", LedgerItem.of(entry.patient_ins, fact))
    for fact in entry.forget:
        journal.delete("control", LedgerItem(entry.patient_ins, fact_key(fact)))
    for trace in entry.traces:
        journal.trace(trace)


class DynamoTraceReader:
    """`TraceReader` on the traces table."""

    def list(self, patient_ins: str, after: str | None, limit: int) -> tuple[list[Trace], str | None]:
        items, last = newest_first(TraceItem, patient_ins, after, limit, consistent_read=True,
                                   range_key_condition=TraceItem.sk.startswith(MAIN))
        return [item.to_domain() for item in items], last

    def all(self, patient_ins: str) -> Iterator[Trace]:
        """Oldest first, every page (the export)."""
        for item in TraceItem.query(patient_ins, TraceItem.sk.startswith(MAIN), scan_index_forward=True,
                                    consistent_read=True):
            yield item.to_domain()

    def is_position(self, after: str) -> bool:
        return after.startswith(MAIN)


class JournalErasure:
    """`functions.accounts.ports.SpaceEraser` for the journal: the person's whole trace chain (withheld chains
    included) and ledger partition (chain heads, access facts)."""

    def erase_space(self, ins: str) -> int:
        from functions.shared.erasing import delete_partition

        return delete_partition(TraceItem, ins) + delete_partition(LedgerItem, ins)
