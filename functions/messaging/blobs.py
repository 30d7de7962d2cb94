"""The attachments bucket (`MES_ATTACHMENTS_BUCKET`): one object per attachment under
`<holder INS>/<message id>/<attachment id>`, SSE-KMS with the documents key and an encryption context bound to
the patient and the message, so an object read for another patient or message fails at KMS. Fits
`functions.messaging.ports.AttachmentBlobs`."""

from __future__ import annotations

import base64
import json
from typing import Any


def attachment_key(holder_ins: str, message_id: str, attachment_id: str) -> str:
    return f"{holder_ins}/{message_id}/{attachment_id}"


def encryption_context(holder_ins: str, message_id: str) -> dict[str, str]:
    return {"patient": holder_ins, "message": message_id}


class S3AttachmentBlobs:
    def __init__(self, s3: Any, bucket: str, kms_key_id: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    def put(self, holder_ins: str, message_id: str, attachment_id: str, content_type: str, data: bytes) -> None:
        context = encryption_context(holder_ins, message_id)
        self._s3.put_object(
            Bucket=self._bucket, Key=attachment_key(holder_ins, message_id, attachment_id), Body=data,
            ContentType=content_type, ServerSideEncryption="aws:kms", SSEKMSKeyId=self._kms_key_id,
            SSEKMSEncryptionContext=base64.b64encode(json.dumps(context, sort_keys=True).encode()).decode(),
            BucketKeyEnabled=False,  # per-object KMS calls: the context is audited
        )

    def delete(self, holder_ins: str, message_id: str, attachment_id: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=attachment_key(holder_ins, message_id, attachment_id))
