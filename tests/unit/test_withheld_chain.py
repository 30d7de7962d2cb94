"""Issue 9.5: withheld trace chains against DynamoDB (in-process moto): the traces of an INVISIBLE_PATIENT document
wait in their own chain, a release merges them into the patient's chain even when they do not fit one transaction
(and a release cut short is finished by the daily job), and a write decided on a head that moved is redone."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from functions.journal.models import Actor, ChainHead, Trace, TraceAction, verify_chain
from functions.journal.ports import ChainMoved
from functions.journal.storage import Journal, load_heads
from functions.records.models import Author, Declaration, Document, DocumentStatus

if TYPE_CHECKING:
    from functions.access.storage import JournalControlStore
    from functions.records.storage import DynamoDocumentStore

INS = "284067512345688"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
DOCTOR = Author(kind="professional", rpps="10000000001", profession="10", finess="750000001")
READER = Actor(kind="professional", id="10000000041", organisation="690000004", profession="10")


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The traces, access, documents and notifications tables, bound for this test only."""
    from moto import mock_aws

    from functions.journal.storage import LedgerItem, TraceItem
    from functions.notifications.storage import NotificationItem
    from functions.records.storage import DocumentItem
    from functions.shared import dynamo

    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    models: list[Any] = [TraceItem, LedgerItem, DocumentItem, NotificationItem]
    saved = [(m.Meta.__dict__.copy(), m._connection) for m in models]
    with mock_aws():
        for model in models:
            dynamo.bind(model, f"unit-{model.__name__}", "eu-west-3")
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        yield
    for model, (meta, connection) in zip(models, saved, strict=True):
        for key, value in meta.items():
            if not key.startswith("__"):
                setattr(model.Meta, key, value)
        model._connection = connection
    dynamo._connection.cache_clear()  # its connection points at the mock: later tests must build their own


def control_store() -> JournalControlStore:
    """The access adapter on the DynamoDB journal, wired as functions/deps.py does."""
    from functions.access.storage import JournalControlStore
    from functions.accounts.storage import DynamoSpaceStore
    from functions.journal.storage import DynamoJournal
    from functions.notifications.storage import DynamoNotificationStore

    return JournalControlStore(DynamoJournal(), DynamoSpaceStore(), DynamoNotificationStore())


def document_store() -> DynamoDocumentStore:
    from functions.accounts.storage import DynamoSpaceStore
    from functions.journal.storage import DynamoJournal
    from functions.notifications.storage import DynamoNotificationStore
    from functions.records.storage import DynamoDocumentStore

    return DynamoDocumentStore(DynamoSpaceStore(), DynamoNotificationStore(), DynamoJournal())


def invisible_document() -> Document:
    """An INVISIBLE_PATIENT document that has arrived (available, not released), as stored."""
    from functions.records.storage import DocumentItem

    data = b"%PDF-1.4 annonce"
    declaration = Declaration(type_code="11502-2", title="Annonce", service_date=T0.date(),
                              content_type="application/pdf", size=len(data),
                              sha256=hashlib.sha256(data).hexdigest(), visibility="invisible_patient")
    pending = Document(patient_ins=INS, document_id="doc_" + "a" * 26, declaration=declaration, author=DOCTOR,
                       status=DocumentStatus.PENDING, created_at=T0, updated_at=T0,
                       upload_expires_at=T0 + timedelta(minutes=10), request_digest=declaration.digest())
    doc = pending.accept(T0 + timedelta(seconds=1))
    DocumentItem.from_domain(doc).save()
    return doc


def read(n: int, doc: Document) -> Trace:
    return Trace.new(INS, T0 + timedelta(minutes=n), READER, TraceAction.DOCUMENT_READ, doc.document_id,
                     reason="basis:consent")


def withhold(doc: Document, traces: list[Trace]) -> None:
    """What a professional's reads of the document write: withheld entries only (30 per transaction here)."""
    for i in range(0, len(traces), 30):
        head, withheld_head = load_heads(INS, doc.document_id)
        journal = Journal(INS, head, guard=True)
        journal.withhold(doc.document_id, withheld_head)
        for trace in traces[i:i + 30]:
            journal.trace(trace)
        journal.commit()


def patient_chain() -> tuple[list[Trace], ChainHead]:
    from functions.journal.storage import DynamoTraceReader

    return list(DynamoTraceReader().all(INS)), control_store().head(INS)


def a_patient_action() -> None:
    from functions.access.ports import ControlWrite

    control_store().write(INS, ControlWrite(traces=[Trace.new(INS, T0, Actor(kind="patient", id="patient"),
                                                                   TraceAction.SETTINGS_CHANGED)]))


def release(doc: Document, at: datetime) -> bool:

    trace = Trace.new(INS, at, Actor.system("invisible-patient-job"), TraceAction.DOCUMENT_RELEASED,
                      doc.document_id, reason="one_month_elapsed")
    return document_store().save(doc.release(at), doc, [trace], [])


