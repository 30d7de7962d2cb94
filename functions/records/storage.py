"""Documents table. Partition = patient INS, sort = document id, so no query can cross patients.

Index attributes are derived from the domain on every write, and only present when they apply (sparse):
- `patient_date` / `patient_type` (local indexes): documents the patient may see, newest first by date or by type;
- `pro_date` (local index): available documents, newest first, for professionals;
- `invisible_due` (global index, `<day>#<shard>`): INVISIBLE_PATIENT documents by the day the daily job acts.
LSIs (not GSIs) where the list must be strongly consistent. Everything else is the document's JSON in `body`.
Every write goes through the patient journal's port (`DocumentJournal`): the document's own write is staged
(`_PutDocument`, `_DeleteDocument`) and commits with its traces, notifications and the chain head move."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from functions.accounts.ports import SpaceDirectory
from functions.journal.models import ChainHead, Trace, commitment, committed
from functions.journal.ports import Attempt, DocumentJournal, Entry, Refused
from functions.journal.retry import MAX_ATTEMPTS
from functions.notifications.models import Notification
from functions.notifications.ports import InAppNotifications
from functions.records.models import Document, DocumentFilter, DocumentStatus
from functions.shared.clock import iso
from functions.shared.dynamo import Transaction, TransactionCancelled, error_code, get_together
from functions.shared.errors import NotFound
from functions.shared.staging import Staged, WriteSink

HIGH = "\uffff"
INVISIBLE_SHARDS = 8
INVISIBLE_CATCH_UP_DAYS = 7


def _lsi(name: str, attribute: str) -> type[LocalSecondaryIndex[Any]]:
    meta = type("Meta", (), {"index_name": name, "projection": AllProjection()})
    return type(f"Index_{attribute}", (LocalSecondaryIndex,), {
        "Meta": meta, "patient": UnicodeAttribute(hash_key=True), attribute: UnicodeAttribute(range_key=True)})


class InvisibleDue(GlobalSecondaryIndex["DocumentItem"]):
    class Meta:
        index_name = "invisible-due"
        projection = AllProjection()

    invisible_due = UnicodeAttribute(hash_key=True)
    document_id = UnicodeAttribute(range_key=True)


def _revision(doc: Document) -> str:
    """Changes with every write of the document (its `updated_at`, to the microsecond): the optimistic lock."""
    return doc.updated_at.isoformat()


def invisible_partition(day: date, patient_ins: str) -> str:
    """Spread one day's INVISIBLE_PATIENT work over a few partitions (stable per patient)."""
    return f"{day.isoformat()}#{zlib.crc32(patient_ins.encode()) % INVISIBLE_SHARDS}"


class DocumentItem(Model):
    class Meta:
        table_name = "documents"

    patient = UnicodeAttribute(hash_key=True)
    document_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    body = UnicodeAttribute()
    patient_date = UnicodeAttribute(null=True)
    patient_type = UnicodeAttribute(null=True)
    pro_date = UnicodeAttribute(null=True)
    invisible_due = UnicodeAttribute(null=True)
    expires_at_epoch = TTLAttribute(null=True)
    revision = UnicodeAttribute(null=True)

    by_date = _lsi("patient-by-date", "patient_date")()
    by_type = _lsi("patient-by-type", "patient_type")()
    available_by_date = _lsi("available-by-date", "pro_date")()
    invisible = InvisibleDue()

    @classmethod
    def from_domain(cls, doc: Document) -> DocumentItem:
        d = doc.declaration
        position = f"{d.service_date.isoformat()}#{iso(doc.created_at)}#{doc.document_id}"
        step = doc.invisibility_next_step
        return cls(
            doc.patient_ins,
            doc.document_id,
            status=doc.status.value,
            body=doc.model_dump_json(),
            patient_date=position if doc.visible_to_patient else None,
            patient_type=f"{d.type_code}#{position}" if doc.visible_to_patient else None,
            pro_date=position if doc.status is DocumentStatus.AVAILABLE else None,
            invisible_due=invisible_partition(step.date(), doc.patient_ins) if step else None,
            expires_at_epoch=doc.purge_at,
            revision=_revision(doc),
        )

    def to_domain(self) -> Document:
        return Document.model_validate_json(self.body)


@dataclass(frozen=True)
class _PutDocument:
    """The document's new state, staged into the journal's transaction, if it is still as `condition` says."""

    doc: Document
    condition: Any

    def stage(self, tx: WriteSink) -> None:
        tx.put("document", DocumentItem.from_domain(self.doc), self.condition)


