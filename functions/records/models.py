"""Documents and their life cycle: pending (declared, bytes not yet verified) -> available | rejected."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from functions.identity.principal import Citizen, Organisation, Professional
from functions.shared.privacy import digest

PENDING_RETENTION = timedelta(days=1)
ANNOUNCE_AFTER = timedelta(days=14)
RELEASE_AFTER = timedelta(days=30)
REJECTED_RETENTION = timedelta(days=30)


class DocumentStatus(StrEnum):
    PENDING = "pending"
    AVAILABLE = "available"
    REJECTED = "rejected"


class RejectionReason(StrEnum):
    SIZE_MISMATCH = "size_mismatch"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    CONTENT_TYPE_MISMATCH = "content_type_mismatch"
    CONTENT_NOT_OF_DECLARED_TYPE = "content_not_of_declared_type"
    UPLOAD_EXPIRED = "upload_expired"  # the object reached S3 after the ticket's upload_expires_at


class InvalidTransition(Exception):
    """A state change the life cycle does not allow (e.g. verifying a document twice)."""


class NamedAuthor(BaseModel):
    """The professional an organisation's system names as the author of what it declares (the DMP's indirect
    authentication mode: the organisation authenticates, the professional is responsible for the document)."""

    model_config = ConfigDict(frozen=True)

    rpps: str
    profession: str
    name: str


class Author(BaseModel):
    """Who wrote a document. `name`/`organisation_name`: the display names the identity provider's claims gave at
    declaration time, kept with the document (the patient reads them without a directory lookup).
    `by_organisation`: an organisation's system declared it as itself, naming this professional."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["professional", "patient"]
    rpps: str | None = None
    profession: str | None = None
    finess: str | None = None
    name: str | None = None
    organisation_name: str | None = None
    by_organisation: bool = False

    @classmethod
    def of(cls, principal: Citizen | Professional | Organisation, named: NamedAuthor | None = None) -> Author:
        if isinstance(principal, Organisation):
            if named is None:
                raise ValueError("an organisation declares a document in the name of its professional author")
            return cls(kind="professional", rpps=named.rpps, profession=named.profession, name=named.name,
                       finess=principal.finess, organisation_name=principal.name, by_organisation=True)
        if isinstance(principal, Professional):
            return cls(kind="professional", rpps=principal.rpps, profession=principal.profession,
                       finess=principal.finess, name=principal.name)
        return cls(kind="patient")

    @property
    def scope(self) -> str:
        """Who declares, as one string: the scope of their Idempotency-Keys and of their upload pseudonym (an
        organisation's system keys its requests itself, whichever professional each one names)."""
        if self.by_organisation:
            return f"organisation::{self.finess or ''}"
        return f"{self.kind}:{self.rpps or ''}:{self.finess or ''}"

    @property
    def display(self) -> str | None:
        """The author as the holder reads them ("Claire Martin (Hôpital Nord)"), None when no name is known."""
        organisation = self.organisation_name if self.by_organisation else None
        if self.name and organisation:
            return f"{self.name} ({organisation})"
        return self.name or organisation

    def principal(self, patient_ins: str) -> Citizen | Professional | Organisation:
        """The caller who declared it (to trace their actions after the fact): the organisation's system itself
        when it declared in a professional's name."""
        if self.kind == "patient":
            return Citizen(ins=patient_ins)
        if self.by_organisation:
            return Organisation(finess=self.finess or "", name=self.organisation_name)
        return Professional(rpps=self.rpps or "", profession=self.profession or "", finess=self.finess or "",
                            name=self.name)


Visibility = Literal["normal", "invisible_patient"]


