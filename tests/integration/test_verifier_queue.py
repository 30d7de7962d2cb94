"""The verifier behind SQS: lying uploads never become available and leave no object, redelivery changes
nothing, a poison message ends in the dead-letter queue while the rest of its batch succeeds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.shared.aws import client
from local import config
from local.pump import LambdaContext, sqs_event
from tests.events import load
from tests.integration.conftest import Stack, declaration, post_file

PDF = b"%PDF-1.4\n% a lab report\n%%EOF\n"


def declare_and_upload(stack: Stack, ins: str, sent: bytes, key: str, **over: Any) -> str:
    headers = {**stack.professional(), "Idempotency-Key": key}
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", headers, json=declaration(PDF, **over)).json()
    post_file(ticket["upload"], sent)
    return str(ticket["document_id"])


def bucket_keys(stack: Stack, bucket: str) -> list[str]:
    s3 = client("s3", config.REGION)
    return [o["Key"] for o in s3.list_object_versions(Bucket=stack.env[bucket]).get("Versions", [])]


def queue_url(name: str) -> str:
    url: str = client("sqs", config.REGION).get_queue_url(QueueName=name)["QueueUrl"]
    return url


@pytest.mark.parametrize(("sent", "reason"), [
    (b"%PDF-1.4\n% a lab rep0rt\n%%EOF\n", "checksum_mismatch"),
    (b"%PDF-1.4\n% a lab report\n%%EOF\n!", "size_mismatch"),
])
def test_an_upload_that_lies_is_rejected_and_leaves_no_object(stack: Stack, sent: bytes, reason: str) -> None:
    ins, patient = stack.citizen()
    doc_id = declare_and_upload(stack, ins, sent, key=f"lying-upload-{reason}")
    stack.pump.drain()
    polled = stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", stack.professional()).json()
    assert (polled["status"], polled["rejection_reason"], polled["download_url"]) == ("rejected", reason, None)
    assert f"uploads/{doc_id}" not in bucket_keys(stack, "MES_QUARANTINE_BUCKET")
    assert not [k for k in bucket_keys(stack, "MES_RECORDS_BUCKET") if k.endswith(doc_id)]
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).status_code == 404
    assert stack.call("GET", "/v1/me/notifications", patient).json()["items"] == []
    rejected = [t for t in stack.call("GET", "/v1/me/traces", patient).json()["items"]
                if t["action"] == "document.rejected"]
    assert [(t["document_id"], t["reason"]) for t in rejected] == [(doc_id, reason)]


def test_a_document_whose_bytes_are_not_of_the_declared_type_is_rejected(stack: Stack) -> None:
    ins, _ = stack.citizen()
    text = b"plain text pretending to be a PDF"
    headers = {**stack.professional(), "Idempotency-Key": "wrong-magic-0001"}
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", headers, json=declaration(text)).json()
    post_file(ticket["upload"], text)
    stack.pump.drain()
    polled = stack.call("GET", f"/v1/patients/{ins}/documents/{ticket['document_id']}", stack.professional())
    assert polled.json()["rejection_reason"] == "content_not_of_declared_type"


def test_redelivered_and_duplicate_events_change_nothing(stack: Stack) -> None:
    ins, patient = stack.citizen()
    sqs = client("sqs", config.REGION)
    url = queue_url(config.UPLOAD_EVENTS_QUEUE)
    doc_id = declare_and_upload(stack, ins, PDF, key="redelivery-0001")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    bodies = [m["Body"] for m in received if doc_id in m["Body"]]
    assert len(bodies) == 1
    for m in received:  # give the messages back, then process them for real
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    stack.pump.drain()
    traces_before = stack.call("GET", "/v1/me/traces?limit=100", stack.citizen(ins)[1]).json()["items"]

    for _ in range(2):  # the same S3 event delivered twice more
        sqs.send_message(QueueUrl=url, MessageBody=bodies[0])
    stack.pump.drain()

    traces_after = stack.call("GET", "/v1/me/traces?limit=100", patient).json()["items"]
    writes = [t for t in traces_after if t["action"] in {"document.verified", "document.rejected"}]
    assert len(writes) == 1
    assert len([t for t in traces_after if t["action"] != "document.listed"]) == \
        len([t for t in traces_before if t["action"] != "document.listed"])
    assert len(stack.call("GET", "/v1/me/notifications", patient).json()["items"]) == 1
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).json()["status"] == "available"


def test_the_s3_test_event_is_consumed_and_ignored(stack: Stack) -> None:
    sqs = client("sqs", config.REGION)
    url = queue_url(config.UPLOAD_EVENTS_QUEUE)
    sqs.send_message(QueueUrl=url, MessageBody=load("sqs/s3_test_event.json")["Records"][0]["body"])
    stack.pump.drain()
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                         "ApproximateNumberOfMessagesNotVisible"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_poison_message_fails_alone_and_lands_in_the_dead_letter_queue(stack: Stack) -> None:
    import app as api

    ins, patient = stack.citizen()
    doc_id = declare_and_upload(stack, ins, PDF, key="poison-batch-0001")
    sqs = client("sqs", config.REGION)
    url, dlq = queue_url(config.UPLOAD_EVENTS_QUEUE), queue_url(config.UPLOAD_EVENTS_DLQ)
    sqs.send_message(QueueUrl=url, MessageBody="{not json")

    # Both messages arrive in one batch: only the poison one is reported failed.
    messages: list[dict[str, Any]] = []
    for _ in range(5):
        messages += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                        AttributeNames=["All"]).get("Messages", [])
        if len(messages) >= 2:
            break
    response = api.on_upload_event(sqs_event(messages, "arn:aws:sqs:eu-west-3:123456789012:q"), LambdaContext())
    poison = [m["MessageId"] for m in messages if m["Body"] == "{not json"]
    assert response == {"batchItemFailures": [{"itemIdentifier": poison[0]}]}
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).json()["status"] == "available"
    for m in messages:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)

    for _ in range(config.MAX_RECEIVES + 2):
        stack.pump.drain()
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in dead] == ["{not json"]


def test_when_every_record_fails_the_whole_batch_is_retried(stack: Stack) -> None:
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    import app as api

    event = load("sqs/batch_with_poison.json")
    event["Records"] = [event["Records"][1], {**event["Records"][1], "messageId": "another-poison"}]
    with pytest.raises(BatchProcessingError):
        api.on_upload_event(event, LambdaContext())


def test_the_sample_event_for_an_unknown_bucket_is_ignored(stack: Stack) -> None:
    import app as api

    event = load("sqs/s3_object_created.json")
    assert api.on_upload_event(event, LambdaContext()) == {"batchItemFailures": []}
    assert json.loads(event["Records"][0]["body"])["Records"][0]["s3"]["bucket"]["name"] == "mes-dev-quarantine"


def test_an_upload_after_its_ticket_expired_is_rejected_and_a_replay_gets_no_new_window(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9.12. moto enforces no policy expiration and stamps LastModified with the real time, so the ticket is
    issued by an API whose clock is 30 minutes behind: it expired 20 minutes before the POST."""
    import dataclasses
    from datetime import UTC, datetime, timedelta

    from functions import deps
    from functions.shared.clock import FixedClock

    ins, patient = stack.citizen()
    real = deps.records()
    monkeypatch.setattr(deps, "records", lambda: dataclasses.replace(
        real, clock=FixedClock(datetime.now(UTC) - timedelta(minutes=30))))
    headers = {**stack.professional(), "Idempotency-Key": "expired-ticket-0001"}
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", headers, json=declaration(PDF)).json()
    monkeypatch.undo()
    assert datetime.fromisoformat(ticket["upload"]["expires_at"]) < datetime.now(UTC)
    assert post_file(ticket["upload"], PDF).status_code in (200, 201, 204)
    stack.pump.drain()

    doc_id = ticket["document_id"]
    polled = stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", stack.professional()).json()
    assert (polled["status"], polled["rejection_reason"], polled["download_url"]) == \
        ("rejected", "upload_expired", None)
    assert f"uploads/{doc_id}" not in bucket_keys(stack, "MES_QUARANTINE_BUCKET")
    assert not [k for k in bucket_keys(stack, "MES_RECORDS_BUCKET") if k.endswith(doc_id)]
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).status_code == 404
    assert stack.call("GET", "/v1/me/notifications", patient).json()["items"] == []

    replay = stack.call("POST", f"/v1/patients/{ins}/documents", headers, json=declaration(PDF))
    assert replay.status_code == 409
    assert replay.json()["error"]["code"] == "upload_expired"
    assert "upload" not in replay.json()


