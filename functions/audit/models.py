"""A trace entry. Actor ids are RPPS for professionals and `patient` for the holder; `system` for the verifier."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from functions.identity.principal import Citizen, Professional


class TraceAction(StrEnum):
    DOCUMENT_UPLOAD_REQUESTED = "document.upload_requested"
    DOCUMENT_VERIFIED = "document.verified"
    DOCUMENT_REJECTED = "document.rejected"
    DOCUMENT_LISTED = "document.listed"
    DOCUMENT_READ = "document.read"
    DOCUMENT_DELETED = "document.deleted"


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["patient", "professional", "system"]
    id: str
    organisation: str | None = None
    profession: str | None = None

    @classmethod
    def of(cls, principal: Citizen | Professional) -> Actor:
        if isinstance(principal, Professional):
            return cls(kind="professional", id=principal.rpps, organisation=principal.finess,
                       profession=principal.profession)
        return cls(kind="patient", id="patient")

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(kind="system", id=name)


class Trace(BaseModel):
    model_config = ConfigDict(frozen=True)

    patient_ins: str
    trace_id: str
    at: datetime
    actor: Actor
    action: TraceAction
    document_id: str | None = None
    reason: str | None = None

    @classmethod
    def new(cls, patient_ins: str, at: datetime, actor: Actor, action: TraceAction,
            document_id: str | None = None, reason: str | None = None) -> Trace:
        return cls(patient_ins=patient_ins, trace_id=secrets.token_hex(8), at=at, actor=actor, action=action,
                   document_id=document_id, reason=reason)
