"""Record use cases: request an upload, verify it, list, read and delete documents. Every read and write traces."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from functions.identity.ins import parse_ins
from functions.identity.principal import Citizen, Organisation, Professional
from functions.journal.models import Actor, Trace, TraceAction
from functions.journal.ports import Entry
from functions.journal.retry import until_settled
from functions.notifications.models import Notification, NotificationPreferences
from functions.records import catalog, policy
from functions.records.inspection import Declared, UploadInspector
from functions.records.models import (
    Author,
    Declaration,
    Document,
    DocumentFilter,
    DocumentStatus,
    ExistingObject,
    NamedAuthor,
    PresignedPost,
    QuarantinedObject,
    RejectionReason,
    document_id_for,
)
from functions.records.ports import AccessProfiles, BlobStore, DocumentStore, HeldUploads, TraceLog
from functions.shared import cursor
from functions.shared.clock import Clock
from functions.shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from functions.shared.idempotency import KeyReused, required_key
from functions.shared.observability import (
    DOCUMENT_READS,
    DOCUMENTS_DECLARED,
    DOCUMENTS_REJECTED,
    DOCUMENTS_VERIFIED,
    QUARANTINE_DISCARDED,
    count,
    logger,
)
from functions.shared.privacy import digest

_DOCUMENT_ID = re.compile(r"^doc_[0-9a-f]{26}$")
VERIFIER = Actor.system("upload-verifier")
INVISIBLE_JOB = Actor.system("invisible-patient-job")


@dataclass(frozen=True)
class RecordDeps:
    """`control`: the patient's access profile (blocks, "hide new documents", the head read with them);
    `journal`: where reads that change nothing else leave their trace."""

    documents: DocumentStore
    blobs: BlobStore
    control: AccessProfiles
    journal: TraceLog
    clock: Clock
    upload_ttl: timedelta
    download_ttl_seconds: int
    preferences: Callable[[str], NotificationPreferences] = lambda _ins: NotificationPreferences()


class VerificationOutcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IGNORED = "ignored"


def _check_declaration(body: Declaration, author: Author) -> None:
    if body.type_code not in catalog.document_types():
        raise Unprocessable("type_code is not in the reference list", code="unknown_type_code")
    limit = catalog.upload_limits().for_author(author.kind)
    if body.content_type not in limit.content_types:
        allowed = ", ".join(sorted(limit.content_types))
        raise UnsupportedMediaType(f"content_type must be one of: {allowed}")
    if body.size > limit.max_bytes:
        raise PayloadTooLarge(f"size exceeds the {limit.max_bytes} bytes limit")


def _uploader(author: Author, patient_ins: str) -> str:
    """Who declared a document for whom, as pinned in its presigned POST (`x-amz-meta-uploader`) and checked by the
    verifier. A keyed pseudonym: object metadata is no place for an RPPS in clear, and without the key nobody can
    compute the value of another uploader or patient (every citizen uploads as "patient")."""
    return digest("uploader", f"{author.scope}|{patient_ins}")


def _refuse_expired_replay(stored: Document, now: datetime) -> None:
    """A replay gets the same window, never a new one: once the ticket has expired there is nothing left to sign (a
    fresh POST under the old `expires_at` would outlive the ticket the response describes)."""
    if now < stored.upload_expires_at:
        return
    if stored.status is DocumentStatus.AVAILABLE:
        raise Conflict("this upload ticket has expired; its document was received and needs no new upload",
                       code="upload_expired")
    raise Conflict("this upload ticket has expired: declare the document again with a new Idempotency-Key",
                   code="upload_expired")


def _author(who: Citizen | Professional | Organisation, named: NamedAuthor | None) -> Author:
    """An organisation's system names the professional author (required); anyone else is the author."""
    if isinstance(who, Organisation):
        if named is None:
            raise Unprocessable("an organisation names the document's professional author (rpps, profession, name)",
                                code="author_required")
        return Author.of(who, named)
    if named is not None:
        raise Unprocessable("author is set by organisations only: you are the author", code="forbidden_field")
    return Author.of(who)


