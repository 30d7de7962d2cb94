"""Response shapes for the holder's trace listing."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from functions.journal.models import Trace


class ActorOut(BaseModel):
    kind: str
    id: str
    organisation: str | None = None
    profession: str | None = None


class TraceOut(BaseModel):
    trace_id: str
    at: datetime
    actor: ActorOut
    action: str
    document_id: str | None = None
    reason: str | None = None

    @classmethod
    def from_domain(cls, t: Trace) -> TraceOut:
        return cls(trace_id=t.trace_id, at=t.at, actor=ActorOut(**t.actor.model_dump()), action=t.action.value,
                   document_id=t.document_id, reason=t.reason)
