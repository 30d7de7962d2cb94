"""Reference listings for discovery (`GET /v1/reference/document-types`, `GET /v1/reference/professions`): pure
reads of data files already loaded once per cold start, so they cost no AWS call and need no dependencies."""

from __future__ import annotations

from functions.access.matrix import matrix
from functions.records import catalog
from functions.reference.models import ProfessionEntry, ProfessionListing, TypeEntry, TypeListing
from functions.shared.errors import Unprocessable

# A profession code no professional carries: what the matrix gives every profession it does not list.
_UNLISTED = "__unlisted__"


def document_types(include_retired: bool = False, category: str | None = None) -> TypeListing:
    """The types a declaration may use, in the catalogue's order; `include_retired` adds the codes old documents
    may still carry (`accepted` false), so software can show them. An unknown category is a 422, not an empty list
    (a typo would otherwise look like "no such documents")."""
    cat = catalog.type_catalog()
    if category is not None and category not in cat.categories:
        raise Unprocessable(f"category must be one of: {', '.join(cat.categories)}", code="unknown_category")
    items = tuple(
        TypeEntry(code=t.code, system=cat.systems[t.system], label=t.label, class_code=t.class_code,
                  class_system=cat.systems[cat.classes[t.class_code].system],
                  class_label=cat.classes[t.class_code].label, category=t.category,
                  category_label=cat.categories[t.category], accepted=t.accepted)
        for t in cat.types
        if (t.accepted or include_retired) and (category is None or t.category == category)
    )
    return TypeListing(version=cat.version, items=items)


def professions() -> ProfessionListing:
    """Every profession the matrix names with the accepted types it may read (once it has a basis: care team,
    consent, emergency...), and what any other profession reads."""
    m = matrix()
    accepted = catalog.document_types()

    def readable(profession: str) -> tuple[str, ...]:
        return tuple(code for code in m.readable_by(profession) if code in accepted)

    items = tuple(ProfessionEntry(code=code, label=label, type_codes=readable(code))
                  for code, label in m.professions.items())
    return ProfessionListing(version=m.version, items=items, others=readable(_UNLISTED))
