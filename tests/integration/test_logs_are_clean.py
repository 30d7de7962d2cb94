"""No identifier or health data in application logs: run the whole flow, capture every log line, grep."""

from __future__ import annotations

import io
import json
import logging

import pytest

from tests.integration.conftest import Stack, declaration, post_file

TITLE = "Compte rendu VIH confidentiel"
PDF = b"%PDF-1.4\n% confidential\n"


def test_the_document_flow_logs_no_ins_rpps_or_title(stack: Stack, caplog: pytest.LogCaptureFixture,
                                                     capfd: pytest.CaptureFixture[str],
                                                     json_logs: io.StringIO) -> None:
    caplog.set_level(logging.INFO)  # the level a deployed stage runs at
    ins, patient = stack.citizen()
    headers = {**stack.professional(), "Idempotency-Key": "log-check-0001"}
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", headers, json=declaration(PDF, title=TITLE)).json()
    post_file(ticket["upload"], PDF)
    bad = {**headers, "Idempotency-Key": "log-check-0002"}
    stack.call("POST", f"/v1/patients/{ins}/documents", bad, json=declaration(PDF, title=TITLE, sha256="x"))
    stack.pump.drain()
    stack.call("GET", "/v1/me/documents", patient)
    stack.call("GET", f"/v1/me/documents/{ticket['document_id']}", patient)

    out, err = capfd.readouterr()
    records = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    logged = "\n".join([out, err, records, json_logs.getvalue()])
    assert ticket["document_id"] in logged  # the capture works: the flow did log
    for secret in (ins, TITLE, "10000000001", "Bilan"):
        assert secret not in logged


def test_log_lines_are_json_and_carry_the_request_correlation_id(stack: Stack, json_logs: io.StringIO) -> None:
    ins, _ = stack.citizen()
    headers = {**stack.professional(), "Idempotency-Key": "correlation-0001"}
    response = stack.call("POST", f"/v1/patients/{ins}/documents", headers, json=declaration(PDF))
    correlation_id = response.headers["X-Correlation-Id"]
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    mine = [line for line in lines if line.get("correlation_id") == correlation_id]
    assert [line["message"] for line in mine] == ["upload requested"]
    assert mine[0]["document_id"] == response.json()["document_id"]


def test_the_agenda_flow_logs_no_identifier_name_place_or_address(stack: Stack, caplog: pytest.LogCaptureFixture,
                                                                  capfd: pytest.CaptureFixture[str],
                                                                  json_logs: io.StringIO) -> None:
    from datetime import date

    from local import agenda
    from local.seed import ensure_citizen
    from tests.integration.conftest import new_ins

    caplog.set_level(logging.INFO)
    ins = new_ins()
    ensure_citizen(ins, email="secret.patient@example.org")
    _, me = stack.citizen(ins)
    body = {"start": "2032-03-10T09:30:00+01:00", "professional": "Dr Hélène Oncologue",
            "place": "Centre anticancéreux Léon Bérard", "note": "chimiothérapie cycle 3", "reminder_lead_days": 1}
    assert stack.call("POST", "/v1/me/appointments", me, json=body).status_code == 201
    agenda.tick(date(2032, 3, 9))
    assert any(n["place"] == body["place"] for n in stack.call("GET", "/v1/me/notifications", me).json()["items"])

    out, err = capfd.readouterr()
    logged = "\n".join([out, err, json_logs.getvalue(),
                        "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)])
    for secret in (ins, "secret.patient@example.org", "Hélène", "Léon Bérard", "chimiothérapie"):
        assert secret not in logged


def test_the_messaging_export_and_closure_flows_log_no_identifier_name_subject_or_content(
        stack: Stack, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
        json_logs: io.StringIO) -> None:
    """Given a professional's message with a telling subject, body and attachment name, the holder's reply, an
    export, then a closure with deletion and its erasure, then nothing logged names the person (INS, e-mail),
    the professional (RPPS) or what was written."""
    from app import on_export
    from functions.shared.aws import client
    from local import config, erasure
    from local.pump import QueuePump
    from local.seed import ensure_citizen
    from tests.integration.conftest import message_with_attachment, new_ins

    caplog.set_level(logging.INFO)
    ins = new_ins()
    ensure_citizen(ins, email="secret.holder@example.org")
    _, holder = stack.citizen(ins)
    doctor = stack.professional(rpps="10000000091", finess="750000091")
    sent = stack.call("POST", f"/v1/patients/{ins}/messages", doctor, json={
        "subject": "Résultat sérologie VIH", "text": "Votre charge virale est indétectable."})
    assert sent.status_code == 201, sent.text
    message_with_attachment(stack, ins, doctor, PDF, name="serologie-vih.pdf")
    conversation = sent.json()["conversation_id"]
    stack.call("GET", f"/v1/me/conversations/{conversation}", holder)
    assert stack.call("POST", f"/v1/me/conversations/{conversation}/messages", holder,
                      json={"content": "Merci docteur, trithérapie bien tolérée."}).status_code == 201
    assert stack.call("POST", "/v1/me/export", holder).status_code == 202
    QueuePump(client("sqs", config.REGION), config.EXPORT_QUEUE, on_export, retry_delay_seconds=0).drain()
    assert stack.call("POST", "/v1/me/closure", holder, json={"delete_data": True}).status_code == 200
    erasure.pump().drain()

    # stdout is where the functions' JSON lines go (as in Lambda); stderr holds the local server's access lines
    # and, when a handler of an earlier test's capture is gone, logging's own "--- Logging error ---" call stack
    # quoting this test's source, which no deployed function prints.
    out, _ = capfd.readouterr()
    logged = "\n".join([out, json_logs.getvalue(),
                        "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)])
    assert "export built" in logged and "erasure request handled" in logged  # the capture works: they logged
    for secret in (ins, "secret.holder@example.org", "10000000091", "VIH", "sérologie", "charge virale",
                   "serologie-vih", "trithérapie"):
        assert secret not in logged, secret
