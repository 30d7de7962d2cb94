"""Ports of the records capability (storage-free): where documents and their bytes are kept, what records reads of
the patient's access choices, and where it leaves the traces of its reads.

Records imports no other capability: `AccessProfiles` is what it needs of access's profile (access's control
store fits it structurally), `TraceLog` the patient journal's commit (functions/journal/ports.py); the
composition root (functions/deps.py) hands them over."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Protocol, TypeVar

from functions.journal.models import ChainHead, Trace
from functions.journal.ports import Entry
from functions.notifications.models import Notification
from functions.records.models import Document, DocumentFilter, PresignedPost, QuarantinedObject


class NewDocumentSettings(Protocol):
    @property
    def hide_new_documents(self) -> bool:
        """The patient's "hide new documents" setting (MASQUE_PS applied as a document joins the record)."""
        ...


class AccessStanding(Protocol):
    """What records needs of a patient's access profile, read in one Query with the chain head it commits on."""

    @property
    def head(self) -> ChainHead: ...
    @property
    def blocked(self) -> Mapping[str, datetime]:
        """RPPS -> when the patient blocked them: a blocked professional may not even release their document."""
        ...
    @property
    def settings(self) -> NewDocumentSettings: ...


class AccessProfiles(Protocol):
    def profile(self, patient_ins: str) -> AccessStanding: ...


class TraceLog(Protocol):
    def record(self, entry: Entry, head: ChainHead | None = None, retry: bool = True) -> None:
        """Commit `entry`'s traces on `head` (read now if None); see `functions.journal.ports.PatientJournal`."""
        ...


class DocumentStore(Protocol):
    def create_pending(self, doc: Document) -> tuple[Document, bool]: ...
    def get(self, patient_ins: str, document_id: str) -> Document | None: ...
    def get_with_head(self, patient_ins: str, document_id: str) -> tuple[Document | None, ChainHead]: ...
    def list_visible_to_patient(self, patient_ins: str, flt: DocumentFilter, after: str | None,
                                limit: int) -> tuple[list[Document], str | None]: ...
    def list_available(self, patient_ins: str, after: str | None,
                       limit: int) -> tuple[list[Document], str | None]: ...
    def save(self, doc: Document, previous: Document, traces: list[Trace],
             notifications: list[Notification], head: ChainHead | None = None,
             retry: bool = True) -> bool: ...
    def delete(self, doc: Document, trace: Trace) -> bool: ...
    def add(self, doc: Document, traces: list[Trace]) -> bool:
        """A new document already available (its bytes are in place), with its traces, in one transaction on
        the condition that the space is open (NotFound otherwise) and the id is new (False otherwise)."""
        ...
    def due_invisible(self, day: date) -> Iterator[Document]: ...
    def finish_release(self, doc: Document) -> None: ...


class BlobStore(Protocol):
    def presign_upload(self, key: str, patient_ins: str, uploader: str, content_type: str, size: int,
                       now: datetime, expires_at: datetime) -> PresignedPost: ...
    def open_quarantined(self, key: str) -> QuarantinedObject | None: ...
    def promote(self, key: str, etag: str, record_key: str, content_type: str, context: dict[str, str],
                patient_ins: str | None = None) -> None:
        """`patient_ins`: seal the record under that space's data key (functions/shared/envelope.py)."""
        ...
    def discard_quarantined(self, key: str) -> None: ...
    def delete_record(self, record_key: str) -> None: ...
    def presign_download(self, record_key: str, ttl_seconds: int, content_type: str, name: str,
                         patient_ins: str | None = None) -> str:
        """`patient_ins`: a sealed record is opened into a short-lived plaintext copy the URL points to."""
        ...
    def read_record(self, record_key: str, patient_ins: str) -> bytes:
        """The stored original, opened if sealed (the export copies it into the holder's archive)."""
        ...
    def import_object(self, source_bucket: str, source_key: str, record_key: str, content_type: str,
                      context: dict[str, str], patient_ins: str | None = None) -> None:
        """`patient_ins`: the object is opened if sealed and the record sealed under that space's data key."""
        ...


class ExpectedUpload(Protocol):
    """What the verifier holds a quarantined object to when another capability declared it (a message
    attachment): the declared type, size and hash, and when its ticket expired."""

    @property
    def content_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...


U = TypeVar("U", bound=ExpectedUpload)


class HeldUploads(Protocol[U]):
    """Uploads under `prefix` in quarantine that records verifies for their owner (messaging's attachments) with
    the same inspection as documents; the owner keeps their state, promotes the bytes and traces the verdict."""

    @property
    def prefix(self) -> str: ...

    def expected(self, key: str, patient_ins: str | None, uploader: str | None) -> U | None:
        """The pending declaration this object was uploaded for (the pinned patient and uploader must match),
        or None: the object is discarded."""
        ...

    def accept(self, expected: U, quarantine_key: str, etag: str) -> None:
        """Promote exactly the verified version (If-Match `etag`) and mark it available, traced."""
        ...

    def reject(self, expected: U, reason: str) -> None: ...
