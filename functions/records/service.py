"""Record use cases: request an upload, verify it, list, read and delete documents. Every read and write traces."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from functions.access import policy
from functions.audit.models import Actor, Trace, TraceAction
from functions.audit.storage import TraceStore
from functions.identity.ins import parse_ins
from functions.identity.principal import Citizen, Professional
from functions.notifications.models import Notification, NotificationKind
from functions.records import catalog
from functions.records.api import ListFilter, UploadIn
from functions.records.blobs import BlobStore, PresignedPost
from functions.records.inspection import UploadInspector
from functions.records.models import Author, Document, DocumentStatus, document_id_for
from functions.records.storage import DocumentStore
from functions.shared import cursor
from functions.shared.clock import Clock
from functions.shared.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from functions.shared.observability import logger

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")
_DOCUMENT_ID = re.compile(r"^doc_[0-9a-f]{26}$")
VERIFIER = Actor.system("upload-verifier")


@dataclass(frozen=True)
class RecordDeps:
    documents: DocumentStore
    blobs: BlobStore
    traces: TraceStore
    clock: Clock
    upload_ttl: timedelta
    download_ttl_seconds: int


class VerificationOutcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IGNORED = "ignored"


def _check_declaration(body: UploadIn, author: Author) -> None:
    if body.type_code not in catalog.document_types():
        raise Unprocessable("type_code is not in the reference list", code="unknown_type_code")
    limit = catalog.upload_limits().for_author(author.kind)
    if body.content_type not in limit.content_types:
        allowed = ", ".join(sorted(limit.content_types))
        raise UnsupportedMediaType(f"content_type must be one of: {allowed}")
    if body.size > limit.max_bytes:
        raise PayloadTooLarge(f"size exceeds the {limit.max_bytes} bytes limit")


def request_upload(deps: RecordDeps, who: Citizen | Professional, patient: str, body: UploadIn,
                   idempotency_key: str | None) -> tuple[Document, PresignedPost]:
    """Declare a document and get a presigned POST for its bytes. The same key and body give the same document."""
    if not idempotency_key:
        raise InvalidRequest("the Idempotency-Key header is required", code="idempotency_key_required")
    if not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise InvalidRequest("Idempotency-Key must be 8-100 characters of [A-Za-z0-9._:-]",
                             code="invalid_idempotency_key")
    ins = who.ins if isinstance(who, Citizen) else parse_ins(patient).value
    author = Author.of(who)
    _check_declaration(body, author)
    now = deps.clock.now()
    declaration = body.declaration()
    scope = f"{author.kind}:{author.rpps or ''}:{author.finess or ''}"
    doc = Document(
        patient_ins=ins,
        document_id=document_id_for(scope, ins, idempotency_key),
        declaration=declaration,
        author=author,
        status=DocumentStatus.PENDING,
        created_at=now,
        updated_at=now,
        upload_expires_at=(now + deps.upload_ttl).replace(microsecond=0),
        request_digest=declaration.digest(),
    )
    trace = Trace.new(ins, now, Actor.of(who), TraceAction.DOCUMENT_UPLOAD_REQUESTED, doc.document_id)
    stored, created = deps.documents.create_pending(doc, trace)
    if not created and (stored.request_digest != doc.request_digest or stored.author != author):
        raise Conflict("this Idempotency-Key was already used with a different request",
                       code="idempotency_key_reused")
    post = deps.blobs.presign_upload(stored.quarantine_key, ins, declaration.content_type, declaration.size,
                                     now, stored.upload_expires_at)
    logger.info("upload requested", extra={"document_id": stored.document_id, "replay": not created})
    return stored, post


def _find(deps: RecordDeps, patient_ins: str, document_id: str) -> Document | None:
    if not _DOCUMENT_ID.match(document_id):
        return None
    return deps.documents.get(patient_ins, document_id)


def _read(deps: RecordDeps, who: Citizen | Professional, patient_ins: str,
          document_id: str) -> tuple[Document, str | None]:
    doc = _find(deps, patient_ins, document_id)
    if doc is None or not policy.may_read(who, doc):
        raise NotFound("document")
    deps.traces.record(Trace.new(patient_ins, deps.clock.now(), Actor.of(who), TraceAction.DOCUMENT_READ,
                                 doc.document_id))
    url = None
    if doc.status is DocumentStatus.AVAILABLE:
        url = deps.blobs.presign_download(doc.record_key, deps.download_ttl_seconds)
    return doc, url


def read_own_document(deps: RecordDeps, who: Citizen, document_id: str) -> tuple[Document, str | None]:
    return _read(deps, who, who.ins, document_id)


def read_patient_document(deps: RecordDeps, who: Professional, patient: str,
                          document_id: str) -> tuple[Document, str | None]:
    return _read(deps, who, parse_ins(patient).value, document_id)


def list_own_documents(deps: RecordDeps, who: Citizen, flt: ListFilter, raw_cursor: str | None,
                       limit: int) -> tuple[list[Document], str | None]:
    position = cursor.decode(raw_cursor, frozenset({"p"}))
    docs, last = deps.documents.list_visible_to_patient(who.ins, flt, position["p"] if position else None, limit)
    deps.traces.record(Trace.new(who.ins, deps.clock.now(), Actor.of(who), TraceAction.DOCUMENT_LISTED))
    return docs, cursor.encode({"p": last} if last else None)


def delete_own_document(deps: RecordDeps, who: Citizen, document_id: str) -> None:
    """Bytes first, then the item and its trace: a failure in between leaves a state the retry completes,
    never an object that no item points to."""
    doc = _find(deps, who.ins, document_id)
    if doc is None or not doc.visible_to_patient:
        raise NotFound("document")
    if not policy.may_delete(who, doc):
        raise Forbidden("only documents you added yourself can be deleted", code="not_document_owner")
    if doc.status is DocumentStatus.AVAILABLE:
        deps.blobs.delete_record(doc.record_key)
    trace = Trace.new(who.ins, deps.clock.now(), Actor.of(who), TraceAction.DOCUMENT_DELETED, doc.document_id)
    if not deps.documents.delete(doc, trace):
        raise Conflict("the document changed while it was being deleted; try again", code="concurrent_change")
    if doc.status is DocumentStatus.PENDING:
        deps.blobs.discard_quarantined(doc.quarantine_key)


def verify_upload(deps: RecordDeps, key: str) -> VerificationOutcome:
    """Hold the quarantined bytes to their declaration, then promote or reject. Safe to run any number of times
    for the same object: only a pending document changes state, in one conditional transaction."""
    document_id = key.removeprefix("uploads/")
    if not key.startswith("uploads/") or not _DOCUMENT_ID.match(document_id):
        logger.warning("ignored unexpected quarantine key")
        return VerificationOutcome.IGNORED
    obj = deps.blobs.open_quarantined(key)
    if obj is None:
        return VerificationOutcome.IGNORED
    doc = deps.documents.get(obj.patient_ins, document_id) if obj.patient_ins else None
    if doc is None or doc.status is not DocumentStatus.PENDING:
        obj.close()
        deps.blobs.discard_quarantined(key)
        logger.info("discarded upload without a pending document", extra={"document_id": document_id})
        return VerificationOutcome.IGNORED

    inspector = UploadInspector(doc.declaration)
    try:
        for chunk in obj.chunks:
            inspector.feed(chunk)
            if not inspector.wants_more:
                break
    finally:
        obj.close()
    reason = inspector.verdict(obj.content_type)
    now = deps.clock.now()
    if reason is not None:
        rejected = doc.reject(reason, now)
        trace = Trace.new(doc.patient_ins, now, VERIFIER, TraceAction.DOCUMENT_REJECTED, doc.document_id,
                          reason=reason.value)
        deps.documents.commit_verification(rejected, trace, None)
        deps.blobs.discard_quarantined(key)
        logger.info("upload rejected", extra={"document_id": document_id, "reason": reason.value})
        return VerificationOutcome.REJECTED

    deps.blobs.promote(key, obj.etag, doc.record_key, doc.declaration.content_type, doc.encryption_context)
    accepted = doc.accept(now)
    trace = Trace.new(doc.patient_ins, now, VERIFIER, TraceAction.DOCUMENT_VERIFIED, doc.document_id)
    notification = None
    if doc.author.kind == "professional":
        notification = Notification(recipient_ins=doc.patient_ins, notification_id=f"new-{doc.document_id}",
                                    kind=NotificationKind.NEW_DOCUMENT, created_at=now,
                                    document_id=doc.document_id)
    if not deps.documents.commit_verification(accepted, trace, notification):
        current = deps.documents.get(doc.patient_ins, doc.document_id)
        if current is None:  # deleted while we verified: the copy must not outlive it
            deps.blobs.delete_record(doc.record_key)
    deps.blobs.discard_quarantined(key)
    logger.info("upload accepted", extra={"document_id": document_id})
    return VerificationOutcome.ACCEPTED
