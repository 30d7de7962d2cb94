"""Message attachments through the HTTP stack and the moto server (issue 11, A.6): a professional declares them
with the message, uploads each to its presigned POST, the records' verifier holds each to its declaration and
promotes it into the attachments bucket, sealed under the space's data key as documents are (the envelope is on, as
in every stage); the patient downloads one (opened into a short-lived plaintext copy) and saves it into the record
(opened, sealed again under the record's key, under the records' encryption context). A lying upload is REJECTED
and nothing is promoted; a message over its budget is refused and nothing is written. After the erasure destroyed
the space's key, an old version of an attachment does not open."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from functions.shared.envelope import Undecryptable, unseal
from functions.shared.privacy import digest
from local import config
from tests.integration.conftest import Stack, post_file

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
_keys = itertools.count()


def attachment(data: bytes, name: str = "compte-rendu.pdf", content_type: str = "application/pdf",
               **over: Any) -> dict[str, Any]:
    return {"name": name, "content_type": content_type, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), **over}


def send(stack: Stack, ins: str, *attachments: dict[str, Any], rpps: str = "10000000401") -> requests.Response:
    return stack.call("POST", f"/v1/patients/{ins}/messages",
                      {**stack.professional(rpps=rpps), "Idempotency-Key": f"att-test-{next(_keys):06d}"},
                      json={"subject": "Votre compte rendu", "text": "Ci-joint.", "attachments": list(attachments)})


def thread(stack: Stack, owner: dict[str, str], conversation_id: str) -> dict[str, Any]:
    answer = stack.call("GET", f"/v1/me/conversations/{conversation_id}", owner)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def path(sent: dict[str, Any], attachment_id: str) -> str:
    return (f"/v1/me/conversations/{sent['conversation_id']}/messages/{sent['message_id']}"
            f"/attachments/{attachment_id}")


def objects(stack: Stack, bucket_env: str) -> list[str]:
    from functions.shared.aws import client

    listed = client("s3", "eu-west-3").list_objects_v2(Bucket=stack.env[bucket_env])
    return [o["Key"] for o in listed.get("Contents", [])]


@pytest.fixture
def copies() -> Iterator[list[dict[str, Any]]]:
    """The CopyObject and PutObject calls the app makes (it runs in this process): what S3 was asked to store
    with which encryption context, which moto does not keep."""
    from functions.shared.aws import client

    seen: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    events = client("s3", "eu-west-3").meta.events
    for operation in ("CopyObject", "PutObject"):
        events.register(f"provide-client-params.s3.{operation}", hook)
    yield seen
    for operation in ("CopyObject", "PutObject"):
        events.unregister(f"provide-client-params.s3.{operation}", hook)


def stored(stack: Stack, bucket_env: str, key: str) -> tuple[bytes, dict[str, str]]:
    """An object's bytes at rest (what a backup of the bucket holds) and its metadata."""
    from functions.shared.aws import client

    obj = client("s3", config.REGION).get_object(Bucket=stack.env[bucket_env], Key=key)
    return obj["Body"].read(), obj.get("Metadata", {})


def context_of(call: dict[str, Any]) -> dict[str, str]:
    decoded: dict[str, str] = json.loads(base64.b64decode(call["SSEKMSEncryptionContext"]))
    return decoded