def request_upload(deps: RecordDeps, who: Citizen | Professional | Organisation, patient: str,
                   declaration: Declaration, idempotency_key: str | None,
                   named: NamedAuthor | None = None) -> tuple[Document, PresignedPost]:
    """Declare a document and get a presigned POST for its bytes. The same key and body give the same document;
    the key with another body is 422 idempotency_key_reused, as on every idempotent route (nothing is written: the
    declaration's conditional put found the first one). `patient`: the INS the document is for (a citizen's: the
    space they act on); `named`: the professional author an organisation's system names."""
    idempotency_key = required_key(idempotency_key)
    ins = parse_ins(patient).value
    author = _author(who, named)
    if author.kind == "patient" and declaration.visibility != "normal":
        raise Unprocessable("visibility is set by professionals only", code="forbidden_field")
    _check_declaration(declaration, author)
    now = deps.clock.now()
    doc = Document(
        patient_ins=ins,
        document_id=document_id_for(author.scope, ins, idempotency_key),
        declaration=declaration,
        author=author,
        status=DocumentStatus.PENDING,
        created_at=now,
        updated_at=now,
        upload_expires_at=(now + deps.upload_ttl).replace(microsecond=0),
        request_digest=declaration.digest(),
    )
    stored, created = deps.documents.create_pending(doc)
    if not created and (stored.request_digest != doc.request_digest or stored.author != author):
        raise KeyReused()
    if not created:
        _refuse_expired_replay(stored, now)
    else:
        count(DOCUMENTS_DECLARED, author=author.kind)
    post = deps.blobs.presign_upload(stored.quarantine_key, ins, _uploader(stored.author, ins),
                                     declaration.content_type, declaration.size, now, stored.upload_expires_at)
    logger.info("upload requested", extra={"document_id": stored.document_id, "replay": not created})
    return stored, post


def _find(deps: RecordDeps, patient_ins: str, document_id: str) -> Document | None:
    if not _DOCUMENT_ID.match(document_id):
        return None
    return deps.documents.get(patient_ins, document_id)


def read_own_document(deps: RecordDeps, who: Citizen, space: str,
                      document_id: str) -> tuple[Document, str | None]:
    """`who` acts on `space` (the INS identity's `space_of` gave). The document and the chain head come in one
    read; the trace is the only write."""
    doc, head = (deps.documents.get_with_head(space, document_id) if _DOCUMENT_ID.match(document_id)
                 else (None, None))
    if doc is None or not policy.citizen_reads(space, doc):
        raise NotFound("document")
    trace = Trace.new(space, deps.clock.now(), Actor.acting_on(who, space), TraceAction.DOCUMENT_READ,
                      doc.document_id)
    deps.journal.record(Entry(space, traces=[trace]), head)
    count(DOCUMENT_READS, reader="citizen")
    url = None
    if doc.status is DocumentStatus.AVAILABLE:
        url = deps.blobs.presign_download(doc.record_key, deps.download_ttl_seconds, doc.declaration.content_type,
                                         doc.download_name, patient_ins=doc.patient_ins)
    return doc, url


def list_own_documents(deps: RecordDeps, who: Citizen, space: str, flt: DocumentFilter, raw_cursor: str | None,
                       limit: int) -> tuple[list[Document], str | None]:
    after = cursor.decode(raw_cursor)
    docs, last = deps.documents.list_visible_to_patient(space, flt, after, limit)
    trace = Trace.new(space, deps.clock.now(), Actor.acting_on(who, space), TraceAction.DOCUMENT_LISTED)
    deps.journal.record(Entry(space, traces=[trace]))
    return docs, cursor.encode(last)


