"""Every professional's access decision, in one pure module: (professional, patient's access profile, document)
-> decision. Handlers and services ask; they never re-implement a rule. Table-tested in
tests/unit/test_access_policy.py. The document is `DocumentFacts`, a structural view (records' `Document` fits
it): access imports no other capability. The holder's own rules (reading, deleting their documents) and the
author's release are records' (functions/records/policy.py), which ask the profile only whether a professional
is blocked.

Order of the rules for a professional:
1. a blocked professional sees nothing: every document answers like a missing one;
2. the authoring organisation always sees its own documents (any status, hidden or not);
3. otherwise the professional needs a basis for the record: administrator, care team (declared by the patient:
   writing a document for them is no basis, a professional never gains one by their own action), an active
   emergency grant, or the patient's consent presented with the request; without one the answer is
   `consent_required`, whatever document was asked for;
4. only available documents, only the types the matrix gives their profession;
5. hidden documents (MASQUE_PS) only for the administrator, or in an emergency the patient allowed it for.

An organisation's system calling as itself (a FINESS, no RPPS) has rule 2 only: it reads and lists the documents
its FINESS authored, nothing else. What the professional it named as author may read is not its own (consent, the
care team, the administrator and emergencies are given to persons); the patient blocks persons (by RPPS), so no
block stands between an organisation and the documents it wrote itself."""

from __future__ import annotations

from datetime import datetime

from functions.access.matrix import Matrix
from functions.access.models import AccessProfile, Basis, DocumentFacts, EmergencyGrant, Refusal
from functions.identity.principal import Organisation, Professional

Caller = Professional | Organisation


def active_grant(who: Professional, profile: AccessProfile, now: datetime) -> EmergencyGrant | None:
    grant = profile.grants.get(who.rpps)
    return grant if grant is not None and grant.active(now) else None


def record_basis(who: Caller, profile: AccessProfile, now: datetime, consent: bool) -> Basis | Refusal:
    """May this professional look into this patient's record at all, and on what ground (an organisation: only
    as the author of its documents)."""
    if isinstance(who, Organisation):
        return Basis.AUTHOR
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


def is_author(who: Caller, doc: DocumentFacts) -> bool:
    return doc.author_organisation is not None and doc.author_organisation == who.finess


def document_visible(who: Caller, profile: AccessProfile, doc: DocumentFacts, basis: Basis, matrix: Matrix,
                     now: datetime) -> bool:
    """Rules 4 and 5, once the caller has a basis; authorship covers its own documents only."""
    if basis is Basis.AUTHOR:
        return is_author(who, doc)
    if isinstance(who, Organisation):
        return False
    if not doc.available:
        return False
    if not matrix.allows(who.profession, doc.type_code):
        return False
    if doc.hidden_from_professionals:
        if basis is Basis.ADMINISTRATOR:
            return True
        return basis is Basis.EMERGENCY and profile.settings.emergency.shows_hidden
    return True


def professional_reads(who: Caller, profile: AccessProfile, doc: DocumentFacts | None, matrix: Matrix,
                       now: datetime, consent: bool) -> Basis | Refusal:
    """The decision for one document (None: no such document)."""
    if isinstance(who, Organisation):
        return Basis.AUTHOR if doc is not None and is_author(who, doc) else Refusal.NOT_FOUND
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

