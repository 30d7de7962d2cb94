"""Mail leaving the patient's mailbox through the HTTP stack (issue 11, points 3, 5, 6, 7): the local outbox bucket
captures what SES would send. A reply goes once to the professional's address (their Reply-To when they gave one),
a retried request or a redelivered send adds nothing; a read receipt goes once; the patient writes first to a
professional who wrote or to a pharmacy they added, never to another patient or a stranger; the new-message e-mail
follows NOTIF_MESSAGE."""

from __future__ import annotations

import itertools
from email import message_from_bytes, policy
from typing import Any

from functions.shared.aws import client
from local import config
from local.outbox import Captured, captured, raw_of
from local.seed import ensure_citizen
from tests.integration.conftest import Stack, new_ins

_keys = itertools.count()
DR_ADDRESS = "claire.martin@hopital-nord.mssante.fr"
PHARMACY = {"finess": "750012345", "name": "Pharmacie du Centre (Paris 11e)",
            "address": "contact@pharmacie-centre.mssante.fr"}


def key() -> str:
    return f"out-test-{next(_keys):06d}"


def write(stack: Stack, ins: str, headers: dict[str, str], **body: Any) -> Any:
    payload = {"subject": "Résultats", "text": "Bonjour", "sender_address": DR_ADDRESS, **body}
    response = stack.call("POST", f"/v1/patients/{ins}/messages", {**headers, "Idempotency-Key": key()},
                          json=payload)
    assert response.status_code == 201, response.text
    return response.json()


def outbox(stack: Stack) -> list[Captured]:
    return captured(client("s3", config.REGION), stack.env["MES_OUTBOX_BUCKET"])


def mails_of(stack: Stack, ins: str) -> list[Captured]:
    return [m for m in outbox(stack) if m.sender == f"{ins}@patient.mssante.fr"]


def emails_sent() -> int:
    return int(client("ses", config.REGION).get_send_quota()["SentLast24Hours"])


def test_a_reply_leaves_once_to_the_reply_to_even_when_the_request_and_the_send_are_retried(stack: Stack) -> None:
    ins, owner = stack.citizen()
    dr = stack.professional(rpps="10000000401")
    cid = write(stack, ins, dr, reply_to="secretariat@hopital-nord.mssante.fr")["conversation_id"]
    headers = {**owner, "Idempotency-Key": key()}
    reply = stack.call("POST", f"/v1/me/conversations/{cid}/messages", headers, json={"content": "Merci docteur"})
    assert reply.status_code == 201, reply.text
    again = stack.call("POST", f"/v1/me/conversations/{cid}/messages", headers, json={"content": "Merci docteur"})
    assert again.headers.get("Idempotent-Replayed") == "true"
    message_id = reply.json()["message_id"]
    (mail,) = mails_of(stack, ins)
    assert (mail.to, mail.subject, mail.once_key) == ("secretariat@hopital-nord.mssante.fr", "RE: Résultats",
                                                      message_id)
    # the same mail handed over again (a retry pass after a lost acknowledgement): still one
    from functions import deps

    raw = raw_of(client("s3", config.REGION), stack.env["MES_OUTBOX_BUCKET"], message_id)
    assert raw is not None
    deps.outbound().send(raw, f"{ins}@patient.mssante.fr", ["secretariat@hopital-nord.mssante.fr"], message_id)
    assert len(mails_of(stack, ins)) == 1
    parsed = message_from_bytes(raw, policy=policy.default)
    assert "Merci docteur" in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "message.sent" in [t["action"] for t in stack.call("GET", "/v1/me/traces", owner).json()["items"]]


def test_opening_the_conversation_sends_one_read_receipt_and_opening_again_none(stack: Stack) -> None:
    ins, owner = stack.citizen()
    dr = stack.professional(rpps="10000000402")
    asked = write(stack, ins, dr, request_receipt=True)
    assert asked["receipt_requested"] is True
    for _ in range(2):
        opened = stack.call("GET", f"/v1/me/conversations/{asked['conversation_id']}", owner)
        assert opened.status_code == 200, opened.text
    (receipt,) = mails_of(stack, ins)
    assert (receipt.to, receipt.once_key) == (DR_ADDRESS, f"mdn-{asked['message_id']}")
    raw = raw_of(client("s3", config.REGION), stack.env["MES_OUTBOX_BUCKET"], receipt.once_key)
    assert raw is not None and b"multipart/report" in raw and b"Disposition: manual-action/MDN-sent-manually" in raw
    actions = [t["action"] for t in stack.call("GET", "/v1/me/traces", owner).json()["items"]]
    assert actions.count("message.receipt_sent") == 1


