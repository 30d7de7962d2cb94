"""What a reviewer broke: decisions taken on stale data, objections undone, notices repeated, releases undone or
never made. Each test drives the race or the missed run deterministically."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Stack, declaration, post_file

PDF = b"%PDF-1.4\n% races\n"
DOC_A = {"rpps": "10000000001", "profession": "10", "finess": "750000001"}
DOC_B = {"rpps": "10000000077", "profession": "10", "finess": "330000007"}


def upload(stack: Stack, who: dict[str, str], ins: str, key: str, **over: Any) -> str:
    headers = {**stack.professional(**who), "Idempotency-Key": key}
    data = PDF + key.encode()
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", headers, json=declaration(data, **over)).json()
    post_file(ticket["upload"], data)
    stack.pump.drain()
    return str(ticket["document_id"])


def kinds(stack: Stack, patient: dict[str, str]) -> list[str]:
    return [n["kind"] for n in stack.call("GET", "/v1/me/notifications?limit=100", patient).json()["items"]]


def arrived(stack: Stack, ins: str, doc_id: str) -> date:
    d = stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", stack.professional(**DOC_A)).json()
    return date.fromisoformat(d["updated_at"][:10])


def test_a_block_that_lands_during_a_read_wins(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import deps
    from functions.access import service
    from functions.access.storage import JournalControlStore
    from functions.identity.principal import Professional
    from functions.shared.errors import NotFound

    ins, patient = stack.citizen()
    doc = upload(stack, DOC_B, ins, "race-block-0001")
    real = JournalControlStore.profile
    blocked: list[int] = []

    def profile_then_block(self: Any, p: str) -> Any:
        snapshot = real(self, p)  # the professional's request has read the profile...
        if not blocked:  # ...and the patient's block commits before the request's trace write
            blocked.append(stack.call("POST", "/v1/me/blocked-professionals", patient,
                                      json={"rpps": DOC_A["rpps"]}).status_code)
        return snapshot

    monkeypatch.setattr(JournalControlStore, "profile", profile_then_block)
    with pytest.raises(NotFound):
        service.read_patient_document(deps.access(), Professional(**DOC_A), ins, doc, consent=True)
    assert blocked == [201]


def test_a_block_that_lands_during_a_release_wins(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import deps
    from functions.access.storage import JournalControlStore
    from functions.identity.principal import Professional
    from functions.records import service
    from functions.shared.errors import NotFound

    ins, patient = stack.citizen()
    doc = upload(stack, DOC_A, ins, "race-release-0001", visibility="invisible_patient")
    real = JournalControlStore.profile
    blocked: list[int] = []

    def profile_then_block(self: Any, p: str) -> Any:
        snapshot = real(self, p)  # the release has read the profile (no block yet)...
        if not blocked:  # ...and the patient's block commits before the release does
            blocked.append(stack.call("POST", "/v1/me/blocked-professionals", patient,
                                      json={"rpps": DOC_A["rpps"]}).status_code)
        return snapshot

    monkeypatch.setattr(JournalControlStore, "profile", profile_then_block)
    with pytest.raises(NotFound):
        service.release_document(deps.records(), Professional(**DOC_A), ins, doc)
    assert blocked == [201]
    assert stack.call("GET", f"/v1/me/documents/{doc}", patient).status_code == 404


def test_a_professional_taken_out_of_the_care_team_is_not_put_back_by_a_new_document(stack: Stack) -> None:
    ins, patient = stack.citizen()
    other = upload(stack, DOC_B, ins, "race-objection-0001")
    assert stack.call("POST", "/v1/me/care-team", patient, json={"rpps": DOC_A["rpps"]}).status_code == 201
    upload(stack, DOC_A, ins, "race-objection-0002")
    assert stack.call("DELETE", f"/v1/me/care-team/{DOC_A['rpps']}", patient).status_code == 200
    upload(stack, DOC_A, ins, "race-objection-0003")
    again = stack.call("GET", f"/v1/patients/{ins}/documents/{other}", stack.professional(**DOC_A))
    assert again.status_code == 403
    assert stack.call("POST", "/v1/me/care-team", patient, json={"rpps": DOC_A["rpps"]}).status_code == 201
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{other}",
                      stack.professional(**DOC_A)).status_code == 200


def test_reading_ones_own_documents_does_not_use_up_the_first_access_notice(stack: Stack) -> None:
    ins, patient = stack.citizen()
    stack.call("PUT", "/v1/me/settings", patient, json={})
    other = upload(stack, DOC_B, ins, "race-first-0001")
    mine = upload(stack, DOC_A, ins, "race-first-0002")
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{mine}", stack.professional(**DOC_A)).status_code == 200
    assert "access.first" not in kinds(stack, patient)
    with_consent = {**stack.professional(**DOC_A), "X-Access-Reason": "consent"}  # authoring is no basis
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{other}", with_consent).status_code == 200
    assert kinds(stack, patient).count("access.first") == 1


def test_overlapping_job_runs_notify_once_and_never_undo_a_release(stack: Stack,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import deps
    from functions.records import service

    ins, patient = stack.citizen()
    doc_id = upload(stack, DOC_A, ins, "race-job-0001", visibility="invisible_patient")
    day14 = arrived(stack, ins, doc_id) + timedelta(days=14)
    records = deps.records()
    stale = list(records.documents.due_invisible(day14))  # what both invocations read
    monkeypatch.setattr(type(records.documents), "due_invisible", lambda self, day: iter(stale))
    service.run_invisible_patient_job(records, day14)
    service.run_invisible_patient_job(records, day14)
    assert kinds(stack, patient).count("document.see_your_doctor") == 1

    ins2, patient2 = stack.citizen()
    doc2 = upload(stack, DOC_A, ins2, "race-job-0002", visibility="invisible_patient")
    day14b = arrived(stack, ins2, doc2) + timedelta(days=14)
    monkeypatch.undo()
    stale2 = list(records.documents.due_invisible(day14b))
    assert stack.call("POST", f"/v1/patients/{ins2}/documents/{doc2}/release",
                      stack.professional(**DOC_A)).status_code == 200
    monkeypatch.setattr(type(records.documents), "due_invisible", lambda self, day: iter(stale2))
    service.run_invisible_patient_job(records, day14b)  # a run that read the document before the release
    assert stack.call("GET", f"/v1/me/documents/{doc2}", patient2).status_code == 200
    assert kinds(stack, patient2).count("document.new") == 1


def test_a_missed_run_is_caught_up_the_next_day(stack: Stack) -> None:
    from functions import deps
    from functions.records import service

    ins, patient = stack.citizen()
    doc_id = upload(stack, DOC_A, ins, "race-missed-0001", visibility="invisible_patient")
    start = arrived(stack, ins, doc_id)
    assert service.run_invisible_patient_job(deps.records(), start + timedelta(days=15))["announced"] >= 1
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).status_code == 404
    # the run of day 30 failed: day 31 releases
    assert service.run_invisible_patient_job(deps.records(), start + timedelta(days=31))["released"] >= 1
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).status_code == 200
