"""In-memory adapters with the same contracts as the DynamoDB and S3 ones, for service tests without AWS."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from functions.access.ledger import facts_of, profile_from
from functions.access.models import AccessProfile
from functions.access.ports import ControlWrite
from functions.journal.models import ChainHead, Trace, commitment, committed, link
from functions.journal.ports import ChainMoved, Entry, Fact, Ledger
from functions.notifications.models import Notification
from functions.records.models import Document, DocumentFilter, DocumentStatus, PresignedPost, QuarantinedObject
from functions.shared.errors import NotFound


class FakeControlStore:
    """Ledger partitions and trace chains in memory; `write` links traces on the current head like the journal,
    and traces naming a withheld document on that document's withheld chain. A write given a head that moved
    meanwhile relinks on the current one (`retry`) or raises ChainMoved (`retry=False`), as the journal does."""

    def __init__(self) -> None:
        self.items: dict[str, dict[tuple[str, str], str]] = {}  # patient -> (namespace, key) -> body
        self.heads: dict[str, ChainHead] = {}
        self.traces: dict[str, list[Trace]] = {}
        self.withheld: dict[tuple[str, str], list[Trace]] = {}  # (patient, document) -> its withheld chain
        self.notifications: list[Notification] = []
        self.open_spaces: set[str] | None = None  # None: every space is open; FakeDocumentStore shares its set

    def profile(self, patient_ins: str) -> AccessProfile:
        facts = tuple(Fact(ns, key, body) for (ns, key), body in self.items.get(patient_ins, {}).items())
        withheld = {doc: self.withheld_head(p, doc) for (p, doc) in self.withheld if p == patient_ins}
        return profile_from(Ledger(patient_ins, self.head(patient_ins), withheld, facts))

    def withheld_head(self, patient_ins: str, document_id: str) -> ChainHead:
        chain = self.withheld.get((patient_ins, document_id))
        return ChainHead(seq=chain[-1].seq, hash=chain[-1].hash) if chain else ChainHead()

    def withhold(self, patient_ins: str, document_id: str, traces: list[Trace]) -> None:
        linked, _ = link(self.withheld_head(patient_ins, document_id), traces)
        self.withheld.setdefault((patient_ins, document_id), []).extend(linked)

    def merge(self, patient_ins: str, document_id: str, traces: list[Trace]) -> None:
        """A release: the withheld chain, checked and committed to, then the release's own traces."""
        head = self.withheld_head(patient_ins, document_id)
        entries = self.withheld.pop((patient_ins, document_id), [])
        self.append(patient_ins, entries + committed(traces, document_id, commitment(entries, head)))

    def head(self, patient_ins: str) -> ChainHead:
        return self.heads.get(patient_ins, ChainHead())

    def append(self, patient_ins: str, traces: list[Trace]) -> None:
        linked, head = link(self.head(patient_ins), traces)
        self.traces.setdefault(patient_ins, []).extend(linked)
        self.heads[patient_ins] = head

    def write(self, patient_ins: str, change: ControlWrite, head: ChainHead | None = None,
              retry: bool = True) -> None:
        if not retry and head is not None and head != self.head(patient_ins):
            raise ChainMoved
        if change.needs_open_space and self.open_spaces is not None and patient_ins not in self.open_spaces:
            raise NotFound("patient")
        partition = self.items.setdefault(patient_ins, {})
        puts, forgets = facts_of(change.changes)
        for fact in puts:
            partition[(fact.namespace, fact.key)] = fact.body
        for fact in forgets:
            partition.pop((fact.namespace, fact.key), None)
        self.notifications.extend(change.notifications)
        for document_id in change.withheld:
            self.withhold(patient_ins, document_id, [t for t in change.traces if t.document_id == document_id])
        self.append(patient_ins, [t for t in change.traces if t.document_id not in change.withheld])

    def record(self, entry: Entry, head: ChainHead | None = None, retry: bool = True) -> None:
        """The journal's commit (`PatientJournal.record`) of an entry of traces and ledger facts: what records and
        audit write. Staged writes of other owners are not interpreted here (their fakes keep their own state)."""
        if not retry and head is not None and head != self.head(entry.patient_ins):
            raise ChainMoved
        partition = self.items.setdefault(entry.patient_ins, {})
        for fact in entry.facts:
            partition[(fact.namespace, fact.key)] = fact.body
        for fact in entry.forget:
            partition.pop((fact.namespace, fact.key), None)
        for document_id in entry.withheld:
            self.withhold(entry.patient_ins, document_id, [t for t in entry.traces if t.document_id == document_id])
        self.append(entry.patient_ins, [t for t in entry.traces if t.document_id not in entry.withheld])

    def actions(self, patient_ins: str) -> list[str]:
        """Newest first, like GET /v1/me/traces."""
        return [t.action.value for t in reversed(self.traces.get(patient_ins, []))]


