"""The patient journal's domain: trace entries and their hash chain, and what a release says of a withheld chain.
Actor ids are RPPS for professionals, `patient` for the holder, the job name for the system. Each patient's traces
form one chain: entry n carries the hash of entry n-1, so a removed, reordered or altered entry shows when the chain
is recomputed (see `verify_chain`). Pure: no I/O, imports no capability."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from functions.shared.observability import logger

GENESIS_HASH = "0" * 64


@runtime_checkable
class Practitioner(Protocol):
    """What the journal knows of a professional principal (identity's `Professional`), structurally: the kernel
    imports no capability, identity included."""

    rpps: str
    finess: str
    profession: str
    name: str | None


@runtime_checkable
class Institution(Protocol):
    """An organisation calling as itself (identity's `Organisation`: a FINESS and no RPPS), structurally."""

    finess: str
    name: str | None


@runtime_checkable
class SpaceHolder(Protocol):
    """What the journal knows of a citizen principal (identity's `Citizen`): the INS of their own space and the
    keyed pseudonym that names them without it."""

    ins: str

    @property
    def pseudonym(self) -> str: ...


@runtime_checkable
class ReferencedApp(Protocol):
    """A referenced app acting through its pairing (identity's `Service`), structurally: its OID names it."""

    oid: str
    pairing: str
    name: str | None


class TraceAction(StrEnum):
    DOCUMENT_UPLOAD_REQUESTED = "document.upload_requested"
    DOCUMENT_VERIFIED = "document.verified"
    DOCUMENT_REJECTED = "document.rejected"
    DOCUMENT_LISTED = "document.listed"
    DOCUMENT_READ = "document.read"
    DOCUMENT_DELETED = "document.deleted"
    DOCUMENT_HIDDEN = "document.hidden"
    DOCUMENT_UNHIDDEN = "document.unhidden"
    DOCUMENT_RELEASED = "document.released"
    DOCUMENT_ANNOUNCEMENT_REQUESTED = "document.announcement_requested"
    ACCESS_REFUSED = "access.refused"
    CARE_TEAM_ADDED = "care_team.added"
    CARE_TEAM_REMOVED = "care_team.removed"
    PROFESSIONAL_BLOCKED = "professional.blocked"
    PROFESSIONAL_UNBLOCKED = "professional.unblocked"
    ADMINISTRATOR_NAMED = "administrator.named"
    ADMINISTRATOR_REMOVED = "administrator.removed"
    SETTINGS_CHANGED = "settings.changed"
    EMERGENCY_ACCESS_GRANTED = "emergency.granted"
    EMERGENCY_ACCESS_REFUSED = "emergency.refused"
    TRACES_EXPORTED = "traces.exported"
    MESSAGE_RECEIVED = "message.received"
    MESSAGE_READ = "message.read"
    MESSAGE_SENT = "message.sent"
    CONVERSATION_TRASHED = "conversation.trashed"
    EXPORT_REQUESTED = "export.requested"
    EXPORT_READY = "export.ready"
    EXPORT_DOWNLOADED = "export.downloaded"
    ATTACHMENT_VERIFIED = "attachment.verified"
    ATTACHMENT_REJECTED = "attachment.rejected"
    ATTACHMENT_READ = "attachment.read"
    ATTACHMENT_SAVED_TO_RECORD = "attachment.saved_to_record"
    DOCUMENT_ATTACHED = "document.attached"  # a document of the record the holder attached to a message they sent
    MESSAGE_RECEIPT_SENT = "message.receipt_sent"  # the read receipt (MDN) a professional asked for
    CONTACT_ADDED = "contact.added"  # a pharmacy the patient may write to
    CONTACT_REMOVED = "contact.removed"
    ENROLMENT_CODE_SENT = "enrolment.code_sent"
    SPACE_ACTIVATED = "space.activated"
    SPACE_OPPOSED = "space.opposed"
    OPPOSITION_PROOF_READ = "opposition.proof_read"
    TERMS_ACCEPTED = "terms.accepted"
    SPACE_INFORMED = "space.informed"  # the insurer told the person their space will be created (opening by default)
    # the insurer's identity for an erased space: its holder may activate it again (never created by default)
    SPACE_IDENTITY_RECEIVED = "space.identity_received"
    SPACE_CREATED = "space.created"  # the objection window ended without objection: the space is open
    SPACE_CLOSED = "space.closed"
    SPACE_DELETION_REQUESTED = "space.deletion_requested"
    SPACE_REOPENED = "space.reopened"
    SERVICE_PAIRED = "service.paired"
    SERVICE_CONSENT_CHANGED = "service.consent_changed"
    SERVICE_ACKNOWLEDGED = "service.acknowledged"
    SERVICE_TOKEN_ISSUED = "service.token_issued"  # noqa: S105 (a trace action)
    SERVICE_UNPAIRED = "service.unpaired"
    SERVICE_TOKENS_REVOKED = "service.tokens_revoked"
    MEASURE_WRITTEN = "measure.written"
    MEASURE_UPDATED = "measure.updated"
    MEASURE_DELETED = "measure.deleted"
    MEASURES_READ = "measures.read"


# The actor fields every entry has hashed since the first one; the later ones are hashed only when set, so the
# entries written before them recompute to the hash they were stored with.
_FIRST_ACTOR_FIELDS = frozenset({"kind", "id", "organisation", "profession"})


class Actor(BaseModel):
    """Who acted, as the holder reads it: a professional (`id` RPPS, `organisation` FINESS), an organisation's
    system (`id` FINESS) with, when it declared a document, the professional it named as author (`author` RPPS,
    `author_name`, `profession`: the DMP's indirect mode), the holder, or a job. Names are the identity provider's
    claims at the time of the action, kept on the entry (no directory read when the holder lists their traces)."""

    model_config = ConfigDict(frozen=True)

    # citizen: a citizen acting on a space not their own (a family member, a caregiver); SERVICE_TIERS: a
    # referenced app paired with the space or acting through its pairing (`id` its OID, `name` its catalogue name),
    # the guide's actor type
    kind: Literal["patient", "professional", "organisation", "system", "citizen", "SERVICE_TIERS"]
    id: str
    organisation: str | None = None
    profession: str | None = None
    name: str | None = None
    author: str | None = None
    author_name: str | None = None

    @classmethod
    def of(cls, principal: object) -> Actor:
        """A professional (anything with `rpps`, `finess`, `profession`), an organisation (a `finess` and no
        `rpps`), a referenced app (an `oid` and a `pairing`: the guide's SERVICE_TIERS), else the holder."""
        if isinstance(principal, ReferencedApp):
            return cls(kind="SERVICE_TIERS", id=principal.oid, name=principal.name)
        if isinstance(principal, Practitioner):
            return cls(kind="professional", id=principal.rpps, organisation=principal.finess,
                       profession=principal.profession, name=principal.name)
        if isinstance(principal, Institution):
            return cls(kind="organisation", id=principal.finess, organisation=principal.finess, name=principal.name)
        return cls(kind="patient", id="patient")

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(kind="system", id=name)

    @classmethod
    def service_tiers(cls, oid: str, name: str) -> Actor:
        """A referenced app acting through its pairing (the catalogue's tokens)."""
        return cls(kind="SERVICE_TIERS", id=oid, name=name)

    def naming(self, rpps: str, profession: str | None, name: str | None) -> Actor:
        """An organisation's action on behalf of the professional it names as author."""
        return self.model_copy(update={"author": rpps, "profession": profession, "author_name": name})

    @classmethod
    def acting_on(cls, principal: object, space: str) -> Actor:
        """Who acts on `space`: the holder when it is their own; a citizen acting on someone else's (a family
        member, a caregiver: `functions.identity.spaces.space_of` decides) is named by their pseudonym, never by
        their INS, so the holder's traces tell them apart without disclosing it."""
        if isinstance(principal, SpaceHolder) and principal.ins != space:
            return cls(kind="citizen", id=principal.pseudonym)
        return cls.of(principal)


class ChainHead(BaseModel):
    """Where a patient's chain ends: the last sequence number and its hash."""

    model_config = ConfigDict(frozen=True)

    seq: int = 0
    hash: str = GENESIS_HASH


class Trace(BaseModel):
    model_config = ConfigDict(frozen=True)

    patient_ins: str
    trace_id: str
    at: datetime
    actor: Actor
    action: TraceAction
    document_id: str | None = None
    reason: str | None = None
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""

    @classmethod
    def new(cls, patient_ins: str, at: datetime, actor: Actor, action: TraceAction,
            document_id: str | None = None, reason: str | None = None) -> Trace:
        return cls(patient_ins=patient_ins, trace_id=secrets.token_hex(8), at=at, actor=actor, action=action,
                   document_id=document_id, reason=reason)

    def content_hash(self) -> str:
        """SHA-256 over every field but the hash itself, in a canonical JSON form."""
        body = self.model_dump(mode="json", exclude={"hash"})
        body["actor"] = {k: v for k, v in body["actor"].items() if k in _FIRST_ACTOR_FIELDS or v is not None}
        return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def link(head: ChainHead, traces: Iterable[Trace]) -> tuple[list[Trace], ChainHead]:
    """Append traces after `head`: sequence numbers follow on, each entry commits to the previous hash."""
    linked = []
    for trace in traces:
        entry = trace.model_copy(update={"seq": head.seq + 1, "prev_hash": head.hash, "hash": ""})
        entry = entry.model_copy(update={"hash": entry.content_hash()})
        linked.append(entry)
        head = ChainHead(seq=entry.seq, hash=entry.hash)
    return linked, head


def verify_chain(traces: list[Trace], head: ChainHead | None = None, start: ChainHead | None = None) -> list[str]:
    """Problems found in a chain given oldest first (empty list: intact). `start`: where the given entries take
    over (the genesis by default; a later link for the rest of a chain whose beginning was already merged)."""
    problems = []
    previous = start or ChainHead()
    for trace in traces:
        if trace.seq != previous.seq + 1:
            problems.append(f"entry {trace.seq}: expected sequence {previous.seq + 1} (an entry is missing)")
        if trace.prev_hash != previous.hash:
            problems.append(f"entry {trace.seq}: does not follow the previous entry's hash")
        if trace.content_hash() != trace.hash:
            problems.append(f"entry {trace.seq}: content does not match its hash (altered)")
        previous = ChainHead(seq=trace.seq, hash=trace.hash)
    if head is not None and head != previous:
        problems.append(f"chain ends at {previous.seq} but the head says {head.seq} (entries removed at the end)")
    return problems


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
