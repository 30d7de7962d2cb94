"""Access decisions, pure and table-tested. Handlers and services ask; they never re-implement a rule.

Today (before the matrix, care team, blocking and emergency rules land) a professional reads only documents
that their own organisation authored, and the holder reads everything visible to the patient."""

from __future__ import annotations

from functions.identity.principal import Citizen, Professional
from functions.records.models import Document


def may_read(who: Citizen | Professional, doc: Document) -> bool:
    if isinstance(who, Citizen):
        return who.ins == doc.patient_ins and doc.visible_to_patient
    return doc.author.kind == "professional" and doc.author.finess == who.finess


def may_delete(who: Citizen | Professional, doc: Document) -> bool:
    """Only the holder, and only their own uploads (a professional's document is part of the medical record)."""
    return isinstance(who, Citizen) and who.ins == doc.patient_ins and doc.author.kind == "patient"
