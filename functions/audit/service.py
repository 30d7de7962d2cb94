"""What the holder reads of their traces: the citizen's read side of the patient journal (its TraceReader), and
the signed export. Audit keeps no storage of its own beyond the KMS signer."""

from __future__ import annotations

from functions.audit.export import SignedExport, Signer, build
from functions.identity.principal import Citizen
from functions.journal.models import Actor, Trace, TraceAction
from functions.journal.ports import Entry, PatientJournal, TraceReader
from functions.shared import cursor
from functions.shared.clock import Clock
from functions.shared.errors import InvalidRequest


def list_traces(store: TraceReader, space: str, raw_cursor: str | None,
                limit: int) -> tuple[list[Trace], str | None]:
    """The traces of the space acted on (the caller's own today: `functions.identity.spaces.space_of`)."""
    after = cursor.decode(raw_cursor)
    if after is not None and not store.is_position(after):  # only positions in the patient's own chain
        raise InvalidRequest("invalid cursor", code="invalid_cursor")
    traces, last = store.list(space, after, limit)
    return traces, cursor.encode(last)


def export_traces(store: TraceReader, journal: PatientJournal, signer: Signer, clock: Clock,
                  who: Citizen, space: str) -> SignedExport:
    """The whole chain of `space` up to its current head, signed; the export itself is then traced in that chain
    with `who` as its actor, through the journal kernel like every trace (audit changes no access fact, so it
    needs nothing of access)."""
    head = journal.head(space)
    traces = [t for t in store.all(space) if t.seq <= head.seq]
    now = clock.now()
    signed = build(space, traces, head, now, signer)
    trace = Trace.new(space, now, Actor.acting_on(who, space), TraceAction.TRACES_EXPORTED)
    journal.record(Entry(space, traces=[trace]))
    return signed
