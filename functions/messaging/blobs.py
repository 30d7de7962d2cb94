"""The attachments bucket (`MES_ATTACHMENTS_BUCKET`): one object per attachment under
`<holder INS>/<message id>/<attachment id>`, SSE-KMS under the project key with the encryption context
{"patient": <INS>, "message": <message id>}, so an object decrypts only for the message it belongs to. API uploads
arrive through quarantine (records' presigned POST, records' verifier) and are promoted here; MIME attachments
are put directly (`put`, `delete` if the mail does not land). Downloads are short-lived presigned GETs. Presigning is
local: no AWS call."""

from __future__ import annotations

import base64
import json
from typing import Any

from functions.messaging.models import ATTACHMENT_TYPES


def attachment_key(holder_ins: str, message_id: str, attachment_id: str) -> str:
    return f"{holder_ins}/{message_id}/{attachment_id}"


def encryption_context(holder_ins: str, message_id: str) -> str:
    """The SSE-KMS context header: base64 of the JSON object, keys sorted."""
    context = {"patient": holder_ins, "message": message_id}
    return base64.b64encode(json.dumps(context, sort_keys=True).encode()).decode()


def _served_as(content_type: str) -> str:
    """Text was checked as UTF-8 by the verifier: served with that charset."""
    return "text/plain; charset=utf-8" if content_type == "text/plain" else content_type


class S3AttachmentBlobs:
    """Fits `functions.messaging.ports.AttachmentBlobs`."""

    def __init__(self, s3: Any, bucket: str, kms_key_id: str, quarantine_bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._kms_key_id = kms_key_id
        self._quarantine = quarantine_bucket

    def put(self, holder_ins: str, message_id: str, attachment_id: str, content_type: str, data: bytes) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=attachment_key(holder_ins, message_id, attachment_id),
                            Body=data, ContentType=content_type, ServerSideEncryption="aws:kms",
                            SSEKMSKeyId=self._kms_key_id,
                            SSEKMSEncryptionContext=encryption_context(holder_ins, message_id),
                            BucketKeyEnabled=False)

    def promote(self, quarantine_key: str, etag: str, holder_ins: str, message_id: str, attachment_id: str,
                content_type: str) -> None:
        """Server-side copy of exactly the version the verifier read (If-Match on its ETag), re-encrypted with
        the attachment's context."""
        self._s3.copy_object(Bucket=self._bucket, Key=attachment_key(holder_ins, message_id, attachment_id),
                             CopySource={"Bucket": self._quarantine, "Key": quarantine_key},
                             CopySourceIfMatch=etag, MetadataDirective="REPLACE", ContentType=content_type,
                             ServerSideEncryption="aws:kms", SSEKMSKeyId=self._kms_key_id,
                             SSEKMSEncryptionContext=encryption_context(holder_ins, message_id),
                             BucketKeyEnabled=False)

    def presign_download(self, holder_ins: str, message_id: str, attachment_id: str, content_type: str,
                         ttl_seconds: int) -> str:
        """A forced attachment of the verified type, not cached. The file name is the attachment's id, never the
        name the sender gave it: the URL's query string ends up in S3 access logs, and a name is health data."""
        extension = ATTACHMENT_TYPES.get(content_type, "bin")
        params = {"Bucket": self._bucket, "Key": attachment_key(holder_ins, message_id, attachment_id),
                  "ResponseContentType": _served_as(content_type),
                  "ResponseContentDisposition": f'attachment; filename="piece-jointe_{attachment_id}.{extension}"',
                  "ResponseCacheControl": "no-store"}
        url: str = self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_seconds)
        return url

    def location(self, holder_ins: str, message_id: str, attachment_id: str) -> tuple[str, str]:
        return self._bucket, attachment_key(holder_ins, message_id, attachment_id)

    def delete(self, holder_ins: str, message_id: str, attachment_id: str) -> None:
        """A MIME attachment of a mail that did not land: no object left behind."""
        self._s3.delete_object(Bucket=self._bucket, Key=attachment_key(holder_ins, message_id, attachment_id))
