"""Real mail through the stack (issue 11): a raw MIME mail dropped in the inbound-mail bucket reaches the
consumer through S3 -> SQS, lands in the patient's mailbox as the API shows it (with its attachment, trace and
notification), lands once however often it is delivered, and a closed mailbox bounces and stores nothing. The
local SMTP listener feeds the same path."""

from __future__ import annotations

import smtplib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, message_from_string, policy
from pathlib import Path
from typing import Any

import pytest
import requests

from functions.shared.privacy import digest
from local import config
from tests.integration.conftest import Stack, free_port, new_ins

MAIL = Path(__file__).resolve().parents[2] / "events" / "mail"
FIXTURE_INS = "204126388884207"


@pytest.fixture(scope="module")
def mail_pump(stack: Stack) -> Any:
    import app as api
    from functions.shared.aws import client
    from local.pump import QueuePump

    return QueuePump(client("sqs", config.REGION), config.INBOUND_MAIL_QUEUE, api.on_inbound_mail)


def s3() -> Any:
    from functions.shared.aws import client

    return client("s3", config.REGION)


def bucket() -> str:
    from functions.shared.settings import settings

    return settings().inbound_mail_bucket


def drop(name: str, ins: str, key: str | None = None, **replace: str) -> str:
    raw = (MAIL / name).read_bytes().replace(FIXTURE_INS.encode(), ins.encode())
    for old, new in replace.items():
        raw = raw.replace(old.encode(), new.encode())
    key = key or f"incoming/{uuid.uuid4().hex}"
    s3().put_object(Bucket=bucket(), Key=key, Body=raw)
    return key