def test_the_patient_writes_first_to_a_professional_who_wrote_and_to_a_pharmacy(stack: Stack) -> None:
    ins, owner = stack.citizen()
    write(stack, ins, stack.professional(rpps="10000000403"))
    to_dr = stack.call("POST", "/v1/me/conversations", {**owner, "Idempotency-Key": key()},
                       json={"to": "10000000403", "subject": "Une question", "content": "Bonjour docteur"})
    assert to_dr.status_code == 201, to_dr.text
    added = stack.call("POST", "/v1/me/contacts/pharmacies", {**owner, "Idempotency-Key": key()}, json=PHARMACY)
    assert added.status_code == 201, added.text
    assert added.json()["name"] == "Pharmacie du Centre"
    assert [p["finess"] for p in stack.call("GET", "/v1/me/contacts/pharmacies", owner).json()["items"]] == [
        "750012345"]
    to_pharmacy = stack.call("POST", "/v1/me/conversations", {**owner, "Idempotency-Key": key()},
                             json={"to": "750012345", "subject": "Ordonnance", "content": "Est-ce prêt ?"})
    assert to_pharmacy.status_code == 201, to_pharmacy.text
    assert sorted(m.to for m in mails_of(stack, ins)) == [DR_ADDRESS, PHARMACY["address"]]
    listed = stack.call("GET", "/v1/me/conversations", owner).json()["items"]
    assert sum(c["is_new_message"] for c in listed) == 2
    removed = stack.call("DELETE", "/v1/me/contacts/pharmacies/750012345", owner)
    assert removed.status_code == 200 and stack.call("DELETE", "/v1/me/contacts/pharmacies/750012345",
                                                     owner).status_code == 404
    actions = [t["action"] for t in stack.call("GET", "/v1/me/traces", owner).json()["items"]]
    assert {"contact.added", "contact.removed", "message.sent"} <= set(actions)


def test_the_patient_cannot_write_first_to_another_patient_or_a_stranger(stack: Stack) -> None:
    ins, owner = stack.citizen()
    other, _ = stack.citizen()
    for to in (f"{other}@patient.mssante.fr", other, "10000000499"):
        refused = stack.call("POST", "/v1/me/conversations", {**owner, "Idempotency-Key": key()},
                             json={"to": to, "subject": "Bonjour", "content": "Bonjour"})
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "recipient_not_allowed", to
    bad_pharmacy = stack.call("POST", "/v1/me/contacts/pharmacies", {**owner, "Idempotency-Key": key()},
                              json={**PHARMACY, "address": f"{other}@patient.mssante.fr"})
    assert bad_pharmacy.status_code == 422
    assert mails_of(stack, ins) == [] and stack.call("GET", "/v1/me/conversations", owner).json()["items"] == []


def test_a_new_message_is_emailed_when_notif_message_email_is_on_and_not_when_it_is_off(stack: Stack) -> None:
    ins = new_ins()
    ensure_citizen(ins, email="patient@example.org")
    _, owner = stack.citizen(ins)
    dr = stack.professional(rpps="10000000404")
    before = emails_sent()
    write(stack, ins, dr)
    assert emails_sent() - before == 1
    put = stack.call("PUT", "/v1/me/notification-preferences", owner,
                     json={"preferences": {"NOTIF_MESSAGE": {"in_app": True, "email": False}}})
    assert put.status_code == 200, put.text
    write(stack, ins, dr)
    assert emails_sent() - before == 1
    notes = [n for n in stack.call("GET", "/v1/me/notifications", owner).json()["items"] if n["kind"] == "message.new"]
    assert len(notes) == 2  # in-app both times


def test_the_retry_pass_sends_what_stayed_in_the_outbox_once_and_empties_it(stack: Stack) -> None:
    from datetime import UTC, datetime

    from functions import deps
    from functions.messaging.models import Contact, Message
    from functions.messaging.outmail import patient_mail
    from functions.messaging.service import deliver_outbox
    from functions.shared.dynamo import Transaction

    ins, _ = stack.citizen()
    # Given a committed mail whose send failed (it stayed in the outbox)
    stuck = Message(message_id="msg_" + "7" * 24, conversation_id="conv_" + "7" * 24, direction="OUT", sender=None,
                    to=(Contact(id="10000000405", name="Dr", address=DR_ADDRESS),), at=datetime.now(UTC),
                    subject="RE: Résultats", content="<p>Merci</p>")
    tx = Transaction()
    deps.outbox().staged_mail(ins, patient_mail(ins, stuck)).stage(tx)
    tx.commit()

    def waiting() -> list[str]:  # this person's: other tests leave mail held for their uploads' verdicts
        return [m.once_key for m in deps.outbox().pending(100) if m.sender == f"{ins}@patient.mssante.fr"]

    assert waiting() == [stuck.message_id]
    # When the scheduled pass runs, twice
    assert deliver_outbox(deps.messaging()) >= 1
    deliver_outbox(deps.messaging())
    # Then the mail left once and the outbox holds nothing of theirs
    assert [m.once_key for m in mails_of(stack, ins)] == [stuck.message_id]
    assert waiting() == []


def test_a_receipt_asked_without_any_address_or_a_non_mssante_reply_to_is_a_422_that_writes_nothing(
        stack: Stack) -> None:
    ins, owner = stack.citizen()
    dr = stack.professional(rpps="10000000406")
    for body in ({"request_receipt": True, "sender_address": None}, {"reply_to": "dr.martin@gmail.com"},
                 {"receipt_to": f"{ins}@patient.mssante.fr"}):
        refused = stack.call("POST", f"/v1/patients/{ins}/messages", {**dr, "Idempotency-Key": key()},
                             json={"subject": "Résultats", "text": "Bonjour", **body})
        assert refused.status_code == 422, (body, refused.text)
        assert set(refused.json()["error"]) == {"code", "message"}
    assert stack.call("GET", "/v1/me/conversations", owner).json()["items"] == []
