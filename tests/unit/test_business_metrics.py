"""Operations see the business events (issue 14.8): each decision is counted once, in one namespace, as CloudWatch
embedded-metric JSON on stdout, with small closed dimensions and never an identifier."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.access import service as access
from functions.access.models import PatientSettings
from functions.agenda.fanout import DeliveryBatch
from functions.identity.principal import Citizen
from functions.notifications.models import Email
from functions.records import service as records
from functions.shared.errors import Forbidden, NotFound
from functions.shared.observability import BUSINESS_EVENTS, METRICS_NAMESPACE
from tests.unit.fakes import FakeBlobStore
from tests.unit.test_access_service import DOCTOR, INS, PDF, URGENTIST, add_document, deps_at
from tests.unit.test_agenda_delivery import DAY, PEOPLE, DeliveryDepsOf, FakeDeliveryStore, deliver, prevention_entry
from tests.unit.test_records_service import upload_body

NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Emitted:
    name: str
    value: float
    namespace: str
    dimensions: dict[str, str]


def emitted(capsys: pytest.CaptureFixture[str]) -> list[Emitted]:
    """Every metric printed since the last call, decoded from the embedded metric format."""
    return emitted_in(capsys.readouterr().out)


def emitted_in(out: str) -> list[Emitted]:
    found = []
    for line in out.splitlines():
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        if not isinstance(blob, dict) or "_aws" not in blob:
            continue  # a log line
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            names = [d for group in directive["Dimensions"] for d in group]
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                found.append(Emitted(metric["Name"], sum(value) if isinstance(value, list) else value,
                                     directive["Namespace"], {d: blob[d] for d in names if d != "service"}))
    return found


def counted(events: list[Emitted], name: str, **dimensions: str) -> float:
    return sum(e.value for e in events if e.name == name and e.dimensions == dimensions)


def test_a_declaration_is_counted_once_and_its_replay_not_at_all(capsys: pytest.CaptureFixture[str]) -> None:
    _, r = deps_at(NOON)
    capsys.readouterr()
    records.request_upload(r, DOCTOR, INS, upload_body(PDF), "upload-0001")
    records.request_upload(r, DOCTOR, INS, upload_body(PDF), "upload-0001")  # a retry of the same request
    records.request_upload(r, Citizen(ins=INS), INS, upload_body(PDF), "upload-0002")
    events = emitted(capsys)
    assert counted(events, "DocumentsDeclared", author="professional") == 1
    assert counted(events, "DocumentsDeclared", author="patient") == 1
    assert {e.namespace for e in events} == {METRICS_NAMESPACE}


def test_verified_and_rejected_uploads_are_counted_with_the_rejection_reason(
        capsys: pytest.CaptureFixture[str]) -> None:
    _, r = deps_at(NOON)
    add_document(r)  # accepted
    doc, _ = records.request_upload(r, DOCTOR, INS, upload_body(PDF), "upload-0002")
    blobs = r.blobs
    assert isinstance(blobs, FakeBlobStore)
    blobs.put(doc.quarantine_key, PDF + b"tampered", "application/pdf", INS)
    capsys.readouterr()
    assert records.verify_upload(r, doc.quarantine_key) is records.VerificationOutcome.REJECTED
    records.verify_upload(r, doc.quarantine_key)  # a redelivered S3 event decides nothing new
    events = emitted(capsys)
    assert counted(events, "DocumentsRejected", reason="size_mismatch") == 1
    assert sum(e.value for e in events if e.name == "DocumentsVerified") == 0


def test_reads_are_counted_by_kind_of_reader(capsys: pytest.CaptureFixture[str]) -> None:
    a, r = deps_at(NOON)
    document_id = add_document(r)
    assert counted(emitted(capsys), "DocumentsVerified") == 1
    records.read_own_document(r, Citizen(ins=INS), INS, document_id)
    access.read_patient_document(a, DOCTOR, INS, document_id, consent=False)
    events = emitted(capsys)
    assert counted(events, "DocumentReads", reader="citizen") == 1
    assert counted(events, "DocumentReads", reader="professional") == 1


def test_refusals_are_counted_by_what_access_decided(capsys: pytest.CaptureFixture[str]) -> None:
    a, r = deps_at(NOON)
    document_id = add_document(r)
    access.change_settings(a, Citizen(ins=INS), INS, PatientSettings.model_validate(
        {"emergency": {"samu_access": False, "break_glass": False}}))
    capsys.readouterr()
    with pytest.raises(Forbidden):  # outside the care team, without consent
        access.read_patient_document(a, URGENTIST, INS, document_id, consent=False)
    with pytest.raises(Forbidden):  # the patient refused break-glass access
        access.request_emergency_access(a, URGENTIST, INS, "BTG", "unconscious")
    access.block(a, Citizen(ins=INS), INS, DOCTOR.rpps)
    with pytest.raises(NotFound):  # blocked: answered like a stranger
        access.read_patient_document(a, DOCTOR, INS, document_id, consent=False)
    events = emitted(capsys)
    assert counted(events, "AccessRefused", reason="consent_required") == 1
    assert counted(events, "AccessRefused", reason="emergency_refused") == 1
    assert counted(events, "AccessRefused", reason="not_found") == 1
    assert counted(events, "EmergencyAccessGranted", purpose="BTG") == 0


def test_an_emergency_grant_is_counted_by_purpose_and_a_decision_taken_again_once(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    a, _ = deps_at(NOON)
    control = a.control
    real = control.profile
    raced: list[int] = []

    def profile_then_moved_head(patient_ins: str) -> Any:
        profile = real(patient_ins)
        if not raced:  # another action lands between the decision and its commit: decided again
            raced.append(1)
            access.add_to_care_team(a, Citizen(ins=INS), INS, "10000000009")
        return profile

    monkeypatch.setattr(control, "profile", profile_then_moved_head)
    capsys.readouterr()
    access.request_emergency_access(a, URGENTIST, INS, "BTG", "unconscious")
    assert raced
    assert counted(emitted(capsys), "EmergencyAccessGranted", purpose="BTG") == 1


class RefusingMailer:
    """SES accepts the bulk call but refuses one destination (a bad address)."""

    def __init__(self) -> None:
        self.sent: list[Email] = []

    def send(self, emails: list[Email]) -> int:
        self.sent.extend(emails)
        return 1


class FailingMailer(RefusingMailer):
    def send(self, emails: list[Email]) -> int:
        raise ConnectionError("SES unreachable")


def test_reminders_and_emails_sent_and_failed_are_counted(capsys: pytest.CaptureFixture[str]) -> None:
    emails = {ins: f"p{n}@example.org" for n, ins in enumerate(PEOPLE)}
    capsys.readouterr()
    deliver(DeliveryDepsOf(store=FakeDeliveryStore(emails), mailer=RefusingMailer()),  # type: ignore[arg-type]
            DeliveryBatch(day=DAY, entries=[prevention_entry(ins) for ins in PEOPLE]))
    events = emitted(capsys)
    assert (counted(events, "RemindersSent"), counted(events, "EmailsSent"), counted(events, "EmailsFailed")) == (
        3, 2, 1)
    with pytest.raises(ConnectionError):
        deliver(DeliveryDepsOf(store=FakeDeliveryStore(emails), mailer=FailingMailer()),  # type: ignore[arg-type]
                DeliveryBatch(day=DAY, entries=[prevention_entry(ins) for ins in PEOPLE]))
    assert counted(emitted(capsys), "EmailsFailed") == 3  # claimed, then lost with the failed call


def test_no_metric_carries_an_identifier(capsys: pytest.CaptureFixture[str]) -> None:
    a, r = deps_at(NOON)
    document_id = add_document(r)
    records.read_own_document(r, Citizen(ins=INS), INS, document_id)
    access.read_patient_document(a, DOCTOR, INS, document_id, consent=False)
    access.request_emergency_access(a, URGENTIST, INS, "BTG", "unconscious")
    metric_lines = "\n".join(line for line in capsys.readouterr().out.splitlines() if '"_aws"' in line)
    events = emitted_in(metric_lines)
    assert len(events) >= 5 and {e.name for e in events} <= set(BUSINESS_EVENTS)
    for identifier in (INS, DOCTOR.rpps, URGENTIST.rpps, DOCTOR.finess, document_id):
        assert identifier not in metric_lines


def test_the_spike_alarms_know_every_reason_the_app_counts() -> None:
    from functions.access.models import Refusal
    from functions.records.models import RejectionReason
    from infra import constants as c

    assert set(c.REJECTION_REASONS) == {r.value for r in RejectionReason}
    assert set(c.REFUSAL_REASONS) == {r.value for r in Refusal} | {"emergency_refused"}
    assert (c.METRICS_NAMESPACE, c.DOCUMENTS_REJECTED_METRIC, c.ACCESS_REFUSED_METRIC) == (
        METRICS_NAMESPACE, "DocumentsRejected", "AccessRefused")