def conversations(stack: Stack, owner: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = stack.call("GET", "/v1/me/conversations", owner).json()["items"]
    return items


def bounces_to(address: str) -> list[Any]:
    from moto.ses.models import ses_backends

    sent = ses_backends[config.ACCOUNT][config.REGION].sent_messages
    return [message_from_string(m.raw_data, policy=policy.default) for m in sent
            if getattr(m, "raw_data", None) and address in m.destinations]


def test_a_dropped_mail_shows_in_the_mailbox_with_its_attachment_trace_and_notification(
        stack: Stack, mail_pump: Any) -> None:
    ins, owner = stack.citizen()
    # Given a hospital's mail with a PDF, dropped where SES or a relay writes
    key = drop("html_attachment.eml", ins, key="incoming/cardio-7781")
    # When the consumer runs
    mail_pump.drain()
    # Then the patient's mailbox shows it
    (conversation,) = conversations(stack, owner)
    assert conversation["subject"] == "Courrier de sortie" and conversation["has_attachment"] is True
    assert conversation["health_professional_names"] == ["Service de cardiologie"]
    thread = stack.call("GET", f"/v1/me/conversations/{conversation['conversation_id']}", owner).json()
    (message,) = thread["messages"]
    assert "ci-joint" in message["content"] and "script" not in message["content"]
    notes = [n for n in stack.call("GET", "/v1/me/notifications", owner).json()["items"] if n["kind"] == "message.new"]
    assert len(notes) == 1 and notes[0]["link"] == f"urn:message:{message['message_id']}"
    traces = [t["action"] for t in stack.call("GET", "/v1/me/traces?limit=100", owner).json()["items"]]
    assert "message.received" in traces
    # And the attachment is stored under the patient's pseudonym and the message, the mail itself is gone
    listed = s3().list_objects_v2(Bucket=_attachments(), Prefix=f"{digest('ins', ins)}/{message['message_id']}/")
    assert listed["KeyCount"] == 1
    assert s3().list_objects_v2(Bucket=bucket(), Prefix=key)["KeyCount"] == 0
    # sealed under the space's key at rest (the envelope is on), the original bytes through the download link
    original = next(message_from_bytes((MAIL / "html_attachment.eml").read_bytes(),
                                       policy=policy.default).iter_attachments()).get_content()
    at_rest = s3().get_object(Bucket=_attachments(), Key=listed["Contents"][0]["Key"])
    assert at_rest["Metadata"] == {"envelope": "aes-256-gcm"} and original not in at_rest["Body"].read()
    (attachment,) = message["attachments"]
    link = stack.call("GET", f"/v1/me/conversations/{conversation['conversation_id']}/messages/"
                      f"{message['message_id']}/attachments/{attachment['attachment_id']}", owner)
    assert link.status_code == 200, link.text
    assert requests.get(link.json()["download_url"], timeout=10).content == original

    # When the same mail is delivered again (a relay's retry writes the same key again)
    drop("html_attachment.eml", ins, key=key)
    mail_pump.drain()
    # Then there is still one message, and the holder was notified once
    (again,) = conversations(stack, owner)
    thread = stack.call("GET", f"/v1/me/conversations/{again['conversation_id']}", owner).json()
    assert len(thread["messages"]) == 1
    notes = [n for n in stack.call("GET", "/v1/me/notifications", owner).json()["items"] if n["kind"] == "message.new"]
    assert len(notes) == 1
    traces = [t["action"] for t in stack.call("GET", "/v1/me/traces?limit=100", owner).json()["items"]]
    assert traces.count("message.received") == 1


def _attachments() -> str:
    from functions.shared.settings import settings

    return settings().attachments_bucket


def test_a_closed_mailbox_bounces_and_keeps_nothing_but_the_rejected_mail(stack: Stack, mail_pump: Any) -> None:
    from functions import deps
    from functions.accounts.models import Space, SpaceStatus

    # Given a closed space ("messagerie fermée")
    ins = new_ins()
    deps.spaces().open(Space(ins=ins, status=SpaceStatus.CLOSED, created_at=datetime.now(UTC)))
    sender = f"dr-{uuid.uuid4().hex[:8]}@cabinet.mssante.fr"
    # When a mail with an attachment arrives for it
    key = drop("html_attachment.eml", ins, **{"cardiologie@chu-lyon.mssante.fr": sender})
    mail_pump.drain()
    # Then the sender gets the bounce, and nothing is stored but the refused mail under rejected/
    (bounce,) = bounces_to(sender)
    assert bounce["Subject"] == "Message non distribué" and "messagerie fermée" in bounce.get_content()
    assert "Courrier de sortie" not in bounce.get_content()
    assert deps.messaging().store.list(ins, None, 10) == ([], None)
    assert s3().list_objects_v2(Bucket=_attachments(), Prefix=f"{digest('ins', ins)}/")["KeyCount"] == 0
    name = key.removeprefix("incoming/")
    assert s3().list_objects_v2(Bucket=bucket(), Prefix=f"rejected/mailbox_closed/{name}")["KeyCount"] == 1
    assert s3().list_objects_v2(Bucket=bucket(), Prefix=key)["KeyCount"] == 0


def test_an_untrusted_sender_is_refused_without_bounce(stack: Stack, mail_pump: Any) -> None:
    ins, owner = stack.citizen()
    key = drop("untrusted.eml", ins)
    mail_pump.drain()
    assert conversations(stack, owner) == [] and bounces_to("claire.martin@hopital-nord.example.com") == []
    assert s3().list_objects_v2(Bucket=bucket(), Prefix=key.replace("incoming/", "rejected/untrusted_sender/"))[
        "KeyCount"] == 1


@pytest.fixture
def smtp_port(stack: Stack) -> Iterator[int]:
    from local.smtp import controller

    port = free_port()
    listener = controller(port=port)
    listener.start()
    yield port
    listener.stop()


def test_mail_sent_with_smtplib_to_the_local_listener_appears_through_the_api(
        stack: Stack, mail_pump: Any, smtp_port: int) -> None:
    ins, owner = stack.citizen()
    raw = (MAIL / "plain.eml").read_bytes().replace(FIXTURE_INS.encode(), ins.encode())
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        refused = client.sendmail("claire.martin@hopital-nord.mssante.fr", [f"{ins}@patient.mssante.fr"], raw)
    assert refused == {}
    for _ in range(20):
        mail_pump.drain()
        found = conversations(stack, owner)
        if found:
            break
        time.sleep(0.1)
    assert [c["subject"] for c in found] == ["Compte rendu de consultation"]


def _objects_everywhere() -> set[tuple[str, str]]:
    """The current objects of every bucket the functions are configured with."""
    from functions.shared.settings import settings

    s = settings()
    buckets = [getattr(s, f) for f in sorted(type(s).model_fields) if f.endswith("_bucket") and getattr(s, f)]
    found: set[tuple[str, str]] = set()
    for name in buckets:
        for page in s3().get_paginator("list_objects_v2").paginate(Bucket=name):
            found |= {(name, o["Key"]) for o in page.get("Contents", [])}
    return found


def _emails_sent() -> int:
    from functions.shared.aws import client

    return int(client("ses", config.REGION).get_send_quota()["SentLast24Hours"])


def test_one_mail_costs_three_dynamodb_calls_space_chain_head_and_the_transaction(
        stack: Stack, mail_pump: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.client

    from functions import deps

    ins, _ = stack.citizen()
    # The space's data key already made and in the warm function's cache, as for every mail but a space's first
    # with attachments under the envelope (that one also pays GetItem KEY# and the key's creating transaction).
    deps.space_keys().data_key(ins)
    drop("html_attachment.eml", ins)
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            calls.append(f"{operation}:{params.get('Key', {}).get('key', {}).get('S', '')[:6]}")
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    mail_pump.drain()
    # the space item once (status, e-mail, switches), the chain head, the one transaction: no preferences read
    assert sorted(c.split(":")[0] for c in calls) == ["GetItem", "GetItem", "TransactWriteItems"], calls
    assert "GetItem:SPACE#" in calls


def test_notif_message_switched_off_stops_the_email_for_the_next_mail(stack: Stack, mail_pump: Any) -> None:
    from local.seed import ensure_citizen

    ins = new_ins()
    ensure_citizen(ins, email="patient@example.org")
    _, owner = stack.citizen(ins)
    before = _emails_sent()
    drop("plain.eml", ins)
    mail_pump.drain()
    assert _emails_sent() - before == 1
    # When the holder switches the e-mail of NOTIF_MESSAGE off
    put = stack.call("PUT", "/v1/me/notification-preferences", owner,
                     json={"preferences": {"NOTIF_MESSAGE": {"in_app": True, "email": False}}})
    assert put.status_code == 200, put.text
    # Then the next mail lands, notified in-app, and no e-mail leaves
    drop("html_attachment.eml", ins)
    mail_pump.drain()
    assert len(conversations(stack, owner)) == 2
    assert _emails_sent() - before == 1
    notes = [n for n in stack.call("GET", "/v1/me/notifications", owner).json()["items"] if n["kind"] == "message.new"]
    assert len(notes) == 2


def test_a_mail_over_25_mb_is_bounced_counted_and_leaves_nothing_but_the_rejected_mail(
        stack: Stack, mail_pump: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from email.message import EmailMessage

    from functions.messaging import inbound

    ins, owner = stack.citizen()
    sender = f"dr-{uuid.uuid4().hex[:8]}@hopital-nord.mssante.fr"
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, f"{ins}@patient.mssante.fr", "Imagerie"
    mail["Message-ID"] = f"<big-{uuid.uuid4().hex}@hopital-nord.mssante.fr>"
    mail.set_content("Les images de votre examen.")
    mail.add_attachment(b"%PDF-1.4\n" + b"0" * (19 * 1024 * 1024 + 512 * 1024), maintype="application",
                        subtype="pdf", filename="imagerie.pdf")
    raw = bytes(mail)
    assert len(raw) > 25 * 1024 * 1024  # base64: 19.5 MB of PDF is over 25 MB of mail
    counted: list[dict[str, str]] = []
    monkeypatch.setattr(inbound, "count", lambda metric, value=1, **dims: counted.append({"metric": metric, **dims}))
    before = _objects_everywhere()
    key = f"incoming/{uuid.uuid4().hex}"
    s3().put_object(Bucket=bucket(), Key=key, Body=raw)
    mail_pump.drain()
    (bounce,) = bounces_to(sender)
    assert bounce["Subject"] == "Undelivered Mail Returned to Sender"
    assert counted == [{"metric": "InboundMailRefused", "reason": "too_large"}]
    assert conversations(stack, owner) == []
    assert _objects_everywhere() - before == {(bucket(), f"rejected/too_large/{key.removeprefix('incoming/')}")}


def test_an_executable_attachment_is_refused_and_leaves_no_object_anywhere(stack: Stack, mail_pump: Any) -> None:
    ins, owner = stack.citizen()
    sender = f"dr-{uuid.uuid4().hex[:8]}@hopital-nord.mssante.fr"
    before = _objects_everywhere()
    key = drop("executable.eml", ins, **{"claire.martin@hopital-nord.mssante.fr": sender})
    mail_pump.drain()
    (bounce,) = bounces_to(sender)
    assert "bad_attachment" in bounce.get_content()
    assert conversations(stack, owner) == []
    assert _objects_everywhere() - before == {(bucket(), f"rejected/bad_attachment/{key.removeprefix('incoming/')}")}


def test_a_reply_to_a_conversation_a_mail_ended_with_fin_is_refused_and_sends_nothing(
        stack: Stack, mail_pump: Any) -> None:
    ins, owner = stack.citizen()
    drop("fin.eml", ins)
    mail_pump.drain()
    (conversation,) = conversations(stack, owner)
    cid = conversation["conversation_id"]
    thread = stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()
    assert thread["conversation"]["reply_options"] == [] and thread["conversation"]["conversation_finalized_by"]
    before = _objects_everywhere()
    refused = stack.call("POST", f"/v1/me/conversations/{cid}/messages",
                         {**owner, "Idempotency-Key": f"fin-reply-{uuid.uuid4().hex[:8]}"},
                         json={"content": "Une dernière question"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conversation_ended"
    draft = stack.call("PUT", f"/v1/me/conversations/{cid}/draft", owner, json={"content": "Une question"})
    assert draft.status_code == 409
    assert _objects_everywhere() == before  # no mail in the outbox bucket, nothing anywhere
    traces = [t["action"] for t in stack.call("GET", "/v1/me/traces?limit=100", owner).json()["items"]]
    assert "message.sent" not in traces
    assert len(stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()["messages"]) == 1


def _outbox_of(stack: Stack, ins: str) -> list[Any]:
    from functions.shared.aws import client
    from local.outbox import captured

    return [m for m in captured(client("s3", config.REGION), stack.env["MES_OUTBOX_BUCKET"])
            if m.sender == f"{ins}@patient.mssante.fr"]


def test_a_received_mail_asking_a_receipt_gets_one_and_the_reply_goes_to_its_mssante_reply_to(
        stack: Stack, mail_pump: Any) -> None:
    ins, owner = stack.citizen()
    drop("read_receipt.eml", ins, **{"Disposition-Notification-To:": "Reply-To: secretariat@hopital-nord.mssante.fr"
                                     "\r\nDisposition-Notification-To:"})
    mail_pump.drain()
    (conversation,) = conversations(stack, owner)
    cid = conversation["conversation_id"]
    (message,) = stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()["messages"]
    assert message["recipients"] == ["Patient"] and message["receipt_requested"] is True
    stack.call("GET", f"/v1/me/conversations/{cid}", owner)  # opened twice: one receipt
    reply = stack.call("POST", f"/v1/me/conversations/{cid}/messages",
                       {**owner, "Idempotency-Key": f"rr-{uuid.uuid4().hex[:8]}"}, json={"content": "Bien reçu"})
    assert reply.status_code == 201, reply.text
    sent = sorted((m.to, m.once_key.startswith("mdn-")) for m in _outbox_of(stack, ins))
    assert sent == [("claire.martin@hopital-nord.mssante.fr", True), ("secretariat@hopital-nord.mssante.fr", False)]


def test_a_reply_to_or_receipt_address_outside_the_trust_space_is_ignored_on_the_mail_path(
        stack: Stack, mail_pump: Any) -> None:
    """A trusted relay's mail whose Reply-To and Disposition-Notification-To name a personal mailbox: no receipt
    leaves, and the patient's reply goes to the writer's own MSSanté address, never to that mailbox."""
    ins, owner = stack.citizen()
    drop("read_receipt.eml", ins, **{
        "Disposition-Notification-To: Dr Claire Martin <claire.martin@hopital-nord.mssante.fr>":
            "Disposition-Notification-To: spy@evil.example\r\nReply-To: attacker@gmail.com"})
    mail_pump.drain()
    (conversation,) = conversations(stack, owner)
    cid = conversation["conversation_id"]
    (message,) = stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()["messages"]
    assert message["receipt_requested"] is False
    reply = stack.call("POST", f"/v1/me/conversations/{cid}/messages",
                       {**owner, "Idempotency-Key": f"rt-{uuid.uuid4().hex[:8]}"}, json={"content": "Merci"})
    assert reply.status_code == 201, reply.text
    assert [m.to for m in _outbox_of(stack, ins)] == ["claire.martin@hopital-nord.mssante.fr"]
