"""records' `DocumentStore` over the fake and the DynamoDB adapter: declarations conditioned on an open space and
idempotent, the holder's list with its filters and cursor, the professionals' list, the optimistic lock of a save
and a delete, and the chain head read with a document."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from functions.accounts.models import Space, SpaceStatus
from functions.journal.models import Actor, ChainHead, Trace, TraceAction
from functions.records.models import Author, Declaration, Document, DocumentFilter, DocumentStatus
from functions.records.ports import DocumentStore
from functions.shared.errors import NotFound
from tests.contract.conftest import new_ins
from tests.unit.fakes import FakeControlStore, FakeDocumentStore

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)
AUTHOR = Author(kind="professional", rpps="10000000001", profession="10", finess="750000001")


@dataclass
class Documents:
    store: DocumentStore
    open_space: Callable[[str], None]
    chain: Callable[[str], list[str]]  # the holder's trace actions, newest first


@pytest.fixture
def documents(side: str) -> Documents:
    if side == "fake":
        control = FakeControlStore()
        store = FakeDocumentStore(control, set())
        return Documents(store, store.open_spaces.add, control.actions)
    from functions import deps

    def open_space(ins: str) -> None:
        deps.spaces().open(Space(ins=ins, status=SpaceStatus.OPEN, created_at=T0))

    return Documents(deps.records().documents, open_space,
                     lambda ins: [t.action.value for t in deps.traces().list(ins, None, 100)[0]])


def pending(ins: str, n: int, type_code: str = "11502-2", service_date: date = date(2026, 11, 1)) -> Document:
    declaration = Declaration(type_code=type_code, title=f"Document {n}", service_date=service_date,
                              content_type="application/pdf", size=10, sha256="0" * 64)
    at = T0 + timedelta(minutes=n)
    return Document(patient_ins=ins, document_id=f"doc_{n:026d}", declaration=declaration, author=AUTHOR,
                    status=DocumentStatus.PENDING, created_at=at, updated_at=at,
                    upload_expires_at=at + timedelta(minutes=10), request_digest=declaration.digest())


def trace(doc: Document, action: TraceAction = TraceAction.DOCUMENT_VERIFIED) -> Trace:
    return Trace.new(doc.patient_ins, T0, Actor.system("contract"), action, doc.document_id)


def available(d: Documents, doc: Document) -> Document:
    d.store.create_pending(doc)
    accepted = doc.accept(doc.updated_at + timedelta(seconds=1))
    assert d.store.save(accepted, doc, [trace(doc)], [])
    return accepted


def test_a_declaration_needs_an_open_space_and_a_replay_gets_the_stored_document(documents: Documents) -> None:
    ins = new_ins()
    doc = pending(ins, 1)
    with pytest.raises(NotFound):
        documents.store.create_pending(doc)
    assert documents.store.get(ins, doc.document_id) is None
    documents.open_space(ins)
    assert documents.store.create_pending(doc) == (doc, True)
    replay = doc.model_copy(update={"updated_at": T0 + timedelta(days=1)})
    assert documents.store.create_pending(replay) == (doc, False)
    assert documents.store.get_with_head(ins, doc.document_id) == (doc, ChainHead())


def test_a_save_commits_with_its_trace_only_on_the_state_it_was_read_in(documents: Documents) -> None:
    ins = new_ins()
    documents.open_space(ins)
    doc = pending(ins, 1)
    accepted = available(documents, doc)
    later = accepted.hide(True, accepted.updated_at + timedelta(seconds=1))
    assert not documents.store.save(later, doc, [trace(doc, TraceAction.DOCUMENT_HIDDEN)], [])  # stale read
    assert documents.store.get(ins, doc.document_id) == accepted
    assert documents.store.save(later, accepted, [trace(doc, TraceAction.DOCUMENT_HIDDEN)], [])
    stored, head = documents.store.get_with_head(ins, doc.document_id)
    assert stored == later and head.seq == 2
    assert documents.chain(ins) == ["document.hidden", "document.verified"]


def test_a_delete_needs_the_status_it_was_read_in_and_is_traced(documents: Documents) -> None:
    ins = new_ins()
    documents.open_space(ins)
    doc = pending(ins, 1)
    accepted = available(documents, doc)
    assert not documents.store.delete(doc, trace(doc, TraceAction.DOCUMENT_DELETED))  # still thought pending
    assert documents.store.delete(accepted, trace(doc, TraceAction.DOCUMENT_DELETED))
    assert documents.store.get(ins, doc.document_id) is None
    assert documents.chain(ins) == ["document.deleted", "document.verified"]


def ids(docs: list[Document]) -> list[str]:
    return [d.document_id[-2:] for d in docs]


def test_the_holders_list_filters_by_type_and_dates_and_pages_with_a_cursor(documents: Documents) -> None:
    ins = new_ins()
    documents.open_space(ins)
    for n, (kind, day) in enumerate([("11502-2", date(2026, 10, 1)), ("11502-2", date(2026, 11, 1)),
                                     ("34133-9", date(2026, 11, 5)), ("11502-2", date(2026, 11, 9)),
                                     ("11502-2", date(2026, 12, 1))]):
        available(documents, pending(ins, n, kind, day))
    documents.store.create_pending(pending(ins, 9))  # pending: nobody lists it
    everything = DocumentFilter()
    assert ids(documents.store.list_visible_to_patient(ins, everything, None, 10)[0]) == ["04", "03", "02", "01",
                                                                                          "00"]
    page, after = documents.store.list_visible_to_patient(ins, everything, None, 2)
    assert ids(page) == ["04", "03"] and after is not None
    page, after = documents.store.list_visible_to_patient(ins, everything, after, 2)
    assert ids(page) == ["02", "01"] and after is not None
    assert ids(documents.store.list_visible_to_patient(ins, everything, after, 2)[0]) == ["00"]

    november = DocumentFilter(date_from=date(2026, 11, 1), date_to=date(2026, 11, 9))
    assert ids(documents.store.list_visible_to_patient(ins, november, None, 10)[0]) == ["03", "02", "01"]
    blood = DocumentFilter(type_code="11502-2", date_from=date(2026, 11, 1))
    page, after = documents.store.list_visible_to_patient(ins, blood, None, 2)
    assert ids(page) == ["04", "03"] and after is not None
    page, after = documents.store.list_visible_to_patient(ins, blood, after, 2)
    assert ids(page) == ["01"] and after is None
    assert documents.store.list_visible_to_patient(new_ins(), everything, None, 10) == ([], None)


def test_the_professionals_list_shows_available_documents_the_holder_does_not_see_yet(
        documents: Documents) -> None:
    ins = new_ins()
    documents.open_space(ins)
    available(documents, pending(ins, 1))
    withheld = pending(ins, 2).model_copy(update={"declaration": pending(ins, 2).declaration.model_copy(
        update={"visibility": "invisible_patient"})})
    available(documents, withheld)
    documents.store.create_pending(pending(ins, 3))
    assert ids(documents.store.list_visible_to_patient(ins, DocumentFilter(), None, 10)[0]) == ["01"]
    page, after = documents.store.list_available(ins, None, 1)
    assert ids(page) == ["02"] and after is not None
    assert ids(documents.store.list_available(ins, after, 1)[0]) == ["01"]