def test_withheld_entries_stay_out_of_the_patients_chain(tables: None) -> None:
    from functions.journal.storage import withheld_entries

    a_patient_action()
    doc = invisible_document()
    withhold(doc, [read(n, doc) for n in range(3)])
    traces, head = patient_chain()
    assert [t.action for t in traces] == [TraceAction.SETTINGS_CHANGED] and head.seq == 1
    entries = withheld_entries(INS, doc.document_id)
    assert [t.seq for t in entries] == [1, 2, 3]
    assert verify_chain(entries, load_heads(INS, doc.document_id)[1]) == []


def test_a_release_merges_more_withheld_entries_than_fit_one_transaction(tables: None) -> None:
    from functions.journal.storage import withheld_entries

    a_patient_action()
    doc = invisible_document()
    reads = [read(n, doc) for n in range(120)]
    withhold(doc, reads)
    released_at = T0 + timedelta(days=30)

    assert release(doc, released_at)

    traces, head = patient_chain()
    assert verify_chain(traces, head) == []
    about = [t for t in traces if t.document_id == doc.document_id]
    merged = [t for t in about if t.action is TraceAction.DOCUMENT_READ]
    assert [(t.trace_id, t.at, t.actor, t.reason) for t in merged] == [
        (t.trace_id, t.at, t.actor, t.reason) for t in reads]
    (released,) = [i for i, t in enumerate(about) if t.action is TraceAction.DOCUMENT_RELEASED]
    assert 0 < released < len(reads)  # what did not fit the release transaction followed it
    assert (about[released].reason or "").startswith("one_month_elapsed; withheld:120:")
    assert withheld_entries(INS, doc.document_id) == []
    assert load_heads(INS, doc.document_id)[1] == ChainHead()
    stored = document_store().get(INS, doc.document_id)
    assert stored is not None and stored.visible_to_patient and not stored.traces_to_merge


