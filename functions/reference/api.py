"""Query and response shapes of the discovery routes, built field by field from the listings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.reference.models import ProfessionEntry, ProfessionListing, TypeEntry, TypeListing


class DocumentTypeQueryIn(BaseModel):
    """`?category=biologie&include_retired=true`; any other parameter is refused."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, min_length=1, max_length=40)
    include_retired: bool = False


class DocumentTypeOut(BaseModel):
    code: str
    system: str
    label: str
    class_code: str
    class_system: str
    class_label: str
    category: str
    category_label: str
    accepted: bool

    @classmethod
    def from_domain(cls, t: TypeEntry) -> DocumentTypeOut:
        return cls(code=t.code, system=t.system, label=t.label, class_code=t.class_code,
                   class_system=t.class_system, class_label=t.class_label, category=t.category,
                   category_label=t.category_label, accepted=t.accepted)


class DocumentTypeListOut(BaseModel):
    version: str
    items: list[DocumentTypeOut]

    @classmethod
    def from_domain(cls, listing: TypeListing) -> DocumentTypeListOut:
        return cls(version=listing.version, items=[DocumentTypeOut.from_domain(t) for t in listing.items])


class ProfessionOut(BaseModel):
    code: str
    label: str
    document_types: list[str]

    @classmethod
    def from_domain(cls, p: ProfessionEntry) -> ProfessionOut:
        return cls(code=p.code, label=p.label, document_types=list(p.type_codes))


class ProfessionListOut(BaseModel):
    version: str
    items: list[ProfessionOut]
    other_professions: list[str] = Field(description="the document types a profession not listed may read")

    @classmethod
    def from_domain(cls, listing: ProfessionListing) -> ProfessionListOut:
        return cls(version=listing.version, items=[ProfessionOut.from_domain(p) for p in listing.items],
                   other_professions=list(listing.others))
