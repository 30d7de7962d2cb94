"""Record use cases over in-memory adapters: idempotent upload requests, verification outcomes, reading and
deleting, and the rule that someone else's document answers exactly like a missing one."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.access import service as access_service
from functions.access.matrix import matrix
from functions.identity.principal import Citizen, Professional
from functions.journal.models import TraceAction
from functions.records import service
from functions.records.api import ListFilter, UploadIn
from functions.records.models import Declaration, Document, DocumentStatus, RejectionReason
from functions.shared.clock import FixedClock
from functions.shared.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from tests.unit.fakes import FakeBlobStore, FakeControlStore, FakeDocumentStore

INS = "284067512345688"
OTHER_INS = "192016938701215"
PATIENT = Citizen(ins=INS)
DOCTOR = Professional(rpps="10000000001", profession="10", finess="750000001")
PDF = b"%PDF-1.4 compte rendu"


@pytest.fixture
def deps() -> service.RecordDeps:
    control = FakeControlStore()
    return service.RecordDeps(documents=FakeDocumentStore(control, {INS, OTHER_INS}), blobs=FakeBlobStore(),
                              control=control, journal=control,
                              clock=FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
                              upload_ttl=timedelta(minutes=10), download_ttl_seconds=300)


def access(deps: service.RecordDeps) -> access_service.AccessDeps[Document]:
    return access_service.AccessDeps(control=control(deps), documents=deps.documents, blobs=deps.blobs,
                                     clock=deps.clock, matrix=matrix, download_ttl_seconds=300)


def control(deps: service.RecordDeps) -> FakeControlStore:
    assert isinstance(deps.control, FakeControlStore)
    return deps.control


def upload_body(data: bytes = PDF, **over: Any) -> Declaration:
    """The declaration as the route hands it to the service (validated by UploadIn, then converted)."""
    fields: dict[str, object] = {"type_code": "11502-2", "title": "Bilan sanguin", "service_date": "2026-11-20",
                                 "content_type": "application/pdf", "size": len(data),
                                 "sha256": hashlib.sha256(data).hexdigest()}
    fields.update(over)
    return UploadIn.model_validate(fields).to_domain()


def uploaded(deps: service.RecordDeps, who: Citizen | Professional = DOCTOR, data: bytes = PDF,
             key: str = "upload-0001", sent: bytes | None = None, sent_type: str = "application/pdf") -> str:
    doc, _ = service.request_upload(deps, who, INS, upload_body(data), key)
    blobs = deps.blobs
    assert isinstance(blobs, FakeBlobStore)
    blobs.put(doc.quarantine_key, data if sent is None else sent, sent_type, INS)
    return doc.document_id


def test_an_upload_is_traced_with_its_verdict(deps: service.RecordDeps) -> None:
    doc, post = service.request_upload(deps, DOCTOR, INS, upload_body(), "upload-0001")
    assert doc.status is DocumentStatus.PENDING
    assert post.fields["key"] == doc.quarantine_key
    assert doc.upload_expires_at - deps.clock.now() <= timedelta(minutes=15)
    assert control(deps).actions(INS) == []
    blobs = deps.blobs
    assert isinstance(blobs, FakeBlobStore)
    blobs.put(doc.quarantine_key, PDF, "application/pdf", INS)
    service.verify_upload(deps, doc.quarantine_key)
    assert control(deps).actions(INS) == [TraceAction.DOCUMENT_VERIFIED, TraceAction.DOCUMENT_UPLOAD_REQUESTED]
    upload = control(deps).traces[INS][0]
    assert (upload.actor.id, upload.at) == (DOCTOR.rpps, doc.created_at)


def test_same_key_and_body_give_the_same_document(deps: service.RecordDeps) -> None:
    first, _ = service.request_upload(deps, DOCTOR, INS, upload_body(), "upload-0001")
    again, _ = service.request_upload(deps, DOCTOR, INS, upload_body(), "upload-0001")
    assert again == first


def test_same_key_with_another_body_is_refused_as_reused(deps: service.RecordDeps) -> None:
    service.request_upload(deps, DOCTOR, INS, upload_body(), "upload-0001")
    with pytest.raises(Unprocessable) as refused:
        service.request_upload(deps, DOCTOR, INS, upload_body(title="Autre titre"), "upload-0001")
    assert refused.value.code == "idempotency_key_reused"


@pytest.mark.parametrize(("who", "over", "error"), [
    (DOCTOR, {"type_code": "99999-9"}, Unprocessable),
    (DOCTOR, {"content_type": "application/zip"}, UnsupportedMediaType),
    (DOCTOR, {"size": 20 * 1024 * 1024 + 1}, PayloadTooLarge),
    (PATIENT, {"content_type": "application/xml"}, UnsupportedMediaType),
    (PATIENT, {"size": 5 * 1024 * 1024 + 1}, PayloadTooLarge),
])
def test_declarations_outside_the_rules_are_refused_and_nothing_is_written(
        deps: service.RecordDeps, who: Citizen | Professional, over: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        service.request_upload(deps, who, INS, upload_body(**over), "upload-0001")
    assert control(deps).actions(INS) == []


@pytest.mark.parametrize("key", [None, "", "short", "spaces are not allowed here", "x" * 101])
def test_an_idempotency_key_is_required_and_well_formed(deps: service.RecordDeps, key: str | None) -> None:
    with pytest.raises(InvalidRequest):
        service.request_upload(deps, DOCTOR, INS, upload_body(), key)


def test_a_patient_without_a_space_is_not_found(deps: service.RecordDeps) -> None:
    from functions.identity.ins import with_key

    with pytest.raises(NotFound):
        service.request_upload(deps, DOCTOR, with_key("1010101001001"), upload_body(), "upload-0001")


def test_verified_bytes_join_the_record_with_a_trace_and_a_notification(deps: service.RecordDeps) -> None:
    doc_id = uploaded(deps)
    assert service.verify_upload(deps, f"uploads/{doc_id}") is service.VerificationOutcome.ACCEPTED
    doc, url = service.read_own_document(deps, PATIENT, INS, doc_id)
    assert doc.status is DocumentStatus.AVAILABLE and url is not None
    blobs = deps.blobs
    assert isinstance(blobs, FakeBlobStore)
    assert blobs.records[doc.record_key] == PDF
    assert blobs.contexts[doc.record_key] == doc.encryption_context
    assert blobs.quarantine == {}
    assert [n.document_id for n in control(deps).notifications] == [doc_id]


def test_a_redelivered_event_changes_nothing(deps: service.RecordDeps) -> None:
    doc_id = uploaded(deps)
    service.verify_upload(deps, f"uploads/{doc_id}")
    traces_before = len(control(deps).actions(INS))
    assert service.verify_upload(deps, f"uploads/{doc_id}") is service.VerificationOutcome.IGNORED
    assert len(control(deps).actions(INS)) == traces_before


def test_a_second_upload_to_an_accepted_document_is_discarded(deps: service.RecordDeps) -> None:
    doc_id = uploaded(deps)
    service.verify_upload(deps, f"uploads/{doc_id}")
    blobs = deps.blobs
    assert isinstance(blobs, FakeBlobStore)
    blobs.put(f"uploads/{doc_id}", b"%PDF-1.4 swapped!!!!!", "application/pdf", INS)
    assert service.verify_upload(deps, f"uploads/{doc_id}") is service.VerificationOutcome.IGNORED
    assert blobs.quarantine == {}
    doc, _ = service.read_own_document(deps, PATIENT, INS, doc_id)
    assert blobs.records[doc.record_key] == PDF


@pytest.mark.parametrize(("sent", "sent_type", "reason"), [
    (PDF + b"x", "application/pdf", RejectionReason.SIZE_MISMATCH),
    (b"%PDF-1.4 compte rendv", "application/pdf", RejectionReason.CHECKSUM_MISMATCH),
    (PDF, "image/png", RejectionReason.CONTENT_TYPE_MISMATCH),
])
def test_an_upload_that_differs_from_its_declaration_is_rejected_and_leaves_nothing(
        deps: service.RecordDeps, sent: bytes, sent_type: str, reason: RejectionReason) -> None:
    doc_id = uploaded(deps, sent=sent, sent_type=sent_type)
    assert service.verify_upload(deps, f"uploads/{doc_id}") is service.VerificationOutcome.REJECTED
    doc, url = access_service.read_patient_document(access(deps), DOCTOR, INS, doc_id, consent=False)
    assert (doc.status, doc.rejection_reason, url) == (DocumentStatus.REJECTED, reason, None)
    blobs = deps.blobs
    assert isinstance(blobs, FakeBlobStore)
    assert blobs.quarantine == {} and blobs.records == {}
    with pytest.raises(NotFound):
        service.read_own_document(deps, PATIENT, INS, doc_id)


def test_a_text_file_declared_as_pdf_is_rejected(deps: service.RecordDeps) -> None:
    text = b"not really a pdf"
    doc_id = uploaded(deps, data=text)
    assert service.verify_upload(deps, f"uploads/{doc_id}") is service.VerificationOutcome.REJECTED
    doc, _ = access_service.read_patient_document(access(deps), DOCTOR, INS, doc_id, consent=False)
    assert doc.rejection_reason is RejectionReason.CONTENT_NOT_OF_DECLARED_TYPE


def test_someone_elses_document_answers_like_a_missing_one(deps: service.RecordDeps) -> None:
    doc_id = uploaded(deps)
    service.verify_upload(deps, f"uploads/{doc_id}")
    physio = Professional(rpps="10000000003", profession="70", finess="690000002")  # lab reports: not in matrix
    errors = []
    calls: tuple[Callable[[], object], ...] = (
                 lambda: service.read_own_document(deps, Citizen(ins=OTHER_INS), OTHER_INS, doc_id),
                 lambda: service.read_own_document(deps, PATIENT, INS, "doc_" + "0" * 26),
                 lambda: service.read_own_document(deps, PATIENT, INS, "../../etc/passwd"),
                 lambda: access_service.read_patient_document(access(deps), physio, INS, doc_id, True))
    for call in calls:
        with pytest.raises(NotFound) as err:
            call()
        errors.append((err.value.code, err.value.message))
    assert len(set(errors)) == 1


def test_the_holder_lists_available_documents_and_own_uploads_only(deps: service.RecordDeps) -> None:
    accepted = uploaded(deps, key="upload-0001")
    service.verify_upload(deps, f"uploads/{accepted}")
    uploaded(deps, key="upload-0002")  # a hospital document still pending: not shown
    own, _ = service.request_upload(deps, PATIENT, INS, upload_body(b"%PDF-1.4 mine"), "upload-0003")
    docs, _ = service.list_own_documents(deps, PATIENT, INS, ListFilter().to_domain(), None, 20)
    assert {d.document_id for d in docs} == {accepted, own.document_id}
    assert control(deps).actions(INS)[0] == TraceAction.DOCUMENT_LISTED


def test_the_holder_deletes_own_uploads_but_not_professional_documents(deps: service.RecordDeps) -> None:
    pro_doc = uploaded(deps, key="upload-0001")
    service.verify_upload(deps, f"uploads/{pro_doc}")
    own = uploaded(deps, who=PATIENT, key="upload-0002")
    service.verify_upload(deps, f"uploads/{own}")
    with pytest.raises(Forbidden):
        service.delete_own_document(deps, PATIENT, INS, pro_doc)
    service.delete_own_document(deps, PATIENT, INS, own)
    with pytest.raises(NotFound):
        service.read_own_document(deps, PATIENT, INS, own)
    blobs = deps.blobs
    assert isinstance(blobs, FakeBlobStore)
    assert len(blobs.records) == 1
    assert control(deps).actions(INS)[0] == TraceAction.DOCUMENT_DELETED


def test_a_document_deleted_while_pending_discards_a_late_upload(deps: service.RecordDeps) -> None:
    own = uploaded(deps, who=PATIENT)
    service.delete_own_document(deps, PATIENT, INS, own)
    blobs = deps.blobs
    assert isinstance(blobs, FakeBlobStore)
    blobs.put(f"uploads/{own}", PDF, "application/pdf", INS)
    assert service.verify_upload(deps, f"uploads/{own}") is service.VerificationOutcome.IGNORED
    assert blobs.quarantine == {} and blobs.records == {}


def blob_store(deps: service.RecordDeps) -> FakeBlobStore:
    assert isinstance(deps.blobs, FakeBlobStore)
    return deps.blobs


# Issue 9.12: the ticket's expiry binds the upload, and a replay after it gets no fresh window.
def test_an_upload_that_arrives_after_its_ticket_expired_is_rejected_and_never_promoted(
        deps: service.RecordDeps) -> None:
    doc, _ = service.request_upload(deps, DOCTOR, INS, upload_body(), "upload-0001")
    blob_store(deps).put(doc.quarantine_key, PDF, "application/pdf", INS,
                         at=doc.upload_expires_at + timedelta(seconds=1))
    assert service.verify_upload(deps, doc.quarantine_key) is service.VerificationOutcome.REJECTED
    seen, url = access_service.read_patient_document(access(deps), DOCTOR, INS, doc.document_id, consent=False)
    assert (seen.status, seen.rejection_reason, url) == (DocumentStatus.REJECTED, RejectionReason.UPLOAD_EXPIRED,
                                                        None)
    assert blob_store(deps).quarantine == {} and blob_store(deps).records == {}
    assert control(deps).notifications == []
    rejected = [t for t in control(deps).traces[INS] if t.action is TraceAction.DOCUMENT_REJECTED]
    assert [t.reason for t in rejected] == ["upload_expired"]


def test_an_upload_that_arrives_at_the_last_second_of_its_ticket_is_accepted(deps: service.RecordDeps) -> None:
    doc, _ = service.request_upload(deps, DOCTOR, INS, upload_body(), "upload-0001")
    blob_store(deps).put(doc.quarantine_key, PDF, "application/pdf", INS, at=doc.upload_expires_at)
    assert service.verify_upload(deps, doc.quarantine_key) is service.VerificationOutcome.ACCEPTED


@pytest.mark.parametrize("verified", [False, True], ids=["still pending", "already available"])
def test_repeating_a_declaration_after_its_ticket_expired_gets_no_new_window(
        deps: service.RecordDeps, verified: bool) -> None:
    doc, _ = service.request_upload(deps, DOCTOR, INS, upload_body(), "upload-0001")
    if verified:
        blob_store(deps).put(doc.quarantine_key, PDF, "application/pdf", INS)
        service.verify_upload(deps, doc.quarantine_key)
    signed = blob_store(deps).tickets[doc.quarantine_key]
    clock = deps.clock
    assert isinstance(clock, FixedClock)
    clock.at = doc.upload_expires_at + timedelta(seconds=1)
    with pytest.raises(Conflict) as err:
        service.request_upload(deps, DOCTOR, INS, upload_body(), "upload-0001")
    assert err.value.code == "upload_expired"
    assert blob_store(deps).tickets[doc.quarantine_key] == signed  # nothing was signed again


def test_repeating_a_declaration_before_expiry_signs_the_same_window(deps: service.RecordDeps) -> None:
    doc, _ = service.request_upload(deps, DOCTOR, INS, upload_body(), "upload-0001")
    clock = deps.clock
    assert isinstance(clock, FixedClock)
    clock.at = doc.upload_expires_at - timedelta(seconds=1)
    again, _ = service.request_upload(deps, DOCTOR, INS, upload_body(), "upload-0001")
    assert again.upload_expires_at == doc.upload_expires_at


# Issue 9.13: an object is held to its declaration's patient and uploader, not to its key alone; what matches no
# pending declaration is deleted and counted, and never changes a document.
def discarded(capsys: pytest.CaptureFixture[str]) -> float:
    """QuarantineObjectsDiscarded as emitted in CloudWatch embedded metric format on stdout."""
    import json

    total = 0.0
    for line in capsys.readouterr().out.splitlines():
        try:
            emitted = json.loads(line)
        except ValueError:
            continue
        value = emitted.get("QuarantineObjectsDiscarded") if isinstance(emitted, dict) else None
        if value is not None:
            total += sum(value) if isinstance(value, list) else value
    return total


@pytest.mark.parametrize("forged", ["citizen's own ticket", "no uploader", "other patient", "no patient"])
def test_an_object_whose_metadata_does_not_match_the_pending_declaration_is_deleted(
        deps: service.RecordDeps, capsys: pytest.CaptureFixture[str], forged: str) -> None:
    target, _ = service.request_upload(deps, DOCTOR, INS, upload_body(), "upload-0001")
    own, _ = service.request_upload(deps, PATIENT, INS, upload_body(b"%PDF-1.4 mine"), "upload-0002")
    own_fields = blob_store(deps).tickets[own.quarantine_key][0]
    doctor_fields = blob_store(deps).tickets[target.quarantine_key][0]
    patient, uploader = {
        "citizen's own ticket": (own_fields["x-amz-meta-patient"], own_fields["x-amz-meta-uploader"]),
        "no uploader": (INS, ""),
        "other patient": (OTHER_INS, doctor_fields["x-amz-meta-uploader"]),
        "no patient": ("", doctor_fields["x-amz-meta-uploader"]),
    }[forged]
    capsys.readouterr()
    # The citizen POSTs bytes that satisfy the hospital's declaration, under the hospital document's key.
    blob_store(deps).put(target.quarantine_key, PDF, "application/pdf", patient, uploader=uploader)
    assert service.verify_upload(deps, target.quarantine_key) is service.VerificationOutcome.IGNORED
    assert deps.documents.get(INS, target.document_id) == target  # still pending, untouched
    assert blob_store(deps).quarantine == {} and blob_store(deps).records == {}
    assert control(deps).actions(INS) == [] and control(deps).notifications == []
    assert discarded(capsys) == 1
    # The genuine upload, when it comes, is verified as usual.
    blob_store(deps).put(target.quarantine_key, PDF, "application/pdf", INS)
    assert service.verify_upload(deps, target.quarantine_key) is service.VerificationOutcome.ACCEPTED


@pytest.mark.parametrize("key", ["elsewhere/report.pdf", "uploads/not-a-document", "uploads/", "report.pdf",
                                 "uploads/doc_" + "0" * 26])
def test_an_object_outside_any_pending_declaration_is_deleted_and_counted(
        deps: service.RecordDeps, capsys: pytest.CaptureFixture[str], key: str) -> None:
    blob_store(deps).put(key, PDF, "application/pdf", INS, uploader="someone")
    capsys.readouterr()
    assert service.verify_upload(deps, key) is service.VerificationOutcome.IGNORED
    assert blob_store(deps).quarantine == {}
    assert discarded(capsys) == 1
    assert control(deps).actions(INS) == []


def test_the_presigned_post_pins_the_uploader(deps: service.RecordDeps) -> None:
    _, post = service.request_upload(deps, DOCTOR, INS, upload_body(), "upload-0001")
    _, own = service.request_upload(deps, PATIENT, INS, upload_body(b"%PDF-1.4 mine"), "upload-0002")
    _, other = service.request_upload(deps, Citizen(ins=OTHER_INS), OTHER_INS, upload_body(b"%PDF-1.4 mine"),
                                      "upload-0002")
    tags = {p.fields["x-amz-meta-uploader"] for p in (post, own, other)}
    assert len(tags) == 3  # per uploader and per patient: one citizen's value is no other's
    assert not any(DOCTOR.rpps in tag or INS in tag for tag in tags)
