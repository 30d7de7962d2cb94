"""Access services over in-memory adapters: what gets traced and notified when professionals read a record."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from functions.access import service
from functions.access.matrix import matrix
from functions.identity.principal import Citizen, Professional
from functions.notifications.models import NotificationKind
from functions.records import service as records
from functions.records.api import UploadIn
from functions.records.models import Document
from functions.shared.clock import FixedClock
from functions.shared.errors import Forbidden
from tests.unit.fakes import FakeBlobStore, FakeControlStore, FakeDocumentStore

INS = "284067512345688"
PDF = b"%PDF-1.4 x"
DOCTOR = Professional(rpps="10000000001", profession="10", finess="750000001")
URGENTIST = Professional(rpps="10000000005", profession="10", finess="130000003")


def deps_at(at: datetime) -> tuple[service.AccessDeps[Document], records.RecordDeps]:
    control = FakeControlStore()
    store = FakeDocumentStore(control, {INS})
    clock = FixedClock(at)
    r = records.RecordDeps(documents=store, blobs=FakeBlobStore(), control=control, journal=control, clock=clock,
                           upload_ttl=timedelta(minutes=10), download_ttl_seconds=300)
    a = service.AccessDeps(control=control, documents=store, blobs=r.blobs, clock=clock, matrix=matrix,
                           download_ttl_seconds=300)
    return a, r


def add_document(r: records.RecordDeps, visibility: str = "normal") -> str:
    body = UploadIn(type_code="11502-2", title="Bilan", service_date="2026-11-20", visibility=visibility,
                    content_type="application/pdf", size=len(PDF), sha256=hashlib.sha256(PDF).hexdigest())
    doc, _ = records.request_upload(r, DOCTOR, INS, body.to_domain(), "upload-0001")
    blobs = r.blobs
    assert isinstance(blobs, FakeBlobStore)
    blobs.put(doc.quarantine_key, PDF, "application/pdf", INS)
    records.verify_upload(r, doc.quarantine_key)
    return doc.document_id


def kinds(a: service.AccessDeps[Document]) -> list[str]:
    assert isinstance(a.control, FakeControlStore)
    return [n.kind.value for n in a.control.notifications]


@pytest.mark.parametrize(("utc", "alert"), [("2026-11-23T22:30:00", True), ("2026-11-23T04:59:00", True),
                                            ("2026-11-23T09:00:00", False), ("2026-07-01T19:30:00", False),
                                            ("2026-07-01T20:30:00", True)])  # 22:30 in Paris, summer time
def test_emergency_access_at_night_in_paris_raises_an_alert(utc: str, alert: bool) -> None:
    a, r = deps_at(datetime.fromisoformat(utc).replace(tzinfo=UTC))
    add_document(r)
    service.request_emergency_access(a, URGENTIST, INS, "BTG", "unconscious")
    assert ("access.unusual" in kinds(a)) is alert
    assert "access.emergency" in kinds(a)


def test_the_gp_hears_of_an_emergency_access_too() -> None:
    from functions.access.models import PatientSettings

    a, _ = deps_at(datetime(2026, 11, 23, 10, tzinfo=UTC))
    service.change_settings(a, Citizen(ins=INS), INS, PatientSettings(general_practitioner="10000000009"))
    service.request_emergency_access(a, URGENTIST, INS, "BTG", "unconscious")
    assert isinstance(a.control, FakeControlStore)
    assert {n.recipient_ins for n in a.control.notifications} == {INS, "rpps:10000000009"}


def test_first_access_is_notified_once_per_professional_and_never_to_the_author() -> None:
    a, r = deps_at(datetime(2026, 11, 23, 10, tzinfo=UTC))
    doc_id = add_document(r)
    service.read_patient_document(a, DOCTOR, INS, doc_id, consent=False)
    stranger = Professional(rpps="10000000007", profession="10", finess="690000002")
    for _ in range(3):
        service.read_patient_document(a, stranger, INS, doc_id, consent=True)
    assert kinds(a).count("access.first") == 1


def test_a_grant_expires_after_an_hour() -> None:
    a, r = deps_at(datetime(2026, 11, 23, 10, tzinfo=UTC))
    doc_id = add_document(r)
    service.request_emergency_access(a, URGENTIST, INS, "BTG", "unconscious")
    service.read_patient_document(a, URGENTIST, INS, doc_id, consent=False)
    later = service.AccessDeps(**{**a.__dict__, "clock": FixedClock(datetime(2026, 11, 23, 11, 1, tzinfo=UTC))})
    with pytest.raises(Forbidden) as refused:
        service.read_patient_document(later, URGENTIST, INS, doc_id, consent=False)
    assert refused.value.code == "consent_required"


def test_notifications_follow_the_holders_preferences() -> None:
    from functions.notifications.models import Channels, NotificationPreferences, PreferenceCode

    quiet = NotificationPreferences(channels={PreferenceCode.NOTIF_DOCUMENT: Channels(in_app=False, email=False)})
    a, r = deps_at(datetime(2026, 11, 23, 10, tzinfo=UTC))
    r = records.RecordDeps(**{**r.__dict__, "preferences": lambda _ins: quiet})
    a = service.AccessDeps(**{**a.__dict__, "preferences": lambda _ins: quiet})
    doc_id = add_document(r)
    stranger = Professional(rpps="10000000007", profession="10", finess="690000002")
    service.read_patient_document(a, stranger, INS, doc_id, consent=True)
    service.request_emergency_access(a, URGENTIST, INS, "BTG", "unconscious")
    assert isinstance(a.control, FakeControlStore)
    shown = {n.kind.value: n.in_app for n in a.control.notifications}
    # new document and first access are switched off (kept hidden as once-only markers); security alerts are not
    assert shown == {"document.new": False, "access.first": False, "access.emergency": True}


@pytest.mark.parametrize("how", ["reads", "listings"])
def test_documents_shown_by_listings_count_toward_the_unusual_access_alert_like_reads(how: str) -> None:
    """Twelve consent listings that each show the record disclose as much as six single reads: both alert."""
    a, r = deps_at(datetime(2026, 11, 23, 10, tzinfo=UTC))
    doc_id = add_document(r)
    stranger = Professional(rpps="10000000007", profession="10", finess="690000002")
    for _ in range(6 if how == "reads" else 12):
        if how == "reads":
            service.read_patient_document(a, stranger, INS, doc_id, consent=True)
        else:
            shown, _ = service.list_patient_documents(a, stranger, INS, True, None, 20)
            assert [d.document_id for d in shown] == [doc_id]
    assert kinds(a).count(NotificationKind.UNUSUAL_ACCESS.value) == 1


def test_a_listing_that_shows_nothing_counts_for_nothing() -> None:
    a, _ = deps_at(datetime(2026, 11, 23, 10, tzinfo=UTC))
    stranger = Professional(rpps="10000000007", profession="10", finess="690000002")
    for _ in range(12):
        service.list_patient_documents(a, stranger, INS, True, None, 20)
    assert NotificationKind.UNUSUAL_ACCESS.value not in kinds(a)


def test_listings_of_a_document_withheld_from_its_patient_raise_no_alert_the_patient_would_see() -> None:
    """An INVISIBLE_PATIENT document shown to professionals must not surface through an unusual-access alert."""
    a, r = deps_at(datetime(2026, 11, 23, 10, tzinfo=UTC))
    doc_id = add_document(r, visibility="invisible_patient")
    stranger = Professional(rpps="10000000007", profession="10", finess="690000002")
    for _ in range(12):
        shown, _ = service.list_patient_documents(a, stranger, INS, True, None, 20)
        assert [d.document_id for d in shown] == [doc_id]
    assert NotificationKind.UNUSUAL_ACCESS.value not in kinds(a)


def test_professional_actions_on_an_ins_without_a_space_are_not_found_and_write_nothing() -> None:
    from functions.identity.ins import with_key
    from functions.shared.errors import NotFound

    a, _ = deps_at(datetime(2026, 11, 23, 10, tzinfo=UTC))
    nobody = with_key("1010101001001")
    attempts: list[Callable[[], object]] = [
        lambda: service.request_emergency_access(a, URGENTIST, nobody, "BTG", "unconscious"),
        lambda: service.list_patient_documents(a, URGENTIST, nobody, True, None, 20),
        lambda: service.list_patient_documents(a, URGENTIST, nobody, False, None, 20),
        lambda: service.read_patient_document(a, URGENTIST, nobody, "doc_" + "0" * 26, consent=True)]
    for attempt in attempts:
        with pytest.raises(NotFound) as refused:
            attempt()
        assert refused.value.message == "patient not found"
    assert isinstance(a.control, FakeControlStore)
    assert (a.control.items.get(nobody), a.control.traces.get(nobody), a.control.notifications) == (None, None, [])


def test_a_block_landing_between_the_decision_and_its_commit_is_decided_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Given an emergency access decided on a profile, when the patient blocks the professional before the
    decision commits (the chain head moves), then the stale grant is never written: the service decides again on
    the fresh profile and answers like a stranger."""
    from functions.shared.errors import NotFound

    a, _ = deps_at(datetime(2026, 11, 23, 10, tzinfo=UTC))
    control = a.control
    assert isinstance(control, FakeControlStore)
    real = control.profile
    raced: list[int] = []

    def profile_then_block(patient_ins: str) -> object:
        profile = real(patient_ins)
        if not raced:
            raced.append(1)
            service.block(a, Citizen(ins=INS), INS, URGENTIST.rpps)
        return profile

    monkeypatch.setattr(control, "profile", profile_then_block)
    with pytest.raises(NotFound):
        service.request_emergency_access(a, URGENTIST, INS, "BTG", "unconscious")
    assert URGENTIST.rpps not in control.profile(INS).grants
    assert control.actions(INS)[:2] == ["access.refused", "professional.blocked"]
    assert "access.emergency" not in kinds(a)
