"""Traces table: partition = patient, sort = chain sequence number (`S#<seq>`), so the holder's newest-first
listing and the full export are Queries. Entries withheld from the holder (about an INVISIBLE_PATIENT document not
yet released) sit in the same partition under `WTRACE#<document>#<seq>`, outside the `S#` range that listing and
export read. Traces are only ever written through a `Journal` (audit/journal.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from functions.audit.models import Actor, Trace, TraceAction
from functions.shared.dynamo import newest_first

MAIN = "S#"
WITHHELD = "WTRACE#"


def trace_key(seq: int) -> str:
    return f"{MAIN}{seq:012d}"


def withheld_key(document_id: str, seq: int) -> str:
    return f"{WITHHELD}{document_id}#{seq:012d}"


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
                        organisation=self.actor_organisation, profession=self.actor_profession),
            action=TraceAction(self.action),
            document_id=self.document_id,
            reason=self.reason,
            seq=int(self.seq),
            prev_hash=self.prev_hash,
            hash=self.hash,
        )


class TraceStore(Protocol):
    def list(self, patient_ins: str, after: str | None, limit: int) -> tuple[list[Trace], str | None]: ...
    def all(self, patient_ins: str) -> Iterator[Trace]: ...


class DynamoTraceStore:
    def list(self, patient_ins: str, after: str | None, limit: int) -> tuple[list[Trace], str | None]:
        items, last = newest_first(TraceItem, patient_ins, after, limit, consistent_read=True,
                                   range_key_condition=TraceItem.sk.startswith(MAIN))
        return [item.to_domain() for item in items], last

    def all(self, patient_ins: str) -> Iterator[Trace]:
        """Oldest first, every page (the export)."""
        for item in TraceItem.query(patient_ins, TraceItem.sk.startswith(MAIN), scan_index_forward=True,
                                    consistent_read=True):
            yield item.to_domain()


def withheld_entries(patient_ins: str, document_id: str) -> list[Trace]:
    """A document's withheld chain as stored, oldest first (only what merging it at release needs to read)."""
    query = TraceItem.query(patient_ins, TraceItem.sk.startswith(f"{WITHHELD}{document_id}#"),
                            scan_index_forward=True, consistent_read=True)
    return [item.to_domain() for item in query]