def delete_own_document(deps: RecordDeps, who: Citizen, space: str, document_id: str) -> None:
    """Bytes first, then the item and its trace: a failure in between leaves a state the retry completes,
    never an object that no item points to."""
    doc = _find(deps, space, document_id)
    if doc is None or not policy.citizen_reads(space, doc):
        raise NotFound("document")
    if not policy.may_delete(space, doc):
        raise Forbidden("only documents you added yourself can be deleted", code="not_document_owner")
    if doc.status is DocumentStatus.AVAILABLE:
        deps.blobs.delete_record(doc.record_key)
    trace = Trace.new(space, deps.clock.now(), Actor.acting_on(who, space), TraceAction.DOCUMENT_DELETED,
                      doc.document_id)
    if not deps.documents.delete(doc, trace):
        raise Conflict("the document changed while it was being deleted; try again", code="concurrent_change")
    if doc.status is DocumentStatus.PENDING:
        deps.blobs.discard_quarantined(doc.quarantine_key)


def hide_own_document(deps: RecordDeps, who: Citizen, space: str, document_id: str, hidden: bool) -> Document:
    """MASQUE_PS: the holder hides a document from professionals (its author and the administrator still see
    it) or shows it again."""
    doc = _find(deps, space, document_id)
    if doc is None or not policy.citizen_reads(space, doc):
        raise NotFound("document")
    if doc.status is not DocumentStatus.AVAILABLE:
        raise Conflict("only available documents can be hidden", code="document_not_available")
    if doc.hidden_from_professionals == hidden:
        return doc
    now = deps.clock.now()
    changed = doc.hide(hidden, now)
    action = TraceAction.DOCUMENT_HIDDEN if hidden else TraceAction.DOCUMENT_UNHIDDEN
    trace = Trace.new(space, now, Actor.acting_on(who, space), action, doc.document_id)
    if not deps.documents.save(changed, doc, [trace], []):
        raise Conflict("the document changed meanwhile; try again", code="concurrent_change")
    return changed


def release_document(deps: RecordDeps, who: Professional | Organisation, patient: str,
                     document_id: str) -> Document:
    """The author lifts INVISIBLE_PATIENT after the announcement consultation: the patient sees it now. Whatever
    the caller may not release (missing, someone else's, already visible, or they are blocked) answers like a
    missing document. A block that lands between the decision and its commit moves the chain head: decide again."""
    return until_settled(lambda: _release_once(deps, who, patient, document_id))


def _actor_on(who: Citizen | Professional | Organisation, doc: Document) -> Actor:
    """The trace's actor; an organisation's system acts on its document in the name of the author it named."""
    actor = Actor.of(who)
    if isinstance(who, Organisation) and doc.author.rpps:
        return actor.naming(doc.author.rpps, doc.author.profession, doc.author.name)
    return actor


def _new_document_notice(doc: Document, now: datetime) -> Notification:
    """"Nouveau document : <label> — <author>": the type's label and the author's name as the claims gave it."""
    return Notification.for_document(doc.patient_ins, doc.document_id, now,
                                      catalog.document_types().get(doc.declaration.type_code), doc.author.display)


def _release_once(deps: RecordDeps, who: Professional | Organisation, patient: str, document_id: str) -> Document:
    """One decision on the access profile read now, committed only on the chain head read with it."""
    ins = parse_ins(patient).value
    doc = _find(deps, ins, document_id)
    profile = deps.control.profile(ins)
    if doc is None or not policy.may_release(who, profile, doc):
        raise NotFound("document")
    now = deps.clock.now()
    released = doc.release(now)
    trace = Trace.new(ins, now, _actor_on(who, doc), TraceAction.DOCUMENT_RELEASED, doc.document_id)
    notice = _new_document_notice(doc, now).honouring(deps.preferences(ins))
    if not deps.documents.save(released, doc, [trace], [notice], profile.head, retry=False):
        raise Conflict("the document changed meanwhile; try again", code="concurrent_change")
    return released


