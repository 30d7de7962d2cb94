"""The holder attaches documents of their record to what they send (mes-rules-next.md A.5, A.6: "Choisir dans les
documents de mon espace santé", the app's `ensDocuments`): the reply or the new message carries them as
attachments (sealed like every attachment), the mail that leaves has them as MIME parts with the very bytes, each
attached document is a trace; a document that is not theirs, not available or of a type A.6 does not allow is
refused before anything is written."""

from __future__ import annotations

import hashlib
import itertools
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import requests

from functions.messaging.service import OUTBOUND_ATTACHMENT_BYTES
from functions.shared.aws import client
from functions.shared.privacy import digest
from local import config
from local.outbox import captured, raw_of
from tests.integration.conftest import Stack, declaration, post_file

PDF = b"%PDF-1.4\n% bilan sanguin du 20 novembre\n"
DR_ADDRESS = "claire.martin@hopital-nord.mssante.fr"
_keys = itertools.count()


def key() -> str:
    return f"pat-att-{next(_keys):06d}"


def record_document(stack: Stack, ins: str, data: bytes = PDF, title: str = "Bilan sanguin",
                    content_type: str = "application/pdf") -> str:
    """A document of the holder's record, uploaded by their doctor and verified (available)."""
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents",
                        {**stack.professional(rpps="10000000601"), "Idempotency-Key": key()},
                        json=declaration(data, content_type=content_type, title=title))
    assert ticket.status_code in (201, 202), ticket.text
    post_file(ticket.json()["upload"], data)
    stack.pump.drain()
    document_id: str = ticket.json()["document_id"]
    return document_id


def conversation_with_a_doctor(stack: Stack, ins: str) -> str:
    sent = stack.call("POST", f"/v1/patients/{ins}/messages",
                      {**stack.professional(rpps="10000000602"), "Idempotency-Key": key()},
                      json={"subject": "Vos résultats", "text": "Pouvez-vous m'envoyer votre bilan ?",
                            "sender_address": DR_ADDRESS})
    assert sent.status_code == 201, sent.text
    conversation_id: str = sent.json()["conversation_id"]
    return conversation_id


def attachment_objects(stack: Stack, ins: str) -> list[str]:
    listed = client("s3", config.REGION).list_objects_v2(Bucket=stack.env["MES_ATTACHMENTS_BUCKET"],
                                                         Prefix=f"{digest('ins', ins)}/")
    return [o["Key"] for o in listed.get("Contents", [])]


