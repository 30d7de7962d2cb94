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
    # And the attachment is stored under the patient and message, the mail itself is gone from the bucket
    listed = s3().list_objects_v2(Bucket=_attachments(), Prefix=f"{ins}/{message['message_id']}/")
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
    # Then there is still one message
    (again,) = conversations(stack, owner)
    thread = stack.call("GET", f"/v1/me/conversations/{again['conversation_id']}", owner).json()
    assert len(thread["messages"]) == 1


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
    assert s3().list_objects_v2(Bucket=_attachments(), Prefix=f"{ins}/")["KeyCount"] == 0
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