def run_invisible_patient_job(deps: RecordDeps, day: date) -> dict[str, int]:
    """Daily: two weeks after an INVISIBLE_PATIENT document arrived, tell the patient to see their doctor; after a
    month, make it visible. Steps due on the days before `day` are caught up (a failed or skipped run delays them by
    a day, never forever). Each step is conditional on the document being as read, so overlapping or repeated runs
    neither repeat a notice nor undo a release."""
    counts = {"announced": 0, "released": 0}
    now = deps.clock.now()
    for doc in deps.documents.due_invisible(day):
        if doc.traces_to_merge:  # a release whose withheld traces were not all merged (cut short): finish it
            deps.documents.finish_release(doc)
            continue
        step = doc.invisibility_next_step
        if step is None or step.date() > day:
            continue
        if not doc.announcement_sent:
            changed = doc.announce(now)
            notice = Notification.for_announcement(doc.patient_ins, doc.document_id, now)
            traces = [Trace.new(doc.patient_ins, now, INVISIBLE_JOB, TraceAction.DOCUMENT_ANNOUNCEMENT_REQUESTED,
                                doc.document_id)]
            key = "announced"
        else:
            changed, notice = doc.release(now), _new_document_notice(doc, now)
            traces = [Trace.new(doc.patient_ins, now, INVISIBLE_JOB, TraceAction.DOCUMENT_RELEASED,
                                doc.document_id, reason="one_month_elapsed")]
            key = "released"
        if deps.documents.save(changed, doc, traces, [notice.honouring(deps.preferences(doc.patient_ins))]):
            counts[key] += 1
    return counts


def _upload_trace(doc: Document) -> Trace:
    """The author's upload, at the time it was requested, traced with its verdict."""
    actor = _actor_on(doc.author.principal(doc.patient_ins), doc)
    return Trace.new(doc.patient_ins, doc.created_at, actor, TraceAction.DOCUMENT_UPLOAD_REQUESTED, doc.document_id)


def _discard_unmatched(deps: RecordDeps, key: str, why: str) -> VerificationOutcome:
    """An object no pending declaration accounts for leaves quarantine now (not at the lifecycle's expiry) and is
    counted: it is a failed or forged upload, or a late duplicate, and never changes any document."""
    deps.blobs.discard_quarantined(key)
    count(QUARANTINE_DISCARDED)
    logger.info("discarded quarantine object", extra={"why": why})
    return VerificationOutcome.IGNORED


def _pending_declaration(deps: RecordDeps, obj: QuarantinedObject, document_id: str) -> Document | None:
    """The pending declaration this object was uploaded for, or None. The key alone proves nothing (a forged POST
    may name another document's key): the patient and uploader the presigned POST pinned must match it too."""
    if not obj.patient_ins or not obj.uploader:
        return None
    doc = deps.documents.get(obj.patient_ins, document_id)
    if doc is None or doc.status is not DocumentStatus.PENDING:
        return None
    if not hmac.compare_digest(obj.uploader, _uploader(doc.author, doc.patient_ins)):
        return None
    return doc


def _arrived_after_expiry(doc: Document, obj: QuarantinedObject) -> bool:
    """S3 refuses a POST after its policy's expiration (at or before `upload_expires_at`); the verifier checks again
    with S3's LastModified, stamped when the upload reached S3, so an expired ticket never works even if the policy
    was not enforced."""
    return obj.last_modified > doc.upload_expires_at


def _verify_held(deps: RecordDeps, held: HeldUploads[Any], key: str) -> VerificationOutcome:
    """An upload another capability declared (a message attachment): the same checks as a document's (the
    pinned patient and uploader, the ticket's expiry, size, SHA-256, magic bytes); its owner promotes the bytes
    and keeps the verdict. Nothing it does not account for stays in quarantine."""
    obj = deps.blobs.open_quarantined(key)
    if obj is None:
        return VerificationOutcome.IGNORED
    expected = held.expected(key, obj.patient_ins, obj.uploader)
    if expected is None:
        obj.close()
        return _discard_unmatched(deps, key, "no_matching_pending_attachment")
    reason = _inspected(obj, expected, obj.last_modified > expected.expires_at)
    if reason is None:
        held.accept(expected, key, obj.etag)
    else:
        held.reject(expected, reason.value)
    deps.blobs.discard_quarantined(key)
    logger.info("attachment verified", extra={"outcome": "accepted" if reason is None else "rejected",
                                              "reason": reason.value if reason else None})
    return VerificationOutcome.ACCEPTED if reason is None else VerificationOutcome.REJECTED


