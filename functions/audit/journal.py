"""A journal entry: the writes of one action and their traces, committed in one transaction that also moves
the patient's chain head with a conditional write, so concurrent actions can never fork the chain."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from functions.access.table import HEAD, ControlItem
from functions.audit.models import ChainHead, Trace, link
from functions.audit.storage import TraceItem
from functions.shared.dynamo import Transaction, TransactionCancelled
from functions.shared.errors import Unavailable

T = TypeVar("T")
MAX_ATTEMPTS = 12
BACKOFF_SECONDS = 0.01
MAX_BACKOFF_SECONDS = 0.4


class Busy(Unavailable):
    """The chain head kept moving under us: the caller may retry (503)."""

    code = "busy"


class ChainMoved(Exception):
    """Another action appended to the chain first: rebuild on the new head and try again."""


class Journal(Transaction):
    def __init__(self, patient_ins: str, head: ChainHead) -> None:
        super().__init__()
        self.patient_ins = patient_ins
        self.head = head
        self.traces: list[Trace] = []

    def trace(self, trace: Trace) -> None:
        self.traces.append(trace)

    def commit(self) -> None:
        linked, new_head = link(self.head, self.traces)
        for entry in linked:
            self.put("trace", TraceItem.from_domain(entry), TraceItem.sk.does_not_exist())
        if linked:
            condition = (ControlItem.seq == self.head.seq) if self.head.seq else ControlItem.sk.does_not_exist()
            self.put("head", ControlItem.head(self.patient_ins, new_head), condition=condition)
        try:
            super().commit()
        except TransactionCancelled as exc:
            if exc.failed & {"head", "trace"}:
                raise ChainMoved from exc
            raise
        self.traces = linked
        self.head = new_head


def with_journal(patient_ins: str, head: ChainHead | None, load_head: Callable[[str], ChainHead],
                 write: Callable[[Journal], T]) -> T:
    """Run `write` (which fills and commits a journal) until it commits on the current head."""
    current = head if head is not None else load_head(patient_ins)
    for attempt in range(MAX_ATTEMPTS):
        journal = Journal(patient_ins, current)
        try:
            return write(journal)
        except ChainMoved:
            back_off(attempt)
            current = load_head(patient_ins)
    raise Busy("too many simultaneous changes to this record; try again")


def back_off(attempt: int) -> None:
    """Full jitter: concurrent writers of one patient's chain spread out instead of colliding again."""
    ceiling = min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2**attempt)
    time.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not security


__all__ = ["HEAD", "MAX_ATTEMPTS", "Busy", "ChainMoved", "Journal", "back_off", "with_journal"]