class Declaration(BaseModel):
    """What the uploader promises about the bytes; the verifier holds the upload to every field."""

    model_config = ConfigDict(frozen=True)

    type_code: str
    title: str
    service_date: date
    content_type: str
    size: int
    sha256: str
    visibility: Visibility = "normal"

    def digest(self) -> str:
        """Fingerprint of the request, to tell an idempotent replay from a different request under the same key."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


class DocumentFilter(BaseModel):
    """Which of their documents a holder lists (api.ListFilter validates the query string into this)."""

    model_config = ConfigDict(frozen=True)

    type_code: str | None = None
    date_from: date | None = None
    date_to: date | None = None


class Document(BaseModel):
    """A document of a patient's record. Its read-only properties are the view access's policy decides on
    (`functions.access.models.DocumentFacts`, matched structurally: records imports no access module)."""

    model_config = ConfigDict(frozen=True)

    patient_ins: str
    document_id: str
    declaration: Declaration
    author: Author
    status: DocumentStatus
    created_at: datetime
    updated_at: datetime
    upload_expires_at: datetime
    request_digest: str
    rejection_reason: RejectionReason | None = None
    available_at: datetime | None = None
    hidden_from_professionals: bool = False  # MASQUE_PS
    invisible_to_patient: bool = False  # INVISIBLE_PATIENT, until announced and released
    announcement_sent: bool = False
    traces_to_merge: bool = False  # released, but part of its withheld trace chain still waits to be merged

    @property
    def type_code(self) -> str:
        return self.declaration.type_code

    @property
    def content_type(self) -> str:
        return self.declaration.content_type

    @property
    def available(self) -> bool:
        return self.status is DocumentStatus.AVAILABLE

    @property
    def download_name(self) -> str:
        """The file name a download is saved under: the service date and the document's own id, unique per
        document and sortable. Never its title or type: the name travels in the presigned URL's query string,
        which S3 server access logs keep (SSE-S3 only), and a title is health data the holder or author wrote."""
        day = self.declaration.service_date.isoformat()
        return f"MonEspaceSante_{day}_{self.document_id.removeprefix('doc_')[:12]}"

    @property
    def author_organisation(self) -> str | None:
        """The FINESS of the organisation that wrote it (None for the holder's uploads): it always sees it."""
        return self.author.finess if self.author.kind == "professional" else None

    @property
    def visible_to_patient(self) -> bool:
        """The holder sees available documents (unless still INVISIBLE_PATIENT), and their own uploads always."""
        if self.author.kind == "patient":
            return True
        return self.status is DocumentStatus.AVAILABLE and not self.invisible_to_patient

    @property
    def withheld_from_patient(self) -> bool:
        """An INVISIBLE_PATIENT document not released (pending, rejected, or awaiting its announcement): nothing
        its patient can read may show it exists, its traces included (they wait in a withheld chain)."""
        return (self.author.kind == "professional" and self.declaration.visibility == "invisible_patient"
                and not self.visible_to_patient)

    @property
    def invisibility_next_step(self) -> datetime | None:
        """When the INVISIBLE_PATIENT job must act: tell the patient after 2 weeks, release after 1 month; and
        finish merging the withheld traces of a release that could not merge them all."""
        if self.traces_to_merge:
            return self.updated_at
        if not self.invisible_to_patient or self.available_at is None:
            return None
        return self.available_at + (RELEASE_AFTER if self.announcement_sent else ANNOUNCE_AFTER)

    @property
    def quarantine_key(self) -> str:
        return f"uploads/{self.document_id}"

    @property
    def record_key(self) -> str:
        """Records are grouped by a patient pseudonym (never the INS in clear: keys show up in logs)."""
        return f"records/{digest('ins', self.patient_ins)}/{self.document_id}"

    @property
    def encryption_context(self) -> dict[str, str]:
        """Binds the stored object to its patient and document: decrypting it under any other pair fails."""
        return {"mes:patient": digest("ins", self.patient_ins), "mes:document": self.document_id}

    @property
    def purge_at(self) -> datetime | None:
        """Declarations never uploaded, and rejections once the author could see them, expire (DynamoDB TTL);
        available documents are part of the record and never do."""
        if self.status is DocumentStatus.PENDING:
            return self.upload_expires_at + PENDING_RETENTION
        if self.status is DocumentStatus.REJECTED:
            return self.updated_at + REJECTED_RETENTION
        return None

    def accept(self, at: datetime, hide_from_professionals: bool = False) -> Document:
        """`hide_from_professionals`: the patient's "hide new documents" setting, applied as it joins the record."""
        if self.status is not DocumentStatus.PENDING:
            raise InvalidTransition(f"cannot accept a {self.status} document")
        return self.model_copy(update={
            "status": DocumentStatus.AVAILABLE, "updated_at": at, "available_at": at,
            "hidden_from_professionals": hide_from_professionals and self.author.kind == "professional",
            "invisible_to_patient": self.declaration.visibility == "invisible_patient",
        })

    def hide(self, hidden: bool, at: datetime) -> Document:
        return self.model_copy(update={"hidden_from_professionals": hidden, "updated_at": at})

    def announce(self, at: datetime) -> Document:
        return self.model_copy(update={"announcement_sent": True, "updated_at": at})

    def release(self, at: datetime) -> Document:
        return self.model_copy(update={"invisible_to_patient": False, "updated_at": at})

    def reject(self, reason: RejectionReason, at: datetime) -> Document:
        if self.status is not DocumentStatus.PENDING:
            raise InvalidTransition(f"cannot reject a {self.status} document")
        return self.model_copy(update={"status": DocumentStatus.REJECTED, "updated_at": at,
                                       "rejection_reason": reason})


def document_id_for(author_id: str, patient_ins: str, idempotency_key: str) -> str:
    """Deterministic id per (caller, patient, Idempotency-Key): the conditional put on it *is* the idempotency
    check, so a first upload request costs one DynamoDB write."""
    raw = hashlib.sha256(f"{author_id}|{patient_ins}|{idempotency_key}".encode()).hexdigest()
    return f"doc_{raw[:26]}"


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class QuarantinedObject:
    """An uploaded object as the verifier reads it: the metadata the presigned POST pinned (patient, uploader), S3's
    LastModified (when the upload reached S3, to hold it to the ticket's expiry) and a stream of its bytes."""

    patient_ins: str | None
    content_type: str | None
    etag: str
    chunks: Iterator[bytes]
    close: Callable[[], None]
    uploader: str | None
    last_modified: datetime


@dataclass(frozen=True)
class ExistingObject:
    """An object another capability already verified and keeps (a message attachment), which the holder adds to
    their record: copied server-side into the records bucket, never through the client."""

    bucket: str
    key: str
    content_type: str
    size: int
    sha256: str
