"""Response shapes for the holder's trace listing."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from functions.identity.principal import organisation_display, professional_display
from functions.journal.models import Actor, Trace


class ActorOut(BaseModel):
    """Who acted. `label` is what the holder reads: names when the identity provider gave them, the RPPS or
    FINESS otherwise; an organisation's system shows with the professional it named as author."""

    kind: str
    id: str
    organisation: str | None = None
    profession: str | None = None
    name: str | None = None
    author: str | None = None
    author_name: str | None = None
    label: str

    @classmethod
    def from_domain(cls, a: Actor) -> ActorOut:
        return cls(**a.model_dump(), label=label(a))


def label(a: Actor) -> str:
    if a.kind == "patient":
        return "Vous"
    if a.kind == "system":
        return "Mon espace santé"
    if a.kind == "citizen":
        return "Une personne qui vous accompagne"
    if a.kind == "SERVICE_TIERS":
        return a.name or f"Service référencé (OID {a.id})"
    if a.kind == "professional":
        return professional_display(a.id, a.name)
    organisation = organisation_display(a.id, a.name)
    if a.author is None:
        return organisation
    return f"{organisation} — {a.author_name or f'RPPS {a.author}'}"


class TraceOut(BaseModel):
    trace_id: str
    at: datetime
    actor: ActorOut
    action: str
    document_id: str | None = None
    reason: str | None = None

    @classmethod
    def from_domain(cls, t: Trace) -> TraceOut:
        return cls(trace_id=t.trace_id, at=t.at, actor=ActorOut.from_domain(t.actor), action=t.action.value,
                   document_id=t.document_id, reason=t.reason)