def _inspected(obj: QuarantinedObject, declared: Declared, expired: bool) -> RejectionReason | None:
    """The one inspection of a quarantined object against what was declared (documents and attachments alike):
    streamed until the inspector has its verdict, the object closed whatever happens; an upload that arrived
    after its ticket expired is refused unread."""
    inspector = UploadInspector(declared)
    try:
        for chunk in () if expired else obj.chunks:
            inspector.feed(chunk)
            if not inspector.wants_more:
                break
    finally:
        obj.close()
    return RejectionReason.UPLOAD_EXPIRED if expired else inspector.verdict(obj.content_type)


def verify_upload(deps: RecordDeps, key: str, held: HeldUploads[Any] | None = None) -> VerificationOutcome:
    """Hold the quarantined bytes to their declaration, then promote or reject. Safe to run any number of times
    for the same object: only a pending document changes state, in one conditional transaction. A key under
    `held.prefix` is another capability's upload (a message attachment), verified the same way."""
    if held is not None and key.startswith(held.prefix):
        return _verify_held(deps, held, key)
    document_id = key.removeprefix("uploads/")
    if key.startswith("downloads/"):  # records' own plaintext copies for download links (records/blobs.py)
        return VerificationOutcome.IGNORED
    if not key.startswith("uploads/") or not _DOCUMENT_ID.match(document_id):
        return _discard_unmatched(deps, key, "unexpected_key")
    obj = deps.blobs.open_quarantined(key)
    if obj is None:
        return VerificationOutcome.IGNORED
    doc = _pending_declaration(deps, obj, document_id)
    if doc is None:
        obj.close()
        return _discard_unmatched(deps, key, "no_matching_pending_declaration")

    reason = _inspected(obj, doc.declaration, _arrived_after_expiry(doc, obj))
    now = deps.clock.now()
    if reason is not None:
        rejected = doc.reject(reason, now)
        trace = Trace.new(doc.patient_ins, now, VERIFIER, TraceAction.DOCUMENT_REJECTED, doc.document_id,
                          reason=reason.value)
        if deps.documents.save(rejected, doc, [_upload_trace(doc), trace], []):
            count(DOCUMENTS_REJECTED, reason=reason.value)
        deps.blobs.discard_quarantined(key)
        logger.info("upload rejected", extra={"document_id": document_id, "reason": reason.value})
        return VerificationOutcome.REJECTED

    deps.blobs.promote(key, obj.etag, doc.record_key, doc.declaration.content_type, doc.encryption_context,
                       patient_ins=doc.patient_ins)
    profile = deps.control.profile(doc.patient_ins)
    accepted = doc.accept(now, hide_from_professionals=profile.settings.hide_new_documents)
    trace = Trace.new(doc.patient_ins, now, VERIFIER, TraceAction.DOCUMENT_VERIFIED, doc.document_id)
    notifications = []
    if doc.author.kind == "professional" and accepted.visible_to_patient:
        notice = _new_document_notice(doc, now)
        notifications.append(notice.honouring(deps.preferences(doc.patient_ins)))
    if deps.documents.save(accepted, doc, [_upload_trace(doc), trace], notifications, profile.head):
        count(DOCUMENTS_VERIFIED)
    else:
        current = deps.documents.get(doc.patient_ins, doc.document_id)
        if current is None:  # deleted while we verified: the copy must not outlive it
            deps.blobs.delete_record(doc.record_key)
    deps.blobs.discard_quarantined(key)
    logger.info("upload accepted", extra={"document_id": document_id})
    return VerificationOutcome.ACCEPTED


def accepts_from_patient(content_type: str, size: int) -> bool:
    """Whether the holder may add such a file to their record themselves: the record's types and the 5 MB
    limit of a patient's upload (functions/records/data/upload_limits.json)."""
    limit = catalog.upload_limits().patient
    return content_type in limit.content_types and 0 < size <= limit.max_bytes


