"""Documents table. Partition = patient INS, sort = document id, so no query can cross patients.

Two sparse local secondary indexes serve the holder's list newest first: `patient_date` and `patient_type` are
set only while the document is visible to the patient (available, or their own upload), so pending and rejected
hospital documents never fill a page. LSIs (not GSIs) because the list must be strongly consistent."""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

from functions.accounts.models import SpaceStatus
from functions.accounts.storage import SpaceItem, space_key
from functions.audit.models import Trace
from functions.audit.storage import TraceItem
from functions.notifications.models import Notification
from functions.notifications.storage import NotificationItem
from functions.records.models import Author, Declaration, Document, DocumentStatus, RejectionReason
from functions.shared.clock import iso
from functions.shared.dynamo import transaction
from functions.shared.errors import NotFound

HIGH = "\uffff"


class PatientByDate(LocalSecondaryIndex["DocumentItem"]):
    class Meta:
        index_name = "patient-by-date"
        projection = AllProjection()

    patient = UnicodeAttribute(hash_key=True)
    patient_date = UnicodeAttribute(range_key=True)


class PatientByType(LocalSecondaryIndex["DocumentItem"]):
    class Meta:
        index_name = "patient-by-type"
        projection = AllProjection()

    patient = UnicodeAttribute(hash_key=True)
    patient_type = UnicodeAttribute(range_key=True)


class DocumentItem(Model):
    class Meta:
        table_name = "documents"

    patient = UnicodeAttribute(hash_key=True)
    document_id = UnicodeAttribute(range_key=True)
    type_code = UnicodeAttribute()
    title = UnicodeAttribute()
    service_date = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    sha256 = UnicodeAttribute()
    author_kind = UnicodeAttribute()
    author_rpps = UnicodeAttribute(null=True)
    author_profession = UnicodeAttribute(null=True)
    author_finess = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    upload_expires_at = UTCDateTimeAttribute()
    request_digest = UnicodeAttribute()
    rejection_reason = UnicodeAttribute(null=True)
    patient_date = UnicodeAttribute(null=True)
    patient_type = UnicodeAttribute(null=True)
    expires_at_epoch = TTLAttribute(null=True)

    by_date = PatientByDate()
    by_type = PatientByType()

    @classmethod
    def from_domain(cls, doc: Document) -> DocumentItem:
        d = doc.declaration
        position = f"{d.service_date.isoformat()}#{iso(doc.created_at)}#{doc.document_id}"
        return cls(
            doc.patient_ins,
            doc.document_id,
            type_code=d.type_code,
            title=d.title,
            service_date=d.service_date.isoformat(),
            content_type=d.content_type,
            size=d.size,
            sha256=d.sha256,
            author_kind=doc.author.kind,
            author_rpps=doc.author.rpps,
            author_profession=doc.author.profession,
            author_finess=doc.author.finess,
            status=doc.status.value,
            created_at=doc.created_at,
            updated_at=doc.updated_at,
            upload_expires_at=doc.upload_expires_at,
            request_digest=doc.request_digest,
            rejection_reason=doc.rejection_reason.value if doc.rejection_reason else None,
            patient_date=position if doc.visible_to_patient else None,
            patient_type=f"{d.type_code}#{position}" if doc.visible_to_patient else None,
            expires_at_epoch=doc.purge_at,
        )

    def to_domain(self) -> Document:
        return Document(
            patient_ins=self.patient,
            document_id=self.document_id,
            declaration=Declaration(type_code=self.type_code, title=self.title,
                                    service_date=date.fromisoformat(self.service_date),
                                    content_type=self.content_type, size=int(self.size), sha256=self.sha256),
            author=Author(kind=self.author_kind, rpps=self.author_rpps,
                          profession=self.author_profession, finess=self.author_finess),
            status=DocumentStatus(self.status),
            created_at=self.created_at,
            updated_at=self.updated_at,
            upload_expires_at=self.upload_expires_at,
            request_digest=self.request_digest,
            rejection_reason=RejectionReason(self.rejection_reason) if self.rejection_reason else None,
        )


class DocumentFilter(Protocol):
    type_code: str | None
    date_from: date | None
    date_to: date | None