def test_an_attachment_goes_from_the_professional_to_the_patients_record(stack: Stack,
                                                                          copies: list[dict[str, Any]]) -> None:
    ins, owner = stack.citizen()
    # Given a professional's message with one PDF attachment, visible at once, its attachment pending
    answer = send(stack, ins, attachment(PDF))
    assert answer.status_code == 201, answer.text
    sent = answer.json()
    [upload] = sent["uploads"]
    assert sent["attachments"][0]["state"] == "PENDING"
    assert sent["remaining_attachment_bytes"] == 20 * 1024 * 1024 - len(PDF)
    assert upload["fields"]["key"].startswith("uploads/attachments/") and ins not in upload["fields"]["key"]
    listed = stack.call("GET", "/v1/me/conversations", owner).json()["items"]
    assert listed[0]["has_attachment"] is True
    before = thread(stack, owner, sent["conversation_id"])["messages"][0]["attachments"][0]
    assert (before["state"], before["can_add_to_record"]) == ("PENDING", False)
    aid = upload["attachment_id"]
    early = stack.call("GET", path(sent, aid), owner)
    assert early.status_code == 409 and early.json()["error"]["code"] == "attachment_not_available"

    # When its bytes are uploaded and the verifier has run
    assert post_file(upload, PDF).status_code in (200, 201, 204)
    stack.pump.drain()

    # Then it is available, promoted with the patient/message context, sealed (not the PDF at rest), and nothing is
    # left in quarantine
    after = thread(stack, owner, sent["conversation_id"])["messages"][0]["attachments"][0]
    assert (after["state"], after["can_add_to_record"]) == ("AVAILABLE", True)
    promoted = [c for c in copies if c["Bucket"] == stack.env["MES_ATTACHMENTS_BUCKET"]]
    # (the pseudonym, never the INS, in the context and the key: KMS and S3 write both in clear into CloudTrail)
    assert len(promoted) == 1 and context_of(promoted[0]) == {"mes:patient": digest("ins", ins),
                                                              "mes:message": sent["message_id"]}
    at_rest, metadata = stored(stack, "MES_ATTACHMENTS_BUCKET", f"{digest('ins', ins)}/{sent['message_id']}/{aid}")
    assert PDF not in at_rest and len(at_rest) == len(PDF) + 12 + 16 and metadata == {"envelope": "aes-256-gcm"}
    assert upload["fields"]["key"] not in objects(stack, "MES_QUARANTINE_BUCKET")

    # And the patient downloads it through a short-lived URL
    download = stack.call("GET", path(sent, aid), owner)
    assert download.status_code == 200, download.text
    assert "X-Amz-Expires=300" in download.json()["download_url"]
    fetched = requests.get(download.json()["download_url"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == PDF

    # And saves it into the record: a new document of theirs, copied server-side under the records' context
    saved = stack.call("POST", path(sent, aid) + "/record", {**owner, "Idempotency-Key": "save-att-0001"}, json={})
    assert saved.status_code == 201, saved.text
    doc_id = saved.json()["document_id"]
    again = stack.call("POST", path(sent, aid) + "/record", {**owner, "Idempotency-Key": "save-att-0001"}, json={})
    assert again.status_code == 201 and again.json()["document_id"] == doc_id
    documents = stack.call("GET", "/v1/me/documents", owner).json()["items"]
    assert [(d["document_id"], d["status"], d["title"], d["author"]["kind"]) for d in documents] == [
        (doc_id, "available", "compte-rendu.pdf", "patient")]
    filed = [c for c in copies if c["Bucket"] == stack.env["MES_RECORDS_BUCKET"]]
    assert len(filed) == 1 and "CopySource" not in filed[0]  # opened and sealed again: a copy would not open
    assert context_of(filed[0]) == {"mes:patient": digest("ins", ins), "mes:document": doc_id}
    record_at_rest, _ = stored(stack, "MES_RECORDS_BUCKET", filed[0]["Key"])
    assert PDF not in record_at_rest and record_at_rest != at_rest
    record = stack.call("GET", f"/v1/me/documents/{doc_id}", owner).json()
    assert requests.get(record["download_url"], timeout=10).content == PDF

    # And every step is in the patient's chain
    actions = [t["action"] for t in stack.call("GET", "/v1/me/traces?limit=100", owner).json()["items"]]
    assert {"message.received", "attachment.verified", "attachment.read",
            "attachment.saved_to_record"} <= set(actions)
    assert actions.count("attachment.saved_to_record") == 1


def test_an_executable_or_a_hash_mismatch_is_rejected_and_nothing_is_promoted(stack: Stack) -> None:
    ins, owner = stack.citizen()
    executable = b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode"
    lying = PDF[:-2] + b"X\n"  # the declared size, other bytes: the SHA-256 does not match
    sent = send(stack, ins, attachment(executable, name="facture.pdf"), attachment(PDF, name="bilan.pdf"),
                rpps="10000000402").json()
    exe_upload, pdf_upload = sent["uploads"]
    post_file(exe_upload, executable)
    post_file(pdf_upload, lying)
    stack.pump.drain()
    states = {a["name"]: (a["state"], a["rejection_reason"], a["can_add_to_record"])
              for a in thread(stack, owner, sent["conversation_id"])["messages"][0]["attachments"]}
    assert states == {"facture.pdf": ("REJECTED", "content_not_of_declared_type", False),
                      "bilan.pdf": ("REJECTED", "checksum_mismatch", False)}
    assert not [k for k in objects(stack, "MES_ATTACHMENTS_BUCKET") if sent["message_id"] in k]
    assert not [k for k in objects(stack, "MES_QUARANTINE_BUCKET") if sent["message_id"] in k]
    for upload in (exe_upload, pdf_upload):
        refused = stack.call("POST", path(sent, upload["attachment_id"]) + "/record",
                             {**owner, "Idempotency-Key": f"save-rejected-{upload['attachment_id']}"}, json={})
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "not_addable_to_record"
    actions = [t["action"] for t in stack.call("GET", "/v1/me/traces?limit=100", owner).json()["items"]]
    assert actions.count("attachment.rejected") == 2


def test_a_verified_attachment_over_the_records_5_mb_patient_limit_is_shown_but_not_addable(stack: Stack) -> None:
    """The message's budget is 20 MB, the record takes 5 MB from its holder: a 6 MB PDF arrives, can be
    downloaded, says `can_add_to_record: false`, and saving it is a 422 that adds no document."""
    ins, owner = stack.citizen()
    big = PDF[:-6] + b"%" + b"0" * (6 * 1024 * 1024) + b"\n%%EOF\n"
    sent = send(stack, ins, attachment(big, name="imagerie.pdf"), rpps="10000000403").json()
    (upload,) = sent["uploads"]
    post_file(upload, big)
    stack.pump.drain()
    (shown,) = thread(stack, owner, sent["conversation_id"])["messages"][0]["attachments"]
    assert (shown["state"], shown["can_add_to_record"]) == ("AVAILABLE", False)
    before = stack.call("GET", "/v1/me/documents", owner).json()["items"]
    refused = stack.call("POST", path(sent, upload["attachment_id"]) + "/record",
                         {**owner, "Idempotency-Key": f"save-big-{upload['attachment_id']}"}, json={})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "not_addable_to_record"
    assert stack.call("GET", "/v1/me/documents", owner).json()["items"] == before


def test_over_the_budget_or_of_a_refused_type_nothing_is_written(stack: Stack) -> None:
    ins, owner = stack.citizen()
    before = stack.call("GET", "/v1/me/traces", owner).json()["items"]  # the activation's, since enrolment
    big = {"name": "irm.pdf", "content_type": "application/pdf", "size": 15 * 1024 * 1024, "sha256": "a" * 64}
    over = send(stack, ins, big, {**big, "name": "irm-2.pdf"})
    assert over.status_code == 413 and over.json()["error"]["code"] == "attachment_budget_exceeded"
    exe = send(stack, ins, attachment(b"MZ", name="setup.exe", content_type="application/x-msdownload"))
    assert exe.status_code == 415 and exe.json()["error"]["code"] == "attachment_type_not_allowed"
    referenced = send(stack, ins, {**attachment(PDF), "document_id": "doc_" + "0" * 26})
    assert referenced.status_code == 422  # only uploaded files: a record document cannot be attached
    assert stack.call("GET", "/v1/me/conversations", owner).json()["items"] == []
    assert stack.call("GET", "/v1/me/traces", owner).json()["items"] == before


def test_someone_elses_attachment_is_a_404_like_a_missing_one(stack: Stack) -> None:
    ins, owner = stack.citizen()
    _, other = stack.citizen()
    sent = send(stack, ins, attachment(PDF), rpps="10000000403").json()
    post_file(sent["uploads"][0], PDF)
    stack.pump.drain()
    aid = sent["uploads"][0]["attachment_id"]
    missing = stack.call("GET", path(sent, "att_" + "0" * 24), owner)
    assert missing.status_code == 404
    theirs = stack.call("GET", path(sent, aid), other)
    assert (theirs.status_code, theirs.json()) == (404, missing.json())
    saved = stack.call("POST", path(sent, aid) + "/record", {**other, "Idempotency-Key": "steal-att-0001"}, json={})
    assert saved.status_code == 404
    assert stack.call("GET", "/v1/me/documents", other).json()["items"] == []


def test_an_attachment_saved_before_the_erasure_does_not_open_once_the_space_key_is_destroyed(stack: Stack) -> None:
    from functions import deps
    from functions.accounts.storage import NoDataKey
    from functions.shared.aws import client
    from local.pump import QueuePump, erasure_consumer

    # Given a verified attachment, and a copy of its object version as a backup of the bucket would keep it
    ins, owner = stack.citizen()
    sent = send(stack, ins, attachment(PDF), rpps="10000000404").json()
    post_file(sent["uploads"][0], PDF)
    stack.pump.drain()
    key = f"{digest('ins', ins)}/{sent['message_id']}/{sent['uploads'][0]['attachment_id']}"
    backup, _ = stored(stack, "MES_ATTACHMENTS_BUCKET", key)
    assert unseal(deps.space_keys().data_key(ins), key, backup) == PDF  # the space's key opens it, for now

    # When the holder closes the space with deletion and the erasure runs
    closed = stack.call("POST", "/v1/me/closure", owner, json={"delete_data": True})
    assert closed.status_code == 200, closed.text
    QueuePump(client("sqs", config.REGION), config.ERASURE_QUEUE, erasure_consumer).drain()

    # Then no version is left in the bucket, the key is gone for good, and nothing else opens the backup
    versions = client("s3", config.REGION).list_object_versions(Bucket=stack.env["MES_ATTACHMENTS_BUCKET"],
                                                                Prefix=f"{digest('ins', ins)}/")
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")
    deps.reset()  # a new process: no data key cached anywhere
    with pytest.raises(NoDataKey):
        deps.space_keys().data_key(ins)
    with pytest.raises(Undecryptable):
        unseal(os.urandom(32), key, backup)


def test_a_message_stored_before_recipients_existed_still_takes_its_attachments_verdict(stack: Stack) -> None:
    """A message stored by the previous release has no `recipients` in its body; the verdict's conditional
    write compares the stored body with the message read back, which must dump to the same bytes."""
    import json

    from functions.messaging.models import Message
    from functions.messaging.storage import MessageItem

    ins, owner = stack.citizen()
    sent = send(stack, ins, attachment(PDF, name="ancien.pdf"), rpps="10000000404").json()
    (item,) = [i for i in MessageItem.query(ins) if i.kind == "M"]
    body = json.loads(item.body)
    body.pop("recipients", None)
    old = json.dumps(body, separators=(",", ":"), ensure_ascii=False)  # the previous release's body
    assert Message.model_validate_json(old).model_dump_json(exclude={"recipients"}) == old
    item.body = old
    item.save()
    post_file(sent["uploads"][0], PDF)
    stack.pump.drain()
    (shown,) = thread(stack, owner, sent["conversation_id"])["messages"][0]["attachments"]
    assert shown["state"] == "AVAILABLE"
