"""S3 notifications as they reach a consumer through SQS (the upload verifier, the inbound mail, the intake of
beneficiaries files). Keys arrive URL-encoded; S3's test event is ignored."""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, ValidationError


class _S3Object(BaseModel):
    key: str
    size: int | None = None


class _S3Bucket(BaseModel):
    name: str


class _S3Entity(BaseModel):
    bucket: _S3Bucket
    object: _S3Object


class S3Record(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    eventSource: str
    eventName: str
    s3: _S3Entity


class S3Notification(BaseModel):
    Records: list[S3Record]


class MalformedEvent(ValueError):
    """Not an S3 notification we understand: retried, then parked in the dead-letter queue."""


def created_objects(body: str) -> list[tuple[str, str]]:
    """(bucket, decoded key) for each ObjectCreated record; [] for the s3:TestEvent."""
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise MalformedEvent("message body is not JSON") from exc
    if isinstance(raw, dict) and raw.get("Event") == "s3:TestEvent":
        return []
    try:
        notification = S3Notification.model_validate(raw)
    except ValidationError as exc:
        raise MalformedEvent("message body is not an S3 notification") from exc
    return [
        (r.s3.bucket.name, unquote_plus(r.s3.object.key))
        for r in notification.Records
        if r.eventSource == "aws:s3" and r.eventName.startswith("ObjectCreated:")
    ]
