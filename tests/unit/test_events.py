"""S3 notifications through SQS: keys are URL-decoded, the S3 test event is ignored, garbage is an error."""

from __future__ import annotations

import json

import pytest

from functions.records.events import MalformedEvent, created_objects
from tests.events import load


def test_object_created_yields_bucket_and_key() -> None:
    body = load("sqs/s3_object_created.json")["Records"][0]["body"]
    assert created_objects(body) == [("mes-dev-quarantine", "uploads/doc_0123456789abcdef0123456789")]


def test_keys_arrive_url_encoded_and_are_decoded() -> None:
    body = load("sqs/s3_url_encoded_key.json")["Records"][0]["body"]
    assert created_objects(body) == [("mes-dev-quarantine", "uploads/scan du 23/11.pdf")]


def test_the_s3_test_event_is_ignored() -> None:
    assert created_objects(load("sqs/s3_test_event.json")["Records"][0]["body"]) == []


def test_other_event_names_are_ignored() -> None:
    body = load("s3/object_created.json")
    body["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert created_objects(json.dumps(body)) == []


@pytest.mark.parametrize("body", ["{not json", "[]", '{"Records": [{"eventSource": "aws:s3"}]}'])
def test_anything_else_is_malformed(body: str) -> None:
    with pytest.raises(MalformedEvent):
        created_objects(body)