@dataclass(frozen=True)
class _DeleteDocument:
    doc: Document

    def stage(self, tx: WriteSink) -> None:
        tx.delete("document", DocumentItem(self.doc.patient_ins, self.doc.document_id),
                  DocumentItem.status == self.doc.status.value)


class DynamoDocumentStore:
    def __init__(self, spaces: SpaceDirectory, notifications: InAppNotifications, journal: DocumentJournal) -> None:
        self._spaces = spaces
        self._notifications = notifications
        self._journal = journal

    def create_pending(self, doc: Document) -> tuple[Document, bool]:
        """One TransactWriteItems: the space must be open and the document id new (the Idempotency-Key check).
        A replay gets the stored document back from the cancellation reason, without another read. The request
        is traced when its bytes are verified (a declaration nobody uploads never enters the record)."""
        tx = Transaction()
        self._spaces.open_condition(doc.patient_ins).stage(tx)
        tx.put("document", DocumentItem.from_domain(doc), DocumentItem.document_id.does_not_exist(),
               return_old=True)
        try:
            tx.commit()
        except TransactionCancelled as exc:
            if "space" in exc.failed:
                raise NotFound("patient") from exc
            if "document" in exc.failed and "document" in exc.items:
                return DocumentItem.from_raw_data(exc.items["document"]).to_domain(), False
            raise
        return doc, True

    def get(self, patient_ins: str, document_id: str) -> Document | None:
        try:
            return DocumentItem.get(patient_ins, document_id, consistent_read=True).to_domain()
        except DocumentItem.DoesNotExist:
            return None

    def get_with_head(self, patient_ins: str, document_id: str) -> tuple[Document | None, ChainHead]:
        """The document and the chain head in one round trip (a read that leaves a trace needs both)."""
        head = self._journal.head_keys(patient_ins)
        doc, *found = get_together((DocumentItem, patient_ins, document_id), *head.requested())
        chain = head.parse([item for item in found if item is not None])
        return (doc.to_domain() if isinstance(doc, DocumentItem) else None), chain

    def _page(self, index: Any, attr: Any, patient_ins: str, low: str, high: str, after: str | None,
              limit: int) -> tuple[list[Document], str | None]:
        start = None
        if after is not None:
            start = {"patient": {"S": patient_ins}, "document_id": {"S": after.rsplit("#", 1)[-1]},
                     attr.attr_name: {"S": after}}
        result = index.query(patient_ins, attr.between(low, high), scan_index_forward=False, limit=limit,
                             last_evaluated_key=start, consistent_read=True)
        docs = [item.to_domain() for item in result]
        last = result.last_evaluated_key
        return docs, (last[attr.attr_name]["S"] if last else None)

    def list_visible_to_patient(self, patient_ins: str, flt: DocumentFilter, after: str | None,
                                limit: int) -> tuple[list[Document], str | None]:
        low = flt.date_from.isoformat() if flt.date_from else "0000-00-00"
        high = (flt.date_to.isoformat() if flt.date_to else "9999-12-31") + "#" + HIGH
        if flt.type_code:
            prefix = f"{flt.type_code}#"
            return self._page(DocumentItem.by_type, DocumentItem.patient_type, patient_ins, prefix + low,
                              prefix + high, after, limit)
        return self._page(DocumentItem.by_date, DocumentItem.patient_date, patient_ins, low, high, after, limit)

    def list_available(self, patient_ins: str, after: str | None,
                       limit: int) -> tuple[list[Document], str | None]:
        return self._page(DocumentItem.available_by_date, DocumentItem.pro_date, patient_ins, "0000-00-00",
                          "9999-12-31#" + HIGH, after, limit)

    def save(self, doc: Document, previous: Document, traces: list[Trace],
             notifications: list[Notification], head: ChainHead | None = None,
             retry: bool = True) -> bool:
        """Write a new state of the document if it is still exactly `previous` (same status and revision: a
        concurrent change wins, this one is dropped), with its traces and notifications. `retry=False`: one
        attempt on `head`, ChainMoved if another action got there first (a caller whose decision depends on the
        profile read decides again).

        While the document is withheld from its patient (INVISIBLE_PATIENT, not released) its traces go to its
        withheld chain. The change that releases it also merges that chain into the patient's (see `_release`)."""
        unchanged = (DocumentItem.status == previous.status.value) & (DocumentItem.revision == _revision(previous))
        notices = self._notifications.staged(notifications)

        def entry(state: Document, stamped: list[Trace]) -> Entry:
            return Entry(doc.patient_ins, traces=stamped, staged=[*notices, _PutDocument(state, unchanged)])

        try:
            if doc.withheld_from_patient:  # both heads read per attempt, the traces go to the withheld chain
                self._journal.commit(doc.patient_ins, doc.document_id, lambda _attempt: entry(doc, traces))
            elif previous.withheld_from_patient:
                self._release(doc, traces, notices, unchanged, head, retry)
            else:
                self._journal.record(entry(doc, traces), head, retry)
        except Refused as exc:
            if exc.failed & {"document", "notification"}:
                return False
            raise
        return True

    def _release(self, doc: Document, traces: list[Trace], notices: list[Staged], unchanged: Any,
                 head: ChainHead | None, retry: bool) -> None:
        """The release transaction also merges the document's withheld chain (checked, then re-linked after the
        patient's head, then the release trace, which commits to that chain's length and final hash); what does
        not fit in the transaction is merged right after, the document being visible by then. If that is cut
        short, the document keeps `traces_to_merge` and the daily job finishes (`finish_release`). `retry=False`:
        decided on `head` (the profile read): commit on it or raise ChainMoved to decide again."""
        ins, document_id = doc.patient_ins, doc.document_id

        def build(attempt: Attempt) -> Entry:
            stamped = committed(traces, document_id, commitment(list(attempt.entries), attempt.withheld_head))
            mark = attempt.merge_leaves(Entry(ins, traces=stamped, staged=notices), reserve=1)
            state = doc.model_copy(update={"traces_to_merge": True}) if mark else doc
            return Entry(ins, traces=stamped, staged=[*notices, _PutDocument(state, unchanged)])

        if self._journal.commit(ins, document_id, build, merge=True, head=head, retry=retry):
            self.finish_release(doc)

    def finish_release(self, doc: Document) -> None:
        """Merge what a release left of the document's withheld chain (idempotent), then clear its mark. Never
        for a document still withheld: merging reveals its traces."""
        if doc.withheld_from_patient:
            return
        self._journal.finish_merge(doc.patient_ins, doc.document_id)
        for _ in range(MAX_ATTEMPTS):  # a concurrent change of the document: read it again (or the job will)
            current = self.get(doc.patient_ins, doc.document_id)
            if current is None or not current.traces_to_merge:
                return
            try:
                DocumentItem.from_domain(current.model_copy(update={"traces_to_merge": False})).save(
                    condition=(DocumentItem.status == current.status.value)
                    & (DocumentItem.revision == _revision(current)))
                return
            except PutError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise

    def delete(self, doc: Document, trace: Trace) -> bool:
        try:
            self._journal.record(Entry(doc.patient_ins, traces=[trace], staged=[_DeleteDocument(doc)]))
        except Refused as exc:
            if "document" in exc.failed:
                return False
            raise
        return True

    def add(self, doc: Document, traces: list[Trace]) -> bool:
        """A holder's document whose bytes are already in the records bucket (copied from an object another
        capability verified): document and traces in one journal transaction, on an open space and a new id."""
        staged = [self._spaces.open_condition(doc.patient_ins),
                  _PutDocument(doc, DocumentItem.document_id.does_not_exist())]
        try:
            self._journal.record(Entry(doc.patient_ins, traces=traces, staged=staged))
        except Refused as exc:
            if "space" in exc.failed:
                raise NotFound("patient") from exc
            if "document" in exc.failed:
                return False
            raise
        return True

    def due_invisible(self, day: date) -> Iterator[Document]:
        """Every INVISIBLE_PATIENT document whose next step falls on `day` or in the week before it (catch-up after
        a missed run); a few Query pages per day, never a Scan."""
        for back in range(INVISIBLE_CATCH_UP_DAYS, -1, -1):
            when = (day - timedelta(days=back)).isoformat()
            for shard in range(INVISIBLE_SHARDS):
                for item in DocumentItem.invisible.query(f"{when}#{shard}"):
                    yield item.to_domain()


class RecordsErasure:
    """`functions.accounts.ports.SpaceEraser` for records: the person's documents partition, and through the blob
    store every version of their records (`records/<pseudonym>/`), of their download copies and of the quarantined
    uploads their documents point to (`uploads/<document id>`)."""

    def __init__(self, blobs: Any) -> None:
        self._blobs = blobs  # functions.records.blobs.S3BlobStore

    def erase_space(self, ins: str) -> int:
        from functions.shared.erasing import delete_items

        items = list(DocumentItem.query(ins, consistent_read=True, attributes_to_get=["patient", "document_id"]))
        removed: int = self._blobs.erase_space(ins, [i.document_id for i in items])
        delete_items(DocumentItem, items)
        return removed + len(items)
