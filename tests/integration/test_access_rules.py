"""Access rules over HTTP: consent, care team, blocking, hidden documents and the administrator, hide-by-default,
INVISIBLE_PATIENT, emergencies, notifications of access, the holder's view, and the signed trace export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Stack, declaration, post_file

PDF = b"%PDF-1.4\n% access rules\n"
HOSPITAL_DOCTOR = {"rpps": "10000000001", "profession": "10", "finess": "750000001"}
STRANGER = {"rpps": "10000000031", "profession": "10", "finess": "690000002"}
NURSE = {"rpps": "10000000032", "profession": "60", "finess": "690000002"}
ROOT = Path(__file__).resolve().parents[2]


def add_document(stack: Stack, ins: str, key: str, type_code: str = "11502-2", **over: Any) -> str:
    headers = {**stack.professional(**HOSPITAL_DOCTOR), "Idempotency-Key": key}
    data = PDF + key.encode()
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", headers,
                        json=declaration(data, type_code=type_code, **over)).json()
    post_file(ticket["upload"], data)
    stack.pump.drain()
    return str(ticket["document_id"])


def as_pro(stack: Stack, who: dict[str, str], consent: bool = False) -> dict[str, str]:
    headers = stack.professional(**who)
    return {**headers, "X-Access-Reason": "consent"} if consent else headers


def notifications(stack: Stack, patient: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = stack.call("GET", "/v1/me/notifications", patient).json()["items"]
    return items


def test_outside_the_care_team_consent_is_required_traced_and_notified_once(stack: Stack) -> None:
    ins, patient = stack.citizen()
    doc_id = add_document(stack, ins, "consent-0001")
    path = f"/v1/patients/{ins}/documents/{doc_id}"

    refused = stack.call("GET", path, as_pro(stack, STRANGER))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "consent_required")
    missing = stack.call("GET", f"/v1/patients/{ins}/documents/doc_{'0' * 26}", as_pro(stack, STRANGER))
    assert missing.content == refused.content  # reveals nothing about which documents exist
    listing = stack.call("GET", f"/v1/patients/{ins}/documents", as_pro(stack, STRANGER))
    assert listing.status_code == 403

    for _ in range(2):
        assert stack.call("GET", path, as_pro(stack, STRANGER, consent=True)).status_code == 200
    first = [n for n in notifications(stack, patient) if n["kind"] == "access.first"]
    assert [n["professional_rpps"] for n in first] == [STRANGER["rpps"]]

    traces = stack.call("GET", "/v1/me/traces?limit=20", patient).json()["items"]
    by_stranger = [(t["action"], t["reason"]) for t in traces if t["actor"]["id"] == STRANGER["rpps"]]
    assert by_stranger[:2] == [("document.read", "basis:consent")] * 2
    assert ("access.refused", "consent_required") in by_stranger

    seen = {p["rpps"]: p for p in stack.call("GET", "/v1/me/professionals", patient).json()["items"]}
    assert seen[STRANGER["rpps"]]["care_team"] is False and seen[STRANGER["rpps"]]["last_access_at"]
    assert HOSPITAL_DOCTOR["rpps"] not in seen  # writing a document puts no one in the care team


def test_a_declared_care_team_member_reads_within_the_matrix(stack: Stack) -> None:
    ins, patient = stack.citizen()
    lab = add_document(stack, ins, "care-team-lab", "11502-2")
    operative = add_document(stack, ins, "care-team-op", "34874-8")
    assert stack.call("POST", "/v1/me/care-team", patient, json={"rpps": NURSE["rpps"]}).status_code == 201
    nurse = as_pro(stack, NURSE)
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{lab}", nurse).status_code == 200
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{operative}", nurse).status_code == 404
    listed = stack.call("GET", f"/v1/patients/{ins}/documents", nurse).json()["items"]
    assert [d["document_id"] for d in listed] == [lab]

    assert stack.call("DELETE", f"/v1/me/care-team/{NURSE['rpps']}", patient).status_code == 200
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{lab}", nurse).status_code == 403
    assert stack.call("DELETE", f"/v1/me/care-team/{NURSE['rpps']}", patient).status_code == 404
    assert stack.call("POST", "/v1/me/care-team", patient, json={"rpps": "123"}).status_code == 422


def test_a_blocked_professional_sees_nothing_even_in_an_emergency(stack: Stack) -> None:
    ins, patient = stack.citizen()
    doc_id = add_document(stack, ins, "blocked-0001")
    assert stack.call("POST", "/v1/me/blocked-professionals", patient, json={"rpps": STRANGER["rpps"]}).status_code \
        == 201
    assert stack.call("GET", "/v1/me/blocked-professionals", patient).json()["items"] == [{"rpps": STRANGER["rpps"]}]
    blocked = as_pro(stack, STRANGER, consent=True)
    read = stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", blocked)
    missing = stack.call("GET", f"/v1/patients/{ins}/documents/doc_{'0' * 26}", blocked)
    assert (read.status_code, read.content) == (404, missing.content)
    emergency = stack.call("POST", f"/v1/patients/{ins}/emergency-access", blocked,
                           json={"purpose": "BTG", "reason": "unconscious in the ER"})
    assert emergency.status_code == 404

    assert stack.call("DELETE", f"/v1/me/blocked-professionals/{STRANGER['rpps']}", patient).status_code == 200
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", blocked).status_code == 200


def test_hidden_documents_are_for_the_author_and_the_administrator(stack: Stack) -> None:
    ins, patient = stack.citizen()
    doc_id = add_document(stack, ins, "hidden-0001")
    stack.call("POST", "/v1/me/care-team", patient, json={"rpps": STRANGER["rpps"]})
    patched = stack.call("PATCH", f"/v1/me/documents/{doc_id}", patient, json={"hidden_from_professionals": True})
    assert patched.status_code == 200 and patched.json()["hidden_from_professionals"] is True
    path = f"/v1/patients/{ins}/documents/{doc_id}"
    assert stack.call("GET", path, as_pro(stack, STRANGER)).status_code == 404
    assert stack.call("GET", path, as_pro(stack, HOSPITAL_DOCTOR)).status_code == 200
    admin = {"rpps": "10000000033", "profession": "10", "finess": "690000002"}
    assert stack.call("PUT", "/v1/me/administrator", patient, json={"rpps": admin["rpps"]}).status_code == 200
    assert stack.call("GET", path, as_pro(stack, admin)).status_code == 200
    assert stack.call("DELETE", "/v1/me/administrator", patient).status_code == 200
    assert stack.call("GET", path, as_pro(stack, admin)).status_code == 403
    assert stack.call("PATCH", f"/v1/me/documents/{doc_id}", patient,
                      json={"hidden_from_professionals": False}).status_code == 200
    assert stack.call("GET", path, as_pro(stack, STRANGER)).status_code == 200
    refused = stack.call("PATCH", f"/v1/me/documents/{doc_id}", patient, json={"status": "deleted"})
    assert refused.status_code == 422
    actions = [t["action"] for t in stack.call("GET", "/v1/me/traces?limit=50", patient).json()["items"]]
    assert {"document.hidden", "document.unhidden", "administrator.named", "administrator.removed"} <= set(actions)


def test_hide_new_documents_applies_when_a_document_arrives(stack: Stack) -> None:
    ins, patient = stack.citizen()
    stack.call("POST", "/v1/me/care-team", patient, json={"rpps": STRANGER["rpps"]})
    put = stack.call("PUT", "/v1/me/settings", patient, json={"hide_new_documents": True})
    assert put.status_code == 200 and put.json()["hide_new_documents"] is True
    doc_id = add_document(stack, ins, "hide-default-0001")
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).json()["hidden_from_professionals"] is True
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", as_pro(stack, STRANGER)).status_code == 404


def test_invisible_patient_documents_wait_for_the_announcement(stack: Stack) -> None:
    import app as api
    from local.pump import LambdaContext
    from tests.events import load

    ins, patient = stack.citizen()
    doc_id = add_document(stack, ins, "invisible-0001", visibility="invisible_patient")
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).status_code == 404
    assert stack.call("GET", "/v1/me/documents", patient).json()["items"] == []
    assert notifications(stack, patient) == []
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", as_pro(stack, HOSPITAL_DOCTOR)).json()[
        "visible_to_patient"] is False

    detail = stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", as_pro(stack, HOSPITAL_DOCTOR)).json()
    arrived = detail["updated_at"][:10]

    def tick(days: int) -> dict[str, int]:
        from datetime import date

        event = load("schedule/daily.json")
        event["time"] = f"{date.fromisoformat(arrived) + timedelta(days=days)}T05:00:00Z"
        result: dict[str, int] = api.invisible_patient_daily(event, LambdaContext())
        return result

    assert tick(13)["announced"] == 0
    assert tick(14)["announced"] >= 1
    assert [n["kind"] for n in notifications(stack, patient)] == ["document.see_your_doctor"]
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).status_code == 404
    assert tick(14) == {"announced": 0, "released": 0}  # re-running the day does nothing twice
    assert tick(30)["released"] >= 1
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).status_code == 200
    assert notifications(stack, patient)[0]["kind"] == "document.new"


def test_the_author_can_release_an_invisible_document_early(stack: Stack) -> None:
    ins, patient = stack.citizen()
    doc_id = add_document(stack, ins, "invisible-0002", visibility="invisible_patient")
    path = f"/v1/patients/{ins}/documents/{doc_id}/release"
    assert stack.call("POST", path, as_pro(stack, STRANGER, consent=True)).status_code == 404
    released = stack.call("POST", path, as_pro(stack, HOSPITAL_DOCTOR))
    assert released.status_code == 200 and released.json()["visible_to_patient"] is True
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).status_code == 200
    assert stack.call("POST", path, as_pro(stack, HOSPITAL_DOCTOR)).status_code == 404  # like a missing one


def test_a_citizen_cannot_set_invisible_patient(stack: Stack) -> None:
    _, patient = stack.citizen()
    response = stack.call("POST", "/v1/me/documents", {**patient, "Idempotency-Key": "citizen-vis-001"},
                          json=declaration(PDF, visibility="invisible_patient"))
    assert (response.status_code, response.json()["error"]["code"]) == (422, "forbidden_field")


def test_emergency_access_by_default_and_as_the_patient_decided(stack: Stack) -> None:
    ins, patient = stack.citizen()
    gp = "10000000034"
    stack.call("PUT", "/v1/me/settings", patient, json={"general_practitioner": gp})
    doc_id = add_document(stack, ins, "emergency-0001")
    urgentist = {"rpps": "10000000035", "profession": "10", "finess": "130000003"}
    headers = as_pro(stack, urgentist)
    path = f"/v1/patients/{ins}/emergency-access"
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", headers).status_code == 403
    assert stack.call("POST", path, headers, json={"purpose": "BTG"}).status_code == 422
    granted = stack.call("POST", path, headers, json={"purpose": "BTG", "reason": "unconscious, no relative"})
    assert granted.status_code == 201
    assert granted.json()["purpose"] == "BTG"
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", headers).status_code == 200
    kinds = [n["kind"] for n in notifications(stack, patient)]
    assert "access.emergency" in kinds
    nurse = as_pro(stack, NURSE)
    etreat = stack.call("POST", path, nurse, json={"purpose": "ETREAT", "reason": "SAMU call"})
    assert (etreat.status_code, etreat.json()["error"]["code"]) == (403, "emergency_not_allowed")

    refuse = {"emergency": {"samu_access": False, "break_glass": False}, "general_practitioner": gp}
    assert stack.call("PUT", "/v1/me/settings", patient, json=refuse).status_code == 200
    other = as_pro(stack, {"rpps": "10000000036", "profession": "10", "finess": "130000003"})
    refused = stack.call("POST", path, other, json={"purpose": "BTG", "reason": "unconscious"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "emergency_refused")
    bad = {"emergency": {"samu_access": False, "break_glass": False, "hidden_in_emergency": True}}
    assert stack.call("PUT", "/v1/me/settings", patient, json=bad).status_code == 422
    settings = stack.call("GET", "/v1/me/settings", patient).json()
    assert settings["effective_emergency"] == {"samu_access": False, "break_glass": False,
                                               "hidden_in_emergency": False}
    actions = [t["action"] for t in stack.call("GET", "/v1/me/traces?limit=50", patient).json()["items"]]
    assert {"emergency.granted", "emergency.refused", "settings.changed"} <= set(actions)


def test_many_reads_outside_the_care_team_raise_one_alert(stack: Stack) -> None:
    ins, patient = stack.citizen()
    ids = [add_document(stack, ins, f"unusual-{n:04d}") for n in range(5)]
    headers = as_pro(stack, STRANGER, consent=True)
    for doc_id in ids + ids[:2]:
        assert stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", headers).status_code == 200
    alerts = [n for n in notifications(stack, patient) if n["kind"] == "access.unusual"]
    assert [(a["professional_rpps"], a["reason"]) for a in alerts] == [
        (STRANGER["rpps"], "many_documents_outside_care_team")]


def test_the_signed_trace_export_verifies_and_tampering_shows(stack: Stack, tmp_path: Path) -> None:
    ins, patient = stack.citizen()
    doc_id = add_document(stack, ins, "export-0001")
    stack.call("GET", f"/v1/me/documents/{doc_id}", patient)
    export = stack.call("GET", "/v1/me/traces/export", patient)
    assert export.status_code == 200
    body = export.json()
    payload = json.loads(body["payload"])
    assert [t["seq"] for t in payload["traces"]] == list(range(1, len(payload["traces"]) + 1))
    assert payload["head"]["seq"] == len(payload["traces"])

    env = {**os.environ, "MES_LOCAL_AWS_PORT": stack.aws.rsplit(":", 1)[1]}

    def verify(data: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        path = tmp_path / "export.json"
        path.write_text(json.dumps(data))
        return subprocess.run([sys.executable, "-m", "local", "verify-traces", str(path)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    ok = verify(body)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK" in ok.stdout

    tampered = dict(payload)
    tampered["traces"] = [t for t in payload["traces"] if t["action"] != "document.read"]
    bad = verify({**body, "payload": json.dumps(tampered, sort_keys=True, separators=(",", ":"))})
    assert bad.returncode == 1 and "TAMPERED" in bad.stdout

    # Offline, with the public key an auditor got from KMS (no AWS access needed to verify).
    from functions.shared.aws import client

    der = client("kms", "eu-west-3").get_public_key(KeyId=stack.env["MES_TRACE_SIGNING_KEY_ID"])["PublicKey"]
    (tmp_path / "key.der").write_bytes(der)
    (tmp_path / "export.json").write_text(json.dumps(body))
    offline = subprocess.run([sys.executable, "-m", "local", "verify-traces", str(tmp_path / "export.json"),
                              "--public-key", str(tmp_path / "key.der")], cwd=ROOT,
                             env={"PATH": os.environ["PATH"], "MES_LOCAL_AWS_PORT": "1"},
                             capture_output=True, text=True, timeout=60)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    latest = stack.call("GET", "/v1/me/traces?limit=1", patient).json()["items"][0]
    assert latest["action"] == "traces.exported"


@pytest.mark.parametrize("body", [{}, {"rpps": "1234567890"}, {"rpps": "12345678901", "extra": 1}])
def test_rpps_bodies_are_validated(stack: Stack, body: dict[str, Any]) -> None:
    _, patient = stack.citizen()
    for path in ("/v1/me/care-team", "/v1/me/blocked-professionals"):
        assert stack.call("POST", path, patient, json=body).status_code == 422
    assert stack.call("PUT", "/v1/me/administrator", patient, json=body).status_code == 422


def test_concurrent_actions_never_fork_the_trace_chain(stack: Stack) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from functions.audit.export import SignedExport, check
    from functions.shared.aws import client

    ins, patient = stack.citizen()
    doc_id = add_document(stack, ins, "concurrency-0001")
    doctor = as_pro(stack, HOSPITAL_DOCTOR)
    calls = [("GET", f"/v1/me/documents/{doc_id}", patient), ("GET", "/v1/me/documents", patient),
             ("GET", f"/v1/patients/{ins}/documents/{doc_id}", doctor)] * 8
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda c: stack.call(c[0], c[1], c[2]).status_code, calls))
    assert codes == [200] * len(calls)

    export = SignedExport.model_validate(stack.call("GET", "/v1/me/traces/export", patient).json())
    payload = json.loads(export.payload)
    assert len([t for t in payload["traces"] if t["action"] in {"document.read", "document.listed"}]) == len(calls)
    public_key = client("kms", "eu-west-3").get_public_key(KeyId=stack.env["MES_TRACE_SIGNING_KEY_ID"])["PublicKey"]
    assert check(export, public_key) == []


def test_each_consent_change_is_notified_to_the_holder_once_and_a_refused_one_is_not(stack: Stack) -> None:
    """security-tests.md: consent changes are traced, notified to the patient and rate-limited."""
    _, patient = stack.citizen()

    def rules_notices() -> list[dict[str, Any]]:
        items = stack.call("GET", "/v1/me/notifications", patient).json()["items"]
        return [n for n in items if n["kind"] == "access.rules_changed"]

    assert stack.call("POST", "/v1/me/care-team", patient, json={"rpps": "10000000701"}).status_code == 201
    assert stack.call("POST", "/v1/me/blocked-professionals", patient, json={"rpps": "10000000702"}).status_code == 201
    assert stack.call("DELETE", "/v1/me/care-team/10000000799", patient).status_code == 404  # not in it: refused
    told = rules_notices()
    assert [n["text"].split(" Si vous")[0] for n in told] == [
        "Un professionnel de santé a été bloqué : il ne peut plus consulter votre dossier.",
        "Un professionnel de santé a été ajouté à votre équipe de soins."]
    assert all("10000000701" not in str(n) and "10000000702" not in str(n) for n in told)
