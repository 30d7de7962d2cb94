"""The access service's decide-again loop, reached with the in-memory fakes: FakeControlStore now refuses a write
on a moved head, main or withheld, as the journal does, so a race between a decision and its commit is decided
again (and a chain that never settles answers Busy, 503) without AWS."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from functions.access import service
from functions.access.matrix import matrix
from functions.access.models import AccessProfile
from functions.identity.principal import Professional
from functions.journal.models import Actor, Trace, TraceAction
from functions.journal.ports import Busy
from functions.records import service as records
from functions.records.api import UploadIn
from functions.records.models import Document
from functions.shared.clock import FixedClock
from tests.unit.fakes import FakeBlobStore, FakeControlStore, FakeDocumentStore

INS = "284067512345688"
T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)
DOCTOR = Professional(rpps="10000000001", profession="10", finess="750000001")
STRANGER = Professional(rpps="10000000041", profession="10", finess="690000004")
OTHER = Professional(rpps="10000000042", profession="10", finess="690000005")


class RacedControl(FakeControlStore):
    """Each profile read lets `races` concurrent actions land after it, before the decision it feeds commits."""

    def __init__(self) -> None:
        super().__init__()
        self.races: list[tuple[str | None, int]] = []  # (document the concurrent read names, how many times)
        self.reads = 0

    def profile(self, patient_ins: str) -> AccessProfile:
        read = super().profile(patient_ins)
        self.reads += 1
        if self.races:
            document_id, left = self.races.pop(0)
            if left > 1:
                self.races.insert(0, (document_id, left - 1))
            trace = Trace.new(patient_ins, T0, Actor.of(OTHER), TraceAction.DOCUMENT_READ, document_id)
            if document_id is not None:
                self.withhold(patient_ins, document_id, [trace])
            else:
                self.append(patient_ins, [trace])
        return read


@pytest.fixture(autouse=True)
def _no_back_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("functions.journal.retry.back_off", lambda _attempt: None)


def deps(visibility: str = "normal") -> tuple[RacedControl, service.AccessDeps[Document], str]:
    control = RacedControl()
    blobs = FakeBlobStore()
    r = records.RecordDeps(documents=FakeDocumentStore(control, {INS}), blobs=blobs, control=control, journal=control,
                           clock=FixedClock(T0), upload_ttl=timedelta(minutes=10), download_ttl_seconds=300)
    data = b"%PDF-1.4 compte rendu"
    body = UploadIn.model_validate({"type_code": "11502-2", "title": "Compte rendu", "service_date": "2026-11-01",
                                    "content_type": "application/pdf", "size": len(data),
                                    "sha256": hashlib.sha256(data).hexdigest(), "visibility": visibility})
    doc, _ = records.request_upload(r, DOCTOR, INS, body.to_domain(), "race-0001")
    blobs.put(doc.quarantine_key, data, "application/pdf", INS)
    records.verify_upload(r, doc.quarantine_key)
    a = service.AccessDeps(control=control, documents=r.documents, blobs=blobs, clock=r.clock, matrix=matrix,
                           download_ttl_seconds=300)
    control.reads = 0
    return control, a, doc.document_id


def test_a_read_raced_by_another_professionals_read_is_decided_again_on_the_new_head() -> None:
    """Given another professional's read landing between a decision and its commit, the first read is decided
    again on the fresh profile: both reads are traced once each, on one unbroken chain."""
    control, a, doc = deps()
    control.races = [(None, 1)]
    service.read_patient_document(a, STRANGER, INS, doc, consent=True)
    assert control.reads == 2
    assert control.actions(INS)[:2] == ["document.read", "document.read"]
    assert [t.seq for t in control.traces[INS]] == list(range(1, len(control.traces[INS]) + 1))


def test_a_race_on_a_withheld_documents_chain_is_decided_again_too() -> None:
    """Given an INVISIBLE_PATIENT document, a concurrent read of it moves only its withheld chain: the stale
    decision is still not committed (before the fake checked withheld heads it was, on one attempt)."""
    control, a, doc = deps("invisible_patient")
    main = control.head(INS)
    control.races = [(doc, 1)]
    service.read_patient_document(a, STRANGER, INS, doc, consent=True)
    assert control.reads == 2
    assert control.head(INS) == main
    assert [t.actor.id for t in control.withheld[(INS, doc)][-2:]] == [OTHER.rpps, STRANGER.rpps]


def test_a_chain_that_never_settles_answers_busy_and_commits_nothing_stale() -> None:
    control, a, doc = deps()
    control.races = [(None, 100)]
    before = len(control.traces[INS])
    with pytest.raises(Busy):
        service.read_patient_document(a, STRANGER, INS, doc, consent=True)
    assert all(t.actor.id == OTHER.rpps for t in control.traces[INS][before:])
