"""Issue 9.5: an INVISIBLE_PATIENT document leaves no mark on anything its patient can read (documents, traces,
the signed export, notifications, the professionals view) until it is released; its traces wait in a withheld
chain, and after the release the patient sees every one of them with its original time, in a chain that still
verifies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Stack, declaration, post_file

PDF = b"%PDF-1.4\n% withheld traces\n"
DOCTOR = {"rpps": "10000000001", "profession": "10", "finess": "750000001"}
STRANGER = {"rpps": "10000000041", "profession": "10", "finess": "690000004"}


def verified_export(stack: Stack, patient: dict[str, str]) -> list[dict[str, Any]]:
    """The patient's signed export, checked as an auditor would (signature + chain); its traces, oldest first."""
    from functions.audit.export import SignedExport, check
    from functions.shared.aws import client

    export = SignedExport.model_validate(stack.call("GET", "/v1/me/traces/export", patient).json())
    key = client("kms", "eu-west-3").get_public_key(KeyId=stack.env["MES_TRACE_SIGNING_KEY_ID"])["PublicKey"]
    assert check(export, key) == []
    traces: list[dict[str, Any]] = json.loads(export.payload)["traces"]
    return traces


def at(trace: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(trace["at"].replace("Z", "+00:00"))


def test_an_invisible_document_leaves_no_trace_for_its_patient_until_released(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import deps
    from functions.records import service

    ins, patient = stack.citizen()
    doctor, stranger = stack.professional(**DOCTOR), stack.professional(**STRANGER)
    data = PDF + b"announce"
    t0 = datetime.now(UTC)
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", {**doctor, "Idempotency-Key": "withheld-0001"},
                        json=declaration(data, visibility="invisible_patient")).json()
    doc_id = str(ticket["document_id"])
    post_file(ticket["upload"], data)
    stack.pump.drain()
    path = f"/v1/patients/{ins}/documents/{doc_id}"
    t1 = datetime.now(UTC)
    assert stack.call("GET", path, doctor).status_code == 200
    refused = stack.call("GET", path, stranger)
    assert refused.status_code == 403
    assert stack.call("GET", path, {**stranger, "X-Access-Reason": "consent"}).status_code == 200
    t2 = datetime.now(UTC)
    records = deps.records()  # two weeks on, the daily job tells the patient to see their doctor (this document only)
    arrived = records.documents.get(ins, doc_id)
    assert arrived is not None and arrived.available_at is not None
    monkeypatch.setattr(type(records.documents), "due_invisible", lambda self, day: iter([arrived]))
    assert service.run_invisible_patient_job(records, arrived.available_at.date() + timedelta(days=14)) == {
        "announced": 1, "released": 0}
    monkeypatch.undo()
    t3 = datetime.now(UTC)

    # Nothing the patient can read names the document, its author or its readers...
    traces = stack.call("GET", "/v1/me/traces?limit=100", patient).json()["items"]
    assert [t for t in traces if t["document_id"] == doc_id or t["actor"]["kind"] != "patient"] == []
    exported = verified_export(stack, patient)
    assert doc_id not in json.dumps(exported)
    assert [t for t in exported if t["actor"]["kind"] != "patient"] == []
    notices = stack.call("GET", "/v1/me/notifications", patient).json()["items"]
    assert [n["kind"] for n in notices] == ["document.see_your_doctor"]  # a legal duty, naming no document
    assert doc_id not in json.dumps(notices) and doc_id.removeprefix("doc_") not in json.dumps(notices)
    assert stack.call("GET", "/v1/me/documents", patient).json()["items"] == []
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).status_code == 404
    assert stack.call("GET", "/v1/me/professionals", patient).json()["items"] == []

    # ...until the author releases it: then every withheld entry shows, with its original time.
    released = stack.call("POST", f"{path}/release", doctor)
    assert released.status_code == 200
    t4 = datetime.now(UTC)
    exported = verified_export(stack, patient)
    about = [t for t in exported if t["document_id"] == doc_id]
    assert [(t["action"], t["actor"]["id"]) for t in about] == [
        ("document.upload_requested", DOCTOR["rpps"]),
        ("document.verified", "upload-verifier"),
        ("document.read", DOCTOR["rpps"]),
        ("access.refused", STRANGER["rpps"]),
        ("document.read", STRANGER["rpps"]),
        ("document.announcement_requested", "invisible-patient-job"),
        ("document.released", DOCTOR["rpps"]),
    ]
    upload_requested, verified, *reads, announced, release = about
    slack = timedelta(seconds=1)
    assert t0 - slack <= at(upload_requested) <= at(verified) <= t1 + slack
    assert all(t1 - slack <= at(t) <= t2 + slack for t in reads)
    assert t2 - slack <= at(announced) <= t3 + slack
    assert t3 - slack <= at(release) <= t4 + slack
    assert release["reason"].startswith("withheld:6:")  # commits to the withheld chain's length and final hash
    listed = stack.call("GET", "/v1/me/traces?limit=100", patient).json()["items"]
    assert {t["trace_id"] for t in about} <= {t["trace_id"] for t in listed}
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).status_code == 200
    assert [n["kind"] for n in stack.call("GET", "/v1/me/notifications", patient).json()["items"]] == [
        "document.new", "document.see_your_doctor"]