class DocumentStore(Protocol):
    def create_pending(self, doc: Document, trace: Trace) -> tuple[Document, bool]: ...
    def get(self, patient_ins: str, document_id: str) -> Document | None: ...
    def list_visible_to_patient(self, patient_ins: str, flt: DocumentFilter, after: str | None,
                                limit: int) -> tuple[list[Document], str | None]: ...
    def commit_verification(self, doc: Document, trace: Trace, notification: Notification | None) -> bool: ...
    def delete(self, doc: Document, trace: Trace) -> bool: ...


def _conditional_failure(exc: TransactWriteError) -> list[bool]:
    if exc.cause_response_code != "TransactionCanceledException":
        raise exc
    return [bool(r and r.code == "ConditionalCheckFailed") for r in exc.cancellation_reasons]


class DynamoDocumentStore:
    def create_pending(self, doc: Document, trace: Trace) -> tuple[Document, bool]:
        """One TransactWriteItems: the space must be open, the document id must be new, the trace goes with it.
        On an idempotent replay the stored document comes back from the cancellation reason (no extra read)."""
        try:
            with transaction() as tx:
                tx.condition_check(SpaceItem, space_key(doc.patient_ins),
                                   condition=SpaceItem.status == SpaceStatus.OPEN.value)
                tx.save(DocumentItem.from_domain(doc), condition=DocumentItem.document_id.does_not_exist(),
                        return_values="ALL_OLD")
                tx.save(TraceItem.from_domain(trace))
        except TransactWriteError as exc:
            failed = _conditional_failure(exc)
            if failed[0]:
                raise NotFound("patient") from exc
            reason = exc.cancellation_reasons[1]
            if failed[1] and reason is not None and reason.raw_item:
                return DocumentItem.from_raw_data(reason.raw_item).to_domain(), False
            raise
        return doc, True

    def get(self, patient_ins: str, document_id: str) -> Document | None:
        try:
            return DocumentItem.get(patient_ins, document_id, consistent_read=True).to_domain()
        except DocumentItem.DoesNotExist:
            return None

    def list_visible_to_patient(self, patient_ins: str, flt: DocumentFilter, after: str | None,
                                limit: int) -> tuple[list[Document], str | None]:
        low = flt.date_from.isoformat() if flt.date_from else "0000-00-00"
        high = (flt.date_to.isoformat() if flt.date_to else "9999-12-31") + "#" + HIGH
        index: Any
        if flt.type_code:
            index, attr, prefix = DocumentItem.by_type, DocumentItem.patient_type, f"{flt.type_code}#"
        else:
            index, attr, prefix = DocumentItem.by_date, DocumentItem.patient_date, ""
        start = None
        if after is not None:
            start = {"patient": {"S": patient_ins}, "document_id": {"S": after.rsplit("#", 1)[-1]},
                     attr.attr_name: {"S": after}}
        result = index.query(patient_ins, attr.between(prefix + low, prefix + high), scan_index_forward=False,
                             limit=limit, last_evaluated_key=start, consistent_read=True)
        docs = [item.to_domain() for item in result]
        last = result.last_evaluated_key
        return docs, (last[attr.attr_name]["S"] if last else None)

    def commit_verification(self, doc: Document, trace: Trace, notification: Notification | None) -> bool:
        """Status change, trace and notification in one transaction, only if the document is still pending."""
        try:
            with transaction() as tx:
                tx.save(DocumentItem.from_domain(doc),
                        condition=DocumentItem.status == DocumentStatus.PENDING.value)
                tx.save(TraceItem.from_domain(trace))
                if notification is not None:
                    tx.save(NotificationItem.from_domain(notification),
                            condition=NotificationItem.sk.does_not_exist())
        except TransactWriteError as exc:
            if any(_conditional_failure(exc)):
                return False
            raise
        return True

    def delete(self, doc: Document, trace: Trace) -> bool:
        try:
            with transaction() as tx:
                tx.delete(DocumentItem(doc.patient_ins, doc.document_id),
                          condition=DocumentItem.status == doc.status.value)
                tx.save(TraceItem.from_domain(trace))
        except TransactWriteError as exc:
            if any(_conditional_failure(exc)):
                return False
            raise
        return True
