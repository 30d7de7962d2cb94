"""The holder's rules over their own documents and the author's early release, in one pure module. A
professional's reading is access's (functions/access/policy.py); the only thing records asks of the access profile
here is whether a professional is blocked (rule 1 of that policy holds for a release too)."""

from __future__ import annotations

from functions.identity.principal import Citizen, Professional
from functions.records.models import Document
from functions.records.ports import AccessStanding


def citizen_reads(who: Citizen, doc: Document) -> bool:
    return who.ins == doc.patient_ins and doc.visible_to_patient


def may_delete(who: Citizen | Professional, doc: Document) -> bool:
    """Only the holder, and only their own uploads (a professional's document is part of the medical record)."""
    return isinstance(who, Citizen) and who.ins == doc.patient_ins and doc.author.kind == "patient"


def may_release(who: Professional, profile: AccessStanding, doc: Document) -> bool:
    """Only the authoring organisation lifts INVISIBLE_PATIENT before the legal month is over, and never a
    professional the patient blocked."""
    authored = doc.author_organisation is not None and doc.author_organisation == who.finess
    return who.rpps not in profile.blocked and authored and doc.invisible_to_patient
