"""Faults the verifier must survive: a crash between the S3 copy and the DynamoDB commit is repaired by the next
delivery; DynamoDB throttling is retried by the client (injected with a botocore before-send hook, since the
Stubber bypasses retries)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from functions.shared.aws import client
from local import config
from tests.integration.conftest import Stack, declaration, post_file

PDF = b"%PDF-1.4\n% faults\n"


def declare_and_upload(stack: Stack, ins: str, key: str) -> str:
    headers = {**stack.professional(), "Idempotency-Key": key}
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", headers, json=declaration(PDF)).json()
    post_file(ticket["upload"], PDF)
    return str(ticket["document_id"])


def test_a_crash_between_copy_and_commit_is_repaired_by_the_next_delivery(stack: Stack,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.records.storage import DynamoDocumentStore

    ins, patient = stack.citizen()
    doc_id = declare_and_upload(stack, ins, "crash-after-copy-01")
    original = DynamoDocumentStore.save
    crashes: list[int] = []

    def crash_once(self: Any, *args: Any, **kwargs: Any) -> bool:
        if not crashes:
            crashes.append(1)
            raise ConnectionError("Lambda died after the copy")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDocumentStore, "save", crash_once)
    stack.pump.poll_once()  # first delivery: copied, then crashed before the commit
    assert crashes == [1]
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).status_code == 404  # still pending
    stack.pump.drain()  # redelivery

    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).json()["status"] == "available"
    traces = stack.call("GET", "/v1/me/traces?limit=50", patient).json()["items"]
    assert [t["action"] for t in traces].count("document.verified") == 1
    s3 = client("s3", config.REGION)
    assert s3.list_objects_v2(Bucket=stack.env["MES_QUARANTINE_BUCKET"], Prefix=f"uploads/{doc_id}")["KeyCount"] == 0


def _refuse_once(client: Any, operation: str, error: str) -> tuple[list[str], Any]:
    """The next `operation` of this botocore client answers `error` once (a 400 as DynamoDB sends it under
    pressure), through a before-send hook: botocore's retries run as they would against AWS (a Stubber would
    bypass them)."""
    seen: list[str] = []

    def refuse(request: Any, **_: Any) -> AWSResponse | None:
        if operation.encode() in request.headers.get("X-Amz-Target", b"") and not seen:
            seen.append(error)
            body = f'{{"__type":"com.amazonaws.dynamodb.v20120810#{error}","message":"slow down"}}'.encode()
            return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"},
                               type("Raw", (), {"stream": lambda *a, **k: iter([body])})())
        return None

    client.meta.events.register(f"before-send.dynamodb.{operation}", refuse)
    return seen, refuse


@pytest.fixture(params=["ThrottlingException", "ProvisionedThroughputExceededException"])
def throttled_once(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """The next TransactWriteItems answers ThrottlingException, or ProvisionedThroughputExceededException, once."""
    from functions.shared.dynamo import connection

    seen, hook = _refuse_once(connection().client, "TransactWriteItems", request.param)
    yield seen
    connection().client.meta.events.unregister("before-send.dynamodb.TransactWriteItems", hook)


def test_throttling_is_retried_and_the_upload_is_declared_once(stack: Stack, throttled_once: list[str]) -> None:
    ins, patient = stack.citizen()
    doc_id = declare_and_upload(stack, ins, "throttled-0001")
    assert len(throttled_once) == 1
    stack.pump.drain()
    assert stack.call("GET", f"/v1/me/documents/{doc_id}", patient).json()["status"] == "available"


def test_a_throttled_read_is_retried_and_the_holder_gets_their_list(stack: Stack) -> None:
    """Given the holder's document list, when its Query is refused once with
    ProvisionedThroughputExceededException, then the retry answers it: a 200 with the document, not a 5xx."""
    from functions.records.storage import DocumentItem

    ins, patient = stack.citizen()
    doc_id = declare_and_upload(stack, ins, "throttled-read-0001")
    stack.pump.drain()
    client = DocumentItem._get_connection().connection.client
    seen, hook = _refuse_once(client, "Query", "ProvisionedThroughputExceededException")
    try:
        listed = stack.call("GET", "/v1/me/documents", patient)
    finally:
        client.meta.events.unregister("before-send.dynamodb.Query", hook)
    assert seen == ["ProvisionedThroughputExceededException"]
    assert listed.status_code == 200 and [d["document_id"] for d in listed.json()["items"]] == [doc_id]
