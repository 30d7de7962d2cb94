"""The patient journal's ports (storage-free): what capabilities call to commit their writes with the traces they
cause, to read a chain head, the patient's ledger partition and the trace chain.

The ledger partition (physical table `access`, env MES_ACCESS_TABLE) holds the chain head and the opaque typed
facts capabilities keep beside it (namespace + key -> body: access's settings, care team, blocks, grants,
professionals seen). It is the journal's because a professional's request must read "profile + head" in ONE Query;
the journal owns the item model and is its only writer, the capability that wrote a fact owns its meaning."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from functions.journal.models import ChainHead, Trace
from functions.shared.errors import Unavailable
from functions.shared.lookup import BatchLookup
from functions.shared.staging import Staged


class Busy(Unavailable):
    """The chain head kept moving under us: the caller may retry (503)."""

    code = "busy"


class ChainMoved(Exception):
    """Another action appended to the chain first: rebuild on the new head and try again."""


class Refused(Exception):
    """A condition of a staged write failed (not the head's): `failed` names the labels of those writes."""

    def __init__(self, failed: set[str]) -> None:
        super().__init__(f"refused by: {', '.join(sorted(failed))}")
        self.failed = failed


@dataclass(frozen=True)
class Fact:
    """One opaque fact of a patient's ledger partition: `namespace` (e.g. `CARE`) + `key` (e.g. an RPPS, or empty
    for a single fact such as `SETTINGS`) -> `body` (JSON or a plain value, the writer's business)."""

    namespace: str
    key: str = ""
    body: str = ""


@dataclass(frozen=True)
class Ledger:
    """A patient's ledger partition as read in one consistent Query: the chain head, the heads of withheld
    chains (document -> head) and every fact."""

    patient_ins: str
    head: ChainHead = field(default_factory=ChainHead)
    withheld: dict[str, ChainHead] = field(default_factory=dict)
    facts: tuple[Fact, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One action for the journal: foreign staged writes, ledger facts to write or forget, and the traces they
    cause, committed in one transaction with the head move. `withheld`: documents whose traces go to their own
    withheld chain, after the head given (as read). `guard`: commit only on the main head as read even if no trace
    reaches the main chain (a decision taken on the profile must not outlive a block)."""

    patient_ins: str
    traces: Sequence[Trace] = ()
    staged: Sequence[Staged] = ()
    facts: Sequence[Fact] = ()
    forget: Sequence[Fact] = ()
    withheld: dict[str, ChainHead] = field(default_factory=dict)
    guard: bool = False


class PatientJournal(Protocol):
    def head(self, patient_ins: str) -> ChainHead: ...

    def ledger(self, patient_ins: str) -> Ledger: ...

    def record(self, entry: Entry, head: ChainHead | None = None, retry: bool = True) -> None:
        """Commit `entry` on `head` (read now if None). A moved head: `retry` relinks on the new head with jitter
        (Busy after too many), else ChainMoved so the caller decides again on fresh data. A staged write's failed
        condition: Refused(labels), nothing written."""
        ...


class Attempt(Protocol):
    """One attempt of a commit on a document's withheld chain, on what the journal read for it (both heads, and
    for a release the chain's entries): the caller builds its entry from this, never from an earlier attempt."""

    @property
    def withheld_head(self) -> ChainHead: ...

    @property
    def entries(self) -> Sequence[Trace]:
        """The withheld chain as stored, oldest first (read for a merge only; empty otherwise)."""
        ...

    def merge_leaves(self, entry: Entry, reserve: int = 0) -> bool:
        """Whether the merge, committed beside `entry` and `reserve` more writes, would leave entries for
        `finish_merge` (a transaction holds 100 items): the document says so before the commit."""
        ...


class DocumentJournal(PatientJournal, Protocol):
    """What the owner of documents that may be withheld from their patient (records) needs beyond `record`:
    the head read together with its own item, the commit on a document's withheld chain, the rest of a merge."""

    def head_keys(self, patient_ins: str) -> BatchLookup[ChainHead]:
        """The chain head as keys to read in the caller's own round trip (a citizen's read: document + head)."""
        ...

    def commit(self, patient_ins: str, document_id: str, build: Callable[[Attempt], Entry], merge: bool = False,
               head: ChainHead | None = None, retry: bool = True) -> int:
        """Commit the entry `build` makes for each attempt, both heads (and with `merge` the withheld entries)
        read again before each. Without `merge` the document is still withheld: the entry's traces naming it
        go to its withheld chain. With `merge` (its release) that chain is checked by the caller (`entries`),
        re-linked after the patient's head ahead of the entry's own traces, as many as fit; returns how many
        wait for `finish_merge`. `head`: the main head of the first attempt (the caller's decision); a moved
        head retries (Busy after too many) or, `retry=False`, raises ChainMoved. Refused as for `record`."""
        ...

    def finish_merge(self, patient_ins: str, document_id: str) -> int:
        """Merge what a release left of the document's withheld chain, one transaction at a time, on the heads
        and entries as they are then (idempotent). Only once its patient may see the document. Returns how
        many entries moved."""
        ...


class TraceReader(Protocol):
    """The holder's read side of their chain (the `S#` range only: withheld entries are never listed)."""

    def list(self, patient_ins: str, after: str | None, limit: int) -> tuple[list[Trace], str | None]: ...
    def all(self, patient_ins: str) -> Iterator[Trace]: ...
    def is_position(self, after: str) -> bool:
        """Whether a cursor names a position in the patient's own chain (never a withheld entry)."""
        ...


class BatchJournal(Protocol):
    """Entries of many patients committed together, several to a transaction (bulk jobs: the opening by
    default informs and creates spaces by the thousand; one transaction per person would cost ten times the
    target). Each entry is still all or nothing and its traces are linked on its patient's head."""

    def record_all(self, entries: Sequence[Entry]) -> dict[str, set[str]]:
        """Commit every entry (one per patient); returns the entries refused by a staged write's condition:
        patient -> the labels that failed (nothing of theirs written). A moved head is retried for that entry."""
        ...
