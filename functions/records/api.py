"""Request and response shapes of the record routes. Responses are built field by field from the domain, so a
new internal field never leaks to callers."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from functions.identity.principal import PROFESSION, RPPS, display_name
from functions.records.models import Declaration, Document, DocumentFilter, NamedAuthor, PresignedPost
from functions.shared.temporal import IsoDay


class AuthorIn(BaseModel):
    """The professional author an organisation's system names (RPPS, profession, name), as the DMP's indirect
    mode asks."""

    model_config = ConfigDict(extra="forbid")

    rpps: RPPS
    profession: PROFESSION
    name: str = Field(min_length=1, max_length=200)

    @field_validator("name")
    @classmethod
    def _readable(cls, value: str) -> str:
        name = display_name(value)
        if name is None:
            raise ValueError("must be the professional's name")
        return name

    def to_domain(self) -> NamedAuthor:
        return NamedAuthor(rpps=self.rpps, profession=self.profession, name=self.name)


class UploadIn(BaseModel):
    """The uploader's declaration. Unknown fields (status, patient...) are refused: callers never set them.
    `author` is for organisation callers only (required for them, refused for anyone else: a professional or a
    holder is the author)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type_code: str = Field(min_length=1, max_length=20)
    title: str = Field(min_length=1, max_length=200)
    service_date: IsoDay
    content_type: str = Field(min_length=1, max_length=100)
    size: int = Field(gt=0, strict=True)  # a JSON integer: true, "16" or 16.0 are refused, not read as 1 or 16
    sha256: str
    visibility: Literal["normal", "invisible_patient"] = "normal"
    author: AuthorIn | None = None

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
            raise ValueError("must be 64 hexadecimal characters")
        return value.lower()

    def to_domain(self) -> Declaration:
        return Declaration(**self.model_dump(exclude={"author"}))

    def named_author(self) -> NamedAuthor | None:
        return self.author.to_domain() if self.author is not None else None


class ListFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type_code: str | None = Field(default=None, max_length=20)
    date_from: IsoDay | None = None
    date_to: IsoDay | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ListFilter:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from must not be after date_to")
        return self

    def to_domain(self) -> DocumentFilter:
        return DocumentFilter(**self.model_dump())


class AuthorOut(BaseModel):
    """`name`/`organisation_name`: as the identity provider gave them; `by_organisation`: declared by the
    organisation's system in this professional's name."""

    kind: str
    rpps: str | None = None
    finess: str | None = None
    name: str | None = None
    organisation_name: str | None = None
    by_organisation: bool = False


class DocumentOut(BaseModel):
    document_id: str
    type_code: str
    title: str
    service_date: date
    created_at: datetime
    updated_at: datetime
    content_type: str
    size: int
    status: str
    author: AuthorOut
    rejection_reason: str | None = None
    hidden_from_professionals: bool = False
    visible_to_patient: bool = True
    download_url: str | None = None

    @classmethod
    def from_domain(cls, doc: Document, download_url: str | None = None) -> DocumentOut:
        d = doc.declaration
        return cls(
            document_id=doc.document_id,
            type_code=d.type_code,
            title=d.title,
            service_date=d.service_date,
            created_at=doc.created_at,
            updated_at=doc.updated_at,
            content_type=d.content_type,
            size=d.size,
            status=doc.status.value,
            author=AuthorOut(kind=doc.author.kind, rpps=doc.author.rpps, finess=doc.author.finess,
                             name=doc.author.name, organisation_name=doc.author.organisation_name,
                             by_organisation=doc.author.by_organisation),
            rejection_reason=doc.rejection_reason.value if doc.rejection_reason else None,
            hidden_from_professionals=doc.hidden_from_professionals,
            visible_to_patient=doc.visible_to_patient,
            download_url=download_url,
        )


class UploadOut(BaseModel):
    url: str
    fields: dict[str, str]
    expires_at: datetime


class UploadTicketOut(BaseModel):
    document_id: str
    status: str
    upload: UploadOut

    @classmethod
    def from_domain(cls, doc: Document, post: PresignedPost) -> UploadTicketOut:
        return cls(document_id=doc.document_id, status=doc.status.value,
                   upload=UploadOut(url=post.url, fields=post.fields, expires_at=doc.upload_expires_at))


class DocumentPatchIn(BaseModel):
    """The only field the holder changes on a document (MASQUE_PS)."""

    model_config = ConfigDict(extra="forbid")

    hidden_from_professionals: StrictBool


class DocumentDeletedOut(BaseModel):
    document_id: str
    status: Literal["deleted"] = "deleted"
