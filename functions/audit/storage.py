"""Traces table: partition = patient, sort = time + id, so the holder's newest-first listing is one Query."""

from __future__ import annotations

from typing import Protocol

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from functions.audit.models import Actor, Trace, TraceAction
from functions.shared.clock import iso


class TraceItem(Model):
    class Meta:
        table_name = "traces"

    patient = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    at = UTCDateTimeAttribute()
    actor_kind = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    actor_organisation = UnicodeAttribute(null=True)
    actor_profession = UnicodeAttribute(null=True)
    action = UnicodeAttribute()
    document_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)

    @classmethod
    def from_domain(cls, trace: Trace) -> TraceItem:
        return cls(
            trace.patient_ins,
            f"{iso(trace.at)}#{trace.trace_id}",
            at=trace.at,
            actor_kind=trace.actor.kind,
            actor_id=trace.actor.id,
            actor_organisation=trace.actor.organisation,
            actor_profession=trace.actor.profession,
            action=trace.action.value,
            document_id=trace.document_id,
            reason=trace.reason,
        )

    def to_domain(self) -> Trace:
        return Trace(
            patient_ins=self.patient,
            trace_id=self.sk.rsplit("#", 1)[1],
            at=self.at,
            actor=Actor(kind=self.actor_kind, id=self.actor_id,
                        organisation=self.actor_organisation, profession=self.actor_profession),
            action=TraceAction(self.action),
            document_id=self.document_id,
            reason=self.reason,
        )


class TraceStore(Protocol):
    def record(self, trace: Trace) -> None: ...
    def list(self, patient_ins: str, after: str | None, limit: int) -> tuple[list[Trace], str | None]: ...


class DynamoTraceStore:
    def record(self, trace: Trace) -> None:
        TraceItem.from_domain(trace).save(condition=TraceItem.sk.does_not_exist())

    def list(self, patient_ins: str, after: str | None, limit: int) -> tuple[list[Trace], str | None]:
        start = {"patient": {"S": patient_ins}, "sk": {"S": after}} if after else None
        result = TraceItem.query(patient_ins, scan_index_forward=False, limit=limit, last_evaluated_key=start,
                                 consistent_read=True)
        items = [item.to_domain() for item in result]
        last = result.last_evaluated_key
        return items, (last["sk"]["S"] if last else None)
