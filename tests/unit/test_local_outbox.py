"""`python -m local outbox`: what it lists and shows of the captured mail (the bucket read through a fake S3)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from functions.messaging.models import Contact, Message
from functions.messaging.outbound import BucketOutbox
from functions.messaging.outmail import patient_mail
from local.outbox import captured, raw_of

INS = "190017512345655"


@dataclass
class FakeS3:
    """put_object (with If-None-Match), get_object and a one-page list_objects_v2 paginator."""

    objects: dict[str, bytes] = field(default_factory=dict)

    def put_object(self, Bucket: str, Key: str, Body: bytes, IfNoneMatch: str | None = None,
                   **_: Any) -> None:
        from botocore.exceptions import ClientError

        if IfNoneMatch == "*" and Key in self.objects:
            raise ClientError({"Error": {"Code": "PreconditionFailed", "Message": "exists"}}, "PutObject")
        self.objects[Key] = Body

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.objects[Key])}

    def get_paginator(self, name: str) -> Any:
        objects = self.objects

        class Pages:
            def paginate(self, Bucket: str) -> list[dict[str, Any]]:
                return [{"Contents": [{"Key": k} for k in sorted(objects)]}]

        return Pages()


def test_the_outbox_lists_each_mail_once_with_date_from_to_subject_and_once_key_and_shows_one() -> None:
    s3 = FakeS3()
    outbox = BucketOutbox(s3, "outbox")
    reply = Message(message_id="msg_1", conversation_id="conv_1", direction="OUT", sender=None,
                    to=(Contact(id="10000000001", name="Dr", address="dr@hopital.mssante.fr"),),
                    at=datetime(2032, 3, 15, 9, 0, tzinfo=UTC), subject="RE: Résultats", content="<p>Merci</p>")
    mail = patient_mail(INS, reply)
    outbox.send(mail.raw, mail.sender, mail.recipients, mail.once_key)
    outbox.send(mail.raw, mail.sender, mail.recipients, mail.once_key)  # a retry: the key is the mark
    (listed,) = captured(s3, "outbox")
    assert (listed.sender, listed.to, listed.subject, listed.once_key) == (
        f"{INS}@patient.mssante.fr", "dr@hopital.mssante.fr", "RE: Résultats", "msg_1")
    assert listed.line().startswith("Mon, 15 Mar 2032 09:00:00 +0000  ") and listed.line().endswith("msg_1")
    assert raw_of(s3, "outbox", "msg_1") == mail.raw and raw_of(s3, "outbox", "msg_2") is None
