"""Document states and the rules tied to them (who sees what, deterministic ids, encryption binding)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from functions.identity.principal import Citizen, Professional
from functions.records.models import (
    Author,
    Declaration,
    Document,
    DocumentStatus,
    InvalidTransition,
    RejectionReason,
    document_id_for,
)
from functions.records.policy import may_delete

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
INS = "284067512345688"
DOCTOR = Professional(rpps="10000000001", profession="10", finess="750000001")
OTHER_ORG_DOCTOR = Professional(rpps="10000000003", profession="10", finess="690000002")


def document(author: Author, status: DocumentStatus = DocumentStatus.PENDING) -> Document:
    return Document(patient_ins=INS, document_id="doc_" + "a" * 26,
                    declaration=Declaration(type_code="11502-2", title="Bilan", service_date=date(2026, 11, 1),
                                            content_type="application/pdf", size=10, sha256="0" * 64),
                    author=author, status=status, created_at=AT, updated_at=AT, upload_expires_at=AT,
                    request_digest="x")


def test_a_pending_document_becomes_available_once() -> None:
    doc = document(Author.of(DOCTOR)).accept(AT)
    assert doc.status is DocumentStatus.AVAILABLE
    with pytest.raises(InvalidTransition):
        doc.accept(AT)
    with pytest.raises(InvalidTransition):
        doc.reject(RejectionReason.SIZE_MISMATCH, AT)


def test_a_rejected_document_keeps_its_reason_and_cannot_be_accepted() -> None:
    doc = document(Author.of(DOCTOR)).reject(RejectionReason.CHECKSUM_MISMATCH, AT)
    assert (doc.status, doc.rejection_reason) == (DocumentStatus.REJECTED, RejectionReason.CHECKSUM_MISMATCH)
    with pytest.raises(InvalidTransition):
        doc.accept(AT)


def test_the_patient_sees_professional_documents_only_once_available() -> None:
    pending = document(Author.of(DOCTOR))
    assert not pending.visible_to_patient
    assert pending.reject(RejectionReason.SIZE_MISMATCH, AT).visible_to_patient is False
    assert pending.accept(AT).visible_to_patient


def test_the_patient_sees_their_own_uploads_at_every_stage() -> None:
    own = document(Author.of(Citizen(ins=INS)))
    assert own.visible_to_patient
    assert own.reject(RejectionReason.SIZE_MISMATCH, AT).visible_to_patient


def test_only_the_holder_deletes_and_only_their_own_uploads() -> None:
    assert may_delete(INS, document(Author.of(Citizen(ins=INS)), DocumentStatus.AVAILABLE))
    assert not may_delete(INS, document(Author.of(DOCTOR), DocumentStatus.AVAILABLE))
    # deleting acts on a space (professionals have no delete route): another space's uploads are not its own
    assert not may_delete("192016938701215", document(Author.of(Citizen(ins=INS)), DocumentStatus.AVAILABLE))


def test_document_ids_are_stable_per_caller_patient_and_key() -> None:
    a = document_id_for("professional:1:750000001", INS, "key-0001")
    assert a == document_id_for("professional:1:750000001", INS, "key-0001")
    assert a != document_id_for("professional:2:750000001", INS, "key-0001")
    assert a != document_id_for("professional:1:750000001", "192016938701215", "key-0001")
    assert a != document_id_for("professional:1:750000001", INS, "key-0002")


def test_stored_objects_are_bound_to_patient_and_document_without_the_ins_in_clear() -> None:
    doc = document(Author.of(DOCTOR))
    assert INS not in doc.record_key
    assert INS not in str(doc.encryption_context)
    assert doc.encryption_context["mes:document"] == doc.document_id
    other = doc.model_copy(update={"patient_ins": "192016938701215"})
    assert other.encryption_context["mes:patient"] != doc.encryption_context["mes:patient"]


def test_only_unfinished_or_rejected_declarations_expire() -> None:
    pending = document(Author.of(DOCTOR))
    assert pending.purge_at is not None and pending.purge_at > pending.upload_expires_at
    assert pending.reject(RejectionReason.SIZE_MISMATCH, AT).purge_at is not None
    assert pending.accept(AT).purge_at is None
