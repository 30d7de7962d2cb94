"""The holder's rules over their own documents and the author's early release, in one pure module. A
professional's reading is access's (functions/access/policy.py); the only thing records asks of the access profile
here is whether a professional is blocked (rule 1 of that policy holds for a release too)."""

from __future__ import annotations

from functions.identity.principal import Organisation, Professional
from functions.records.models import Document
from functions.records.ports import AccessStanding


def citizen_reads(space: str, doc: Document) -> bool:
    """What a citizen sees in the space they act on (`space`: its INS, from identity's `space_of`)."""
    return space == doc.patient_ins and doc.visible_to_patient


def may_delete(space: str, doc: Document) -> bool:
    """Only the holder's own uploads (a professional's document is part of the medical record)."""
    return space == doc.patient_ins and doc.author.kind == "patient"


def may_release(who: Professional | Organisation, profile: AccessStanding, doc: Document) -> bool:
    """Only the authoring organisation lifts INVISIBLE_PATIENT before the legal month is over, and never for a
    professional the patient blocked: a professional of that organisation who is blocked may not, and neither may
    the organisation's system release a document it declared in a blocked professional's name (it acts under the
    author's responsibility, as in the DMP's indirect mode)."""
    authored = doc.author_organisation is not None and doc.author_organisation == who.finess
    acting = who.rpps if isinstance(who, Professional) else doc.author.rpps
    return acting not in profile.blocked and authored and doc.invisible_to_patient