class FakeDocumentStore:
    def __init__(self, control: FakeControlStore, open_spaces: set[str]) -> None:
        self.docs: dict[tuple[str, str], Document] = {}
        self.control = control
        self.open_spaces = control.open_spaces = open_spaces  # one spaces table behind both adapters

    def create_pending(self, doc: Document) -> tuple[Document, bool]:
        if doc.patient_ins not in self.open_spaces:
            raise NotFound("patient")
        existing = self.docs.get((doc.patient_ins, doc.document_id))
        if existing:
            return existing, False
        self.docs[(doc.patient_ins, doc.document_id)] = doc
        return doc, True

    def get(self, patient_ins: str, document_id: str) -> Document | None:
        return self.docs.get((patient_ins, document_id))

    def get_with_head(self, patient_ins: str, document_id: str) -> tuple[Document | None, ChainHead]:
        return self.get(patient_ins, document_id), self.control.head(patient_ins)

    def list_visible_to_patient(self, patient_ins: str, flt: DocumentFilter, after: str | None,
                                limit: int) -> tuple[list[Document], str | None]:
        docs = [d for (p, _), d in self.docs.items() if p == patient_ins and d.visible_to_patient]
        docs.sort(key=lambda d: (d.declaration.service_date, d.created_at), reverse=True)
        return docs[:limit], None

    def list_available(self, patient_ins: str, after: str | None,
                       limit: int) -> tuple[list[Document], str | None]:
        docs = [d for (p, _), d in self.docs.items() if p == patient_ins and d.status is DocumentStatus.AVAILABLE]
        docs.sort(key=lambda d: (d.declaration.service_date, d.created_at), reverse=True)
        return docs[:limit], None

    def save(self, doc: Document, previous: Document, traces: list[Trace],
             notifications: list[Notification], head: ChainHead | None = None,
             retry: bool = True) -> bool:
        current = self.docs.get((doc.patient_ins, doc.document_id))
        if current is None or current != previous:
            return False
        self.docs[(doc.patient_ins, doc.document_id)] = doc
        if doc.withheld_from_patient:
            self.control.withhold(doc.patient_ins, doc.document_id, traces)
            self.control.notifications.extend(notifications)
            return True
        if previous.withheld_from_patient:
            self.control.merge(doc.patient_ins, doc.document_id, traces)
            self.control.notifications.extend(notifications)
            return True
        self.control.write(doc.patient_ins, ControlWrite(traces=traces, notifications=notifications))
        return True

    def finish_release(self, doc: Document) -> None:
        """Releases merge everything at once here."""

    def delete(self, doc: Document, trace: Trace) -> bool:
        current = self.docs.get((doc.patient_ins, doc.document_id))
        if current is None or current.status is not doc.status:
            return False
        del self.docs[(doc.patient_ins, doc.document_id)]
        self.control.append(doc.patient_ins, [trace])
        return True

    def due_invisible(self, day: date) -> Iterator[Document]:
        for doc in list(self.docs.values()):
            step = doc.invisibility_next_step
            if step is not None and timedelta(0) <= day - step.date() <= timedelta(days=7):
                yield doc


@dataclass
class FakeBlobStore:
    quarantine: dict[str, tuple[bytes, str, str, str | None, datetime]] = field(default_factory=dict)
    records: dict[str, bytes] = field(default_factory=dict)
    contexts: dict[str, dict[str, str]] = field(default_factory=dict)
    tickets: dict[str, tuple[dict[str, str], datetime]] = field(default_factory=dict)  # key -> (fields, signed at)

    def presign_upload(self, key: str, patient_ins: str, uploader: str, content_type: str, size: int,
                       now: datetime, expires_at: datetime) -> PresignedPost:
        fields = {"key": key, "Content-Type": content_type, "x-amz-meta-patient": patient_ins,
                  "x-amz-meta-uploader": uploader}
        self.tickets[key] = (fields, now)
        return PresignedPost(url="https://quarantine.example", fields=fields)

    def put(self, key: str, data: bytes, content_type: str, patient_ins: str, uploader: str | None = None,
            at: datetime | None = None) -> None:
        """What the uploader's multipart POST does: by default with the fields of the ticket signed for `key`,
        arriving as soon as it was signed (S3's LastModified = `at`)."""
        fields, signed_at = self.tickets.get(key, ({}, datetime(2026, 1, 1, tzinfo=UTC)))
        self.quarantine[key] = (data, content_type, patient_ins,
                                uploader if uploader is not None else fields.get("x-amz-meta-uploader"),
                                at or signed_at)

    def open_quarantined(self, key: str) -> QuarantinedObject | None:
        if key not in self.quarantine:
            return None
        data, content_type, patient, uploader, at = self.quarantine[key]

        def chunks() -> Iterator[bytes]:
            for i in range(0, len(data), 4):
                yield data[i:i + 4]

        return QuarantinedObject(patient_ins=patient, content_type=content_type,
                                 etag=hashlib.md5(data).hexdigest(), chunks=chunks(),  # noqa: S324 - ETag
                                 close=lambda: None, uploader=uploader, last_modified=at)

    def promote(self, key: str, etag: str, record_key: str, content_type: str, context: dict[str, str]) -> None:
        self.records[record_key] = self.quarantine[key][0]
        self.contexts[record_key] = context

    def discard_quarantined(self, key: str) -> None:
        self.quarantine.pop(key, None)

    def delete_record(self, record_key: str) -> None:
        self.records.pop(record_key, None)

    def presign_download(self, record_key: str, ttl_seconds: int, content_type: str) -> str:
        return f"https://records.example/{record_key}?ttl={ttl_seconds}"
