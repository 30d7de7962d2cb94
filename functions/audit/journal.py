"""A journal entry: the writes of one action and their traces, committed in one transaction that also moves
the patient's chain head with a conditional write, so concurrent actions can never fork the chain.

Withheld chains (INVISIBLE_PATIENT): a trace naming a document its patient may not know of yet goes, when the caller
says so (`withhold`), into that document's own chain instead: items `WTRACE#<document>#<seq>` (outside the `S#`
range the patient's listing and export read) and a head `WHEAD#<document>` in the control partition, moved with the
same kind of conditional write. The main head does not move, so nothing the patient reads changes. At the release,
`merge` re-links the withheld entries into the main chain (original time, actor, action and reason; new `seq`,
`prev_hash`, `hash`) in the release's own transaction, as many as fit, and `finish_merge` moves the rest."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from functions.access.table import HEAD, WITHHELD_HEAD, ControlItem
from functions.audit.models import ChainHead, Trace, TraceAction, link, verify_chain
from functions.audit.storage import TraceItem, withheld_entries, withheld_key
from functions.shared.dynamo import Transaction, TransactionCancelled, get_together
from functions.shared.errors import Unavailable
from functions.shared.observability import logger

T = TypeVar("T")
MAX_ATTEMPTS = 12
BACKOFF_SECONDS = 0.01
MAX_BACKOFF_SECONDS = 0.4
MAX_ITEMS = 100  # DynamoDB's limit of items per TransactWriteItems


class Busy(Unavailable):
    """The chain head kept moving under us: the caller may retry (503)."""

    code = "busy"


class ChainMoved(Exception):
    """Another action appended to the chain first: rebuild on the new head and try again."""


def _at(head: ChainHead) -> Any:
    """The condition that a head item is still where it was read (or still absent)."""
    return (ControlItem.seq == head.seq) if head.seq else ControlItem.sk.does_not_exist()


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
            self.put("head", ControlItem.head(self.patient_ins, new_head), condition=_at(self.head))
        elif self.guard and self.withheld_traces:
            self.check("head", ControlItem, self.patient_ins, HEAD, _at(self.head))
        for document_id, traces in self.withheld_traces.items():
            start = self.withheld[document_id]
            entries, withheld_head = link(start, traces)
            for entry in entries:
                self.put("wtrace", TraceItem.from_domain(entry, withheld=True), TraceItem.sk.does_not_exist())
            self.put("whead", ControlItem.head(self.patient_ins, withheld_head, document_id), _at(start))
        if self._merge is not None:
            document_id, entries, withheld_head = self._merge
            for entry in merged:
                self.delete("wtrace", TraceItem(self.patient_ins, withheld_key(document_id, entry.seq)),
                            TraceItem.sk.exists())
            if entries or withheld_head.seq:
                if left:
                    self.check("whead", ControlItem, self.patient_ins, WITHHELD_HEAD + document_id,
                               _at(withheld_head))
                else:
                    self.delete("whead", ControlItem(self.patient_ins, WITHHELD_HEAD + document_id),
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


def with_journal(patient_ins: str, head: ChainHead | None, load_head: Callable[[str], ChainHead],
                 write: Callable[[Journal], T], guard: bool = False) -> T:
    """Run `write` (which fills and commits a journal) until it commits on the current head."""
    current = head if head is not None else load_head(patient_ins)
    for attempt in range(MAX_ATTEMPTS):
        journal = Journal(patient_ins, current, guard)
        try:
            return write(journal)
        except ChainMoved:
            back_off(attempt)
            current = load_head(patient_ins)
    raise Busy("too many simultaneous changes to this record; try again")


def load_heads(patient_ins: str, document_id: str) -> tuple[ChainHead, ChainHead]:
    """The patient's chain head and the head of a document's withheld chain, in one round trip."""
    found = get_together((ControlItem, patient_ins, HEAD), (ControlItem, patient_ins, WITHHELD_HEAD + document_id))
    heads = [ChainHead(seq=int(item.seq or 0), hash=item.hash or ChainHead().hash)
             if isinstance(item, ControlItem) else ChainHead() for item in found]
    return heads[0], heads[1]


def with_withheld(patient_ins: str, document_id: str, write: Callable[[Journal, ChainHead], T]) -> T:
    """`with_journal` for an action on a document that has (or starts) a withheld chain: both heads are read
    before each attempt, and `write` gets the journal and the withheld head."""
    for attempt in range(MAX_ATTEMPTS):
        head, withheld_head = load_heads(patient_ins, document_id)
        try:
            return write(Journal(patient_ins, head), withheld_head)
        except ChainMoved:
            back_off(attempt)
    raise Busy("too many simultaneous changes to this record; try again")


def commitment(entries: list[Trace], head: ChainHead) -> str | None:
    """What the release trace says of the withheld chain it merges: its length and final hash. A chain that does
    not recompute is merged all the same (withholding it longer would keep the document from its patient) and
    the commitment says `broken`, for the patient and an auditor to see."""
    if not entries and not head.seq:
        return None
    problems = verify_chain(entries, head)
    if problems:
        logger.warning("withheld trace chain does not verify", extra={"problems": len(problems)})
    return f"withheld:{head.seq}:{head.hash}" + (":broken" if problems else "")


def committed(traces: list[Trace], document_id: str, commitment_text: str | None) -> list[Trace]:
    """The traces of a release, its own carrying the commitment to the withheld chain in its reason."""
    if commitment_text is None:
        return traces
    return [t.model_copy(update={"reason": "; ".join(r for r in (t.reason, commitment_text) if r)})
            if t.action is TraceAction.DOCUMENT_RELEASED and t.document_id == document_id else t for t in traces]


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


def back_off(attempt: int) -> None:
    """Full jitter: concurrent writers of one patient's chain spread out instead of colliding again."""
    ceiling = min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2**attempt)
    time.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not security


__all__ = ["HEAD", "MAX_ATTEMPTS", "Busy", "ChainMoved", "Journal", "back_off", "commitment", "committed",
           "finish_merge", "load_heads", "with_journal", "with_withheld"]