def test_a_release_cut_short_is_finished_by_the_daily_job(tables: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.journal.storage import DynamoJournal, withheld_entries
    from functions.records import service
    from functions.records.storage import DynamoDocumentStore
    from functions.shared.clock import FixedClock
    from tests.unit.fakes import FakeBlobStore

    a_patient_action()
    doc = invisible_document()
    withhold(doc, [read(n, doc) for n in range(60)])
    released_at = T0 + timedelta(days=30)

    def crash(self: Any, doc: Document) -> None:
        raise RuntimeError("the function timed out")

    monkeypatch.setattr(DynamoDocumentStore, "finish_release", crash)
    with pytest.raises(RuntimeError):
        release(doc, released_at)
    monkeypatch.undo()

    traces, head = patient_chain()
    assert verify_chain(traces, head) == []  # the chain verifies in between
    left = withheld_entries(INS, doc.document_id)
    assert 0 < len(left) < 60
    stored = document_store().get(INS, doc.document_id)
    assert stored is not None and stored.visible_to_patient and stored.traces_to_merge

    control = control_store()
    deps = service.RecordDeps(documents=document_store(), blobs=FakeBlobStore(), control=control,
                              journal=DynamoJournal(), clock=FixedClock(released_at + timedelta(days=1)),
                              upload_ttl=timedelta(minutes=10), download_ttl_seconds=300)
    assert service.run_invisible_patient_job(deps, (released_at + timedelta(days=1)).date()) == {
        "announced": 0, "released": 0}

    traces, head = patient_chain()
    assert verify_chain(traces, head) == []
    assert len([t for t in traces if t.action is TraceAction.DOCUMENT_READ]) == 60
    assert withheld_entries(INS, doc.document_id) == []
    stored = document_store().get(INS, doc.document_id)
    assert stored is not None and not stored.traces_to_merge
    document_store().finish_release(stored)  # nothing left: running it again changes nothing
    assert patient_chain() == (traces, head)


def test_a_withheld_append_on_a_head_that_moved_is_refused(tables: None) -> None:
    from functions.journal.storage import withheld_entries

    doc = invisible_document()
    withhold(doc, [read(0, doc)])
    head, stale = load_heads(INS, doc.document_id)
    withhold(doc, [read(1, doc)])  # another professional's read got there first

    journal = Journal(INS, head, guard=True)
    journal.withhold(doc.document_id, stale)
    journal.trace(read(2, doc))
    with pytest.raises(ChainMoved):
        journal.commit()
    entries = withheld_entries(INS, doc.document_id)
    assert len(entries) == 2 and verify_chain(entries, load_heads(INS, doc.document_id)[1]) == []


def test_a_read_decided_before_the_release_is_decided_again(tables: None) -> None:
    """A professional's read that saw the document withheld must not land in the withheld chain after the
    release merged it (the entry would never reach the patient): the main head it was decided on has moved."""
    from functions.access.ports import ControlWrite
    from functions.journal.storage import withheld_entries

    doc = invisible_document()
    withhold(doc, [read(0, doc)])
    head, withheld_head = load_heads(INS, doc.document_id)
    assert release(doc, T0 + timedelta(days=3))

    with pytest.raises(ChainMoved):
        control_store().write(INS, ControlWrite(traces=[read(1, doc)], withheld={doc.document_id: withheld_head}),
                                   head, retry=False)
    assert withheld_entries(INS, doc.document_id) == []
    assert load_heads(INS, doc.document_id)[1] == ChainHead()


def test_a_release_racing_a_withheld_append_merges_it_too(tables: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry appended between the release's read of the withheld chain and its commit moves the withheld head:
    the release is redone on the longer chain, so no entry is left behind."""
    from functions.journal import storage as journal_storage

    doc = invisible_document()
    withhold(doc, [read(0, doc)])
    real = journal_storage.withheld_entries
    raced: list[int] = []

    def entries_then_append(patient_ins: str, document_id: str) -> list[Trace]:
        entries = real(patient_ins, document_id)
        if not raced:
            raced.append(1)
            withhold(doc, [read(1, doc)])
        return entries

    monkeypatch.setattr(journal_storage, "withheld_entries", entries_then_append)
    assert release(doc, T0 + timedelta(days=3))
    traces, head = patient_chain()
    assert verify_chain(traces, head) == []
    about = [t.action for t in traces if t.document_id == doc.document_id]
    assert about == [TraceAction.DOCUMENT_READ, TraceAction.DOCUMENT_READ, TraceAction.DOCUMENT_RELEASED]
    assert real(INS, doc.document_id) == []


def test_a_withheld_chain_that_does_not_recompute_is_merged_and_marked_broken() -> None:
    from functions.journal.models import commitment, link

    entries, head = link(ChainHead(), [Trace.new(INS, T0, READER, TraceAction.DOCUMENT_READ, "doc_x")] * 1 +
                         [Trace.new(INS, T0, READER, TraceAction.DOCUMENT_READ, "doc_x")])
    assert commitment(entries, head) == f"withheld:2:{head.hash}"
    assert commitment(entries[1:], head) == f"withheld:2:{head.hash}:broken"
    assert commitment([], ChainHead()) is None


def test_a_cursor_cannot_point_into_a_withheld_chain() -> None:
    from functions.audit import service
    from functions.journal.storage import DynamoTraceReader, withheld_key
    from functions.shared import cursor
    from functions.shared.errors import InvalidRequest

    forged = cursor.encode(withheld_key("doc_" + "a" * 26, 1))
    with pytest.raises(InvalidRequest) as refused:
        service.list_traces(DynamoTraceReader(), INS, forged, 20)
    assert refused.value.code == "invalid_cursor"


def test_the_in_memory_stores_withhold_and_merge_like_dynamodb() -> None:
    """The fakes the service tests use keep the same contract: a withheld document's upload and reads reach the
    patient's chain (and nothing else) only at its release."""
    from functions.access import service as access_service
    from functions.access.matrix import matrix
    from functions.identity.principal import Professional
    from functions.records import service
    from functions.records.api import UploadIn
    from functions.shared.clock import FixedClock
    from tests.unit.fakes import FakeBlobStore, FakeControlStore, FakeDocumentStore

    control, blobs = FakeControlStore(), FakeBlobStore()
    deps = service.RecordDeps(documents=FakeDocumentStore(control, {INS}), blobs=blobs, control=control,
                              journal=control, clock=FixedClock(T0), upload_ttl=timedelta(minutes=10),
                              download_ttl_seconds=300)
    data = b"%PDF-1.4 annonce"
    body = UploadIn.model_validate({"type_code": "11502-2", "title": "Annonce", "service_date": "2026-11-01",
                                    "content_type": "application/pdf", "size": len(data),
                                    "sha256": hashlib.sha256(data).hexdigest(), "visibility": "invisible_patient"})
    doctor = Professional(rpps="10000000001", profession="10", finess="750000001")
    doc, _ = service.request_upload(deps, doctor, INS, body.to_domain(), "withheld-0001")
    blobs.put(doc.quarantine_key, data, "application/pdf", INS)
    assert service.verify_upload(deps, doc.quarantine_key) is service.VerificationOutcome.ACCEPTED
    access = access_service.AccessDeps(control=control, documents=deps.documents, blobs=blobs, clock=deps.clock,
                                       matrix=matrix, download_ttl_seconds=300)
    stranger = Professional(rpps="10000000041", profession="10", finess="690000004")
    access_service.read_patient_document(access, stranger, INS, doc.document_id, consent=True)
    assert control.actions(INS) == [] and control.notifications == []
    assert control.profile(INS).seen == {} and control.profile(INS).care_team == {}

    service.release_document(deps, doctor, INS, doc.document_id)
    assert control.actions(INS) == ["document.released", "document.read", "document.verified",
                                    "document.upload_requested"]
    assert verify_chain(control.traces[INS], control.head(INS)) == []