def left_mail(stack: Stack, message_id: str) -> EmailMessage | None:
    """The mail that left for this message (the local outbox bucket stands for SES), None while none has."""
    raw = raw_of(client("s3", config.REGION), stack.env["MES_OUTBOX_BUCKET"], message_id)
    if raw is None:
        return None
    mail = message_from_bytes(raw, _class=EmailMessage, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def own_traces(stack: Stack, owner: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = stack.call("GET", "/v1/me/traces?limit=100", owner).json()["items"]
    return items


def test_a_reply_carries_a_document_of_the_record_to_the_doctor_with_its_very_bytes(stack: Stack) -> None:
    ins, owner = stack.citizen()
    document_id = record_document(stack, ins)
    cid = conversation_with_a_doctor(stack, ins)

    reply = stack.call("POST", f"/v1/me/conversations/{cid}/messages", {**owner, "Idempotency-Key": key()},
                       json={"content": "Voici mon bilan.", "documents": [document_id]})
    assert reply.status_code == 201, reply.text
    message_id = reply.json()["message_id"]

    # the holder sees it attached to their message, and downloads what they sent
    thread = stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()
    mine = next(m for m in thread["messages"] if m["message_id"] == message_id)
    [attached] = mine["attachments"]
    assert (attached["name"], attached["state"], attached["size"]) == ("Bilan sanguin.pdf", "AVAILABLE", len(PDF))
    link = stack.call("GET", f"/v1/me/conversations/{cid}/messages/{message_id}/attachments/"
                             f"{attached['attachment_id']}", owner)
    assert link.status_code == 200, link.text
    assert requests.get(link.json()["download_url"], timeout=10).content == PDF
    assert len(attachment_objects(stack, ins)) == 1  # sealed under the holder's pseudonym, like every attachment

    # the mail that left for the doctor has the PDF as a part, byte for byte, beside the text
    mail = left_mail(stack, message_id)
    assert mail is not None and mail["To"] == DR_ADDRESS and mail.get_content_type() == "multipart/mixed"
    [part] = list(mail.iter_attachments())
    assert (part.get_filename(), part.get_content_type()) == ("Bilan sanguin.pdf", "application/pdf")
    assert part.get_content() == PDF
    assert "Voici mon bilan." in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert len([m for m in captured(client("s3", config.REGION), stack.env["MES_OUTBOX_BUCKET"])
                if m.once_key == message_id]) == 1

    # and the holder's chain says which document left with which message
    traces = own_traces(stack, owner)
    assert {(t["action"], t.get("document_id")) for t in traces} >= {("document.attached", document_id),
                                                                     ("message.sent", None)}


def test_a_new_message_to_a_doctor_who_wrote_carries_two_documents(stack: Stack) -> None:
    ins, owner = stack.citizen()
    first = record_document(stack, ins, title="Ordonnance")
    second = record_document(stack, ins, data=PDF + b"% 2\n", title="Compte rendu")
    conversation_with_a_doctor(stack, ins)
    sent = stack.call("POST", "/v1/me/conversations", {**owner, "Idempotency-Key": key()},
                      json={"to": "10000000602", "subject": "Mes documents", "content": "Ci-joints.",
                            "documents": [first, second, first]})  # the same document twice is attached once
    assert sent.status_code == 201, sent.text
    mail = left_mail(stack, sent.json()["message_id"])
    assert mail is not None
    parts = {p.get_filename(): hashlib.sha256(p.get_content()).hexdigest() for p in mail.iter_attachments()}
    assert parts == {"Ordonnance.pdf": hashlib.sha256(PDF).hexdigest(),
                     "Compte rendu.pdf": hashlib.sha256(PDF + b"% 2\n").hexdigest()}


def test_a_document_that_is_not_the_holders_or_not_there_is_a_404_and_nothing_leaves(stack: Stack) -> None:
    ins, owner = stack.citizen()
    other_ins, _ = stack.citizen()
    theirs = record_document(stack, other_ins)
    cid = conversation_with_a_doctor(stack, ins)
    before = (len(stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()["messages"]),
              len(own_traces(stack, owner)), len(captured(client("s3", config.REGION),
                                                          stack.env["MES_OUTBOX_BUCKET"])))
    for document in (theirs, "doc_" + "0" * 26, "not-an-id"):
        refused = stack.call("POST", f"/v1/me/conversations/{cid}/messages", {**owner, "Idempotency-Key": key()},
                             json={"content": "Voici.", "documents": [document]})
        assert refused.status_code == 404, refused.text
        assert refused.json()["error"]["code"] == "not_found"
    after = (len(stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()["messages"]),
             len(own_traces(stack, owner)) - 1,  # the thread read just above is a trace
             len(captured(client("s3", config.REGION), stack.env["MES_OUTBOX_BUCKET"])))
    assert after == before and attachment_objects(stack, ins) == []


def test_a_document_of_a_type_a_message_cannot_carry_is_a_415_and_nothing_is_stored(stack: Stack) -> None:
    ins, owner = stack.citizen()
    cda = record_document(stack, ins, data=b'<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3"/>',
                          title="CR", content_type="text/xml")
    cid = conversation_with_a_doctor(stack, ins)
    refused = stack.call("POST", f"/v1/me/conversations/{cid}/messages", {**owner, "Idempotency-Key": key()},
                         json={"content": "Voici.", "documents": [cda]})
    assert refused.status_code == 415, refused.text
    assert refused.json()["error"]["code"] == "attachment_type_not_allowed"
    assert attachment_objects(stack, ins) == []


def test_a_draft_keeps_the_documents_chosen_and_what_is_left_of_the_budget(stack: Stack) -> None:
    ins, owner = stack.citizen()
    other_ins, _ = stack.citizen()
    mine, theirs = record_document(stack, ins), record_document(stack, other_ins)
    cid = conversation_with_a_doctor(stack, ins)
    draft = f"/v1/me/conversations/{cid}/draft"
    saved = stack.call("PUT", draft, owner, json={"content": "Voici mon bilan", "documents": [mine]})
    assert saved.status_code == 200, saved.text
    assert saved.json()["documents"] == [mine]
    assert saved.json()["remaining_attachment_bytes"] == OUTBOUND_ATTACHMENT_BYTES - len(PDF)
    # a document that is not the holder's is refused and the draft stays as it was saved
    refused = stack.call("PUT", draft, owner, json={"content": "Autre", "documents": [theirs]})
    assert refused.status_code == 404, refused.text
    kept = stack.call("GET", draft, owner).json()
    assert (kept["content"], kept["documents"]) == ("Voici mon bilan", [mine])
    assert stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()["draft"]["documents"] == [mine]
    # sending it names them again (as the app's sendMessage does); the draft is gone, nothing stored for it before
    assert attachment_objects(stack, ins) == []
    sent = stack.call("POST", f"/v1/me/conversations/{cid}/messages", {**owner, "Idempotency-Key": key()},
                      json={"content": kept["content"], "documents": kept["documents"]})
    assert sent.status_code == 201, sent.text
    assert stack.call("GET", draft, owner).status_code == 404
    assert len(attachment_objects(stack, ins)) == 1


# ---- files the holder uploads (a photo, a file): the mail waits for their verdicts --------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def declared(data: bytes, name: str, content_type: str = "image/png") -> dict[str, Any]:
    return {"name": name, "content_type": content_type, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_a_photo_the_holder_uploads_leaves_with_the_reply_once_it_is_verified(stack: Stack) -> None:
    ins, owner = stack.citizen()
    document_id = record_document(stack, ins)
    cid = conversation_with_a_doctor(stack, ins)
    reply = stack.call("POST", f"/v1/me/conversations/{cid}/messages", {**owner, "Idempotency-Key": key()},
                       json={"content": "La photo de mon ordonnance", "documents": [document_id],
                             "attachments": [declared(PNG, "ordonnance.png")]})
    assert reply.status_code == 201, reply.text
    body = reply.json()
    [upload] = body["uploads"]
    assert body["remaining_attachment_bytes"] == OUTBOUND_ATTACHMENT_BYTES - len(PDF) - len(PNG)
    assert [a["state"] for a in body["attachments"]] == ["AVAILABLE", "PENDING"]
    assert left_mail(stack, body["message_id"]) is None  # it waits for the photo's verdict

    assert post_file(upload, PNG).status_code in (200, 201, 204)
    stack.pump.drain()
    mail = left_mail(stack, body["message_id"])
    assert mail is not None and mail["To"] == DR_ADDRESS
    parts = {p.get_filename(): p.get_content() for p in mail.iter_attachments()}
    assert parts == {"Bilan sanguin.pdf": PDF, "ordonnance.png": PNG}
    mine = next(m for m in stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()["messages"]
                if m["message_id"] == body["message_id"])
    assert [a["state"] for a in mine["attachments"]] == ["AVAILABLE", "AVAILABLE"]
    assert len([m for m in captured(client("s3", config.REGION), stack.env["MES_OUTBOX_BUCKET"])
                if m.once_key == body["message_id"]]) == 1


def test_a_file_the_verifier_refuses_stays_behind_and_the_mail_leaves_with_the_rest(stack: Stack) -> None:
    ins, owner = stack.citizen()
    cid = conversation_with_a_doctor(stack, ins)
    program = b"MZ\x90\x00 not a picture"
    sent = stack.call("POST", "/v1/me/conversations", {**owner, "Idempotency-Key": key()},
                      json={"to": "10000000602", "subject": "Photos", "content": "Ci-jointes.",
                            "attachments": [declared(PNG, "a.png"), declared(program, "b.png")]}).json()
    good, bad = sent["uploads"]
    post_file(good, PNG)
    stack.pump.drain()
    assert left_mail(stack, sent["message_id"]) is None  # one verdict is still to come
    post_file(bad, program)
    stack.pump.drain()
    mail = left_mail(stack, sent["message_id"])
    assert mail is not None and [p.get_filename() for p in mail.iter_attachments()] == ["a.png"]
    thread = stack.call("GET", f"/v1/me/conversations/{sent['conversation_id']}", owner).json()
    [(_, states)] = [(m["message_id"], [(a["state"], a.get("rejection_reason")) for a in m["attachments"]])
                     for m in thread["messages"] if m["message_id"] == sent["message_id"]]
    assert states == [("AVAILABLE", None), ("REJECTED", "content_not_of_declared_type")]
    assert cid != sent["conversation_id"]


def test_an_upload_that_never_comes_lets_the_mail_leave_at_its_deadline_without_it(stack: Stack) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from functions import deps
    from functions.messaging.service import deliver_outbox
    from functions.shared.clock import FixedClock

    ins, owner = stack.citizen()
    cid = conversation_with_a_doctor(stack, ins)
    body = stack.call("POST", f"/v1/me/conversations/{cid}/messages", {**owner, "Idempotency-Key": key()},
                      json={"content": "Photo à venir", "attachments": [declared(PNG, "plus-tard.png")]}).json()
    m = deps.messaging()
    deliver_outbox(m)  # before the deadline it keeps waiting
    assert left_mail(stack, body["message_id"]) is None
    # past its 10-minute deadline, the pass still leaves the verifier 5 minutes for an upload that came in time
    deliver_outbox(replace(m, clock=FixedClock(datetime.now(UTC) + timedelta(minutes=12))))
    assert left_mail(stack, body["message_id"]) is None
    deliver_outbox(replace(m, clock=FixedClock(datetime.now(UTC) + timedelta(minutes=16))))
    mail = left_mail(stack, body["message_id"])
    assert mail is not None and list(mail.iter_attachments()) == []
    assert "Photo à venir" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    thread = stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()
    mine = next(x for x in thread["messages"] if x["message_id"] == body["message_id"])
    assert [(a["state"], a["rejection_reason"]) for a in mine["attachments"]] == [("REJECTED", "upload_expired")]
