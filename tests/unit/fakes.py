"""In-memory adapters with the same contracts as the DynamoDB and S3 ones, for service tests without AWS."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from functions.audit.models import Trace
from functions.notifications.models import Notification
from functions.records.blobs import PresignedPost, QuarantinedObject
from functions.records.models import Document, DocumentStatus
from functions.records.storage import DocumentFilter
from functions.shared.errors import NotFound


class FakeTraceStore:
    def __init__(self) -> None:
        self.traces: list[Trace] = []

    def record(self, trace: Trace) -> None:
        self.traces.append(trace)

    def list(self, patient_ins: str, after: str | None, limit: int) -> tuple[list[Trace], str | None]:
        return [t for t in reversed(self.traces) if t.patient_ins == patient_ins][:limit], None


class FakeDocumentStore:
    def __init__(self, traces: FakeTraceStore, open_spaces: set[str]) -> None:
        self.docs: dict[tuple[str, str], Document] = {}
        self.traces = traces
        self.open_spaces = open_spaces
        self.notifications: list[Notification] = []

    def create_pending(self, doc: Document, trace: Trace) -> tuple[Document, bool]:
        if doc.patient_ins not in self.open_spaces:
            raise NotFound("patient")
        existing = self.docs.get((doc.patient_ins, doc.document_id))
        if existing:
            return existing, False
        self.docs[(doc.patient_ins, doc.document_id)] = doc
        self.traces.record(trace)
        return doc, True

    def get(self, patient_ins: str, document_id: str) -> Document | None:
        return self.docs.get((patient_ins, document_id))

    def list_visible_to_patient(self, patient_ins: str, flt: DocumentFilter, after: str | None,
                                limit: int) -> tuple[list[Document], str | None]:
        docs = [d for (p, _), d in self.docs.items() if p == patient_ins and d.visible_to_patient]
        docs.sort(key=lambda d: (d.declaration.service_date, d.created_at), reverse=True)
        return docs[:limit], None

    def commit_verification(self, doc: Document, trace: Trace, notification: Notification | None) -> bool:
        current = self.docs.get((doc.patient_ins, doc.document_id))
        if current is None or current.status is not DocumentStatus.PENDING:
            return False
        self.docs[(doc.patient_ins, doc.document_id)] = doc
        self.traces.record(trace)
        if notification:
            self.notifications.append(notification)
        return True

    def delete(self, doc: Document, trace: Trace) -> bool:
        current = self.docs.get((doc.patient_ins, doc.document_id))
        if current is None or current.status is not doc.status:
            return False
        del self.docs[(doc.patient_ins, doc.document_id)]
        self.traces.record(trace)
        return True


@dataclass
class FakeBlobStore:
    quarantine: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)  # key -> (data, type, patient)
    records: dict[str, bytes] = field(default_factory=dict)
    contexts: dict[str, dict[str, str]] = field(default_factory=dict)

    def presign_upload(self, key: str, patient_ins: str, content_type: str, size: int,
                       now: datetime, expires_at: datetime) -> PresignedPost:
        return PresignedPost(url="https://quarantine.example", fields={"key": key, "Content-Type": content_type,
                                                                       "x-amz-meta-patient": patient_ins})

    def put(self, key: str, data: bytes, content_type: str, patient_ins: str) -> None:
        """What the uploader's multipart POST does."""
        self.quarantine[key] = (data, content_type, patient_ins)

    def open_quarantined(self, key: str) -> QuarantinedObject | None:
        if key not in self.quarantine:
            return None
        data, content_type, patient = self.quarantine[key]

        def chunks() -> Iterator[bytes]:
            for i in range(0, len(data), 4):
                yield data[i:i + 4]

        return QuarantinedObject(patient_ins=patient, content_type=content_type,
                                 etag=hashlib.md5(data).hexdigest(), chunks=chunks(),  # noqa: S324 - ETag
                                 close=lambda: None)

    def promote(self, key: str, etag: str, record_key: str, content_type: str, context: dict[str, str]) -> None:
        self.records[record_key] = self.quarantine[key][0]
        self.contexts[record_key] = context

    def discard_quarantined(self, key: str) -> None:
        self.quarantine.pop(key, None)

    def delete_record(self, record_key: str) -> None:
        self.records.pop(record_key, None)

    def presign_download(self, record_key: str, ttl_seconds: int) -> str:
        return f"https://records.example/{record_key}?ttl={ttl_seconds}"