def test_a_citizens_ticket_rewritten_to_another_pending_documents_key_changes_nothing(stack: Stack) -> None:
    """Issue 9.13. moto does not enforce POST policies: a citizen posts with their own ticket's fields under the key
    of a document their hospital declared. The object is deleted, the hospital's document stays pending."""
    ins, patient = stack.citizen()
    hospital = stack.call("POST", f"/v1/patients/{ins}/documents",
                          {**stack.professional(), "Idempotency-Key": "target-upload-0001"},
                          json=declaration(PDF)).json()
    own = stack.call("POST", "/v1/me/documents", {**patient, "Idempotency-Key": "forger-upload-0001"},
                     json=declaration(PDF, type_code="DOCPAT09")).json()
    forged = {**own["upload"], "fields": {**own["upload"]["fields"], "key": hospital["upload"]["fields"]["key"]}}
    assert post_file(forged, PDF).status_code in (200, 201, 204)
    stack.pump.drain()

    target = hospital["document_id"]
    polled = stack.call("GET", f"/v1/patients/{ins}/documents/{target}", stack.professional()).json()
    assert (polled["status"], polled["rejection_reason"]) == ("pending", None)
    assert f"uploads/{target}" not in bucket_keys(stack, "MES_QUARANTINE_BUCKET")
    assert not [k for k in bucket_keys(stack, "MES_RECORDS_BUCKET") if k.endswith(target)]
    traces = stack.call("GET", "/v1/me/traces?limit=100", patient).json()["items"]
    assert not [t for t in traces if t["action"] in {"document.verified", "document.rejected"}]

    post_file(hospital["upload"], PDF)  # the hospital's own upload is verified as usual
    stack.pump.drain()
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{target}", stack.professional()).json()["status"] == \
        "available"


def test_an_object_outside_uploads_is_deleted_from_quarantine(stack: Stack) -> None:
    """Issue 9.13: an object no declaration accounts for does not stay in quarantine until the lifecycle runs."""
    ins, _ = stack.citizen()
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents",
                        {**stack.professional(), "Idempotency-Key": "outside-upload-0001"},
                        json=declaration(PDF)).json()
    for key in ("elsewhere/report.pdf", "uploads/not-a-document"):
        forged = {**ticket["upload"], "fields": {**ticket["upload"]["fields"], "key": key}}
        assert post_file(forged, PDF).status_code in (200, 201, 204)
    stack.pump.drain()
    remaining = bucket_keys(stack, "MES_QUARANTINE_BUCKET")
    assert "elsewhere/report.pdf" not in remaining and "uploads/not-a-document" not in remaining
