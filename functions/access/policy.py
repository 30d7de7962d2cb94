"""Every access decision, in one pure module: (principal, patient's access profile, document) -> decision.
Handlers and services ask; they never re-implement a rule. Table-tested in tests/unit/test_access_policy.py.

Order of the rules for a professional:
1. a blocked professional sees nothing: every document answers like a missing one;
2. the authoring organisation always sees its own documents (any status, hidden or not);
3. otherwise the professional needs a basis for the record: administrator, care team (declared by the patient:
   writing a document for them is no basis, a professional never gains one by their own action), an active
   emergency grant, or the patient's consent presented with the request; without one the answer is
   `consent_required`, whatever document was asked for;
4. only available documents, only the types the matrix gives their profession;
5. hidden documents (MASQUE_PS) only for the administrator, or in an emergency the patient allowed it for."""

from __future__ import annotations

from datetime import datetime

from functions.access.matrix import Matrix
from functions.access.models import AccessProfile, Basis, EmergencyGrant, Refusal
from functions.identity.principal import Citizen, Professional
from functions.records.models import Document, DocumentStatus


def active_grant(who: Professional, profile: AccessProfile, now: datetime) -> EmergencyGrant | None:
    grant = profile.grants.get(who.rpps)
    return grant if grant is not None and grant.active(now) else None


def record_basis(who: Professional, profile: AccessProfile, now: datetime, consent: bool) -> Basis | Refusal:
    """May this professional look into this patient's record at all, and on what ground."""
    if who.rpps in profile.blocked:
        return Refusal.NOT_FOUND
    if who.rpps == profile.administrator:
        return Basis.ADMINISTRATOR
    if who.rpps in profile.care_team:
        return Basis.CARE_TEAM
    if active_grant(who, profile, now) is not None:
        return Basis.EMERGENCY
    if consent:
        return Basis.CONSENT
    return Refusal.CONSENT_REQUIRED


def is_author(who: Professional, doc: Document) -> bool:
    return doc.author.kind == "professional" and doc.author.finess == who.finess


def document_visible(who: Professional, profile: AccessProfile, doc: Document, basis: Basis, matrix: Matrix,
                     now: datetime) -> bool:
    """Rules 4 and 5, once the professional has a basis (or is the author)."""
    if basis is Basis.AUTHOR:
        return True
    if doc.status is not DocumentStatus.AVAILABLE:
        return False
    if not matrix.allows(who.profession, doc.declaration.type_code):
        return False
    if doc.hidden_from_professionals:
        if basis is Basis.ADMINISTRATOR:
            return True
        return basis is Basis.EMERGENCY and profile.settings.emergency.shows_hidden
    return True


def professional_reads(who: Professional, profile: AccessProfile, doc: Document | None, matrix: Matrix,
                       now: datetime, consent: bool) -> Basis | Refusal:
    """The decision for one document (None: no such document)."""
    if who.rpps in profile.blocked:
        return Refusal.NOT_FOUND
    if doc is not None and is_author(who, doc):
        return Basis.AUTHOR
    basis = record_basis(who, profile, now, consent)
    if isinstance(basis, Refusal):
        return basis
    if doc is None or not document_visible(who, profile, doc, basis, matrix, now):
        return Refusal.NOT_FOUND
    return basis


def citizen_reads(who: Citizen, doc: Document) -> bool:
    return who.ins == doc.patient_ins and doc.visible_to_patient


def may_delete(who: Citizen | Professional, doc: Document) -> bool:
    """Only the holder, and only their own uploads (a professional's document is part of the medical record)."""
    return isinstance(who, Citizen) and who.ins == doc.patient_ins and doc.author.kind == "patient"


def may_release(who: Professional, profile: AccessProfile, doc: Document) -> bool:
    """Only the authoring organisation lifts INVISIBLE_PATIENT before the legal month is over, and never a
    professional the patient blocked (rule 1 holds here too)."""
    return who.rpps not in profile.blocked and is_author(who, doc) and doc.invisible_to_patient