def file_existing_object(deps: RecordDeps, who: Citizen, space: str, source: ExistingObject, title: str,
                         type_code: str, service_date: date, idempotency_key: str | None,
                         reason: str) -> Document:
    """A document the holder adds from an object another capability verified and keeps (a message
    attachment): copied into the records bucket under the records' encryption context (sealed again under the
    space's key when the envelope is on), then the
    document, available at once, and its trace (`attachment.saved_to_record`, `reason` says from what) in one
    transaction. The same Idempotency-Key gives the same document; if the space closed meanwhile, the copy goes."""
    idempotency_key = required_key(idempotency_key)
    author = Author.of(who)
    declaration = Declaration(type_code=type_code, title=title, service_date=service_date,
                              content_type=source.content_type, size=source.size, sha256=source.sha256.lower())
    _check_declaration(declaration, author)
    now = deps.clock.now()
    doc = Document(patient_ins=space, document_id=document_id_for(author.scope, space, idempotency_key),
                   declaration=declaration, author=author, status=DocumentStatus.AVAILABLE, created_at=now,
                   updated_at=now, upload_expires_at=now, available_at=now,
                   request_digest=hashlib.sha256(f"{declaration.digest()}|{reason}".encode()).hexdigest())
    stored = deps.documents.get(space, doc.document_id)
    if stored is not None:
        if stored.request_digest != doc.request_digest:
            raise KeyReused()
        return stored
    deps.blobs.import_object(source.bucket, source.key, doc.record_key, source.content_type, doc.encryption_context,
                             patient_ins=space)
    trace = Trace.new(space, now, Actor.acting_on(who, space), TraceAction.ATTACHMENT_SAVED_TO_RECORD,
                      doc.document_id, reason=reason)
    try:
        added = deps.documents.add(doc, [trace])
    except NotFound:
        deps.blobs.delete_record(doc.record_key)  # the space closed meanwhile: no object without its document
        raise
    if not added:  # the same key, concurrently: the other request's document owns the same copy
        stored = deps.documents.get(space, doc.document_id)
        if stored is None or stored.request_digest != doc.request_digest:
            raise KeyReused()
        return stored
    logger.info("document filed from an existing object", extra={"document_id": doc.document_id})
    return doc


@dataclass(frozen=True)
class HolderFile:
    """A document of the record as a file another capability attaches (messaging's `RecordFile`)."""

    document_id: str
    title: str
    content_type: str
    size: int
    _read: Callable[[], bytes]

    def read(self) -> bytes:
        return self._read()


@dataclass(frozen=True)
class HolderFiling:
    """The record's side of "save this file into my record" for another capability (fits messaging's
    `RecordFiling` port, wired in functions/deps.py): records decides what it takes and writes the document."""

    deps: RecordDeps

    def accepts(self, content_type: str, size: int) -> bool:
        return accepts_from_patient(content_type, size)

    def holder_file(self, space: str, document_id: str) -> HolderFile | None:
        doc = _find(self.deps, space, document_id)
        if doc is None or not policy.citizen_reads(space, doc) or doc.status is not DocumentStatus.AVAILABLE:
            return None
        blobs, key, ins = self.deps.blobs, doc.record_key, doc.patient_ins
        return HolderFile(document_id=doc.document_id, title=doc.declaration.title,
                          content_type=doc.declaration.content_type, size=doc.declaration.size,
                          _read=lambda: blobs.read_record(key, ins))

    def file(self, who: Citizen, space: str, bucket: str, key: str, content_type: str, size: int, sha256: str,
             title: str, type_code: str, service_date: date, idempotency_key: str | None,
             reason: str) -> Document:
        source = ExistingObject(bucket=bucket, key=key, content_type=content_type, size=size, sha256=sha256)
        return file_existing_object(self.deps, who, space, source, title[:200], type_code, service_date,
                                    idempotency_key, reason)
